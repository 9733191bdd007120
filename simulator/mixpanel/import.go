package mixpanel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// failedRecord is one entry of failed_records.
type failedRecord struct {
	index    int
	insertID string
	fieldError
}

// importScratch is the per-request memory of /import, pooled.
type importScratch struct {
	body   []byte
	events []scannedEvent
	recs   []pending
	hashes []uint64
	fails  []failedRecord
}

func (s *Server) scratch() *importScratch {
	if sc, ok := s.bufs.Get().(*importScratch); ok {
		return sc
	}
	return &importScratch{body: make([]byte, 0, 1<<20)}
}

func (s *Server) release(sc *importScratch) {
	if cap(sc.body) > 4*int(s.opts.MaxBytes)+1<<20 {
		return
	}
	clear(sc.events[:cap(sc.events)])
	clear(sc.recs[:cap(sc.recs)])
	sc.events, sc.recs, sc.hashes, sc.fails = sc.events[:0], sc.recs[:0], sc.hashes[:0], sc.fails[:0]
	s.bufs.Put(sc)
}

// take counts n units in w and says whether they fit, and if not, how long until they would.
func (s *Server) take(w *simkit.Window, n int64) (bool, time.Duration) {
	if w == nil {
		return true, 0
	}
	ok, _, wait := w.Take(n)
	if !ok && s.opts.Count429 {
		// The window cannot go over its limit; filling it is the nearest to
		// counting the refused request.
		if rem := w.Remaining(); rem > 0 {
			w.Take(min(n, rem))
		}
	}
	return ok, wait
}

// importAuthorized applies /import's authentication: a service account with the
// project's ?project_id=, or the project token (or legacy secret) as the Basic
// username.
func (s *Server) importAuthorized(r *http.Request, q url.Values) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		return false
	}
	pid := q.Get("project_id")
	if s.opts.AnyCredentials {
		return true // any service account, or any token as the username
	}
	if secret, ok := s.opts.ServiceAccounts[user]; ok {
		return pass == secret && pid == s.opts.ProjectID
	}
	if user == s.opts.Token || s.opts.Secret != "" && user == s.opts.Secret {
		return pid == "" || pid == s.opts.ProjectID
	}
	return false
}

func flag(v string, def bool) bool {
	switch v {
	case "1", "true":
		return true
	case "0", "false":
		return false
	}
	return def
}

func (s *Server) serveImport(r *http.Request) reply {
	q := r.URL.Query()
	if !s.importAuthorized(r, q) {
		return jsonError(http.StatusUnauthorized, "Invalid credentials")
	}
	sc := s.scratch()
	defer s.release(sc)
	body, err := simkit.ReadBody(r, s.opts.MaxBytes, sc.body)
	switch {
	case errors.Is(err, simkit.ErrTooLarge):
		return jsonError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request exceeds max limit of %d bytes", s.opts.MaxBytes))
	case err != nil:
		return jsonError(http.StatusBadRequest, "unable to read request body: "+err.Error())
	}
	sc.body = body[:0]
	var logged []byte
	if s.opts.KeepBodies {
		logged = bytes.Clone(body)
	}
	rep := s.importBody(sc, body, flag(q.Get("strict"), s.opts.StrictByDefault))
	rep.reqBody = logged
	return rep
}

