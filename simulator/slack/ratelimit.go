package slack

import (
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// limiter holds Slack's posting limits: per channel a rate with a burst, and
// per workspace a rolling minute of chat.postMessage calls; conversations.info
// has its own rolling minute.
type limiter struct {
	interval  time.Duration // between posts to one channel at the sustained rate; 0 is no limit
	tolerance time.Duration // how far ahead of the rate a channel may run: (Burst-1) intervals
	now       simkit.Clock

	mu sync.Mutex
	// tat is each channel's theoretical arrival time (GCRA): when the next post
	// would be on schedule. A post is admitted when tat-now ≤ tolerance.
	tat       map[string]time.Time
	workspace *simkit.Window // nil: no limit
	info      *simkit.Window // nil: no limit
}

func newLimiter(o Options) *limiter {
	l := &limiter{now: o.Now, tat: map[string]time.Time{}}
	if o.PerChannelPerSecond > 0 {
		l.interval = time.Duration(float64(time.Second) / o.PerChannelPerSecond)
		l.tolerance = time.Duration(max(o.Burst, 1)-1) * l.interval
	}
	if o.WorkspacePerMinute > 0 {
		l.workspace = simkit.NewWindow(int64(o.WorkspacePerMinute), time.Minute, o.Now)
	}
	if o.InfoPerMinute > 0 {
		l.info = simkit.NewWindow(int64(o.InfoPerMinute), time.Minute, o.Now)
	}
	return l
}

// post admits one post to channel (workspace-wide too when api), or says how
// long until it would be admitted. A refused post uses no budget.
func (l *limiter) post(channel string, api bool) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var tat time.Time
	if l.interval > 0 {
		tat = l.tat[channel]
		if tat.Before(now) {
			tat = now
		}
		if ahead := tat.Sub(now); ahead > l.tolerance {
			return false, ahead - l.tolerance
		}
	}
	if api && l.workspace != nil {
		if ok, _, wait := l.workspace.Take(1); !ok {
			return false, wait
		}
	}
	if l.interval > 0 {
		l.tat[channel] = tat.Add(l.interval)
	}
	return true, 0
}

// unpost gives back the channel budget of an admitted post Slack then refused.
// The workspace minute keeps it: that limit counts calls.
func (l *limiter) unpost(channel string) {
	if l.interval == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tat[channel] = l.tat[channel].Add(-l.interval)
}

// infoCall admits one conversations.info call.
func (l *limiter) infoCall() (ok bool, wait time.Duration) {
	if l.info == nil {
		return true, 0
	}
	ok, _, wait = l.info.Take(1)
	return ok, wait
}

// retryAfter is a Retry-After value: whole seconds, rounded up, at least 1.
func retryAfter(wait time.Duration) string {
	return strconv.FormatInt(max(1, int64((wait+time.Second-1)/time.Second)), 10)
}
