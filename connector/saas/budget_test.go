package saas

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones load on machines without zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
)

// admitted acquires n tickets from concurrent goroutines and returns when each was admitted.
func admitted(t *testing.T, b *Budget, n, workers int, payload int64) []time.Time {
	t.Helper()
	var mu sync.Mutex
	var times []time.Time
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				tk, err := b.Acquire(context.Background(), payload)
				require.NoError(t, err)
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
				tk.Done(Feedback{Latency: time.Millisecond})
			}
		}()
	}
	wg.Wait()
	return times
}

// maxInWindow is the most admissions in any span of w.
func maxInWindow(times []time.Time, w time.Duration) int {
	best := 0
	for i, a := range times {
		n := 0
		for _, b := range times[i:] {
			if !b.Before(a) && b.Sub(a) < w {
				n++
			}
		}
		for _, b := range times[:i] {
			if !b.Before(a) && b.Sub(a) < w {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func TestBudgetKeepsEveryWindowWithinTheLimit(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 10, Window: 200 * time.Millisecond}, 4)
	times := admitted(t, b, 45, 4, 0)
	require.Len(t, times, 45)
	require.LessOrEqual(t, maxInWindow(times, 200*time.Millisecond), 10)
}

func TestBudgetBoundsPayloadBytesPerWindow(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Bytes: 1000, Window: 200 * time.Millisecond}, 4)
	times := admitted(t, b, 12, 4, 300) // 3 requests of 300 bytes fit a window
	require.LessOrEqual(t, maxInWindow(times, 200*time.Millisecond), 3)
}

func TestBudgetLeavesRoomForOthersTheAPIReports(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 10, Window: time.Minute}, 1)
	tk, err := b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	// The API counted 8 requests in its window: another client sent 7.
	tk.Done(Feedback{Window: &WindowState{Max: 10, Remaining: 2, Interval: time.Minute}})
	for range 2 {
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		tk.Done(Feedback{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = b.Acquire(ctx, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the window is full by the API's count")
}

func TestBudgetAdoptsTheAPIsLowerLimit(t *testing.T) {
	b := NewBudget(connector.RateLimits{Requests: 190, Window: 10 * time.Second}, 1)
	tk, _ := b.Acquire(context.Background(), 0)
	tk.Done(Feedback{Window: &WindowState{Max: 100, Remaining: 99, Interval: 10 * time.Second}})
	require.Equal(t, 100, b.Limits().Requests)
	tk, _ = b.Acquire(context.Background(), 0)
	tk.Done(Feedback{Window: &WindowState{Max: 250, Remaining: 240, Interval: 10 * time.Second}})
	require.Equal(t, 100, b.Limits().Requests, "a budget never rises above what it was given or told")
}

func TestBudgetStopsWhenTheDayIsSpent(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 100, Window: time.Second, Daily: 3}, 2)
	for range 3 {
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		tk.Done(Feedback{})
	}
	_, err := b.Acquire(context.Background(), 0)
	require.ErrorIs(t, err, ErrDailyLimit)

	b = NewBudget(connector.RateLimits{Requests: 100, Window: time.Second}, 2)
	tk, err := b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	tk.Done(Feedback{Daily: &DailyState{Max: 250000, Remaining: 0}})
	_, err = b.Acquire(context.Background(), 0)
	require.ErrorIs(t, err, ErrDailyLimit, "the API's own count is believed")
	require.Equal(t, 250000, b.Limits().Daily)
}

func TestThrottlingPausesEveryoneAndHalvesConcurrency(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{}, 8)
	require.Equal(t, 8, b.ConcurrencyLimit())
	tk, err := b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	retry := tk.Done(Feedback{Throttled: true, Retry: 150 * time.Millisecond})
	require.Equal(t, 150*time.Millisecond, retry)
	require.Equal(t, 4, b.ConcurrencyLimit())
	start := time.Now()
	tk, err = b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 140*time.Millisecond, "the pause holds every request")
	require.GreaterOrEqual(t, tk.Wait, 140*time.Millisecond, "and is reported as waiting")
	tk.Done(Feedback{})

	// Without Retry-After the backoff starts at about 2 s and grows.
	tk, _ = b.Acquire(context.Background(), 0)
	d1 := tk.Done(Feedback{Throttled: true})
	require.True(t, d1 >= time.Second && d1 <= 2*time.Second, "%s", d1)
	b.mu.Lock()
	b.pausedUntil = time.Time{}
	b.mu.Unlock()
	tk, _ = b.Acquire(context.Background(), 0)
	d2 := tk.Done(Feedback{Throttled: true})
	require.True(t, d2 >= 2*time.Second && d2 <= 4*time.Second, "%s", d2)
}

