// Package slack simulates Slack's chat.postMessage Web API (with auth.test and
// conversations.info) and incoming webhooks, with Slack's authentication,
// channel rules, message validation, per-channel and workspace rate limits and
// answers. Tests read which messages each channel received, in order, and the
// requests received; faults are injected through simkit. It imitates Slack, not
// Sluice's client of it.
package slack

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Server is the simulator; it is an http.Handler safe for concurrent use.
type Server struct {
	opts    Options
	created time.Time // when the simulated channels were created
	limits  atomic.Pointer[limiter]

	faults   simkit.Injector
	log      simkit.Log
	counters simkit.Counters

	mu       sync.RWMutex // guards everything below
	tokens   map[string]string
	channels map[string]Channel
	names    map[string]string // channel name → ID
	webhooks map[string]string // webhook key ("T…/B…/secret") → channel ID
	stored   []Message
	lastTS   int64 // microseconds of the latest message ts
	reject   func(Message) string

	failMu   sync.Mutex
	failures []Failure
}

// New returns a simulator with the given options (unset fields at their
// defaults). It panics on options Validate refuses; check them first when they
// come from a user.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.WithDefaults()
	o.Channels = maps.Clone(o.Channels)
	o.Webhooks = maps.Clone(o.Webhooks)
	s := &Server{
		opts:     o,
		created:  o.Now(),
		tokens:   map[string]string{},
		channels: map[string]Channel{},
		names:    map[string]string{},
		webhooks: map[string]string{},
		reject:   o.Reject,
	}
	for _, t := range o.Tokens {
		s.tokens[t] = ""
	}
	for _, t := range o.InactiveTokens {
		s.tokens[t] = "account_inactive"
	}
	for _, t := range o.RevokedTokens {
		s.tokens[t] = "token_revoked"
	}
	for id, c := range o.Channels {
		s.channels[id] = c
		s.names[c.Name] = id
	}
	for path, ch := range o.Webhooks {
		s.webhooks[webhookKey(path)] = ch
	}
	s.limits.Store(newLimiter(o))
	s.log.KeepBodies, s.log.Limit = o.KeepBodies, o.LogLimit
	return s
}

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

// Counters are the totals of requests by HTTP status. Slack answers most Web
// API errors with 200, so they count as successes here; see Failures.
func (s *Server) Counters() *simkit.Counters { return &s.counters }

// SetReject replaces Options.Reject while the simulator runs; nil removes it.
func (s *Server) SetReject(fn func(m Message) string) {
	s.mu.Lock()
	s.reject = fn
	s.mu.Unlock()
}

// RevokeToken makes a token answer token_revoked from now on, as when the app
// is uninstalled mid-run.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	s.tokens[token] = "token_revoked"
	s.mu.Unlock()
}

// SetChannel adds or changes a channel (archive it, remove the bot…) while the
// simulator runs.
func (s *Server) SetChannel(id string, c Channel) error {
	if err := (Options{Channels: map[string]Channel{id: c}}).Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if other, ok := s.names[c.Name]; ok && other != id {
		return fmt.Errorf("slack: set channel %s: name %q is %s's", id, c.Name, other)
	}
	if old, ok := s.channels[id]; ok {
		delete(s.names, old.Name)
	}
	s.channels[id] = c
	s.names[c.Name] = id
	return nil
}

// Channels returns the workspace's channels by ID, those AnyChannel created included.
func (s *Server) Channels() map[string]Channel {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.channels)
}

// ChannelID resolves a channel name ("alerts" or "#alerts") or ID to its ID.
func (s *Server) ChannelID(ref string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.findChannel(ref)
}

// Messages returns the messages a channel (ID or name) received, in arrival order.
func (s *Server) Messages(channel string) []Message {
	id, ok := s.ChannelID(channel)
	if !ok {
		return nil
	}
	return s.messages(id)
}

// AllMessages returns every message of every channel, in arrival order.
func (s *Server) AllMessages() []Message { return s.messages("") }

// Failures returns the posts that stored nothing (the latest 100,000), oldest
// first: refused by Slack's rules, rate-limited, rejected, or answered with an
// injected fault.
func (s *Server) Failures() []Failure {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return append([]Failure(nil), s.failures...)
}

// Reset forgets every message, failure, logged request and rate-limit use, and
// the counters. Channels, tokens and webhooks stay as they are.
func (s *Server) Reset() {
	s.mu.Lock()
	s.stored = nil
	s.mu.Unlock()
	s.failMu.Lock()
	s.failures = nil
	s.failMu.Unlock()
	s.log.Reset()
	s.counters.Requests.Store(0)
	s.counters.Throttled.Store(0)
	s.counters.ServerErrors.Store(0)
	s.counters.ClientErrors.Store(0)
	s.limits.Store(newLimiter(s.opts))
}

