package slack

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With no burst, a second message to a channel in the same second is refused
// with 429 and Retry-After; another channel is not affected.
func TestPerChannelLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Burst: 1})
	require.Equal(t, true, b.post("C0000ALERT", "one").body["ok"])

	b.clock.Advance(400 * time.Millisecond)
	a := b.post("C0000ALERT", "two")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	require.Equal(t, map[string]any{"ok": false, "error": "ratelimited"}, a.body)
	require.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"))

	require.Equal(t, true, b.post("C0000SALES", "elsewhere").body["ok"], "channels are limited apart")

	// The client waits Retry-After and succeeds.
	b.clock.Advance(time.Second)
	require.Equal(t, true, b.post("C0000ALERT", "two").body["ok"])

	require.Equal(t, []string{"one", "two"}, texts(b.sim.Messages("C0000ALERT")))
	require.Equal(t, []Failure{{Time: t0.Add(400 * time.Millisecond), Via: ViaAPI, Channel: "C0000ALERT", Status: 429, Error: "ratelimited"}}, b.sim.Failures())
	require.Equal(t, int64(1), b.sim.Counters().Throttled.Load())
}

// A message Slack refuses is checked before the rate limit and takes none of
// the channel's budget: repeated content errors keep answering the error, and
// a good message after them goes through.
func TestRefusedMessagesTakeNoRateBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Burst: 1, Webhooks: map[string]string{hookAlerts: "C0000ALERT"}})
	for range 3 {
		failed(t, b.post("C0000ALERT", ""), "no_text")
		a := b.hook(hookAlerts, `{"text":""}`)
		require.Equal(t, http.StatusBadRequest, a.status, a.raw)
		require.Equal(t, "no_text", a.raw)
	}
	require.Equal(t, true, b.post("C0000ALERT", "one").body["ok"])
	require.Equal(t, http.StatusTooManyRequests, b.post("C0000ALERT", "two").status)

	// A message Reject refuses gives its channel budget back.
	b = setup(t, Options{Burst: 1, Reject: func(m Message) string {
		if m.Text == "bad" {
			return "restricted_action"
		}
		return ""
	}})
	failed(t, b.post("C0000ALERT", "bad"), "restricted_action")
	require.Equal(t, true, b.post("C0000ALERT", "good").body["ok"])
	require.Equal(t, http.StatusTooManyRequests, b.post("C0000ALERT", "again").status)
}

// The default burst lets two messages through back to back, then one a second.
func TestDefaultBurst(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	require.Equal(t, true, b.post("#alerts", "1").body["ok"])
	require.Equal(t, true, b.post("#alerts", "2").body["ok"])
	a := b.post("#alerts", "3")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	b.clock.Advance(999 * time.Millisecond)
	require.Equal(t, http.StatusTooManyRequests, b.post("#alerts", "3").status, "not a full second yet")
	b.clock.Advance(time.Millisecond)
	require.Equal(t, true, b.post("#alerts", "3").body["ok"])
	require.Equal(t, http.StatusTooManyRequests, b.post("#alerts", "4").status)
}

// Retry-After is the whole seconds until the channel takes another message.
func TestRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate    float64
		burst   int
		advance time.Duration
		want    string
	}{
		{1, 1, 0, "1"},
		{1, 1, 999 * time.Millisecond, "1"},
		{0.2, 1, 0, "5"},
		{0.2, 1, 1500 * time.Millisecond, "4"},
		{0.5, 3, 0, "2"},
		{10, 1, 0, "1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt), func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{PerChannelPerSecond: tt.rate, Burst: tt.burst})
			for i := range tt.burst {
				require.Equal(t, true, b.post("C0000ALERT", strconv.Itoa(i)).body["ok"])
			}
			b.clock.Advance(tt.advance)
			a := b.post("C0000ALERT", "over")
			require.Equal(t, http.StatusTooManyRequests, a.status)
			require.Equal(t, tt.want, a.header.Get("Retry-After"))
			secs, err := strconv.Atoi(tt.want)
			require.NoError(t, err)
			b.clock.Advance(time.Duration(secs) * time.Second)
			require.Equal(t, true, b.post("C0000ALERT", "over").body["ok"], "waiting Retry-After is enough")
		})
	}
}

