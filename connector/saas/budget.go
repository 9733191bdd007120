// Package saas is the writer every SaaS destination shares: one rate budget per
// destination account, paced by the API's published limits and by the
// remaining-budget headers it returns, concurrency that adapts to 429s and latency,
// an HTTP client that records every exchange for the debugger, and the keys a user
// sets to lower an API's limits to their plan.
//
// A destination package builds a Client over a shared Budget, makes its requests
// through Client.Do, and turns each answer into the engine's terms (nil, a
// *connector.BatchError, or an error marked Throttled, Permanent or Divisible).
// Retries and batch splitting are the engine's; pacing is the budget's.
package saas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connector"
)

// Budget is one destination account's rate budget, shared by every sync that
// writes to that account in the process (see SharedBudget). It admits a request
// when the rolling windows (requests and bytes) have room, the daily allowance is
// not spent, no 429 pause is in force and fewer requests are in flight than the
// adaptive concurrency limit.
type Budget struct {
	now func() time.Time

	mu     sync.Mutex
	wake   chan struct{} // closed and replaced when something may have freed up
	limits connector.RateLimits
	margin time.Duration // the window is counted this much longer than the API's

	sent  ring // request send times in the window (and phantoms for others' usage)
	bytes ring // payload bytes in the window

	dailyUsed      int            // requests sent today by this process
	dailyDay       string         // the day dailyUsed counts, in dayZone
	dayZone        *time.Location // where the API's day starts (default UTC)
	dailyRemaining int            // from the API's headers; -1 when unknown
	dailyAt        time.Time      // when dailyRemaining was reported

	pausedUntil time.Time // set by a 429
	throttles   int       // 429s in a row, for the backoff without Retry-After

	// Adaptive concurrency: additive increase, multiplicative decrease.
	maxInFlight  int
	limit        float64
	inFlight     int
	latencyFloor time.Duration // the lowest recent latency of a request
	latencyAvg   time.Duration // moving average
	lastDecrease time.Time
	minOnLatency float64 // latency alone never takes the limit below this
	floorAt      time.Time
}

// NewBudget returns a budget for limits with at most maxInFlight requests at once.
func NewBudget(limits connector.RateLimits, maxInFlight int) *Budget {
	maxInFlight = max(1, maxInFlight)
	b := &Budget{
		now: time.Now, wake: make(chan struct{}), limits: limits,
		dailyRemaining: -1, maxInFlight: maxInFlight, limit: float64(maxInFlight),
		minOnLatency: math.Max(1, float64(maxInFlight)/4),
	}
	// Requests are counted when they leave; the API counts them when they arrive,
	// a little later. Counting the window a little longer keeps the two views from
	// disagreeing at its edge (which would be a 429).
	b.margin = min(limits.Window/40, 500*time.Millisecond)
	return b
}

var (
	budgetsMu sync.Mutex
	budgets   = map[string]*Budget{}
)

// SharedBudget returns the process's budget for an account key (e.g. the API's
// host and the portal or project it writes to), creating it with limits and
// maxInFlight. A later caller with lower limits lowers the shared budget: an
// account's budget is never more than any of its syncs allows.
func SharedBudget(key string, limits connector.RateLimits, maxInFlight int) *Budget {
	budgetsMu.Lock()
	defer budgetsMu.Unlock()
	if b, ok := budgets[key]; ok {
		b.lower(limits, maxInFlight)
		return b
	}
	b := NewBudget(limits, maxInFlight)
	budgets[key] = b
	return b
}

func (b *Budget) lower(l connector.RateLimits, maxInFlight int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limits = lowerLimits(b.limits, l)
	if maxInFlight > 0 && maxInFlight < b.maxInFlight {
		b.maxInFlight = maxInFlight
		b.limit = math.Min(b.limit, float64(maxInFlight))
	}
}

// lowerLimits is the stricter of two sets of limits, each bound taken from
// whichever sets it lower (0 meaning unbounded).
func lowerLimits(a, l connector.RateLimits) connector.RateLimits {
	lowerInt := func(x, y int) int {
		if x == 0 || (y != 0 && y < x) {
			return y
		}
		return x
	}
	if l.Requests > 0 && l.Window > 0 && (a.Requests == 0 || float64(l.Requests)/l.Window.Seconds() < float64(a.Requests)/a.Window.Seconds()) {
		a.Requests, a.Window = l.Requests, l.Window
	}
	if l.Bytes > 0 && (a.Bytes == 0 || l.Bytes < a.Bytes) {
		a.Bytes = l.Bytes
		if a.Window == 0 {
			a.Window = l.Window
		}
	}
	a.Daily = lowerInt(a.Daily, l.Daily)
	return a
}

// Limits returns the limits the budget paces by.
func (b *Budget) Limits() connector.RateLimits {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limits
}

// ConcurrencyLimit returns the adaptive limit on requests in flight.
func (b *Budget) ConcurrencyLimit() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int(b.limit)
}

// ErrDailyLimit is returned by Acquire once the day's allowance is spent.
var ErrDailyLimit = errors.New("the API's daily request limit is used up")

