// Package simkit is what the API simulators under simulator/ share: knobs that
// inject trouble, a log of what each request carried, rolling-window and daily
// counters for rate limits, and a clock tests can move. It knows nothing of Sluice's
// connectors: a simulator behaves like the vendor's API, not like our client of it.
package simkit

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Clock returns the current time; tests replace it to cross windows and midnights.
type Clock func() time.Time

// Faults are the knobs that inject trouble into a simulator's answers.
type Faults struct {
	Latency time.Duration // added before every answer
	Jitter  time.Duration // up to this much more, drawn per request
	// ErrorRate is the fraction of requests answered with a 5xx before they are
	// processed (nothing of them is applied).
	ErrorRate float64
	// Fail5xx answers the next N requests with a 5xx (alternating 502, 503, 500).
	Fail5xx int
	// Force429 answers the next N requests with the API's rate-limit error even
	// though the budget allows them.
	Force429 int
	// SlowEvery delays every Nth request by SlowDelay (a slow response, after the
	// request was applied).
	SlowEvery int
	SlowDelay time.Duration
}

// Action is what the injector decided for one request.
type Action int

const (
	Proceed  Action = iota // process the request normally
	Fail5xx                // answer with Status() (a 5xx) and apply nothing
	Force429               // answer with the API's own rate-limit error
)

// Injector applies Faults; it is safe for concurrent use and its faults can be
// changed while the simulator runs.
type Injector struct {
	mu     sync.Mutex
	f      Faults
	n      int64
	status int
}

// Set replaces the faults.
func (in *Injector) Set(f Faults) {
	in.mu.Lock()
	in.f = f
	in.mu.Unlock()
}

// Get returns the current faults (with the remaining counts of Fail5xx and Force429).
func (in *Injector) Get() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.f
}

// Before decides a request's fate and sleeps the injected latency (stopping early
// when ctx ends). The 5xx status to send is returned with Fail5xx.
func (in *Injector) Before(ctx context.Context) (Action, int) {
	in.mu.Lock()
	f := in.f
	in.n++
	act, status := Proceed, 0
	switch {
	case in.f.Force429 > 0:
		in.f.Force429--
		act = Force429
	case in.f.Fail5xx > 0:
		in.f.Fail5xx--
		act = Fail5xx
	case f.ErrorRate > 0 && rand.Float64() < f.ErrorRate:
		act = Fail5xx
	}
	if act == Fail5xx {
		in.status++
		status = []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusInternalServerError}[in.status%3]
	}
	in.mu.Unlock()
	d := f.Latency
	if f.Jitter > 0 {
		d += rand.N(f.Jitter)
	}
	Sleep(ctx, d)
	return act, status
}

// After sleeps the slow-response delay when this request is one of every SlowEvery.
func (in *Injector) After(ctx context.Context) {
	in.mu.Lock()
	f, n := in.f, in.n
	in.mu.Unlock()
	if f.SlowEvery > 0 && n%int64(f.SlowEvery) == 0 {
		Sleep(ctx, f.SlowDelay)
	}
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Request is one request as the simulator received it, with its answer.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte // decompressed when the request was gzip-encoded; nil unless bodies are kept
	Status   int
}

// Log keeps the requests a simulator received, for tests and golden files. Bodies
// are kept only when KeepBodies is set (a benchmark sends gigabytes); at most Limit
// requests are kept (0 means 100,000), the oldest dropped first.
type Log struct {
	KeepBodies bool
	Limit      int

	mu   sync.Mutex
	reqs []Request
}

// Add records a request.
func (l *Log) Add(r Request) {
	if !l.KeepBodies {
		r.Body = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	limit := l.Limit
	if limit <= 0 {
		limit = 100_000
	}
	if len(l.reqs) >= limit {
		n := copy(l.reqs, l.reqs[len(l.reqs)-limit+1:])
		clear(l.reqs[n:])
		l.reqs = l.reqs[:n]
	}
	l.reqs = append(l.reqs, r)
}

// Requests returns a copy of the kept requests, oldest first.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Reset forgets every request.
func (l *Log) Reset() {
	l.mu.Lock()
	l.reqs = nil
	l.mu.Unlock()
}

// Window counts units (requests, bytes) on a rolling window: at most Limit units in
// any span of Span. It is safe for concurrent use.
type Window struct {
	limit int64
	span  time.Duration
	now   Clock

	mu      sync.Mutex
	entries []windowEntry // oldest first
	head    int
	sum     int64
}

type windowEntry struct {
	t time.Time
	n int64
}

// NewWindow returns a rolling window; now may be nil for the wall clock.
func NewWindow(limit int64, span time.Duration, now Clock) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{limit: limit, span: span, now: now}
}

