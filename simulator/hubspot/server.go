// Package hubspot simulates HubSpot's CRM v3 objects API (batch writes and reads
// of contacts, companies, deals and custom objects, the properties API and the
// account API) with HubSpot's authentication, validation, rate limits and
// answers. Tests read the final state of the CRM and the requests received;
// faults are injected through simkit. It imitates HubSpot, not Sluice's client.
package hubspot

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // account time zones must load on machines without zoneinfo

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Server is the simulator; it is an http.Handler safe for concurrent use.
type Server struct {
	opts   Options
	loc    *time.Location
	tokens map[string]bool
	limits *limiter

	faults   simkit.Injector
	log      simkit.Log
	counters simkit.Counters

	mu      sync.RWMutex // guards the object types, their records and reject
	objects map[string]*objectType
	aliases map[string]*objectType
	reject  func(object string, properties map[string]string) string
}

// New returns a simulator with the given options (unset fields at their
// defaults). It panics on options Validate refuses; check them first when they
// come from a user.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.WithDefaults()
	loc, _ := time.LoadLocation(o.TimeZone) // Validate loaded it
	s := &Server{
		opts:    o,
		loc:     loc,
		tokens:  map[string]bool{},
		limits:  newLimiter(o, loc),
		objects: map[string]*objectType{},
		aliases: map[string]*objectType{},
		reject:  o.Reject,
	}
	for _, t := range o.Tokens {
		s.tokens[t] = true
	}
	s.log.KeepBodies, s.log.Limit = o.KeepBodies, o.LogLimit
	s.register(newObjectType("contacts", "0-1", "Contact", "createdate", "lastmodifieddate",
		[]string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"},
		contactProperties(), o.FirstID), "contact")
	s.register(newObjectType("companies", "0-2", "Company", "createdate", "hs_lastmodifieddate",
		[]string{"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"},
		companyProperties(), o.FirstID), "company")
	s.register(newObjectType("deals", "0-3", "Deal", "createdate", "hs_lastmodifieddate",
		[]string{"amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline"},
		dealProperties(), o.FirstID), "deal")
	for i, name := range sortedKeys(o.CustomObjects) {
		props := append(customSystemProperties(), o.CustomObjects[name]...)
		label := strings.ToUpper(name[:1]) + name[1:]
		ot := newObjectType(name, fmt.Sprintf("2-%d", 1001+i), label, "hs_createdate", "hs_lastmodifieddate",
			[]string{"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}, props, o.FirstID)
		s.register(ot, fmt.Sprintf("p%d_%s", o.PortalID, name))
	}
	return s
}

// standardAliases are the names of the standard object types in paths.
var standardAliases = map[string]bool{
	"contacts": true, "contact": true, "companies": true, "company": true, "deals": true, "deal": true,
}

func (s *Server) register(ot *objectType, aliases ...string) {
	s.objects[ot.name] = ot
	for _, a := range append(aliases, ot.name, ot.typeID) {
		s.aliases[a] = ot
	}
}

// objectType resolves a path's object type: a name, a singular, an objectTypeId
// or a custom object's fully qualified name.
func (s *Server) objectType(name string) (*objectType, bool) {
	ot, ok := s.aliases[strings.ToLower(name)]
	return ot, ok
}

// Options returns the options in effect (with defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Describe is a one-line summary for a banner.
func (s *Server) Describe() string { return s.opts.Describe() }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f simkit.Faults) { s.faults.Set(f) }

// Faults returns the injected faults, with the remaining counts.
func (s *Server) Faults() simkit.Faults { return s.faults.Get() }

// SetReject replaces Options.Reject while the simulator runs; nil removes it.
func (s *Server) SetReject(fn func(object string, properties map[string]string) string) {
	s.mu.Lock()
	s.reject = fn
	s.mu.Unlock()
}

// Log is the log of requests received.
func (s *Server) Log() *simkit.Log { return &s.log }

// Counters are the totals of requests by outcome.
func (s *Server) Counters() *simkit.Counters { return &s.counters }

// AddProperty defines a property of an object type (any name the API accepts),
// as POST /crm/v3/properties/{objectType} does.
func (s *Server) AddProperty(object string, p Property) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ot, ok := s.objectType(object)
	if !ok {
		return fmt.Errorf("hubspot: add property: unknown object type %q", object)
	}
	if err := ot.addProperty(p, instant(s.opts.Now())); err != nil {
		return fmt.Errorf("hubspot: add property: %w", err)
	}
	return nil
}

// Records returns the live (not archived) records of an object type in id order.
func (s *Server) Records(object string) []Record { return s.export(object, false) }

// Archived returns the archived records of an object type in id order.
func (s *Server) Archived(object string) []Record { return s.export(object, true) }

func (s *Server) export(object string, archived bool) []Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ot, ok := s.objectType(object)
	if !ok {
		return nil
	}
	var out []Record
	for _, r := range ot.list(archived) {
		out = append(out, r.export())
	}
	return out
}

