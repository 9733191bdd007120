package facebook

import (
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/stretchr/testify/require"
)

// Force429 is mapped to Graph's custom-audience throttling error: Meta sends no 429.
func TestForcedThrottle(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CallsPerWindow: 10})
	b.sim.SetFaults(simkit.Faults{Force429: 2})
	for range 2 {
		a := b.add(testAud, emails("a@x.com"))
		require.Equal(t, http.StatusBadRequest, a.status)
		require.Equal(t, 80003, a.code())
		require.Equal(t, 2446079, a.subcode())
		usage := a.buc(t, testAccount)
		require.Equal(t, 100.0, usage["call_count"])
		require.Equal(t, 0.0, usage["estimated_time_to_regain_access"], "a forced throttle has no wait to report")
		require.Equal(t, 0.0, a.usage(t, headerAdAccount)["acc_id_util_pct"], "a forced throttle uses no budget")
	}
	require.Zero(t, b.sim.MemberCount(testAud))
	require.Zero(t, b.sim.Faults().Force429)
	a := usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
	require.Equal(t, 10.0, a.buc(t, testAccount)["call_count"], "1 of 10: the forced ones did not count")
	require.Equal(t, int64(2), b.sim.Counters().Throttled.Load())
	require.Equal(t, int64(0), b.sim.Counters().ClientErrors.Load())
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Fail5xx: 3})
	seen := map[int]bool{}
	for range 3 {
		a := b.add(testAud, emails("a@x.com"))
		require.GreaterOrEqual(t, a.status, 500)
		seen[a.status] = true
		e := a.errorOf()
		require.Equal(t, true, e["is_transient"])
		if a.status == http.StatusInternalServerError {
			require.Equal(t, 1.0, e["code"])
			require.Equal(t, "An unknown error occurred", e["message"])
		} else {
			require.Equal(t, 2.0, e["code"])
			require.Equal(t, "An unexpected error has occurred. Please retry your request later.", e["message"])
		}
	}
	require.Equal(t, map[int]bool{500: true, 502: true, 503: true}, seen)
	require.Zero(t, b.sim.MemberCount(testAud), "nothing of a 5xx is applied")
	require.Equal(t, int64(3), b.sim.Counters().ServerErrors.Load())
	usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
}

func TestLatencyAndSlowResponses(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	b.get("/" + testAud)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	b.sim.SetFaults(simkit.Faults{SlowEvery: 2, SlowDelay: 40 * time.Millisecond})
	var slow int
	for i := range 4 {
		start := time.Now()
		usersOK(t, b.add(testAud, emails(string(rune('a'+i)))), 1, 0)
		if time.Since(start) >= 40*time.Millisecond {
			slow++
		}
	}
	require.Equal(t, 2, slow)
	require.Equal(t, 4, b.sim.MemberCount(testAud), "a slow answer is applied")
}

func TestLog(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{KeepBodies: true})
	usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
	reqs := b.sim.Log().Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, http.MethodPost, reqs[0].Method)
	require.Equal(t, "/v21.0/"+testAud+"/users", reqs[0].Path)
	require.Contains(t, reqs[0].RawQuery, "access_token="+testToken)
	require.Contains(t, string(reqs[0].Body), "payload=")
	require.Equal(t, http.StatusOK, reqs[0].Status)
	require.Equal(t, t0, reqs[0].Time)
}
