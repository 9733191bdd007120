// Package mixpanel simulates Mixpanel's ingestion API: /import for events and
// /engage for user profiles, with Mixpanel's authentication, validation, limits,
// deduplication and answers. Tests read the final state (events as deduplicated,
// profiles) and the requests received; faults are injected through simkit.
package mixpanel

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Options configure the simulator. The zero value of a field means its default;
// docs/simulators/mixpanel.md gives the source of each default, and which are
// unconfirmed guesses.
type Options struct {
	// ProjectID is what a service account must name in ?project_id=. Default "1".
	ProjectID string
	// Token is the project token: a Basic-auth username (empty password) on
	// /import, and the $token every /engage update must carry. Default "simtoken".
	Token string
	// Secret is the deprecated project API secret, accepted as a Basic-auth
	// username on /import when set. Default: none.
	Secret string
	// ServiceAccounts maps service-account usernames to secrets. Nil means
	// {"sim-sa": "sim-secret"}; an empty map allows none.
	ServiceAccounts map[string]string
	// AnyCredentials accepts any non-empty service account with any project_id,
	// and any non-empty project token (on /import and in /engage's $token), for
	// trying a project file against the simulator without matching its
	// credentials; `sluice simulate mixpanel` sets it unless credentials are given.
	AnyCredentials bool

	// MaxEvents is the most events one /import request may carry. Default 2,000.
	MaxEvents int
	// MaxBytes is the most uncompressed bytes a request body may have. Default 10 MiB.
	MaxBytes int64
	// MaxEventBytes is the most bytes one event may have. Default 1 MiB - 1
	// (the docs: smaller than 1MB).
	MaxEventBytes int
	// MaxProperties is the most properties one event may have. Default 254
	// (the docs: fewer than 255).
	MaxProperties int
	// MaxObjectKeys is the most keys a nested object may have. Default 254.
	MaxObjectKeys int
	// MaxListLen is the most elements a list may have. Default 254.
	MaxListLen int
	// MaxDepth is the deepest nesting of objects and lists in properties. Default 3.
	MaxDepth int
	// MaxStringLen is the length in characters strings are truncated to (not
	// rejected). Default 255.
	MaxStringLen int
	// FutureTolerance is how far in the future an event's time may be. Default 1h.
	FutureTolerance time.Duration
	// KeepFutureTimes keeps a tolerated future time as sent. By default it is
	// replaced by the time of ingestion, as the docs say.
	KeepFutureTimes bool
	// AllowMissingDistinctID accepts events without distinct_id (stored as "").
	AllowMissingDistinctID bool
	// StrictByDefault treats a request without ?strict= as strict=1.
	StrictByDefault bool
	// FailedRecordIDKey is the key naming an event's $insert_id in failed_records.
	// Default "insert_id" (what the API sends; one docs example says "$insert_id").
	FailedRecordIDKey string
	// TooManyEventsStatus answers a request with more than MaxEvents events. Default 413.
	TooManyEventsStatus int

	// BytesPerMinute is the rate limit: uncompressed bytes of /import (and
	// /engage) bodies per rolling minute. Default 2 GiB; negative disables it.
	BytesPerMinute int64
	// EventsPerSecond, when positive, also limits events to EventsPerSecond×60
	// per rolling minute (the docs' "~30k events per second"). Default off.
	EventsPerSecond int64
	// Count429 makes a throttled request count toward the limits too.
	Count429 bool
	// RetryAfter sends a Retry-After header with 429s (Mixpanel documents none).
	RetryAfter bool

	// MaxUpdates is the most updates one /engage request may carry. Default 2,000.
	MaxUpdates int
	// MaxUpdateBytes is the most bytes one /engage update may have. Default 1 MiB.
	MaxUpdateBytes int
	// EngageGzip accepts gzip-encoded /engage bodies (the docs say it does not).
	EngageGzip bool
	// EngageOwnBucket gives /engage its own rate-limit bucket instead of sharing
	// /import's.
	EngageOwnBucket bool
	// EngageIgnoreStrict ignores /engage?strict=1. By default strict=1 answers with
	// per-update errors, as the docs say it does ("return a JSON object with
	// per-record error messages"), in the shape of /import's failed_records (the
	// real shape is undocumented: unconfirmed).
	EngageIgnoreStrict bool
	// BadToken403 answers 403 when no update of an /engage request has the right
	// $token; otherwise such updates just fail.
	BadToken403 bool

	// Reject, when set, is asked about each event that passed validation; a
	// non-empty answer fails the event with that message (field "properties").
	Reject func(e Event) string
	// RejectUpdate, when set, is asked about each /engage update that passed
	// validation (its $distinct_id and operation, e.g. "$set"); a non-empty
	// answer fails the update with that message. SetRejectUpdate changes it while
	// the simulator runs.
	RejectUpdate func(distinctID, op string) string
	// EngageFailIfAnyFailed answers an /engage request 0 (verbose: status 0 and
	// the first failure's reason) when any of its updates failed, while the good
	// ones still apply. By default the answer is 1 when at least one update was
	// good, as documented ("1 – One or more objects provided are valid").
	EngageFailIfAnyFailed bool
	// Now is the clock. Default time.Now.
	Now simkit.Clock
	// KeepBodies keeps request bodies (decompressed) in the log.
	KeepBodies bool
	// LogLimit is the most requests the log keeps. Default 100,000.
	LogLimit int
}

