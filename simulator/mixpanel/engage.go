package mixpanel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Profile is a user profile in the simulator's final state.
type Profile struct {
	DistinctID string
	Properties map[string]any // decoded with encoding/json: numbers are float64
}

// Profile returns a copy of the profile with this distinct ID.
func (s *Server) Profile(distinctID string) (Profile, bool) {
	s.profilesMu.Lock()
	defer s.profilesMu.Unlock()
	p, ok := s.profiles[distinctID]
	if !ok {
		return Profile{}, false
	}
	return Profile{DistinctID: distinctID, Properties: deepCopy(p).(map[string]any)}, true
}

// Profiles returns a copy of every profile, by distinct ID.
func (s *Server) Profiles() map[string]Profile {
	s.profilesMu.Lock()
	defer s.profilesMu.Unlock()
	out := make(map[string]Profile, len(s.profiles))
	for id, p := range s.profiles {
		out[id] = Profile{DistinctID: id, Properties: deepCopy(p).(map[string]any)}
	}
	return out
}

// ProfileCount is the number of profiles.
func (s *Server) ProfileCount() int {
	s.profilesMu.Lock()
	defer s.profilesMu.Unlock()
	return len(s.profiles)
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// The operations of a profile update, in the order the docs list them.
var engageOps = []string{"$set", "$set_once", "$add", "$union", "$append", "$remove", "$unset", "$delete"}

// profileUpdate is one valid update, decoded.
type profileUpdate struct {
	distinctID string
	op         string
	props      map[string]any // $set, $set_once, $add, $union, $append, $remove
	names      []string       // $unset
}

func (s *Server) serveEngage(r *http.Request) reply {
	q := r.URL.Query()
	raw, err := s.engageBody(r)
	switch {
	case errors.Is(err, simkit.ErrTooLarge):
		return jsonError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request exceeds max limit of %d bytes", s.opts.MaxBytes))
	case err != nil:
		return jsonError(http.StatusBadRequest, "unable to read request body: "+err.Error())
	}
	rep := s.engage(r, q, raw)
	if s.opts.KeepBodies {
		rep.reqBody = raw
	}
	return rep
}

// engageBody reads the body as sent (or ?data= of a GET). Gzip is refused as
// the docs say, unless Options.EngageGzip: the compressed bytes then fail to parse.
func (s *Server) engageBody(r *http.Request) ([]byte, error) {
	if r.Method == http.MethodGet {
		return nil, nil
	}
	if r.Header.Get("Content-Encoding") == "gzip" && !s.opts.EngageGzip {
		b, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBytes+1))
		if err == nil && int64(len(b)) > s.opts.MaxBytes {
			err = simkit.ErrTooLarge
		}
		return b, err
	}
	return simkit.ReadBody(r, s.opts.MaxBytes, nil)
}

// engageData finds the JSON of the updates: the body, or the data parameter of a
// form or query, raw or base64-encoded (the older form).
func engageData(r *http.Request, q url.Values, body []byte) ([]byte, url.Values) {
	params := q
	data := body
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method == http.MethodGet || ct == "application/x-www-form-urlencoded" || bytes.HasPrefix(body, []byte("data=")) {
		params = url.Values{}
		maps.Copy(params, q)
		if r.Method != http.MethodGet {
			form, err := url.ParseQuery(string(body))
			if err == nil {
				maps.Copy(params, form)
			}
		}
		data = []byte(params.Get("data"))
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] != '[' && data[0] != '{' {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(string(data)); err == nil {
				return bytes.TrimSpace(d), params
			}
		}
	}
	return data, params
}

// engageFailure is an update that failed, by position.
type engageFailure struct {
	index      int
	distinctID string
	fieldError
}