func (s *Server) importBody(sc *importScratch, body []byte, strict bool) reply {
	b := s.buckets.Load()
	if ok, wait := s.take(b.bytes, int64(len(body))); !ok {
		return s.throttled(wait)
	}
	events, tooMany, err := scanBody(body, &s.lim, s.opts.MaxEvents, sc.events[:0])
	sc.events = events
	switch {
	case tooMany:
		return jsonError(s.opts.TooManyEventsStatus, fmt.Sprintf("request exceeds max limit of %d events", s.opts.MaxEvents))
	case err != nil:
		return jsonError(http.StatusBadRequest, "unable to parse request body: "+err.Error())
	case len(events) == 0:
		return jsonError(http.StatusBadRequest, "no events in request body")
	}

	now := s.opts.Now()
	size := 0
	for i := range events {
		ev := &events[i]
		if fe, ok := s.checkEvent(ev, now); !ok {
			sc.fails = append(sc.fails, failedRecord{i, ev.reportInsertID(), fe})
			ev.failed = true
			continue
		}
		size += len(ev.props)
	}

	// One string holds the properties of the whole request; records slice it.
	var arena strings.Builder
	arena.Grow(size)
	for i := range events {
		if ev := &events[i]; !ev.failed {
			ev.propsOff = arena.Len()
			arena.Write(ev.props)
		}
	}
	all := arena.String()
	var lastName []byte
	var lastNameStr string
	for i := range events {
		ev := &events[i]
		if ev.failed {
			continue
		}
		if ev.nameStr == "" {
			if !bytes.Equal(ev.name, lastName) || lastName == nil {
				lastName, lastNameStr = ev.name, s.names.intern(ev.name)
			}
			ev.nameStr = lastNameStr
		}
		props := all[ev.propsOff : ev.propsOff+len(ev.props)]
		rec := pending{name: ev.nameStr, props: props, timeMs: ev.timeMs, distinctID: ev.distinctStr, insertID: ev.insertStr,
			dOff: ev.distinctOff, iOff: ev.insertOff, owned: ev.distinctOwned || ev.insertOwned}
		if !ev.distinctOwned {
			rec.distinctID = props[ev.distinctOff : ev.distinctOff+len(ev.distinct)]
		}
		if !ev.insertOwned {
			rec.insertID = props[ev.insertOff : ev.insertOff+len(ev.insert)]
		}
		if s.opts.Reject != nil {
			if msg := s.opts.Reject(rec.event()); msg != "" {
				sc.fails = append(sc.fails, failedRecord{i, rec.insertID, fieldError{"properties", msg}})
				continue
			}
		}
		sc.recs = append(sc.recs, rec)
	}
	if ok, wait := s.take(b.events, int64(len(sc.recs))); !ok {
		return s.throttled(wait)
	}
	for i := range sc.recs {
		sc.hashes = append(sc.hashes, s.store.hash(&sc.recs[i]))
	}
	s.store.add(sc.recs, sc.hashes)
	s.imported.Add(int64(len(sc.recs)))

	if len(sc.fails) == 0 {
		return reply{status: http.StatusOK, contentType: "application/json", body: importOK(len(sc.recs))}
	}
	slices.SortFunc(sc.fails, func(a, b failedRecord) int { return a.index - b.index })
	rejs := make([]Rejection, len(sc.fails))
	for i, f := range sc.fails {
		rejs[i] = Rejection{Time: now, Path: "/import", Index: f.index, InsertID: f.insertID, Field: f.field, Message: f.message}
	}
	s.reject(rejs...)
	if !strict {
		return reply{status: http.StatusOK, contentType: "application/json", body: importOK(len(sc.recs))}
	}
	return reply{status: http.StatusBadRequest, contentType: "application/json", body: s.importFailed(sc.fails, len(sc.recs))}
}

