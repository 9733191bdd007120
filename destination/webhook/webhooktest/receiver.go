// Package webhooktest is a webhook receiver that keeps what it is sent: it applies
// added/changed/removed events to a map keyed by row key, verifies Standard Webhooks
// signatures, and can be told to reject keys, fail requests or answer slowly. Tests,
// the demo and the benchmarks use it. It is written from the contract in
// docs/destinations/webhook.md, not from the destination's code.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one event of the contract.
type Event struct {
	Type     string                     `json:"type"`
	Key      string                     `json:"key"`
	Fields   map[string]json.RawMessage `json:"fields"`
	Previous map[string]json.RawMessage `json:"previous,omitempty"`
}

// Body is a request body of the contract.
type Body struct {
	Sync   string  `json:"sync"`
	RunID  string  `json:"run_id"`
	Events []Event `json:"events"`
}

// Options configure a receiver.
type Options struct {
	// Secret, when set, makes the receiver verify webhook-signature and answer 401 on mismatch.
	Secret []byte
	// Discard answers 200 at once without parsing: a receiver as fast as can be, for benchmarks.
	Discard bool
	// KeepEvents keeps every event received, in order, for Events().
	KeepEvents bool
	// Delay is added before each answer.
	Delay time.Duration
}

// Receiver is a running receiver.
type Receiver struct {
	URL  string
	opts Options
	srv  *http.Server
	ln   net.Listener

	requests atomic.Int64
	events   atomic.Int64
	bytes    atomic.Int64

	mu       sync.Mutex
	state    map[string]map[string]json.RawMessage
	kept     []Event
	rejected map[string]string
	failures []failure
	delay    time.Duration
	inFlight int
	maxSeen  int
}

type failure struct {
	status     int
	retryAfter string
}

// Start listens on addr ("127.0.0.1:0" for any free port) and serves until Close.
func Start(addr string, opts Options) (*Receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Receiver{
		URL:      "http://" + ln.Addr().String() + "/events",
		opts:     opts,
		ln:       ln,
		state:    map[string]map[string]json.RawMessage{},
		rejected: map[string]string{},
		delay:    opts.Delay,
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

// Reject makes the receiver fail every later event for key with msg in its "failed" list.
func (r *Receiver) Reject(key, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected[key] = msg
}

// Accept undoes Reject.
func (r *Receiver) Accept(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rejected, key)
}

// FailNext makes the next n requests fail with status (and Retry-After when set).
func (r *Receiver) FailNext(n, status int, retryAfter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.failures = append(r.failures, failure{status: status, retryAfter: retryAfter})
	}
}

// SetDelay changes the delay added before each answer.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	r.delay = d
	r.mu.Unlock()
}

// Requests, EventCount and Bytes count what was received (failed requests included).
func (r *Receiver) Requests() int64   { return r.requests.Load() }
func (r *Receiver) EventCount() int64 { return r.events.Load() }
func (r *Receiver) Bytes() int64      { return r.bytes.Load() }

// MaxInFlight is the most requests that were being handled at once.
func (r *Receiver) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxSeen
}

// Contents returns the fields held for each key after applying every accepted event.
func (r *Receiver) Contents() map[string]map[string]json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]map[string]json.RawMessage, len(r.state))
	for k, v := range r.state {
		out[k] = v
	}
	return out
}

// Events returns every event received and accepted, in order (Options.KeepEvents).
func (r *Receiver) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.kept...)
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	if r.opts.Discard {
		n, _ := io.Copy(io.Discard, req.Body)
		r.bytes.Add(n)
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.bytes.Add(int64(len(body)))
	r.mu.Lock()
	r.inFlight++
	r.maxSeen = max(r.maxSeen, r.inFlight)
	delay := r.delay
	var fail *failure
	if len(r.failures) > 0 {
		f := r.failures[0]
		r.failures = r.failures[1:]
		fail = &f
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if fail != nil {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		http.Error(w, fmt.Sprintf(`{"error":"injected failure %d"}`, fail.status), fail.status)
		return
	}
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if len(r.opts.Secret) > 0 {
		if err := Verify(r.opts.Secret, req.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var b Body
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, "body is not the webhook contract's JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.events.Add(int64(len(b.Events)))
	type failed struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	}
	var failedList []failed
	r.mu.Lock()
	for _, e := range b.Events {
		if msg, ok := r.rejected[e.Key]; ok {
			failedList = append(failedList, failed{Key: e.Key, Error: msg})
			continue
		}
		switch e.Type {
		case "added", "changed":
			r.state[e.Key] = e.Fields
		case "removed":
			delete(r.state, e.Key)
		default:
			failedList = append(failedList, failed{Key: e.Key, Error: "unknown event type " + strconv.Quote(e.Type)})
			continue
		}
		if r.opts.KeepEvents {
			r.kept = append(r.kept, e)
		}
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if len(failedList) == 0 {
		w.Write([]byte(`{"ok":true}`))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"failed": failedList})
}

// Verify checks a Standard Webhooks signature: HMAC-SHA256 over "id.timestamp.body",
// base64, in a space-separated list of "v1,<sig>" entries, with a 5-minute tolerance.
func Verify(secret []byte, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad webhook-timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp too far from now")
	}
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no valid v1 signature")
}

// Put sets what the receiver holds for key, as an earlier sync would have.
func (r *Receiver) Put(key string, fields map[string]json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state[key] = fields
}

// ClearFailures drops the failures FailNext queued that have not happened yet.
func (r *Receiver) ClearFailures() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = nil
}
