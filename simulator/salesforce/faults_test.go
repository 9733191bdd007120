package salesforce

import (
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/stretchr/testify/require"
)

// Force429 answers Salesforce's own rate-limit error, a 403: it never sends 429.
func TestForcedLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Force429: 2})
	for range 2 {
		a := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Account", "Name", "A")))
		require.Equal(t, http.StatusForbidden, a.status)
		require.Equal(t, []map[string]any{{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}}, a.errs(t))
		require.Equal(t, "api-usage=0/100000", a.header.Get("Sforce-Limit-Info"), "a forced refusal uses no allocation")
	}
	require.Empty(t, b.sim.Records("Account"))
	require.Equal(t, 0, b.sim.Faults().Force429)
	require.Len(t, b.create(rec("Account", "Name", "A")), 1)
	require.Equal(t, int64(2), b.sim.Counters().Throttled.Load())
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Fail5xx: 3})
	codes := map[int]string{}
	for range 3 {
		a := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Account", "Name", "A")))
		require.GreaterOrEqual(t, a.status, 500)
		errs := a.errs(t)
		require.Len(t, errs, 1)
		require.NotEmpty(t, errs[0]["message"])
		codes[a.status] = errs[0]["errorCode"].(string)
		require.NotEmpty(t, a.header.Get("Sforce-Limit-Info"))
	}
	require.Equal(t, map[int]string{500: "UNKNOWN_EXCEPTION", 502: "SERVER_UNAVAILABLE", 503: "SERVER_UNAVAILABLE"}, codes)
	require.Empty(t, b.sim.Records("Account"), "nothing of a 5xx is applied")
	require.Equal(t, int64(3), b.sim.Counters().ServerErrors.Load())
	used, _ := b.sim.APIUsage()
	require.Equal(t, int64(3), used, "a 5xx counts against the allocation")
}

func TestLatencyAndSlowResponses(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	b.get("limits")
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	b.sim.SetFaults(simkit.Faults{SlowEvery: 2, SlowDelay: 40 * time.Millisecond})
	var slow int
	for range 4 {
		start := time.Now()
		b.create(rec("Account", "Name", "A"))
		if time.Since(start) >= 40*time.Millisecond {
			slow++
		}
	}
	require.Equal(t, 2, slow)
	require.Len(t, b.sim.Records("Account"), 4, "a slow answer is applied")
}

// LockErrorRate makes writes fail with UNABLE_TO_LOCK_ROW; the failure is
// transient, so a retry can succeed.
func TestLockErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{LockErrorRate: 1})
	res := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Account", "Name", "A"), rec("Account", "Name", "B"))).results(t)
	for _, r := range res {
		require.Equal(t, failure("UNABLE_TO_LOCK_ROW", LockMessage), r)
	}

	b = setup(t, Options{LockErrorRate: 0.5})
	var recs []map[string]any
	for range 200 {
		recs = append(recs, rec("Account", "Name", "A"))
	}
	locked := 0
	for _, r := range b.do(http.MethodPost, "composite/sobjects", records(false, recs...)).results(t) {
		if r["success"] == false {
			locked++
		}
	}
	require.InDelta(t, 100, locked, 30)
	require.Len(t, b.sim.Records("Account"), 200-locked)
}

// Reject fails chosen records with a test's statusCode; a lock on the first
// attempt only shows how a retry succeeds.
func TestReject(t *testing.T) {
	t.Parallel()
	attempts := map[string]int{}
	b := setup(t, Options{Reject: func(object string, fields map[string]any) (string, string) {
		if object == "Contact" && fields["LastName"] == "Locked" {
			attempts["Locked"]++
			if attempts["Locked"] == 1 {
				return "UNABLE_TO_LOCK_ROW", LockMessage
			}
		}
		if fields["Email"] == "blocked@example.com" {
			return "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Email is blocked"
		}
		return "", ""
	}})
	res := b.do(http.MethodPost, "composite/sobjects", records(false,
		rec("Contact", "LastName", "Locked"), rec("Contact", "LastName", "B", "Email", "blocked@example.com"))).results(t)
	require.Equal(t, failure("UNABLE_TO_LOCK_ROW", LockMessage), res[0])
	require.Equal(t, failure("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Email is blocked"), res[1])
	require.Len(t, b.create(rec("Contact", "LastName", "Locked")), 1, "the retry succeeds")

	b.sim.SetReject(nil)
	require.Len(t, b.create(rec("Contact", "LastName", "B", "Email", "blocked@example.com")), 1)
}
