package salesforce

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/stretchr/testify/require"
)

func TestDailyAllocation(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{DailyRequests: 3})
	for i := 1; i <= 3; i++ {
		a := b.get("limits")
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, fmt.Sprintf("api-usage=%d/3", i), a.header.Get("Sforce-Limit-Info"))
		b.clock.Advance(time.Hour)
	}
	// Over the allocation: 403, never 429, and no Retry-After; nothing is applied.
	a := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Account", "Name", "A")))
	require.Equal(t, http.StatusForbidden, a.status)
	require.Equal(t, []map[string]any{{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}}, a.errs(t))
	require.Empty(t, a.header.Get("Retry-After"))
	require.Equal(t, "api-usage=3/3", a.header.Get("Sforce-Limit-Info"))
	require.Empty(t, b.sim.Records("Account"))
	require.Equal(t, int64(1), b.sim.Counters().Throttled.Load())
	require.Equal(t, int64(0), b.sim.Counters().ClientErrors.Load())

	// The window rolls: 24 hours after the first request, one fits again.
	b.clock.Advance(21 * time.Hour)
	a = b.get("limits")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "api-usage=3/3", a.header.Get("Sforce-Limit-Info"))
	require.Equal(t, http.StatusForbidden, b.get("limits").status)
}

func TestEditionAllocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Edition: EditionDeveloper}, "api-usage=1/15000"},
		{Options{Edition: EditionEnterprise, Licenses: 50}, "api-usage=1/150000"},
		{Options{Edition: EditionUnlimited, Licenses: 50}, "api-usage=1/350000"},
	}
	for _, tt := range tests {
		b := setup(t, tt.opts)
		require.Equal(t, tt.want, b.get("sobjects").header.Get("Sforce-Limit-Info"))
	}
}

// Requests running for LongRequestThreshold or more are limited to
// ConcurrentLongRequests at once.
func TestConcurrentLongRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Now: time.Now, ConcurrentLongRequests: 1, LongRequestThreshold: 20 * time.Millisecond})
	b.sim.SetFaults(simkit.Faults{Latency: 300 * time.Millisecond})
	var wg sync.WaitGroup
	wg.Add(1)
	var slow answer
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest(http.MethodGet, b.srv.URL+base+"/limits", nil)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := b.srv.Client().Do(req)
		if err == nil {
			slow.status = resp.StatusCode
			resp.Body.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	b.sim.SetFaults(simkit.Faults{})
	a := b.get("limits")
	require.Equal(t, http.StatusForbidden, a.status)
	require.Equal(t, []map[string]any{{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}}, a.errs(t))
	wg.Wait()
	require.Equal(t, http.StatusOK, slow.status)
	require.Equal(t, http.StatusOK, b.get("limits").status, "the long request is over")
}
