// Package salesforce simulates Salesforce's REST API for writing records: sObject
// Collections (create, update, upsert, delete of up to 200 records), Bulk API 2.0
// ingest jobs (CSV, processed in the background at a set rate), describe,
// limits, reading records back by id or external id and a subset of SOQL to
// look records up, with Salesforce's authentication, field validation, save
// results, daily request allocation and error bodies. Tests read the org's final state and the requests received;
// faults are injected through simkit. It imitates Salesforce, not Sluice's
// client of it.
package salesforce

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Server is the simulator; it is an http.Handler safe for concurrent use.
type Server struct {
	opts     Options
	tokens   map[string]bool
	versions map[string]bool
	limits   *limiter
	userID   string

	faults   simkit.Injector
	log      simkit.Log
	counters simkit.Counters

	mu       sync.Mutex // guards everything below: the org's schema, records and jobs
	objects  map[string]*objectType
	byLower  map[string]*objectType
	byPrefix map[string]*objectType
	order    []*objectType
	custom   int // custom objects made, for their key prefixes
	reject   func(object string, fields map[string]any) (statusCode, message string)
	rng      *rand.Rand

	bulk        bulkQueue
	jobs        map[string]*job
	jobOrder    []*job
	jobSeq      uint64
	bulkRecords *simkit.Window
	bulkBatches *simkit.Window

	cursors  map[string]*queryCursor // SOQL results past their first page
	querySeq uint64
}

// New returns a simulator with the given options (unset fields at their
// defaults). It panics on options Validate refuses; check them first when they
// come from a user.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.WithDefaults()
	s := &Server{
		opts:        o,
		tokens:      map[string]bool{},
		versions:    map[string]bool{},
		limits:      newLimiter(o),
		userID:      newID("005", firstSequence),
		objects:     map[string]*objectType{},
		byLower:     map[string]*objectType{},
		byPrefix:    map[string]*objectType{},
		reject:      o.Reject,
		rng:         rand.New(rand.NewPCG(o.Seed, 0x5a1e5f0ce)),
		jobs:        map[string]*job{},
		cursors:     map[string]*queryCursor{},
		querySeq:    firstSequence,
		jobSeq:      firstSequence,
		bulkRecords: simkit.NewWindow(o.BulkDailyRecords, 24*time.Hour, o.Now),
		bulkBatches: simkit.NewWindow(o.BulkDailyBatches, 24*time.Hour, o.Now),
	}
	for _, t := range o.Tokens {
		s.tokens[t] = true
	}
	for _, v := range o.APIVersions {
		s.versions[v] = true
	}
	s.log.KeepBodies, s.log.Limit = o.KeepBodies, o.LogLimit
	for _, name := range []string{"Account", "Contact", "Lead", "Opportunity"} {
		def := standardObjects[name]
		ot := newObjectType(name, def.label, def.plural, def.prefix, false)
		for _, f := range append(systemFields(def.label), def.fields()...) {
			must(ot.addField(f, false))
		}
		s.register(ot)
	}
	for _, name := range sortedKeys(o.CustomObjects) {
		must(s.addObject(name, o.CustomObjects[name]))
	}
	for _, name := range sortedKeys(o.CustomFields) {
		for _, f := range o.CustomFields[name] {
			must(s.objects[name].addField(f, true))
		}
	}
	return s
}

func must(err error) {
	if err != nil {
		panic("salesforce: " + err.Error())
	}
}

func (s *Server) register(ot *objectType) {
	s.objects[ot.name] = ot
	s.byLower[strings.ToLower(ot.name)] = ot
	s.byPrefix[ot.prefix] = ot
	s.order = append(s.order, ot)
}

// addObject defines a custom object with its fields.
func (s *Server) addObject(name string, fields []Field) error {
	if !customNameRE.MatchString(name) {
		return fmt.Errorf("custom object %q: a name is letters, digits and _ ending in __c", name)
	}
	if _, ok := s.byLower[strings.ToLower(name)]; ok {
		return fmt.Errorf("object %s already exists", name)
	}
	if s.custom >= 62*62 {
		return errors.New("too many custom objects")
	}
	prefix := "a" + string(base62[s.custom/62]) + string(base62[s.custom%62])
	label := strings.ReplaceAll(strings.TrimSuffix(name, "__c"), "_", " ")
	ot := newObjectType(name, label, label+"s", prefix, true)
	for _, f := range append(systemFields(label), customNameField()) {
		must(ot.addField(f, false))
	}
	for _, f := range fields {
		if err := ot.addField(f, true); err != nil {
			return fmt.Errorf("custom object %s: %w", name, err)
		}
	}
	s.custom++
	s.register(ot)
	return nil
}

// object resolves an object name as paths and attributes give it: without case.
func (s *Server) object(name string) *objectType { return s.byLower[strings.ToLower(name)] }

