package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Both cases run end to end at a small size: the warehouse is built, the sync
// reaches the simulator, its final state is checked, and the stats are reported.
func TestCasesRunAndReport(t *testing.T) {
	var log strings.Builder
	results, err := Run(context.Background(), Params{
		Cases: []string{"hubspot", "mixpanel", "mixpanel-paced"},
		Rows:  map[string]int{"hubspot": 350, "mixpanel": 5000, "mixpanel-paced": 3000}, Dir: t.TempDir(), Log: &log,
	})
	require.NoError(t, err, log.String())
	require.Len(t, results, 3)
	require.Equal(t, "mixpanel-paced", results[2].Case)
	require.Equal(t, int64(3000), results[2].Succeeded)
	require.Less(t, results[2].SustainedPerS, results[1].SustainedPerS/40, "the project's lower byte limit (40 MB/min, not 2 GB) sets its sustained rate")

	hs, mp := results[0], results[1]
	require.Equal(t, "hubspot", hs.Case)
	require.Equal(t, int64(350), hs.Rows)
	require.Equal(t, int64(350), hs.Succeeded)
	require.Equal(t, int64(4), hs.Requests, "100 contacts per request")
	require.Zero(t, hs.Throttled)
	require.InDelta(t, 1900, hs.SustainedPerS, 0.001, "the professional tier: 190 × 100 per 10 s")
	require.False(t, hs.Binding, "4 requests fit the first window")
	require.Positive(t, hs.RecordsPerS)
	require.Positive(t, hs.P95Seconds)

	require.Equal(t, "mixpanel", mp.Case)
	require.Equal(t, int64(5000), mp.Succeeded)
	require.Equal(t, int64(3), mp.Requests, "2,000 events per request")
	require.Positive(t, mp.SustainedPerS)

	page := Markdown(results, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), "sluice bench --write docs/speeds.md")
	require.Contains(t, page, "Measured 2026-11-26 00:00 UTC on ")
	require.Contains(t, page, "| hubspot (contacts via batch/upsert by email, professional tier) | 350 |")
	require.Contains(t, page, "| mixpanel (events via /import, 2,000 per request, gzip) | 5,000 |")
	require.Contains(t, page, "not binding¹")
	require.Contains(t, log.String(), "hubspot: 350 rows")
}

// A run the limits bind is reported with its ceiling and efficiency.
func TestBindingRunReportsEfficiency(t *testing.T) {
	r := Result{Case: "hubspot", Rows: 100_000, RecordsPerS: 1938, CeilingPerS: 2000, SustainedPerS: 1900, Binding: true, Efficiency: 0.969, Requests: 1000}
	page := Markdown([]Result{r}, time.Now(), "x")
	require.Contains(t, page, "| 100,000 | 1,938 | 2,000 | 1,900 | 96.9% | 1,000 | 0 (0.00%) |")
	require.NotContains(t, page, "¹ The whole run")
}

func TestUnknownCase(t *testing.T) {
	_, err := Run(context.Background(), Params{Cases: []string{"zendesk"}, Dir: t.TempDir()})
	require.ErrorContains(t, err, `no case named "zendesk" (the cases are hubspot, mixpanel, mixpanel-paced, salesforce, facebook, slack)`)
}

// The cases whose ceiling the simulator's own limits set run end to end at a
// small size and report against those limits.
func TestSimulatorCeilingCases(t *testing.T) {
	var log strings.Builder
	results, err := Run(context.Background(), Params{
		Cases: []string{"salesforce", "facebook", "slack"},
		Rows:  map[string]int{"salesforce": 3000, "facebook": 20_000, "slack": 3}, Dir: t.TempDir(), Log: &log,
	})
	require.NoError(t, err, log.String())
	require.Len(t, results, 3)
	sf, fb, sl := results[0], results[1], results[2]

	require.Equal(t, int64(3000), sf.Succeeded)
	require.True(t, sf.Binding, "the org's Bulk processing rate bounds every Bulk run")
	require.InDelta(t, 5000, sf.CeilingPerS, 0.001)
	require.InDelta(t, 5000, sf.SustainedPerS, 0.001)
	require.Contains(t, sf.CeilingNote, "Bulk processing rate")
	require.Nil(t, sf.RunEfficiency, "Salesforce documents no limit that binds one run")
	require.Positive(t, sf.Efficiency)

	require.Equal(t, int64(20_000), fb.Succeeded)
	require.Equal(t, int64(2), fb.Requests, "10,000 rows per call")
	require.Zero(t, fb.Throttled)
	require.False(t, fb.Binding, "the check's read and two writes fit the first minute's 30 points")
	require.InDelta(t, 10_000*10/60.0, fb.SustainedPerS, 0.001, "ten writes of 10,000 rows a minute")

	require.Equal(t, int64(3), sl.Succeeded)
	require.Equal(t, int64(3), sl.Requests, "one message per request")
	require.True(t, sl.Binding, "one message a second per channel")
	require.Empty(t, sl.CeilingNote, "Slack's documented limit sets the ceiling")
	require.InDelta(t, 1.5, sl.CeilingPerS, 0.001, "3 messages: the first at once, the third 2 s later")

	page := Markdown(results, time.Now(), "x")
	require.Contains(t, page, "| salesforce (accounts via Bulk API 2.0 upsert by external ID, api: auto) | 3,000 |")
	require.Contains(t, page, "| 5,000² | 5,000 |")
	require.Contains(t, page, "- salesforce: the simulated org's Bulk processing rate")
}

// leastTime is the earliest the last request of a sequence can leave a rolling
// window: the check's read and nine writes fit the first minute's 30 points; the
// tenth write waits for the read to leave.
func TestLeastTime(t *testing.T) {
	writes := func(n int) []int64 {
		costs := []int64{1}
		for range n {
			costs = append(costs, 3)
		}
		return costs
	}
	require.Zero(t, leastTime(writes(9), 30, time.Minute))
	require.Equal(t, time.Minute, leastTime(writes(10), 30, time.Minute))
	require.Equal(t, time.Minute, leastTime(writes(19), 30, time.Minute))
	require.Equal(t, 2*time.Minute, leastTime(writes(20), 30, time.Minute))
	require.Equal(t, time.Duration(0), leastTime(nil, 30, time.Minute))
}