func (s *Server) engage(r *http.Request, q url.Values, body []byte) reply {
	data, params := engageData(r, q, body)
	verbose := flag(params.Get("verbose"), false)
	strict := flag(params.Get("strict"), false) && !s.opts.EngageIgnoreStrict

	counted := len(body) // a GET's data is in its query
	if counted == 0 {
		counted = len(data)
	}
	if ok, wait := s.take(s.buckets.Load().engage, int64(counted)); !ok {
		return s.throttled(wait)
	}
	now := s.opts.Now()

	var items []json.RawMessage
	var whole string
	switch {
	case len(data) == 0:
		whole = "no data: send a JSON list of updates"
	case data[0] == '{':
		items = []json.RawMessage{data}
		if !json.Valid(data) {
			whole = "unable to parse data: invalid JSON"
		}
	default:
		if err := json.Unmarshal(data, &items); err != nil {
			whole = "unable to parse data: " + err.Error()
		}
	}
	if whole == "" && len(items) > s.opts.MaxUpdates {
		whole = fmt.Sprintf("too many updates: at most %d per request", s.opts.MaxUpdates)
	}
	if whole == "" && len(items) == 0 {
		whole = "no updates in the data"
	}
	if whole != "" {
		s.reject(Rejection{Time: now, Path: "/engage", Index: -1, Message: whole})
		return s.engageAnswer(verbose, strict, 0, nil, whole)
	}

	var fails []engageFailure
	updates := make([]profileUpdate, 0, len(items))
	indexes := make([]int, 0, len(items))
	badTokens := 0
	for i, item := range items {
		u, fe, ok := s.parseUpdate(item)
		if !ok {
			if fe.field == "$token" {
				badTokens++
			}
			fails = append(fails, engageFailure{i, u.distinctID, fe})
			continue
		}
		updates = append(updates, u)
		indexes = append(indexes, i)
	}
	if s.opts.BadToken403 && badTokens == len(items) {
		s.rejectUpdates(now, fails)
		body := append(append([]byte(`{"error":`), appendJSONString(nil, "Invalid project token")...), `,"status":"error"}`...)
		return reply{status: http.StatusForbidden, contentType: "application/json", body: body}
	}

	applied := 0
	var rejectFn func(distinctID, op string) string
	if p := s.rejectUpdate.Load(); p != nil {
		rejectFn = *p
	}
	s.profilesMu.Lock()
	for i, u := range updates {
		if rejectFn != nil {
			if msg := rejectFn(u.distinctID, u.op); msg != "" {
				fails = append(fails, engageFailure{indexes[i], u.distinctID, fieldError{"$distinct_id", msg}})
				continue
			}
		}
		if err := s.apply(u); err != nil {
			fails = append(fails, engageFailure{indexes[i], u.distinctID, fieldError{u.op, err.Error()}})
			continue
		}
		applied++
	}
	s.profilesMu.Unlock()
	s.rejectUpdates(now, fails)
	return s.engageAnswer(verbose, strict, applied, fails, "")
}

func (s *Server) rejectUpdates(now time.Time, fails []engageFailure) {
	rejs := make([]Rejection, len(fails))
	for i, f := range fails {
		rejs[i] = Rejection{Time: now, Path: "/engage", Index: f.index, DistinctID: f.distinctID, Field: f.field, Message: f.message}
	}
	s.reject(rejs...)
}

// engageAnswer answers as /engage does: 200 with 1 when at least one update was
// good and 0 when none was (see Options.EngageFailIfAnyFailed); with verbose=1,
// {"status":…,"error":…}; with strict=1, per-update errors.
func (s *Server) engageAnswer(verbose, strict bool, applied int, fails []engageFailure, whole string) reply {
	if strict {
		switch {
		case whole != "":
			return jsonError(http.StatusBadRequest, whole)
		case len(fails) == 0:
			return reply{status: http.StatusOK, contentType: "application/json", body: importOK(applied)}
		}
		recs := make([]failedRecord, len(fails))
		for i, f := range fails {
			recs[i] = failedRecord{f.index, f.distinctID, f.fieldError}
		}
		b := []byte(`{"code":400,"error":"some data points in the request failed validation","failed_records":[`)
		b = appendFailedRecords(b, "$distinct_id", recs)
		b = append(b, `],"num_records_imported":`...)
		b = strconv.AppendInt(b, int64(applied), 10)
		b = append(b, `,"status":"Bad Request"}`...)
		return reply{status: http.StatusBadRequest, contentType: "application/json", body: b}
	}
	ok := applied > 0 && (len(fails) == 0 || !s.opts.EngageFailIfAnyFailed)
	if !verbose {
		body := []byte("0")
		if ok {
			body = []byte("1")
		}
		return reply{status: http.StatusOK, contentType: "text/plain; charset=utf-8", body: body}
	}
	if ok {
		return reply{status: http.StatusOK, contentType: "application/json", body: []byte(`{"status":1,"error":null}`)}
	}
	msg := whole
	if msg == "" && len(fails) > 0 {
		msg = fails[0].message
	}
	b := append([]byte(`{"status":0,"error":`), appendJSONString(nil, msg)...)
	return reply{status: http.StatusOK, contentType: "application/json", body: append(b, '}')}
}

