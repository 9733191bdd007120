package salesforce_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

// spend makes n requests as another integration of the org would.
func (tb *testBundle) spend(t *testing.T, n int) {
	t.Helper()
	for range n {
		req := httptest.NewRequest(http.MethodGet, "/services/data/v62.0/limits", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
	}
}

// useUp spends what is left of the org's daily allocation, as other
// integrations would.
func (tb *testBundle) useUp() {
	used, limit := tb.sim.APIUsage()
	for range limit - used {
		req := httptest.NewRequest(http.MethodGet, "/services/data/v62.0/limits", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		tb.sim.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// Sforce-Limit-Info on every answer is the org's count of the last 24 hours:
// other integrations spend the same allocation. The budget follows it and stops
// sending when none is left, instead of running into 403 REQUEST_LIMIT_EXCEEDED.
func TestPacingFollowsSforceLimitInfo(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{DailyRequests: 10})
	tb.spend(t, 6)
	d := tb.districts(t, connector.ModeUpsert, "collections", func(c *salesforce.Config) { c.Edition, c.Licenses = "", 0 })
	for i := range 4 {
		err, _ := write(d, districtsRange(record.OpAdd, i, i+1, 0)...)
		require.NoError(t, err, "write %d", i)
	}
	require.Equal(t, 10, d.Capabilities().Limits.Daily, "the allocation Salesforce reported")
	err, traced := write(d, districtsRange(record.OpAdd, 4, 5, 0)...)
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, "the API's daily request limit is used up")
	require.Zero(t, traced, "not sent")
	require.Zero(t, tb.sim.Counters().Throttled.Load(), "Salesforce never refused a request")
	used, _ := tb.sim.APIUsage()
	require.Equal(t, int64(10), used)
	require.Len(t, tb.accounts(), 4)
}

// rate_limit.daily keeps room for the org's other integrations: it is measured
// against the org's usage as Salesforce reports it, not this sync's alone.
func TestDailyLimitIsMeasuredAgainstTheOrgsUsage(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{DailyRequests: 1000})
	tb.spend(t, 6)
	d := tb.districts(t, connector.ModeUpsert, "collections", func(c *salesforce.Config) { c.RateLimit.Daily = 9 })
	for i := range 3 {
		err, _ := write(d, districtsRange(record.OpAdd, i, i+1, 0)...)
		require.NoError(t, err, "write %d", i)
	}
	err, traced := write(d, districtsRange(record.OpAdd, 3, 4, 0)...)
	require.ErrorContains(t, err, "daily request limit is used up")
	require.Zero(t, traced)
	used, _ := tb.sim.APIUsage()
	require.Equal(t, int64(9), used)
}

// Every sync writing to one org (one instance URL) in the process shares one
// budget: the daily allocation is the org's.
func TestSyncsOfOneOrgShareABudget(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	a := tb.districts(t, connector.ModeUpsert, "collections", nil)
	b := tb.districts(t, connector.ModeUpsert, "bulk", func(c *salesforce.Config) { c.AccessToken = testToken + "-other-user" })
	require.True(t, salesforce.SharesBudget(a, b))
	other := setup(t, sim.Options{})
	require.False(t, salesforce.SharesBudget(a, other.districts(t, connector.ModeUpsert, "collections", nil)))
	require.NoError(t, a.Check(context.Background()))
}
