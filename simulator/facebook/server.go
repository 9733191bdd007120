// Package facebook simulates Meta's Marketing API for customer file custom
// audiences (create, read, list and delete audiences; add, remove and replace
// their members) with Graph's authentication, validation, throttling, usage
// headers and error bodies. Tests read each audience's final membership and the
// requests received; faults are injected through simkit. It imitates Meta, not
// Sluice's client of it.
package facebook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Server is the simulator; it is an http.Handler safe for concurrent use. Paths
// may carry a version prefix (/v21.0/act_1/customaudiences) or none.
type Server struct {
	opts     Options
	tokens   map[string]bool
	readOnly map[string]bool
	grants   map[string]map[string]bool
	accounts map[string]bool // nil: every numeric ad account exists
	limits   *limiter

	faults   simkit.Injector
	log      simkit.Log
	counters simkit.Counters
	reject   atomic.Pointer[func(string, map[string]string) string]

	mu        sync.RWMutex // guards the audiences, their members and sessions
	audiences map[string]*audience
	active    map[string]int // live audiences per ad account
	nextID    uint64
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
		opts:      o,
		tokens:    set(o.Tokens),
		readOnly:  set(o.ReadOnlyTokens),
		grants:    map[string]map[string]bool{},
		limits:    newLimiter(o),
		audiences: map[string]*audience{},
		active:    map[string]int{},
		nextID:    o.FirstAudienceID,
	}
	if len(o.AdAccounts) > 0 {
		s.accounts = map[string]bool{}
		for _, a := range o.AdAccounts {
			s.accounts[strings.TrimPrefix(a, "act_")] = true
		}
	}
	for token, accounts := range o.Grants {
		s.grants[token] = map[string]bool{}
		for _, a := range accounts {
			s.grants[token][strings.TrimPrefix(a, "act_")] = true
		}
	}
	now := o.Now()
	for id, account := range o.Audiences {
		a := newAudience(id, strings.TrimPrefix(account, "act_"), now)
		a.name, a.source = "Audience "+id, "USER_PROVIDED_ONLY"
		s.audiences[id] = a
		s.active[a.account]++
	}
	if o.Reject != nil {
		s.SetReject(o.Reject)
	}
	s.log.KeepBodies, s.log.Limit = o.KeepBodies, o.LogLimit
	return s
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// Options returns the options in effect (with defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Describe is a one-line summary for a banner.
func (s *Server) Describe() string { return s.opts.Describe() }

// SetFaults replaces the injected faults. Force429 answers the custom-audience
// throttling error (code 80003, HTTP 400): Graph sends no 429.
func (s *Server) SetFaults(f simkit.Faults) { s.faults.Set(f) }

// Faults returns the injected faults, with the remaining counts.
func (s *Server) Faults() simkit.Faults { return s.faults.Get() }

// Log is the log of requests received.
func (s *Server) Log() *simkit.Log { return &s.log }

// Counters are the totals of requests by outcome; Throttled counts the
// throttling errors (sent with HTTP 400, not 429).
func (s *Server) Counters() *simkit.Counters { return &s.counters }

// SetReject replaces Options.Reject while the simulator runs; nil removes it.
func (s *Server) SetReject(fn func(audienceID string, identifiers map[string]string) string) {
	if fn == nil {
		s.reject.Store(nil)
		return
	}
	s.reject.Store(&fn)
}