// parseUpdate checks one update and decodes its operation.
func (s *Server) parseUpdate(item json.RawMessage) (profileUpdate, fieldError, bool) {
	var u profileUpdate
	if len(item) > s.opts.MaxUpdateBytes {
		return u, fieldError{"", fmt.Sprintf("update is invalid: must be at most %d bytes", s.opts.MaxUpdateBytes)}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(item, &m); err != nil || m == nil {
		return u, fieldError{"", "update must be a JSON object"}, false
	}
	if id, ok := idValue(m["$distinct_id"]); ok {
		u.distinctID = id
	}
	var token string
	switch t, ok := m["$token"]; {
	case !ok:
		return u, fieldError{"$token", "'$token' is invalid: must be specified"}, false
	case json.Unmarshal(t, &token) != nil || token == "" || (token != s.opts.Token && !s.opts.AnyCredentials):
		return u, fieldError{"$token", "'$token' is invalid: not this project's token"}, false
	}
	if u.distinctID == "" {
		return u, fieldError{"$distinct_id", "'$distinct_id' is invalid: must be a non-empty string"}, false
	}
	var val json.RawMessage
	for _, op := range engageOps {
		v, ok := m[op]
		if !ok {
			continue
		}
		if u.op != "" {
			return u, fieldError{op, fmt.Sprintf("update has more than one operation (%s and %s)", u.op, op)}, false
		}
		u.op, val = op, v
	}
	if u.op == "" {
		return u, fieldError{"", "update has no operation: one of $set, $set_once, $add, $union, $append, $remove, $unset, $delete"}, false
	}
	invalid := func(reason string) (profileUpdate, fieldError, bool) {
		return u, fieldError{u.op, fmt.Sprintf("'%s' is invalid: %s", u.op, reason)}, false
	}
	switch u.op {
	case "$delete":
		return u, fieldError{}, true
	case "$unset":
		if err := json.Unmarshal(val, &u.names); err != nil || u.names == nil {
			return invalid("must be a list of property names")
		}
		return u, fieldError{}, true
	}
	if err := json.Unmarshal(val, &u.props); err != nil || u.props == nil {
		return invalid("must be an object")
	}
	for k, v := range u.props {
		switch u.op {
		case "$add":
			if _, ok := v.(float64); !ok {
				return invalid(fmt.Sprintf("%q must be a number", k))
			}
		case "$union":
			if _, ok := v.([]any); !ok {
				return invalid(fmt.Sprintf("%q must be a list", k))
			}
		}
		u.props[k] = truncateValue(v, s.lim.maxString)
	}
	return u, fieldError{}, true
}

// idValue reads a distinct ID sent as a string or a number.
func idValue(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// apply runs one update on the profiles; s.profilesMu is held.
func (s *Server) apply(u profileUpdate) error {
	p, exists := s.profiles[u.distinctID]
	switch u.op {
	case "$delete":
		delete(s.profiles, u.distinctID)
		return nil
	case "$unset", "$remove":
		if !exists {
			return nil
		}
	}
	if !exists {
		p = map[string]any{}
	}
	// Check first, so that a failed update changes nothing.
	for k := range u.props {
		switch u.op {
		case "$add":
			if old, ok := p[k]; ok {
				if _, isNum := old.(float64); !isNum {
					return fmt.Errorf("'$add' is invalid: property %q is not a number", k)
				}
			}
		case "$union", "$append":
			if old, ok := p[k]; ok && old != nil {
				if _, isList := old.([]any); !isList {
					return fmt.Errorf("'%s' is invalid: property %q is not a list", u.op, k)
				}
			}
		}
	}
	switch u.op {
	case "$set":
		maps.Copy(p, u.props)
	case "$set_once":
		for k, v := range u.props {
			if _, ok := p[k]; !ok {
				p[k] = v
			}
		}
	case "$add":
		for k, v := range u.props {
			n, _ := p[k].(float64)
			p[k] = n + v.(float64)
		}
	case "$union":
		for k, v := range u.props {
			list, _ := p[k].([]any)
			list = slices.Clone(list)
			for _, x := range v.([]any) {
				if !contains(list, x) {
					list = append(list, x)
				}
			}
			p[k] = list
		}
	case "$append":
		for k, v := range u.props {
			list, _ := p[k].([]any)
			p[k] = append(slices.Clone(list), v)
		}
	case "$remove":
		for k, v := range u.props {
			list, ok := p[k].([]any)
			if !ok {
				continue
			}
			kept := list[:0:0]
			for _, x := range list {
				if !reflect.DeepEqual(x, v) {
					kept = append(kept, x)
				}
			}
			p[k] = kept
		}
	case "$unset":
		for _, k := range u.names {
			delete(p, k)
		}
	}
	s.profiles[u.distinctID] = p
	return nil
}

func contains(list []any, x any) bool {
	for _, y := range list {
		if reflect.DeepEqual(x, y) {
			return true
		}
	}
	return false
}