func importOK(n int) []byte {
	b := append(make([]byte, 0, 64), `{"code":200,"num_records_imported":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, `,"status":"OK"}`...)
}

func (s *Server) importFailed(fails []failedRecord, imported int) []byte {
	b := []byte(`{"code":400,"error":"some data points in the request failed validation","failed_records":[`)
	b = appendFailedRecords(b, s.opts.FailedRecordIDKey, fails)
	b = append(b, `],"num_records_imported":`...)
	b = strconv.AppendInt(b, int64(imported), 10)
	return append(b, `,"status":"Bad Request"}`...)
}

// appendFailedRecords appends the entries of failed_records; idKey names the
// record's ID (its $insert_id, or an update's $distinct_id).
func appendFailedRecords(b []byte, idKey string, fails []failedRecord) []byte {
	for i, f := range fails {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(f.index), 10)
		b = append(b, ',')
		b = appendJSONString(b, idKey)
		b = append(b, ':')
		b = appendJSONString(b, f.insertID)
		b = append(b, `,"field":`...)
		b = appendJSONString(b, f.field)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, f.message)
		b = append(b, '}')
	}
	return b
}

// Values Mixpanel refuses as distinct_id and $insert_id, to catch implementation
// mistakes (https://docs.mixpanel.com/reference/import-events).
var disallowedIDs = []string{
	"00000000-0000-0000-0000-000000000000", "anon", "anonymous", "nil", "none", "null",
	"n/a", "na", "undefined", "unknown", "<nil>", "0", "-1", "true", "false", "[]", "{}",
}

var disallowedIDBytes = func() [][]byte {
	out := make([][]byte, len(disallowedIDs))
	for i, d := range disallowedIDs {
		out[i] = []byte(d)
	}
	return out
}()

func disallowedID(id []byte) bool {
	if len(id) > len(disallowedIDs[0]) {
		return false
	}
	for _, d := range disallowedIDBytes {
		if len(id) == len(d) && bytes.EqualFold(id, d) {
			return true
		}
	}
	return false
}

// Times before this are refused.
var minTimeMs = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

func (ev *scannedEvent) reportInsertID() string {
	switch {
	case !ev.insertSet || ev.insertBad:
		return ""
	case ev.insertEsc:
		return unescape(ev.insert)
	}
	return string(ev.insert)
}

// checkEvent applies Mixpanel's validation to a scanned event. For a valid event
// it fills in the time in milliseconds and the strings to store.
func (s *Server) checkEvent(ev *scannedEvent, now time.Time) (fieldError, bool) {
	switch {
	case ev.syntax != "":
		return fieldError{"", ev.syntax}, false
	case ev.notObject:
		return fieldError{"", "event must be a JSON object"}, false
	case ev.size > s.lim.maxEventBytes:
		return fieldError{"", fmt.Sprintf("event is invalid: must be smaller than %d bytes of uncompressed JSON", s.lim.maxEventBytes+1)}, false
	case !ev.nameSet || ev.nameBad || len(ev.name) == 0:
		return fieldError{"event", "'event' is invalid: must be a non-empty string"}, false
	case !ev.propsSet || ev.propsBad:
		return fieldError{"properties", "'properties' is invalid: must be a JSON object"}, false
	}

	const timeField = "properties.time"
	if !ev.timeSet || ev.timeBad {
		return fieldError{timeField, "'properties.time' is invalid: must be specified as seconds since epoch"}, false
	}
	ms, ok := parseTime(ev.timeRaw)
	switch {
	case !ok:
		return fieldError{timeField, "'properties.time' is invalid: must be specified as seconds since epoch"}, false
	case ms < minTimeMs:
		return fieldError{timeField, "'properties.time' is invalid: must be after 1971-01-01"}, false
	case ms > now.Add(s.opts.FutureTolerance).UnixMilli():
		return fieldError{timeField, fmt.Sprintf("'properties.time' is invalid: must not be more than %s in the future", shortDuration(s.opts.FutureTolerance))}, false
	case ms > now.UnixMilli() && !s.opts.KeepFutureTimes:
		ms = now.UnixMilli()
	}
	ev.timeMs = ms

	const distinctField = "properties.distinct_id"
	switch {
	case !ev.distinctSet && !s.opts.AllowMissingDistinctID:
		return fieldError{distinctField, "'properties.distinct_id' is invalid: must be specified"}, false
	case ev.distinctBad:
		return fieldError{distinctField, "'properties.distinct_id' is invalid: must be a string"}, false
	case ev.distinctEsc:
		ev.distinctStr, ev.distinctOwned = unescape(ev.distinct), true
	case !ev.distinctSet:
		ev.distinctOwned = true
	}
	if d := ev.distinctBytes(); disallowedID(d) {
		return fieldError{distinctField, fmt.Sprintf("'properties.distinct_id' is invalid: %q is not allowed", d)}, false
	}

	if !ev.insertSet || ev.insertBad || len(ev.insert) == 0 {
		msg := "'$insert_id' is invalid: must be specified"
		if ev.insertBad {
			msg = "'$insert_id' is invalid: must be a string"
		}
		return fieldError{"$insert_id", msg}, false
	}
	if ev.insertEsc {
		ev.insertStr, ev.insertOwned = unescape(ev.insert), true
	}
	id := ev.insertBytes()
	switch {
	case len(id) > 36:
		return fieldError{"$insert_id", "'$insert_id' is invalid: must be at most 36 bytes"}, false
	case !insertIDChars(id):
		return fieldError{"$insert_id", "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters"}, false
	case disallowedID(id):
		return fieldError{"$insert_id", fmt.Sprintf("'$insert_id' is invalid: %q is not allowed", id)}, false
	}

	if ev.hasScanErr {
		return ev.scanErr, false
	}
	if ev.truncate {
		s.truncateProps(ev)
	}
	if ev.nameEsc || ev.nameTruncated {
		ev.nameStr = truncate(unescape(ev.name), s.lim.maxString)
	}
	return fieldError{}, true
}

func (ev *scannedEvent) distinctBytes() []byte {
	if ev.distinctOwned {
		return []byte(ev.distinctStr)
	}
	return ev.distinct
}

func (ev *scannedEvent) insertBytes() []byte {
	if ev.insertOwned {
		return []byte(ev.insertStr)
	}
	return ev.insert
}

func insertIDChars(id []byte) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parseTime reads an event time in seconds or milliseconds since the epoch:
// values from 1e11 up are milliseconds (1e11 seconds is in the year 5138).
func parseTime(raw []byte) (ms int64, ok bool) {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		if n >= 1e11 || n <= -1e11 {
			return n, true
		}
		return n * 1000, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f > 1e18 || f < -1e18 {
		return 0, false
	}
	if f >= 1e11 || f <= -1e11 {
		return int64(f), true
	}
	return int64(f * 1000), true
}

func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// truncateProps rebuilds an event's properties with every string cut to the limit.
func (s *Server) truncateProps(ev *scannedEvent) {
	var props map[string]any
	d := json.NewDecoder(bytes.NewReader(ev.props))
	d.UseNumber()
	if err := d.Decode(&props); err != nil {
		return
	}
	for k, v := range props {
		props[k] = truncateValue(v, s.lim.maxString)
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(props); err != nil {
		return
	}
	ev.props = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	ev.rebuilt = true
	switch v := props["distinct_id"].(type) {
	case string:
		ev.distinctStr, ev.distinctOwned = v, true
	case json.Number:
		ev.distinctStr, ev.distinctOwned = v.String(), true
	}
	if v, ok := props["$insert_id"].(string); ok {
		ev.insertStr, ev.insertOwned = v, true
	}
}

func truncateValue(v any, n int) any {
	switch v := v.(type) {
	case string:
		return truncate(v, n)
	case []any:
		for i := range v {
			v[i] = truncateValue(v[i], n)
		}
	case map[string]any:
		for k := range v {
			v[k] = truncateValue(v[k], n)
		}
	}
	return v
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