// A client that paces each channel at one message a second never sees a 429:
// with the default burst even when each request arrives up to half a second
// early or late, and with no burst when they arrive on time.
func TestPacedClientIsNeverThrottled(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		burst  int
		jitter time.Duration
	}{
		{"default burst, jitter", 0, 500 * time.Millisecond},
		{"no burst, on time", 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{Burst: tt.burst, WorkspacePerMinute: -1})
			channels := []string{"C0000ALERT", "C0000SALES", "G0000PRIVT"}
			type send struct {
				at      time.Duration
				channel string
				n       int
			}
			// Message n of a channel is due at n seconds, give or take the jitter.
			var sends []send
			for _, ch := range channels {
				for n := range 120 {
					at := time.Duration(n) * time.Second
					if tt.jitter > 0 && n > 0 {
						at += time.Duration(rand.Int64N(int64(2*tt.jitter))) - tt.jitter
					}
					sends = append(sends, send{at, ch, n})
				}
			}
			slices.SortStableFunc(sends, func(x, y send) int { return cmp.Compare(x.at, y.at) })
			elapsed := time.Duration(0)
			sent := map[string][]string{}
			for _, s := range sends {
				b.clock.Advance(s.at - elapsed)
				elapsed = s.at
				text := fmt.Sprintf("%s #%d", s.channel, s.n)
				a := b.post(s.channel, text)
				require.Equal(t, http.StatusOK, a.status, "%s at %s: %s", text, s.at, a.raw)
				sent[s.channel] = append(sent[s.channel], text)
			}
			for _, ch := range channels {
				require.Equal(t, sent[ch], texts(b.sim.Messages(ch)), "every message, in order")
			}
			require.Zero(t, b.sim.Counters().Throttled.Load())
		})
	}
}

// The workspace-wide limit counts chat.postMessage calls across channels in a
// rolling minute; webhooks are not counted in it.
func TestWorkspaceLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{WorkspacePerMinute: 3, Webhooks: map[string]string{"/services/T0SIM0001/B0000HOOK/abc": "C0000SALES"}})
	require.Equal(t, true, b.post("C0000ALERT", "1").body["ok"])
	b.clock.Advance(20 * time.Second)
	require.Equal(t, true, b.post("C0000SALES", "2").body["ok"])
	require.Equal(t, true, b.post("G0000PRIVT", "3").body["ok"])
	a := b.post("C0000ALERT", "4")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "40", a.header.Get("Retry-After"), "the first call leaves the minute in 40 s")
	require.Equal(t, "ok", b.hook("/services/T0SIM0001/B0000HOOK/abc", `{"text":"hook"}`).raw)

	b.clock.Advance(40 * time.Second)
	require.Equal(t, true, b.post("C0000ALERT", "4").body["ok"])
}

func TestLimitsDisabled(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerChannelPerSecond: -1, WorkspacePerMinute: -1})
	for i := range 1000 {
		require.Equal(t, http.StatusOK, b.post("C0000ALERT", strconv.Itoa(i)).status)
	}
	require.Len(t, b.sim.Messages("C0000ALERT"), 1000)
}

// The per-channel limit is shared by the Web API and the channel's webhooks.
func TestWebhookSharesChannelLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Burst: 1, Webhooks: map[string]string{"T0SIM0001/B0000HOOK/abc": "C0000ALERT"}})
	require.Equal(t, true, b.post("C0000ALERT", "api").body["ok"])
	a := b.hook("/services/T0SIM0001/B0000HOOK/abc", `{"text":"hook"}`)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	require.Equal(t, "rate_limited", a.raw)
	b.clock.Advance(time.Second)
	require.Equal(t, "ok", b.hook("/services/T0SIM0001/B0000HOOK/abc", `{"text":"hook"}`).raw)
}