// Limit and Span describe the window.
func (w *Window) Limit() int64        { return w.limit }
func (w *Window) Span() time.Duration { return w.span }

func (w *Window) expire(now time.Time) {
	cut := now.Add(-w.span)
	for w.head < len(w.entries) && !w.entries[w.head].t.After(cut) {
		w.sum -= w.entries[w.head].n
		w.head++
	}
	if w.head > 1024 && w.head*2 > len(w.entries) {
		n := copy(w.entries, w.entries[w.head:])
		w.entries = w.entries[:n]
		w.head = 0
	}
}

// Take counts n units when they fit. It returns whether they did, the units left
// in the window afterwards, and when they did not fit, how long until they would.
func (w *Window) Take(n int64) (ok bool, remaining int64, retryAfter time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.expire(now)
	if w.sum+n > w.limit {
		// Find when enough old entries leave the window.
		need := w.sum + n - w.limit
		wait := w.span
		for i := w.head; i < len(w.entries); i++ {
			need -= w.entries[i].n
			if need <= 0 {
				wait = w.entries[i].t.Add(w.span).Sub(now)
				break
			}
		}
		return false, max(0, w.limit-w.sum), max(wait, time.Millisecond)
	}
	w.entries = append(w.entries, windowEntry{t: now, n: n})
	w.sum += n
	return true, w.limit - w.sum, 0
}

// Remaining returns the units left in the window now.
func (w *Window) Remaining() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(w.now())
	return max(0, w.limit-w.sum)
}

// Daily counts units per calendar day in a time zone; the count resets at midnight there.
type Daily struct {
	limit int64
	loc   *time.Location
	now   Clock

	mu   sync.Mutex
	day  string
	used int64
}

// NewDaily returns a daily counter; loc may be nil for UTC and now nil for the wall clock.
func NewDaily(limit int64, loc *time.Location, now Clock) *Daily {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	return &Daily{limit: limit, loc: loc, now: now}
}

// Limit is the units allowed per day.
func (d *Daily) Limit() int64 { return d.limit }

func (d *Daily) roll() time.Time {
	now := d.now().In(d.loc)
	if day := now.Format(time.DateOnly); day != d.day {
		d.day, d.used = day, 0
	}
	return now
}

// Take counts n units when they fit in today's allowance and returns what is left.
func (d *Daily) Take(n int64) (ok bool, remaining int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roll()
	if d.used+n > d.limit {
		return false, max(0, d.limit-d.used)
	}
	d.used += n
	return true, d.limit - d.used
}

// Remaining returns today's units left.
func (d *Daily) Remaining() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roll()
	return max(0, d.limit-d.used)
}

// ResetIn returns the time until the next midnight in the counter's time zone.
func (d *Daily) ResetIn() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.roll()
	y, m, day := now.Date()
	return time.Date(y, m, day+1, 0, 0, 0, 0, d.loc).Sub(now)
}

// Counters are a simulator's totals.
type Counters struct {
	Requests, Throttled, ServerErrors, ClientErrors atomic.Int64
}

// Count classifies an answered request by its status.
func (c *Counters) Count(status int) {
	c.Requests.Add(1)
	switch {
	case status == http.StatusTooManyRequests:
		c.Throttled.Add(1)
	case status >= 500:
		c.ServerErrors.Add(1)
	case status >= 400:
		c.ClientErrors.Add(1)
	}
}

// ErrTooLarge is returned by ReadBody when a body exceeds its limit.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads a request body, decompressing it when Content-Encoding is gzip.
// At most limit decompressed bytes are read; more gives ErrTooLarge. The buffer
// may be reused by passing it as buf.
func ReadBody(r *http.Request, limit int64, buf []byte) ([]byte, error) {
	var src io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		src = zr
	}
	b := bytes.NewBuffer(buf[:0])
	n, err := b.ReadFrom(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, ErrTooLarge
	}
	return b.Bytes(), nil
}

// Serve runs h on addr until ctx ends, then shuts the server down gracefully.
// ready, when non-nil, receives the address actually listened on (for ":0").
func Serve(ctx context.Context, addr string, h http.Handler, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