func TestConcurrencyClimbsBackSlowly(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{}, 8)
	tk, _ := b.Acquire(context.Background(), 0)
	tk.Done(Feedback{Throttled: true, Retry: time.Millisecond})
	tk, _ = b.Acquire(context.Background(), 0)
	tk.Done(Feedback{Throttled: true, Retry: time.Millisecond})
	require.Equal(t, 2, b.ConcurrencyLimit())
	for range 3 {
		tk, _ := b.Acquire(context.Background(), 0)
		tk.Done(Feedback{Latency: 10 * time.Millisecond})
	}
	require.Equal(t, 3, b.ConcurrencyLimit(), "one more per limit's worth of successes")
	for range 200 {
		tk, _ := b.Acquire(context.Background(), 0)
		tk.Done(Feedback{Latency: 10 * time.Millisecond})
	}
	require.Equal(t, 8, b.ConcurrencyLimit(), "never above the maximum")

	// Latency far above its floor lowers the limit, but not below a quarter of the maximum.
	for range 100 {
		tk, _ := b.Acquire(context.Background(), 0)
		tk.Done(Feedback{Latency: time.Second})
		b.mu.Lock()
		b.lastDecrease = time.Time{}
		b.mu.Unlock()
	}
	require.Equal(t, 2, b.ConcurrencyLimit())
}

func TestConcurrencyLimitHoldsRequestsInFlight(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{}, 2)
	t1, _ := b.Acquire(context.Background(), 0)
	t2, _ := b.Acquire(context.Background(), 0)
	got := make(chan *Ticket)
	go func() {
		tk, _ := b.Acquire(context.Background(), 0)
		got <- tk
	}()
	select {
	case <-got:
		t.Fatal("a third request was admitted while two were in flight")
	case <-time.After(50 * time.Millisecond):
	}
	t1.Done(Feedback{})
	tk := <-got
	tk.Done(Feedback{})
	t2.Done(Feedback{})
	t2.Done(Feedback{}) // twice is harmless
}

func TestSharedBudgetIsOnePerAccountAndTakesTheLowerLimits(t *testing.T) {
	a := SharedBudget("test|acct-1", connector.RateLimits{Requests: 190, Window: 10 * time.Second, Daily: 625000}, 8)
	b := SharedBudget("test|acct-1", connector.RateLimits{Requests: 100, Window: 10 * time.Second}, 4)
	c := SharedBudget("test|acct-2", connector.RateLimits{Requests: 190, Window: 10 * time.Second}, 8)
	require.Same(t, a, b)
	require.NotSame(t, a, c)
	require.Equal(t, connector.RateLimits{Requests: 100, Window: 10 * time.Second, Daily: 625000}, a.Limits())
	require.Equal(t, 4, a.ConcurrencyLimit())
}