// ServeHTTP answers a request the way graph.facebook.com would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, trace: newTraceID(), received: s.opts.Now(), method: r.Method, version: s.opts.APIVersion}
	body, err := simkit.ReadBody(r, s.opts.MaxBodyBytes, nil)
	var rep reply
	switch {
	case errors.Is(err, simkit.ErrTooLarge):
		rep = c.fail(http.StatusRequestEntityTooLarge, graphError{Code: 1, Message: "Request Entity Too Large"})
	case err != nil:
		rep = c.invalidParam("the request body cannot be read: %v", err)
	default:
		c.body = body
		rep = s.serve(c)
	}

	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	h.Set("Content-Type", "application/json")
	h.Set("facebook-api-version", c.version)
	h.Set("x-fb-trace-id", c.trace)
	h.Set("x-fb-request-id", c.trace)
	h.Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)

	s.counters.Requests.Add(1)
	switch {
	case rep.throttled:
		s.counters.Throttled.Add(1)
	case rep.status >= 500:
		s.counters.ServerErrors.Add(1)
	case rep.status >= 400:
		s.counters.ClientErrors.Add(1)
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

// target is what a path names.
type target struct {
	account  string    // the ad account concerned (digits), "" when unknown
	audience *audience // for /{audience_id}…
	edge     string    // customaudiences, users, usersreplace or ""
}

// serve reads the parameters, authenticates, resolves the path, applies the
// faults and the limits, then routes.
func (s *Server) serve(c *call) reply {
	parts := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	if len(parts) > 0 && versionRE.MatchString(parts[0]) {
		c.version, parts = parts[0], parts[1:]
	}
	p, err := parseParams(c.r, c.body)
	if err != nil {
		return c.invalidParam("%v", err)
	}
	c.params = p
	if c.method == http.MethodPost {
		if m := strings.ToUpper(p["method"]); m == http.MethodGet || m == http.MethodDelete {
			c.method = m
		}
	}
	if rep, ok := s.authenticate(c); !ok {
		return rep
	}
	t, rep, ok := s.resolve(c, parts)
	if !ok {
		u := s.limits.peek("", 0)
		s.setUsage(&rep, u, false)
		return rep
	}
	if c.method != http.MethodGet && s.readOnly[c.token] {
		return c.fail(http.StatusBadRequest, graphError{Code: 294,
			Message: "(#294) Managing advertisements requires an access token with the extended permission for ads_management"})
	}

	s.mu.RLock()
	active := s.active[t.account]
	s.mu.RUnlock()
	membership := t.edge == "users" || t.edge == "usersreplace"
	act, status := s.faults.Before(c.r.Context())
	switch act {
	case simkit.Force429:
		u := s.limits.peek(t.account, active)
		u.code = 80003
		rep := s.throttled(c, 80003)
		s.setUsage(&rep, u, membership)
		return rep
	case simkit.Fail5xx:
		return c.serverError(status)
	}
	points := s.opts.WritePoints
	if c.method == http.MethodGet {
		points = s.opts.ReadPoints
	}
	u := s.limits.admit(t.account, active, points)
	if u.code != 0 {
		rep = s.throttled(c, u.code)
	} else {
		rep = s.route(c, t)
		s.faults.After(c.r.Context())
	}
	s.setUsage(&rep, u, membership)
	return rep
}

// authenticate checks the access token and, with an app secret, appsecret_proof.
func (s *Server) authenticate(c *call) (reply, bool) {
	c.token = c.params.token(c.r)
	if c.token == "" {
		return c.fail(s.opts.AuthErrorStatus, graphError{Code: 104, Message: "An access token is required to request this resource."}), false
	}
	if len(s.tokens) > 0 && !s.tokens[c.token] {
		rep := c.fail(s.opts.AuthErrorStatus, graphError{Code: 190, Message: "Invalid OAuth access token."})
		rep.setHeader("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."`)
		return rep, false
	}
	if s.opts.AppSecret == "" {
		return reply{}, true
	}
	proof := c.params["appsecret_proof"]
	if proof == "" {
		if s.opts.RequireAppSecretProof {
			return c.fail(http.StatusBadRequest, graphError{Code: 100, Message: "API calls from the server require an appsecret_proof argument"}), false
		}
		return reply{}, true
	}
	mac := hmac.New(sha256.New, []byte(s.opts.AppSecret))
	mac.Write([]byte(c.token))
	if !hmac.Equal([]byte(strings.ToLower(proof)), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return c.fail(http.StatusBadRequest, graphError{Type: typeMethod, Code: 100, Message: "Invalid appsecret_proof provided in the API argument"}), false
	}
	return reply{}, true
}

// resolve finds what the path names and whether the token may use it.
func (s *Server) resolve(c *call, parts []string) (target, reply, bool) {
	if len(parts) == 0 || parts[0] == "" {
		return target{}, c.fail(http.StatusBadRequest, graphError{Code: 2500, Message: "Unknown path components: /"}), false
	}
	if len(parts) > 2 {
		return target{}, c.unknownPath(parts[2:]), false
	}
	var t target
	if len(parts) == 2 {
		t.edge = parts[1]
	}
	id := parts[0]
	grants, restricted := s.grants[c.token]
	switch {
	case strings.HasPrefix(id, "act_") && digitsRE.MatchString(id[4:]):
		t.account = id[4:]
		if (s.accounts != nil && !s.accounts[t.account]) || (restricted && !grants[t.account]) {
			return target{}, c.unsupported(c.method, id), false
		}
		if t.edge != "" && t.edge != "customaudiences" {
			return target{}, c.unknownPath(parts[1:]), false
		}
	case digitsRE.MatchString(id):
		s.mu.RLock()
		a, ok := s.audiences[id]
		deleted := ok && a.deleted
		s.mu.RUnlock()
		if !ok || deleted {
			return target{}, c.unsupported(c.method, id), false
		}
		if restricted && !grants[a.account] {
			if c.method == http.MethodGet {
				return target{}, c.unsupported(c.method, id), false
			}
			return target{}, c.fail(http.StatusForbidden, graphError{Code: 200,
				Message: "(#200) The current user can not update audience " + id}), false
		}
		if t.edge != "" && t.edge != "users" && t.edge != "usersreplace" {
			return target{}, c.unknownPath(parts[1:]), false
		}
		t.account, t.audience = a.account, a
	default:
		return target{}, c.fail(http.StatusNotFound, graphError{Code: 803,
			Message: "(#803) Some of the aliases you requested do not exist: " + id}), false
	}
	return t, reply{}, true
}

// unknownPath is Graph's answer to an edge it does not know.
func (c *call) unknownPath(rest []string) reply {
	return c.fail(http.StatusBadRequest, graphError{Code: 2500, Message: "Unknown path components: /" + strings.Join(rest, "/")})
}

// route dispatches on the target and the method.
func (s *Server) route(c *call, t target) reply {
	switch {
	case t.audience == nil && t.edge == "":
		if c.method == http.MethodGet {
			return jsonReply(http.StatusOK, map[string]string{"id": "act_" + t.account, "account_id": t.account})
		}
	case t.audience == nil:
		switch c.method {
		case http.MethodGet:
			return s.listAudiences(c, t.account)
		case http.MethodPost:
			return s.createAudience(c, t.account)
		}
	case t.edge == "":
		switch c.method {
		case http.MethodGet:
			return s.getAudience(c, t.audience)
		case http.MethodPost:
			return s.updateAudience(c, t.audience)
		case http.MethodDelete:
			return s.deleteAudience(c, t.audience)
		}
	case t.edge == "users":
		switch c.method {
		case http.MethodPost:
			return s.users(c, t.audience, "add")
		case http.MethodDelete:
			return s.users(c, t.audience, "remove")
		}
	case t.edge == "usersreplace":
		if c.method == http.MethodPost {
			return s.users(c, t.audience, "replace")
		}
	}
	id := "act_" + t.account
	if t.audience != nil {
		id = t.audience.id
	}
	if t.edge != "" {
		id = fmt.Sprintf("%s/%s", id, t.edge)
	}
	return c.unsupported(c.method, id)
}
