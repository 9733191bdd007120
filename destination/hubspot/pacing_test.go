package hubspot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// Another client of the same app spends most of HubSpot's window before the
// sync starts: the rate-limit headers of the first answers tell the budget, which
// waits for the window instead of running into 429s.
func TestPacingFollowsHubSpotsHeaders(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{PerInterval: 20, Interval: time.Second})
	d := tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) { c.Tier = "" })

	for range 15 {
		req := httptest.NewRequest(http.MethodGet, "/crm/v3/objects/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
	}
	start := time.Now()
	const writers, perWriter = 8, 5
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k := strconv.Itoa(w*perWriter + i)
				if err, _ := write(d, contact(record.OpAdd, k, "u"+k+"@example.com", "U", "lead")); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, tb.sim.Counters().Throttled.Load(), "no request was answered 429")
	require.Len(t, tb.sim.Records("contacts"), writers*perWriter)
	// 15 + 40 requests in windows of 20 per second need at least two more windows.
	require.GreaterOrEqual(t, time.Since(start), 1800*time.Millisecond)
	require.Equal(t, connector.RateLimits{Requests: 20, Window: time.Second, Daily: 625_000}, *d.Capabilities().Limits)
}

// Two syncs writing to the same account with the same token (one private app)
// share one budget: together they stay within HubSpot's window, which is the
// app's. Two apps on one portal have a window each, so their syncs do not share.
func TestSyncsOfOneAppShareABudget(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Tier: sim.TierEnterprise, LimitIncreasePacks: 1, PerInterval: 25, Interval: time.Second})
	open := func(token string) *hubspot.Destination {
		d := tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) {
			c.AccessToken = token
			c.Tier, c.LimitIncreasePacks = "enterprise", 1
			c.RateLimit.Requests, c.RateLimit.Per = 25, time.Second
		})
		require.NoError(t, d.Check(context.Background()))
		return d
	}
	ds := []*hubspot.Destination{open(testToken), open(testToken)}
	require.True(t, hubspot.SharesBudget(ds[0], ds[1]))
	other := open("pat-na1-another-app")
	require.False(t, hubspot.SharesBudget(ds[0], other), "another app on the portal has a window of its own")

	start := time.Now()
	var wg sync.WaitGroup
	for n, d := range ds {
		for w := range 4 {
			wg.Go(func() {
				for i := range 8 {
					k := strconv.Itoa(n*100 + w*10 + i)
					err, _ := write(d, contact(record.OpAdd, k, "u"+k+"@example.com", "U", "lead"))
					require.NoError(t, err)
				}
			})
		}
	}
	wg.Wait()
	require.Zero(t, tb.sim.Counters().Throttled.Load())
	require.Len(t, tb.sim.Records("contacts"), 64)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "68 requests of one app at 25 a second")
}

// Behind a proxy that drops HubSpot's rate-limit headers, an account without a
// tier is paced as the free tier once the first answer comes back.
func TestNoRateLimitHeadersSettlesOnTheFreeTier(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	strip := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			if !strings.HasPrefix(k, "X-Hubspot-Ratelimit") {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(strip.Close)
	d := tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) { c.Tier, c.BaseURL = "", strip.URL })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			k := strconv.Itoa(w)
			err, _ := write(d, contact(record.OpAdd, k, "u"+k+"@example.com", "U", "lead"))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Len(t, tb.sim.Records("contacts"), 4)
	require.Equal(t, connector.RateLimits{Requests: 100, Window: 10 * time.Second, Daily: 250_000}, *d.Capabilities().Limits)
}