// WithDefaults returns the options with every unset field at its default.
func (o Options) WithDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.ProjectID == "" {
		o.ProjectID = "1"
	}
	if o.Token == "" {
		o.Token = "simtoken"
	}
	if o.ServiceAccounts == nil {
		o.ServiceAccounts = map[string]string{"sim-sa": "sim-secret"}
	}
	def(&o.MaxEvents, 2000)
	if o.MaxBytes == 0 {
		o.MaxBytes = 10 << 20
	}
	def(&o.MaxEventBytes, 1<<20-1)
	def(&o.MaxProperties, 254)
	def(&o.MaxObjectKeys, 254)
	def(&o.MaxListLen, 254)
	def(&o.MaxDepth, 3)
	def(&o.MaxStringLen, 255)
	if o.FutureTolerance == 0 {
		o.FutureTolerance = time.Hour
	}
	if o.FailedRecordIDKey == "" {
		o.FailedRecordIDKey = "insert_id"
	}
	def(&o.TooManyEventsStatus, http.StatusRequestEntityTooLarge)
	if o.BytesPerMinute == 0 {
		o.BytesPerMinute = 2 << 30
	}
	def(&o.MaxUpdates, 2000)
	def(&o.MaxUpdateBytes, 1<<20)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Rejection is one record Mixpanel refused: an event of /import or an update of
// /engage, with why.
type Rejection struct {
	Time     time.Time
	Path     string // "/import" or "/engage"
	Index    int    // the record's position in its request
	InsertID string // /import
	// DistinctID is the update's $distinct_id on /engage.
	DistinctID string
	Field      string
	Message    string
}

// Server is the simulator; it is an http.Handler safe for concurrent use.
type Server struct {
	opts Options
	lim  limits

	faults   simkit.Injector
	log      simkit.Log
	counters simkit.Counters

	buckets atomic.Pointer[buckets]

	store    *eventStore
	names    names
	imported atomic.Int64
	rejected atomic.Int64

	profilesMu   sync.Mutex
	profiles     map[string]map[string]any
	rejectUpdate atomic.Pointer[func(distinctID, op string) string]

	rejMu      sync.Mutex
	rejections []Rejection

	bufs sync.Pool // *importScratch
}

// SetRejectUpdate replaces Options.RejectUpdate while the simulator runs (nil
// removes it).
func (s *Server) SetRejectUpdate(fn func(distinctID, op string) string) {
	if fn == nil {
		s.rejectUpdate.Store(nil)
		return
	}
	s.rejectUpdate.Store(&fn)
}