// Options returns the options in effect (with defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Describe is a one-line summary for a banner.
func (s *Server) Describe() string { return s.opts.Describe() }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f simkit.Faults) { s.faults.Set(f) }

// Faults returns the injected faults, with the remaining counts.
func (s *Server) Faults() simkit.Faults { return s.faults.Get() }

// Log is the log of requests received.
func (s *Server) Log() *simkit.Log { return &s.log }

// Counters are the totals of requests by outcome; requests refused for a limit
// (403 REQUEST_LIMIT_EXCEEDED) count as Throttled.
func (s *Server) Counters() *simkit.Counters { return &s.counters }

// APIUsage is the requests counted in the rolling 24 hours and the allocation,
// as Sforce-Limit-Info reports them.
func (s *Server) APIUsage() (used, limit int64) { return s.limits.usage() }

// SetReject replaces Options.Reject while the simulator runs; nil removes it.
func (s *Server) SetReject(fn func(object string, fields map[string]any) (statusCode, message string)) {
	s.mu.Lock()
	s.reject = fn
	s.mu.Unlock()
}

// AddField defines a field of an object. A custom object (a name ending in __c)
// that does not exist yet is created with it.
func (s *Server) AddField(object string, f Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ot := s.object(object)
	if ot == nil {
		if !customNameRE.MatchString(object) {
			return fmt.Errorf("salesforce: add field: no object %q (custom objects end in __c)", object)
		}
		if err := s.addObject(object, nil); err != nil {
			return fmt.Errorf("salesforce: add field: %w", err)
		}
		ot = s.object(object)
	}
	if err := ot.addField(f, true); err != nil {
		return fmt.Errorf("salesforce: add field: %w", err)
	}
	return nil
}

// AddObject defines a custom object (a name ending in __c) with its fields.
func (s *Server) AddObject(name string, fields ...Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addObject(name, fields); err != nil {
		return fmt.Errorf("salesforce: add object: %w", err)
	}
	return nil
}

// Records returns the live records of an object in id order, after the Bulk
// jobs due by now have been processed.
func (s *Server) Records(object string) []Record { return s.export(object, false) }

// Deleted returns the records of an object in the recycle bin, in id order.
// Hard-deleted records are in neither list.
func (s *Server) Deleted(object string) []Record { return s.export(object, true) }

func (s *Server) export(object string, deleted bool) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	ot := s.object(object)
	if ot == nil {
		return nil
	}
	var out []Record
	for _, r := range ot.list(deleted) {
		out = append(out, r.export())
	}
	return out
}

// Find returns the first live record (in id order) whose field has this value,
// given as text: text fields are compared without case unless CaseSensitive,
// as Salesforce matches external ids; "Id" takes a 15- or 18-character id.
func (s *Server) Find(object, field, value string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	ot := s.object(object)
	if ot == nil {
		return Record{}, false
	}
	f := ot.field(field)
	if f == nil {
		return Record{}, false
	}
	if f.Type == TypeID {
		if r := ot.live(value); r != nil {
			return r.export(), true
		}
		return Record{}, false
	}
	v, bad := convertText(f, value)
	if bad != nil {
		return Record{}, false
	}
	want := f.key(v)
	for _, r := range ot.list(false) {
		if got, ok := r.fields[f.Name]; ok && f.key(got) == want {
			return r.export(), true
		}
	}
	return Record{}, false
}

// ServeHTTP answers a request the way an org's My Domain would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, received: s.opts.Now()}
	limit := s.opts.MaxBodyBytes
	if r.Method == http.MethodPut {
		limit = s.opts.MaxUploadBytes
	}
	body, err := simkit.ReadBody(r, limit, nil)
	var rep reply
	switch {
	case errors.Is(err, simkit.ErrTooLarge):
		rep = errorReply(http.StatusRequestEntityTooLarge, apiError{ErrorCode: "REQUEST_ENTITY_TOO_LARGE",
			Message: fmt.Sprintf("The request body exceeds the limit of %d bytes", limit)})
	case err != nil:
		rep = badRequest("JSON_PARSER_ERROR", "Could not read the request body: "+err.Error())
	default:
		c.body = body
		rep = s.serve(c)
	}

	for k, vs := range rep.header {
		w.Header()[k] = vs
	}
	if rep.body != nil {
		w.Header().Set("Content-Type", rep.contentType)
	}
	w.WriteHeader(rep.status)
	if rep.body != nil {
		_, _ = w.Write(rep.body)
	}

	if rep.throttled {
		s.counters.Requests.Add(1)
		s.counters.Throttled.Add(1)
	} else {
		s.counters.Count(rep.status)
	}
	s.log.Add(simkit.Request{
		Time:     c.received,
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		Status:   rep.status,
	})
}

