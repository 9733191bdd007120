package slack

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/stretchr/testify/require"
)

func TestServerErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, hookOptions())
	b.sim.SetFaults(simkit.Faults{Fail5xx: 3})
	seen := map[int]bool{}
	for range 3 {
		a := b.post("C0000ALERT", "x")
		require.GreaterOrEqual(t, a.status, 500)
		require.True(t, strings.HasPrefix(a.header.Get("Content-Type"), "text/html"))
		seen[a.status] = true
	}
	require.Equal(t, map[int]bool{500: true, 502: true, 503: true}, seen)
	require.Empty(t, b.sim.AllMessages(), "nothing of a 5xx is applied")
	require.Equal(t, int64(3), b.sim.Counters().ServerErrors.Load())
	require.Len(t, b.sim.Failures(), 3)
	require.Equal(t, "", b.sim.Failures()[0].Error)

	// A webhook's 500 is Slack's rollup_error.
	b.sim.SetFaults(simkit.Faults{Fail5xx: 3})
	for range 3 {
		if a := b.hook(hookAlerts, `{"text":"x"}`); a.status == 500 {
			require.Equal(t, "rollup_error", a.raw)
		}
	}
	require.Equal(t, true, b.post("C0000ALERT", "x").body["ok"])
}

func TestForced429(t *testing.T) {
	t.Parallel()
	b := setup(t, hookOptions())
	b.sim.SetFaults(simkit.Faults{Force429: 2})
	a := b.post("C0000ALERT", "x")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	require.Equal(t, map[string]any{"ok": false, "error": "ratelimited"}, a.body)
	a = b.hook(hookAlerts, `{"text":"x"}`)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	require.Equal(t, 0, b.sim.Faults().Force429)
	require.Empty(t, b.sim.AllMessages())

	// A forced 429 uses no budget: both messages of the burst still go through.
	require.Equal(t, true, b.post("C0000ALERT", "1").body["ok"])
	require.Equal(t, "ok", b.hook(hookAlerts, `{"text":"2"}`).raw)
	require.Equal(t, int64(2), b.sim.Counters().Throttled.Load())
	require.Equal(t, []Failure{
		{Time: t0, Via: ViaAPI, Status: 429, Error: "ratelimited"},
		{Time: t0, Via: ViaWebhook, Status: 429, Error: "rate_limited"},
	}, b.sim.Failures())
}

func TestLatencyAndSlowResponses(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerChannelPerSecond: -1})
	b.sim.SetFaults(simkit.Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	b.do(req{path: "/api/auth.test"})
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	b.sim.SetFaults(simkit.Faults{SlowEvery: 2, SlowDelay: 40 * time.Millisecond})
	var slow int
	for range 4 {
		start := time.Now()
		require.Equal(t, true, b.post("C0000ALERT", "x").body["ok"])
		if time.Since(start) >= 40*time.Millisecond {
			slow++
		}
	}
	require.Equal(t, 2, slow)
	require.Len(t, b.sim.Messages("C0000ALERT"), 4, "a slow answer is applied")
}

// SetReject changes the Reject hook while the simulator runs.
func TestSetReject(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerChannelPerSecond: -1})
	var seen []Message
	b.sim.SetReject(func(m Message) string {
		seen = append(seen, m)
		if m.Channel == "C0000SALES" {
			return "restricted_action_read_only_channel"
		}
		return ""
	})
	require.Equal(t, true, b.post("#alerts", "a").body["ok"])
	failed(t, b.post("#sales", "b"), "restricted_action_read_only_channel")
	require.Len(t, seen, 2)
	require.Equal(t, "", seen[0].TS, "Reject runs before the message gets its ts")
	b.sim.SetReject(nil)
	require.Equal(t, true, b.post("#sales", "b").body["ok"])
	require.Equal(t, []string{"a", "b"}, texts(b.sim.AllMessages()))
}