// Ticket is one admitted request; Done reports its outcome back to the budget.
type Ticket struct {
	b    *Budget
	Wait time.Duration // how long Acquire waited on limits
	done bool
}

// Acquire waits until a request carrying payload bytes may be sent, and counts
// it. It fails with ErrDailyLimit (wrapped) when the day's allowance is spent, or
// with ctx's error.
func (b *Budget) Acquire(ctx context.Context, payload int64) (*Ticket, error) {
	start := b.now()
	for {
		b.mu.Lock()
		now := b.now()
		if err := b.dailyExhausted(now); err != nil {
			b.mu.Unlock()
			return nil, err
		}
		wait := b.pausedUntil.Sub(now)
		if w := b.windowWait(now, payload); w > wait {
			wait = w
		}
		if wait <= 0 && float64(b.inFlight) < b.limit {
			b.admit(now, payload)
			b.mu.Unlock()
			return &Ticket{b: b, Wait: b.now().Sub(start)}, nil
		}
		wake := b.wake
		b.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-wake:
		case <-fire:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// SetDayZone sets the time zone at whose midnight the API's daily allowance
// resets (HubSpot: the account's); the default is UTC.
func (b *Budget) SetDayZone(loc *time.Location) {
	if loc == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dayZone != nil && b.dayZone.String() == loc.String() {
		return
	}
	b.dayZone = loc
	b.dailyDay = "" // recount in the new zone's day
}

// NextMidnight is when the API's day next starts, in the budget's day zone.
func (b *Budget) NextMidnight(now time.Time) time.Time {
	b.mu.Lock()
	loc := b.zone()
	b.mu.Unlock()
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func (b *Budget) zone() *time.Location {
	if b.dayZone == nil {
		return time.UTC
	}
	return b.dayZone
}

func (b *Budget) dailyExhausted(now time.Time) error {
	loc := b.zone()
	day := now.In(loc).Format(time.DateOnly)
	if day != b.dailyDay {
		b.dailyDay, b.dailyUsed = day, 0
		if b.dailyAt.In(loc).Format(time.DateOnly) != day {
			b.dailyRemaining = -1 // a new day: the API's count has reset too
		}
	}
	switch {
	case b.dailyRemaining == 0:
		return fmt.Errorf("%w (the API reported none left; it resets at midnight in the account's time zone, and the rows are retried on the next run)", ErrDailyLimit)
	case b.limits.Daily > 0 && b.dailyUsed >= b.limits.Daily:
		return fmt.Errorf("%w (%d requests today, the configured daily limit; the rows are retried on the next run)", ErrDailyLimit, b.limits.Daily)
	}
	return nil
}

// windowWait is how long until a request with payload bytes fits the windows.
func (b *Budget) windowWait(now time.Time, payload int64) time.Duration {
	if b.limits.Window <= 0 {
		return 0
	}
	span := b.limits.Window + b.margin
	var wait time.Duration
	if b.limits.Requests > 0 {
		b.sent.expire(now, span)
		if b.sent.sum+1 > int64(b.limits.Requests) {
			wait = b.sent.freeAt(b.sent.sum+1-int64(b.limits.Requests), span).Sub(now)
		}
	}
	if b.limits.Bytes > 0 && payload > 0 {
		b.bytes.expire(now, span)
		// A payload larger than the whole window's allowance goes alone.
		need := b.bytes.sum + payload - b.limits.Bytes
		if need > 0 && b.bytes.sum > 0 {
			wait = max(wait, b.bytes.freeAt(need, span).Sub(now))
		}
	}
	return wait
}

func (b *Budget) admit(now time.Time, payload int64) {
	b.inFlight++
	b.dailyUsed++
	if b.dailyRemaining > 0 {
		b.dailyRemaining--
	}
	if b.limits.Requests > 0 {
		b.sent.add(now, 1)
	}
	if b.limits.Bytes > 0 && payload > 0 {
		b.bytes.add(now, payload)
	}
}

// Feedback is what an answer tells the budget.
type Feedback struct {
	Latency   time.Duration
	Throttled bool          // a 429 or the API's equivalent
	Retry     time.Duration // the API's Retry-After, when it gave one
	// The API's own view of its budget, from headers, when it sends them.
	Window *WindowState
	Daily  *DailyState
}

// DailyState is an API's report of its daily allowance.
type DailyState struct {
	Max       int // 0 when the API does not say
	Remaining int
}

// WindowState is an API's report of its rolling window.
type WindowState struct {
	Max       int
	Remaining int
	Interval  time.Duration
}

// Done reports the request's outcome: it frees its concurrency slot, adapts the
// concurrency limit, and takes in the API's view of the budget. When the answer
// was throttled it pauses the whole budget and returns how long to wait before
// retrying. Calling Done more than once does nothing.
func (t *Ticket) Done(f Feedback) (retry time.Duration) {
	if t == nil || t.done {
		return 0
	}
	t.done = true
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.broadcast()
	now := b.now()
	b.inFlight--
	if f.Window != nil {
		b.observeWindow(now, *f.Window)
	}
	if d := f.Daily; d != nil {
		// Requests still in flight may not be in the API's count yet. When the API
		// says its daily maximum, its count is the account's usage today, which a
		// lower daily limit of the user's (leaving room for other integrations)
		// is measured against too, across runs and processes.
		left := d.Remaining
		if d.Max > 0 && b.limits.Daily > 0 && b.limits.Daily < d.Max {
			left = b.limits.Daily - (d.Max - d.Remaining)
		}
		b.dailyRemaining, b.dailyAt = max(0, left-b.inFlight), now
		if d.Max > 0 && (b.limits.Daily == 0 || d.Max < b.limits.Daily) {
			b.limits.Daily = d.Max
		}
	}
	if f.Throttled {
		if now.Before(b.pausedUntil) && f.Retry <= 0 {
			// Requests sent before the pause answer 429 together: they wait out the
			// pause already in force, without growing it or halving again.
			return b.pausedUntil.Sub(now)
		}
		b.throttles++
		retry = f.Retry
		if retry <= 0 {
			// No Retry-After: 2 s, 4 s … up to 60 s, with jitter, as the vendors advise.
			d := 2 * time.Second << min(b.throttles-1, 5)
			d = min(d, 60*time.Second)
			retry = d/2 + rand.N(d/2+1)
		}
		if now.After(b.pausedUntil) {
			b.limit = math.Max(1, b.limit/2)
			b.lastDecrease = now
		}
		if until := now.Add(retry); until.After(b.pausedUntil) {
			b.pausedUntil = until
		}
		return retry
	}
	b.throttles = 0
	b.adaptLatency(now, f.Latency)
	return 0
}

// observeWindow reconciles the local count with the API's: requests the API
// counted that this process did not send (another process or app on the same
// account) are added to the window, so that pacing leaves room for them.
func (b *Budget) observeWindow(now time.Time, w WindowState) {
	if w.Max <= 0 || w.Interval <= 0 {
		return
	}
	if b.limits.Requests == 0 || float64(w.Max)/w.Interval.Seconds() < float64(b.limits.Requests)/b.limits.Window.Seconds() {
		b.limits.Requests, b.limits.Window = w.Max, w.Interval
		b.margin = min(w.Interval/40, 500*time.Millisecond)
	}
	if w.Interval != b.limits.Window {
		// The user paces by a window of their own: the API's count over its
		// window does not compare with this one's.
		return
	}
	span := b.limits.Window + b.margin
	b.sent.expire(now, span)
	// The API counted this request and those already answered; requests still in
	// flight may not have reached it. Assuming they have not keeps the estimate of
	// others' usage on the safe side (an overestimate expires with the window).
	used := int64(w.Max - w.Remaining)
	if foreign := used - (b.sent.sum - int64(b.inFlight)); foreign > 0 {
		b.sent.add(now, foreign)
	}
}

// adaptLatency climbs the concurrency limit back by one per limit's worth of
// successful requests, and lowers it by a tenth when latency rises well above its
// recent floor (the API or the network is saturating), at most once per latency.
func (b *Budget) adaptLatency(now time.Time, lat time.Duration) {
	if lat <= 0 {
		b.limit = math.Min(float64(b.maxInFlight), b.limit+1/b.limit)
		return
	}
	if b.latencyFloor == 0 || lat < b.latencyFloor || now.Sub(b.floorAt) > time.Minute {
		b.latencyFloor, b.floorAt = lat, now
	}
	if b.latencyAvg == 0 {
		b.latencyAvg = lat
	} else {
		b.latencyAvg = (b.latencyAvg*7 + lat) / 8
	}
	if b.latencyAvg > 3*b.latencyFloor+50*time.Millisecond && now.Sub(b.lastDecrease) > b.latencyAvg {
		b.limit = math.Max(b.minOnLatency, b.limit*0.9)
		b.lastDecrease = now
		return
	}
	b.limit = math.Min(float64(b.maxInFlight), b.limit+1/b.limit)
}

func (b *Budget) broadcast() {
	close(b.wake)
	b.wake = make(chan struct{})
}

// ring is a queue of (time, amount) entries with their sum.
type ring struct {
	at   []time.Time
	n    []int64
	head int
	sum  int64
}

func (r *ring) add(t time.Time, n int64) {
	r.at = append(r.at, t)
	r.n = append(r.n, n)
	r.sum += n
}

func (r *ring) expire(now time.Time, span time.Duration) {
	cut := now.Add(-span)
	for r.head < len(r.at) && !r.at[r.head].After(cut) {
		r.sum -= r.n[r.head]
		r.head++
	}
	if r.head > 256 && r.head*2 > len(r.at) {
		k := copy(r.at, r.at[r.head:])
		copy(r.n, r.n[r.head:])
		r.at, r.n, r.head = r.at[:k], r.n[:k], 0
	}
}

// freeAt is when need units will have left the window.
func (r *ring) freeAt(need int64, span time.Duration) time.Time {
	for i := r.head; i < len(r.at); i++ {
		need -= r.n[i]
		if need <= 0 {
			return r.at[i].Add(span)
		}
	}
	if len(r.at) > r.head {
		return r.at[len(r.at)-1].Add(span)
	}
	return time.Time{}
}
