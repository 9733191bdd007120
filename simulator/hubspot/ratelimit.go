package hubspot

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// limiter enforces HubSpot's two limits: a rolling window per token (per app)
// and a daily allowance per account that resets at midnight in its time zone.
type limiter struct {
	perInterval int64
	interval    time.Duration
	count429    bool
	now         simkit.Clock

	mu      sync.Mutex // makes the window and the daily count one decision
	windows map[string]*window
	daily   *simkit.Daily
}

func newLimiter(o Options, loc *time.Location) *limiter {
	return &limiter{
		perInterval: o.PerInterval,
		interval:    o.Interval,
		count429:    o.Count429,
		now:         o.Now,
		windows:     map[string]*window{},
		daily:       simkit.NewDaily(o.Daily, loc, o.Now),
	}
}

// window is one token's rolling window. When refused requests count too, the
// simkit.Window is given slack past the limit so it can record them; admission
// is then decided here against the real limit.
type window struct {
	w     *simkit.Window
	limit int64
	slack int64
}

const countedSlack = 1 << 40

func (l *limiter) window(token string) *window {
	w, ok := l.windows[token]
	if !ok {
		var slack int64
		if l.count429 {
			slack = countedSlack
		}
		w = &window{w: simkit.NewWindow(l.perInterval+slack, l.interval, l.now), limit: l.perInterval, slack: slack}
		l.windows[token] = w
	}
	return w
}

func (w *window) used() int64 { return w.limit + w.slack - w.w.Remaining() }

// take admits one request, or says how long until one fits.
func (w *window) take() (ok bool, remaining int64, wait time.Duration) {
	if w.slack == 0 {
		return w.w.Take(1)
	}
	used := w.used()
	if used < w.limit {
		w.w.Take(1)
		return true, w.limit - used - 1, 0
	}
	w.w.Take(1) // the refused request is counted
	// More than the slack cannot fit; Take then reports when the count drops
	// below the limit, and records nothing.
	_, _, wait = w.w.Take(w.slack + 1)
	return false, 0, wait
}

func (w *window) remaining() int64 { return max(0, w.limit-w.used()) }

// verdict is the limiter's decision about one request and the counts to report.
type verdict struct {
	ok             bool
	policy         string // DAILY, or "" for the window's policy
	remaining      int64
	dailyRemaining int64
	retryAfter     time.Duration
}

// admit counts a request from token against both limits.
func (l *limiter) admit(token string) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.window(token)
	if l.daily.Remaining() == 0 {
		if l.count429 {
			w.take()
		}
		return verdict{policy: "DAILY", remaining: w.remaining(), retryAfter: l.daily.ResetIn()}
	}
	ok, remaining, wait := w.take()
	if !ok {
		v := verdict{remaining: remaining, retryAfter: wait}
		if l.count429 {
			_, v.dailyRemaining = l.daily.Take(1)
		} else {
			v.dailyRemaining = l.daily.Remaining()
		}
		return v
	}
	_, daily := l.daily.Take(1)
	return verdict{ok: true, remaining: remaining, dailyRemaining: daily}
}

// peek reports the counts without counting a request.
func (l *limiter) peek(token string) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	return verdict{remaining: l.window(token).remaining(), dailyRemaining: l.daily.Remaining()}
}

// used is today's count and when it resets.
func (l *limiter) used() (used, limit int64, resetIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.daily.Limit() - l.daily.Remaining(), l.daily.Limit(), l.daily.ResetIn()
}

// rateHeaders sets the X-HubSpot-RateLimit-* headers every authenticated answer carries.
func (s *Server) rateHeaders(rep *reply, v verdict) {
	o := s.opts
	rep.setHeader("X-HubSpot-RateLimit-Daily", strconv.FormatInt(o.Daily, 10))
	rep.setHeader("X-HubSpot-RateLimit-Daily-Remaining", strconv.FormatInt(v.dailyRemaining, 10))
	rep.setHeader("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(o.Interval.Milliseconds(), 10))
	rep.setHeader("X-HubSpot-RateLimit-Max", strconv.FormatInt(o.PerInterval, 10))
	rep.setHeader("X-HubSpot-RateLimit-Remaining", strconv.FormatInt(v.remaining, 10))
	if o.LegacySecondlyHeaders {
		// The per-second figures of older answers: the window spread over its seconds.
		secs := max(1, int64(o.Interval/time.Second))
		secondly := (o.PerInterval + secs - 1) / secs
		rep.setHeader("X-HubSpot-RateLimit-Secondly", strconv.FormatInt(secondly, 10))
		rep.setHeader("X-HubSpot-RateLimit-Secondly-Remaining", strconv.FormatInt(min(secondly, v.remaining), 10))
	}
}

// throttled is HubSpot's 429 for a policy.
func (s *Server) throttled(c *call, v verdict) reply {
	policy := v.policy
	if policy == "" {
		policy = s.opts.PolicyName
	}
	rep := jsonReply(http.StatusTooManyRequests, rateLimitBody{
		Status:        "error",
		Message:       "You have reached your " + strings.ToLower(policy) + " limit.",
		ErrorType:     "RATE_LIMIT",
		CorrelationID: c.correlation,
		PolicyName:    policy,
		RequestID:     newUUID(),
	})
	if !s.opts.NoRetryAfter {
		secs := max(1, int64((v.retryAfter+time.Second-1)/time.Second))
		rep.setHeader("Retry-After", strconv.FormatInt(secs, 10))
	}
	return rep
}