// reply is a handler's answer; ServeHTTP writes it.
type reply struct {
	status      int
	contentType string
	body        []byte
	retryAfter  string // Retry-After header, when set
}

func textReply(status int, text string) reply {
	return reply{status: status, contentType: "text/plain; charset=utf-8", body: []byte(text)}
}

// call is one request being answered.
type call struct {
	r        *http.Request
	path     string // without Options.Prefix
	body     []byte
	received time.Time
}

// ServeHTTP answers a request the way slack.com/api and hooks.slack.com would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, received: s.opts.Now()}
	var rep reply
	path, routed := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	if !routed || (path != "" && path[0] != '/') {
		rep = textReply(http.StatusNotFound, "404 page not found")
	} else {
		c.path = path
		rep = s.serve(c)
	}

	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	if !isWebhook(c.path) {
		w.Header().Set("X-Slack-Req-Id", fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64()))
	}
	w.Header().Set("Content-Type", rep.contentType)
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)

	s.counters.Count(rep.status)
	s.log.Add(simkit.Request{
		Time:     c.received,
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     c.body,
		Status:   rep.status,
	})
}

// serve reads the body, applies the faults and routes.
func (s *Server) serve(c *call) reply {
	webhook := isWebhook(c.path)
	method := apiMethod(c.path)
	post := webhook || method == "chat.postMessage"
	body, err := simkit.ReadBody(c.r, s.opts.MaxBodyBytes, nil)
	switch {
	case errors.Is(err, simkit.ErrTooLarge):
		return textReply(http.StatusRequestEntityTooLarge, "request entity too large")
	case err != nil:
		return textReply(http.StatusBadRequest, "bad request: "+err.Error())
	}
	c.body = body

	act, status := s.faults.Before(c.r.Context())
	switch act {
	case simkit.Fail5xx:
		if post {
			s.fail(Failure{Time: c.received, Via: via(webhook), Status: status})
		}
		if webhook && status == http.StatusInternalServerError {
			return hookReply(status, "rollup_error")
		}
		return serverError(status)
	case simkit.Force429:
		if post {
			s.fail(Failure{Time: c.received, Via: via(webhook), Status: http.StatusTooManyRequests, Error: throttledError(webhook)})
		}
		return throttled(webhook, time.Second)
	}
	defer s.faults.After(c.r.Context())

	if webhook {
		return s.webhook(c)
	}
	if c.r.Method != http.MethodPost && c.r.Method != http.MethodGet {
		return textReply(http.StatusMethodNotAllowed, "method not allowed")
	}
	switch method {
	case "chat.postMessage":
		return s.postMessage(c)
	case "auth.test":
		return s.authTest(c)
	case "conversations.info":
		return s.conversationsInfo(c)
	}
	return jsonReply(http.StatusNotFound, apiBody{Error: "unknown_method", ReqMethod: method})
}

func isWebhook(path string) bool { return strings.HasPrefix(path, "/services/") }

// apiMethod is the method a Web API path names: /chat.postMessage or
// /api/chat.postMessage.
func apiMethod(path string) string {
	path = strings.TrimPrefix(path, "/api/")
	return strings.Trim(path, "/")
}

func via(webhook bool) string {
	if webhook {
		return ViaWebhook
	}
	return ViaAPI
}

// throttledError is the error of a 429: the Web API's body says "ratelimited";
// a webhook's plain-text body is a guess.
func throttledError(webhook bool) string {
	if webhook {
		return "rate_limited"
	}
	return "ratelimited"
}

// throttled is Slack's 429: Retry-After in seconds and {"ok":false,"error":"ratelimited"}
// (a webhook's body is the bare word).
func throttled(webhook bool, wait time.Duration) reply {
	var rep reply
	if webhook {
		rep = hookReply(http.StatusTooManyRequests, throttledError(true))
	} else {
		rep = jsonReply(http.StatusTooManyRequests, apiBody{Error: throttledError(false)})
	}
	rep.retryAfter = retryAfter(wait)
	return rep
}

// serverError is what the load balancer in front of Slack answers (sim text).
func serverError(status int) reply {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	body := "<html><head><title>" + text + "</title></head><body><h1>" + text + "</h1></body></html>\n"
	return reply{status: status, contentType: "text/html; charset=utf-8", body: []byte(body)}
}