// Find returns the live record whose property has this value (emails compared
// without case; "hs_object_id" is the record id).
func (s *Server) Find(object, property, value string) (Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ot, ok := s.objectType(object)
	if !ok {
		return Record{}, false
	}
	if property == "hs_object_id" {
		if r := ot.byID(value); r != nil {
			return r.export(), true
		}
		return Record{}, false
	}
	if _, ok := ot.unique[property]; ok {
		if r := ot.byUnique(property, value); r != nil {
			return r.export(), true
		}
		return Record{}, false
	}
	for _, r := range ot.list(false) {
		if r.props[property] == value {
			return r.export(), true
		}
	}
	return Record{}, false
}

// ServeHTTP answers a request the way api.hubapi.com would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, correlation: newUUID(), received: s.opts.Now()}
	body, err := simkit.ReadBody(r, s.opts.MaxBodyBytes, nil)
	var rep reply
	switch {
	case errors.Is(err, simkit.ErrTooLarge):
		rep = c.fail(http.StatusRequestEntityTooLarge, categoryValidation, "Request body is too large")
	case err != nil:
		rep = c.fail(http.StatusBadRequest, categoryValidation, "Could not read the request body: "+err.Error())
	default:
		c.body = body
		rep = s.serve(c)
	}

	for k, vs := range rep.header {
		w.Header()[k] = vs
	}
	w.Header().Set("X-HubSpot-Correlation-Id", c.correlation)
	if rep.body != nil {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
	}
	w.WriteHeader(rep.status)
	if rep.body != nil {
		_, _ = w.Write(rep.body)
	}

	s.counters.Count(rep.status)
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

// serve authenticates, applies the faults and the rate limits, then routes.
func (s *Server) serve(c *call) reply {
	token, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" || (len(s.tokens) > 0 && !s.tokens[token]) {
		return c.fail(http.StatusUnauthorized, categoryAuth, authMessage)
	}

	act, status := s.faults.Before(c.r.Context())
	if act == simkit.Force429 {
		v := s.limits.peek(token)
		v.retryAfter = time.Second
		rep := s.throttled(c, v)
		s.rateHeaders(&rep, v)
		return rep
	}
	v := s.limits.admit(token)
	var rep reply
	switch {
	case !v.ok:
		rep = s.throttled(c, v)
	case act == simkit.Fail5xx:
		rep = c.fail(status, "", serverErrorMessages[status])
	default:
		rep = s.route(c)
		s.faults.After(c.r.Context())
	}
	s.rateHeaders(&rep, v)
	return rep
}

// versionRE matches the date versions of paths such as /crm/objects/2026-03/.
var versionRE = regexp.MustCompile(`^\d{4}-\d{2}$`)

// route dispatches on the path: /crm/v3/{objects|properties}/… or the
// date-versioned /crm/{objects|properties}/2026-03/…, and /account-info/….
func (s *Server) route(c *call) reply {
	parts := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	if len(parts) >= 3 && parts[0] == "crm" {
		switch {
		case parts[1] == "v3":
			return s.routeCRM(c, parts[2], parts[3:])
		case versionRE.MatchString(parts[2]):
			return s.routeCRM(c, parts[1], parts[3:])
		}
	}
	if len(parts) >= 3 && parts[0] == "account-info" && (parts[1] == "v3" || versionRE.MatchString(parts[1])) {
		switch strings.Join(parts[2:], "/") {
		case "details":
			return s.only(c, http.MethodGet, s.accountDetails)
		case "api-usage/daily/private-apps":
			return s.only(c, http.MethodGet, s.apiUsage)
		}
	}
	return s.notFound(c)
}

func (s *Server) routeCRM(c *call, kind string, rest []string) reply {
	if len(rest) == 0 || (kind != "objects" && kind != "properties") {
		return s.notFound(c)
	}
	ot, ok := s.objectType(rest[0])
	if !ok {
		return jsonReply(http.StatusBadRequest, errorBody{Status: "error",
			Message: "Unable to infer object type from: " + rest[0], CorrelationID: c.correlation})
	}
	if kind == "properties" {
		switch len(rest) {
		case 1:
			if c.r.Method == http.MethodPost {
				return s.createProperty(c, ot)
			}
			return s.only(c, http.MethodGet, func(c *call) reply { return s.listProperties(c, ot) })
		case 2:
			return s.only(c, http.MethodGet, func(c *call) reply { return s.getProperty(c, ot, rest[1]) })
		}
		return s.notFound(c)
	}
	switch {
	case len(rest) == 1:
		return s.only(c, http.MethodGet, func(c *call) reply { return s.listObjects(c, ot) })
	case len(rest) == 2:
		return s.only(c, http.MethodGet, func(c *call) reply { return s.getObject(c, ot, rest[1]) })
	case len(rest) == 3 && rest[1] == "batch" && slices.Contains(batchOps, rest[2]):
		return s.only(c, http.MethodPost, func(c *call) reply { return s.batch(c, ot, rest[2]) })
	}
	return s.notFound(c)
}

func (s *Server) only(c *call, method string, h func(*call) reply) reply {
	if c.r.Method != method {
		rep := c.fail(http.StatusMethodNotAllowed, "", "HTTP 405 Method Not Allowed")
		rep.setHeader("Allow", method)
		return rep
	}
	return h(c)
}

func (s *Server) notFound(c *call) reply {
	return c.fail(http.StatusNotFound, categoryNotFound, "resource not found")
}
