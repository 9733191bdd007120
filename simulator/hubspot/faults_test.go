package hubspot

import (
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/stretchr/testify/require"
)

func faultsForce429(n int) simkit.Faults { return simkit.Faults{Force429: n} }

func TestForced429(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(faultsForce429(2))
	for range 2 {
		a := b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "a@example.com")))
		require.Equal(t, http.StatusTooManyRequests, a.status)
		require.Equal(t, "You have reached your secondly limit.", a.body["message"])
		require.Equal(t, "RATE_LIMIT", a.body["errorType"])
		require.Equal(t, "SECONDLY", a.body["policyName"])
		require.Equal(t, "1", a.header.Get("Retry-After"))
		require.Equal(t, "190", a.header.Get("X-HubSpot-RateLimit-Remaining"), "a forced 429 uses no budget")
	}
	require.Empty(t, b.sim.Records("contacts"))
	require.Equal(t, 0, b.sim.Faults().Force429)

	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "a@example.com")))
	require.Equal(t, http.StatusCreated, a.status)
	require.Equal(t, int64(2), b.sim.Counters().Throttled.Load())
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Fail5xx: 3})
	seen := map[int]bool{}
	for range 3 {
		a := b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "a@example.com")))
		require.GreaterOrEqual(t, a.status, 500)
		seen[a.status] = true
		require.Equal(t, "error", a.body["status"])
		require.Regexp(t, uuidRE, a.body["correlationId"])
		require.NotEmpty(t, a.body["message"])
		require.NotEmpty(t, a.header.Get("X-HubSpot-RateLimit-Remaining"))
	}
	require.Equal(t, map[int]bool{500: true, 502: true, 503: true}, seen)
	require.Empty(t, b.sim.Records("contacts"), "nothing of a 5xx is applied")
	require.Equal(t, int64(3), b.sim.Counters().ServerErrors.Load())
	require.Equal(t, http.StatusCreated, b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "a@example.com"))).status)
}

func TestLatencyAndSlowResponses(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(simkit.Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	b.get("/crm/v3/objects/contacts")
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	b.sim.SetFaults(simkit.Faults{SlowEvery: 2, SlowDelay: 40 * time.Millisecond})
	var slow int
	for range 4 {
		start := time.Now()
		a := b.post("/crm/v3/objects/contacts/batch/create", inputs(props("firstname", "x")))
		require.Equal(t, http.StatusCreated, a.status)
		if time.Since(start) >= 40*time.Millisecond {
			slow++
		}
	}
	require.Equal(t, 2, slow)
	require.Len(t, b.sim.Records("contacts"), 4, "a slow answer is applied")
}

// Options.Reject makes chosen records fail validation with a message of the test's.
func TestReject(t *testing.T) {
	t.Parallel()
	reject := func(object string, p map[string]string) string {
		if object == "contacts" && p["email"] == "blocked@example.com" {
			return "blocked by the test"
		}
		return ""
	}
	b := setup(t, Options{Reject: reject})

	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(
		with(props("email", "ok@example.com"), "objectWriteTraceId", "1"),
		with(props("email", "Blocked@example.com"), "objectWriteTraceId", "2"),
	))
	require.Equal(t, http.StatusMultiStatus, a.status, "%s", a.raw)
	require.Equal(t, []map[string]any{{
		"status": "error", "category": "VALIDATION_ERROR", "message": "blocked by the test",
		"context": map[string]any{"objectWriteTraceId": []any{"2"}},
	}}, a.errs())

	a = b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "blocked@example.com")))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "blocked by the test", a.body["message"])
	require.Equal(t, "VALIDATION_ERROR", a.body["category"])

	// Reject sees the whole record after the write: an update of another
	// property of a blocked record is refused too.
	b.sim.SetReject(nil)
	ids := b.seed("contacts", props("email", "blocked@example.com"))
	b.sim.SetReject(reject)
	a = b.post("/crm/v3/objects/contacts/batch/upsert", inputs(
		with(with(with(props("firstname", "B"), "id", "blocked@example.com"), "idProperty", "email"), "objectWriteTraceId", "u1"),
	))
	require.Equal(t, http.StatusMultiStatus, a.status)
	require.Equal(t, map[string][]string{"ids": {"blocked@example.com"}, "objectWriteTraceId": {"u1"}}, contextOf(a.errs()[0]))
	rec, _ := b.sim.Find("contacts", "hs_object_id", ids[0])
	require.NotContains(t, rec.Properties, "firstname")
	require.Len(t, b.sim.Records("contacts"), 2)
}