// serve authenticates, applies the limits and the faults, then routes.
func (s *Server) serve(c *call) reply {
	if strings.Trim(c.r.URL.Path, "/") == "services/data" {
		// The version list needs no session and counts against nothing.
		return only(c, s.versionList, http.MethodGet)
	}
	auth := c.r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "OAuth ")
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" || (len(s.tokens) > 0 && !s.tokens[token]) {
		return errorReply(http.StatusUnauthorized, errSession)
	}

	id, ok := s.limits.begin()
	if !ok {
		rep := limitExceeded(concurrentExceeded)
		rep.throttled = true
		s.limitHeader(&rep)
		return rep
	}
	defer s.limits.end(id)

	act, status := s.faults.Before(c.r.Context())
	var rep reply
	switch {
	case act == simkit.Force429:
		// Salesforce never answers 429: a forced rate limit is its 403.
		rep = limitExceeded(totalRequestsExceeded)
		rep.throttled = true
	case !s.limits.admit():
		rep = limitExceeded(totalRequestsExceeded)
		rep.throttled = true
	case act == simkit.Fail5xx:
		rep = serverError(status)
	default:
		rep = s.route(c)
		s.faults.After(c.r.Context())
	}
	s.limitHeader(&rep)
	return rep
}

// route dispatches on the path under /services/data.
func (s *Server) route(c *call) reply {
	parts := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "services" || parts[1] != "data" {
		return notFound()
	}
	if len(parts) == 2 {
		return notFound() // /services/data is answered before authentication
	}
	version, ok := strings.CutPrefix(parts[2], "v")
	if !ok || !s.acceptsVersion(version) {
		return notFound()
	}
	c.version = version
	rest := parts[3:]
	overrideMethod(c)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(c.received)

	switch {
	case len(rest) == 0:
		return only(c, func() reply { return s.resources(c) }, http.MethodGet)
	case len(rest) == 1 && rest[0] == "limits":
		return only(c, func() reply { return jsonReply(http.StatusOK, s.limitsBody()) }, http.MethodGet)
	case rest[0] == "sobjects":
		return s.routeSObjects(c, rest[1:])
	case rest[0] == "query" || rest[0] == "queryAll":
		return s.routeQuery(c, rest[0] == "queryAll", rest[1:])
	case len(rest) >= 2 && rest[0] == "composite" && rest[1] == "sobjects":
		return s.routeCollections(c, rest[2:])
	case len(rest) >= 2 && rest[0] == "jobs" && rest[1] == "ingest":
		return s.routeJobs(c, rest[2:])
	}
	return notFound()
}

// overrideMethod applies the _HttpMethod query parameter: a client that cannot
// send PATCH or DELETE sends POST with _HttpMethod=PATCH (or DELETE), and the
// request is routed as that method.
func overrideMethod(c *call) {
	if c.r.Method != http.MethodPost {
		return
	}
	m := strings.ToUpper(c.r.URL.Query().Get("_HttpMethod"))
	if m != http.MethodPatch && m != http.MethodDelete {
		return
	}
	r := *c.r
	r.Method = m
	c.r = &r
}

func (s *Server) acceptsVersion(v string) bool {
	if !versionRE.MatchString(v) {
		return false
	}
	if len(s.versions) > 0 {
		return s.versions[v]
	}
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n >= minAPIVersion
}

// versionList is GET /services/data: the versions the org serves.
func (s *Server) versionList() reply {
	type version struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	var vs []string
	if len(s.opts.APIVersions) > 0 {
		vs = slices.Clone(s.opts.APIVersions)
		slices.SortFunc(vs, func(a, b string) int {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			return int(x*10 - y*10)
		})
	} else {
		for n := minAPIVersion; n <= latestAPIVersion; n++ {
			vs = append(vs, fmt.Sprintf("%d.0", n))
		}
	}
	out := make([]version, len(vs))
	for i, v := range vs {
		out[i] = version{Label: releaseLabel(v), URL: "/services/data/v" + v, Version: v}
	}
	return jsonReply(http.StatusOK, out)
}

// releaseLabel names the release of an API version: 46.0 is Summer '19, and
// each release after it adds one.
func releaseLabel(v string) string {
	n, _ := strconv.ParseFloat(v, 64)
	i := int(n) - 46
	floorDiv := func(a, b int) int {
		q := a / b
		if a%b < 0 {
			q--
		}
		return q
	}
	season := []string{"Summer", "Winter", "Spring"}[i-3*floorDiv(i, 3)]
	return fmt.Sprintf("%s '%02d", season, 19+floorDiv(i+2, 3))
}

// resources is GET /services/data/vXX.X: the resources of a version.
func (s *Server) resources(c *call) reply {
	base := "/services/data/v" + c.version + "/"
	return jsonReply(http.StatusOK, map[string]string{
		"composite": base + "composite",
		"jobs":      base + "jobs",
		"limits":    base + "limits",
		"query":     base + "query",
		"queryAll":  base + "queryAll",
		"sobjects":  base + "sobjects",
	})
}