func TestAcquireStopsWithItsContext(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 1, Window: time.Hour}, 1)
	tk, _ := b.Acquire(context.Background(), 0)
	tk.Done(Feedback{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := b.Acquire(ctx, 0)
	require.True(t, errors.Is(err, context.Canceled))
}

// Requests the API counted before this process's (a check made through another
// budget, another app) are found even while this process has requests in flight.
func TestForeignUsageIsSeenPastRequestsInFlight(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 10, Window: time.Minute}, 4)
	var tickets []*Ticket
	for range 4 {
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		tickets = append(tickets, tk)
	}
	// The API has seen 2 foreign requests and the first of ours; 3 of ours are
	// still on their way.
	tickets[0].Done(Feedback{Window: &WindowState{Max: 10, Remaining: 7, Interval: time.Minute}})
	for _, tk := range tickets[1:] {
		tk.Done(Feedback{})
	}
	for range 4 { // 10 - 2 foreign - 4 ours
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		tk.Done(Feedback{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := b.Acquire(ctx, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the 2 foreign requests hold their place in the window")
}

func TestDayStartsInTheAPIsZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	b := NewBudget(connector.RateLimits{Daily: 1}, 1)
	now := time.Date(2026, 3, 2, 4, 30, 0, 0, time.UTC) // 23:30 on March 1st in New York
	b.now = func() time.Time { return now }
	b.SetDayZone(ny)
	require.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, ny), b.NextMidnight(now))
	tk, err := b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	tk.Done(Feedback{})
	_, err = b.Acquire(context.Background(), 0)
	require.ErrorIs(t, err, ErrDailyLimit)
	now = now.Add(31 * time.Minute) // past midnight in New York, not in UTC
	tk, err = b.Acquire(context.Background(), 0)
	require.NoError(t, err, "a new day in the account's zone")
	tk.Done(Feedback{})
}

// A user's daily limit lower than the API's is measured against the account's
// usage the API reports, so that it holds across runs and processes.
func TestUserDailyLimitCountsTheAccountsUsage(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 100, Window: time.Second, Daily: 600_010}, 1)
	tk, err := b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	tk.Done(Feedback{Daily: &DailyState{Max: 625_000, Remaining: 25_000}}) // 600,000 used today
	for range 10 {
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		tk.Done(Feedback{})
	}
	_, err = b.Acquire(context.Background(), 0)
	require.ErrorIs(t, err, ErrDailyLimit)
}

func TestOneHalvingPerPause(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{}, 8)
	var tickets []*Ticket
	for range 8 {
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		tickets = append(tickets, tk)
	}
	for _, tk := range tickets {
		tk.Done(Feedback{Throttled: true, Retry: 50 * time.Millisecond})
	}
	require.Equal(t, 4, b.ConcurrencyLimit(), "eight 429s of requests sent together halve once")
}

// 429s of requests sent together do not grow the pause: the first sets it, the
// others wait out what is left of it.
func TestThrottlesInOneBurstGrowThePauseOnce(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{}, 8)
	var tickets []*Ticket
	for range 8 {
		tk, _ := b.Acquire(context.Background(), 0)
		tickets = append(tickets, tk)
	}
	first := tickets[0].Done(Feedback{Throttled: true})
	require.LessOrEqual(t, first, 2*time.Second)
	for _, tk := range tickets[1:] {
		require.LessOrEqual(t, tk.Done(Feedback{Throttled: true}), first)
	}
	b.mu.Lock()
	require.Equal(t, 1, b.throttles)
	require.LessOrEqual(t, time.Until(b.pausedUntil), 2*time.Second)
	b.mu.Unlock()
}

// A user window shorter than the API's is not reconciled against the API's count
// over its own window, which would take this process's requests for others'.
func TestUserWindowShorterThanTheAPIs(t *testing.T) {
	t.Parallel()
	b := NewBudget(connector.RateLimits{Requests: 5, Window: 100 * time.Millisecond}, 1)
	start := time.Now()
	for i := range 20 {
		tk, err := b.Acquire(context.Background(), 0)
		require.NoError(t, err)
		// The API counts every request of its 10 s window.
		tk.Done(Feedback{Window: &WindowState{Max: 190, Remaining: 189 - i, Interval: 10 * time.Second}})
	}
	require.Less(t, time.Since(start), 2*time.Second, "20 requests at 5 per 100 ms take about 300 ms, not the API's window")
}

func TestSameDayZoneKeepsTheCount(t *testing.T) {
	b := NewBudget(connector.RateLimits{Daily: 1}, 1)
	b.SetDayZone(time.UTC)
	tk, err := b.Acquire(context.Background(), 0)
	require.NoError(t, err)
	tk.Done(Feedback{})
	b.SetDayZone(time.FixedZone("UTC", 0)) // another *Location, the same zone
	_, err = b.Acquire(context.Background(), 0)
	require.ErrorIs(t, err, ErrDailyLimit)
}
