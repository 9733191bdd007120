package facebook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit"
)

// sendAll writes batches with workers at once and retries them as the engine
// does: after the delay a throttled or transient failure asks for (or a short
// backoff), up to 8 attempts. It returns the attempts that were throttled.
func sendAll(t *testing.T, d connector.Destination, batches [][]record.Change, workers int) (throttled int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make([]error, len(batches))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				for attempt := 1; ; attempt++ {
					b := connector.NewBatch("s", "run-1", fmt.Sprintf("b%d", i), batches[i], nil)
					err := d.Write(context.Background(), b)
					if err == nil {
						break
					}
					if connector.IsPermanent(err) || attempt == 8 {
						errs[i] = err
						break
					}
					if connector.RateLimited(err) {
						mu.Lock()
						throttled++
						mu.Unlock()
					}
					wait := 100 * time.Millisecond
					if delay, ok := connector.RetryDelay(err); ok && delay > 0 {
						wait = delay
					}
					time.Sleep(wait)
				}
			}
		}()
	}
	for i := range batches {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "batch %d", i)
	}
	return throttled
}

// people are customers from..to-1, one batch of per each.
func batchesOf(from, to, per int) ([][]record.Change, []customer) {
	var batches [][]record.Change
	var all []customer
	for lo := from; lo < to; lo += per {
		var b []record.Change
		for n := lo; n < min(lo+per, to); n++ {
			b = append(b, person(n).add())
			all = append(all, person(n))
		}
		batches = append(batches, b)
	}
	return batches, all
}

// Meta's throttling comes as a Graph error code in an HTTP 400 with the usage
// headers, not a 429: it is reported as rate limiting with the time to wait, and
// the batch applies when retried.
func TestThrottlingCodesAreRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []int{sim.ScoreCodeUserLimit, sim.ScoreCodeAdAccount} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			// A score of 4 writes per 2 s, which another app has just spent.
			tb := setup(t, sim.Options{MaxScore: 12, ScoreDecay: 2 * time.Second, ScoreBlock: time.Second, ScoreErrorCode: code})
			for range 4 {
				tb.post(t, "/"+audienceID+"/users", url.Values{"payload": {`{"schema":["EMAIL"],"data":[]}`}})
			}
			d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
			err, _, _ := write(d, []record.Change{person(1).add()})
			require.Error(t, err, "the score is spent")
			require.True(t, connector.RateLimited(err), "%v", err)
			delay, ok := connector.RetryDelay(err)
			require.True(t, ok)
			require.GreaterOrEqual(t, delay, 500*time.Millisecond, "the wait the usage headers ask for")
			require.ErrorContains(t, err, fmt.Sprintf("code %d", code))
			time.Sleep(delay)
			require.NoError(t, first(write(d, []record.Change{person(1).add()})))
			tb.requireMembers(t, person(1))
		})
	}
	t.Run("80003", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, sim.Options{})
		tb.sim.SetFaults(simkit.Faults{Force429: 1})
		d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
		err, exchanges, _ := write(d, []record.Change{person(1).add()})
		require.True(t, connector.RateLimited(err), "%v", err)
		require.ErrorContains(t, err, "Meta throttled the ad account: (#80003) There have been too many calls to this ad-account")
		require.True(t, exchanges[0].Throttled)
		require.Contains(t, http.Header(exchanges[0].Response.Header).Get("X-Business-Use-Case-Usage"), `"call_count":100`)
		require.NoError(t, first(write(d, []record.Change{person(1).add()})))
		tb.requireMembers(t, person(1))
	})
}

// Meta's transient errors (5xx, is_transient) are retried; nothing is lost.
func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 3})
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
	err, _, _ := write(d, []record.Change{person(1).add()})
	require.Error(t, err)
	require.False(t, connector.IsPermanent(err), "%v", err)
	batches, all := batchesOf(0, 40, 5)
	require.Zero(t, sendAll(t, d, batches, 4))
	tb.requireMembers(t, all...)
}

// With no tier configured, the ad account's score is measured from the usage
// headers and paced by: a score far below the documented one (50 writes per
// second) is not overrun, and every row lands.
func TestScoreIsMeasuredAndPacedBy(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{MaxScore: 150, ScoreDecay: time.Second, ScoreBlock: 5 * time.Second})
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), func(c *facebook.Config) { c.MaxInFlight = 4 })
	require.NoError(t, d.Check(context.Background()))
	batches, all := batchesOf(0, 160, 1)
	start := time.Now()
	throttled := sendAll(t, d, batches, 4)
	elapsed := time.Since(start)
	require.Zero(t, throttled, "the score was never overrun")
	require.Zero(t, tb.sim.Counters().Throttled.Load())
	require.GreaterOrEqual(t, elapsed, 2500*time.Millisecond, "160 writes at 50 a second")
	limits := d.Capabilities().Limits
	require.Equal(t, time.Second, limits.Window)
	require.InDelta(t, 50, limits.Requests, 5)
	tb.requireMembers(t, all...)
}

// When the score is overrun anyway (others spent it), the block is waited out
// and every row lands.
func TestScoreBlockIsWaitedOut(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{MaxScore: 30, ScoreDecay: time.Second, ScoreBlock: time.Second})
	for range 10 {
		tb.post(t, "/"+audienceID+"/users", url.Values{"payload": {`{"schema":["EMAIL"],"data":[]}`}}) // another app's
	}
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
	batches, all := batchesOf(0, 30, 1)
	throttled := sendAll(t, d, batches, 8)
	require.Positive(t, throttled, "the score was spent when the sync began")
	tb.requireMembers(t, all...)
}