// New returns a simulator with the given options (unset fields at their defaults).
func New(opts Options) *Server {
	o := opts.WithDefaults()
	o.ServiceAccounts = maps.Clone(o.ServiceAccounts)
	s := &Server{
		opts: o,
		lim: limits{
			maxEventBytes: o.MaxEventBytes,
			maxProps:      o.MaxProperties,
			maxKeys:       o.MaxObjectKeys,
			maxList:       o.MaxListLen,
			maxDepth:      o.MaxDepth,
			maxString:     o.MaxStringLen,
		},
		store:    newEventStore(),
		profiles: map[string]map[string]any{},
	}
	s.log.KeepBodies = o.KeepBodies
	s.log.Limit = o.LogLimit
	s.buckets.Store(newBuckets(o))
	if o.RejectUpdate != nil {
		s.SetRejectUpdate(o.RejectUpdate)
	}
	return s
}

// buckets are the rate-limit windows; a nil window is no limit.
type buckets struct {
	bytes, engage, events *simkit.Window
}

func newBuckets(o Options) *buckets {
	b := &buckets{}
	if o.BytesPerMinute > 0 {
		b.bytes = simkit.NewWindow(o.BytesPerMinute, time.Minute, o.Now)
		b.engage = b.bytes
		if o.EngageOwnBucket {
			b.engage = simkit.NewWindow(o.BytesPerMinute, time.Minute, o.Now)
		}
	}
	if o.EventsPerSecond > 0 {
		b.events = simkit.NewWindow(o.EventsPerSecond*60, time.Minute, o.Now)
	}
	return b
}

// Options returns the options in effect (with defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Describe is a one-line summary for a banner.
func (s *Server) Describe() string {
	o := s.opts
	limit := "no rate limit"
	if o.BytesPerMinute > 0 {
		limit = fmt.Sprintf("%s/min rolling", sizeString(o.BytesPerMinute))
	}
	accounts := slices.Sorted(maps.Keys(o.ServiceAccounts))
	creds := fmt.Sprintf("project_id %s, token %s, service accounts [%s]", o.ProjectID, o.Token, strings.Join(accounts, " "))
	if o.AnyCredentials {
		creds = "any project_id, service account and token"
	}
	return fmt.Sprintf("Mixpanel: POST /import (%s; ≤%d events, ≤%s per request; %s), POST /engage (≤%d updates)",
		creds, o.MaxEvents, sizeString(o.MaxBytes), limit, o.MaxUpdates)
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f simkit.Faults) { s.faults.Set(f) }

// Faults returns the injected faults, with the remaining counts.
func (s *Server) Faults() simkit.Faults { return s.faults.Get() }

// Log is the log of requests received.
func (s *Server) Log() *simkit.Log { return &s.log }

// Counters are the totals of requests by outcome.
func (s *Server) Counters() *simkit.Counters { return &s.counters }

// Imported is the number of events accepted since the start, duplicates included.
func (s *Server) Imported() int64 { return s.imported.Load() }

// Rejected is the number of events and updates refused by validation.
func (s *Server) Rejected() int64 { return s.rejected.Load() }

// Rejections returns the records refused so far (the latest 100,000), oldest first.
func (s *Server) Rejections() []Rejection {
	s.rejMu.Lock()
	defer s.rejMu.Unlock()
	return append([]Rejection(nil), s.rejections...)
}

const maxRejections = 100_000

func (s *Server) reject(rs ...Rejection) {
	if len(rs) == 0 {
		return
	}
	s.rejected.Add(int64(len(rs)))
	s.rejMu.Lock()
	defer s.rejMu.Unlock()
	s.rejections = append(s.rejections, rs...)
	if over := len(s.rejections) - maxRejections; over > 0 {
		s.rejections = append(s.rejections[:0], s.rejections[over:]...)
	}
}

// Events returns the events as Mixpanel would show them: one per (event, time,
// distinct_id, $insert_id), the latest ingested version, in the order each was
// first ingested.
func (s *Server) Events() []Event {
	ps := s.store.pendings()
	out := make([]Event, len(ps))
	for i := range ps {
		out[i] = ps[i].event()
	}
	return out
}

// EventCount is the number of events after deduplication.
func (s *Server) EventCount() int { return s.store.count() }

// Event returns the first event (in Events order) with this $insert_id. It scans
// every event: for tests, not for millions of lookups.
func (s *Server) Event(insertID string) (Event, bool) {
	for _, p := range s.store.pendings() {
		if p.insertID == insertID {
			return p.event(), true
		}
	}
	return Event{}, false
}

// Reset forgets every event, profile, rejection, logged request and rate-limit
// use, and the counters.
func (s *Server) Reset() {
	s.store.reset()
	s.imported.Store(0)
	s.rejected.Store(0)
	s.profilesMu.Lock()
	s.profiles = map[string]map[string]any{}
	s.profilesMu.Unlock()
	s.rejMu.Lock()
	s.rejections = nil
	s.rejMu.Unlock()
	s.log.Reset()
	s.counters.Requests.Store(0)
	s.counters.Throttled.Store(0)
	s.counters.ServerErrors.Store(0)
	s.counters.ClientErrors.Store(0)
	s.buckets.Store(newBuckets(s.opts))
}

// reply is a handler's answer, written by ServeHTTP.
type reply struct {
	status      int
	contentType string
	body        []byte
	retryAfter  time.Duration // sets Retry-After when Options.RetryAfter
	reqBody     []byte        // the decompressed request body, for the log
}

// ServeHTTP routes /import and /engage.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := s.opts.Now()
	var rep reply
	switch act, status := s.faults.Before(r.Context()); act {
	case simkit.Fail5xx:
		rep = serverError(status)
	case simkit.Force429:
		rep = s.throttled(time.Second)
	default:
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case "/import":
			if r.Method != http.MethodPost {
				rep = jsonError(http.StatusMethodNotAllowed, "method not allowed: use POST")
				break
			}
			rep = s.serveImport(r)
		case "/engage":
			if r.Method != http.MethodPost && r.Method != http.MethodGet {
				rep = jsonError(http.StatusMethodNotAllowed, "method not allowed: use POST")
				break
			}
			rep = s.serveEngage(r)
		default:
			rep = jsonError(http.StatusNotFound, "not found")
		}
		s.faults.After(r.Context())
	}
	if rep.retryAfter > 0 && s.opts.RetryAfter {
		w.Header().Set("Retry-After", fmt.Sprint(int64((rep.retryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", rep.contentType)
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)

	s.counters.Count(rep.status)
	entry := simkit.Request{
		Time:     received,
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Status:   rep.status,
	}
	if s.opts.KeepBodies {
		entry.Body = rep.reqBody
	}
	s.log.Add(entry)
}

// Answers in Mixpanel's shapes.

func statusJSON(code int, message string) []byte {
	b := []byte(`{"code":`)
	b = fmt.Appendf(b, "%d", code)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, http.StatusText(code))
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func jsonError(code int, message string) reply {
	return reply{status: code, contentType: "application/json", body: statusJSON(code, message)}
}

func (s *Server) throttled(wait time.Duration) reply {
	rep := jsonError(http.StatusTooManyRequests, "Project exceeded rate limits. Please retry the request with exponential backoff.")
	rep.retryAfter = wait
	return rep
}

// serverError is what the load balancer in front of Mixpanel answers.
func serverError(status int) reply {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	body := "<html><head><title>" + text + "</title></head><body><h1>" + text + "</h1></body></html>\n"
	return reply{status: status, contentType: "text/html; charset=UTF-8", body: []byte(body)}
}
