package slack

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFinalState checks the workspace after a run of posts, as a destination's
// tests would: which messages each channel received, in order, with threads.
func TestFinalState(t *testing.T) {
	t.Parallel()
	b := setup(t, hookOptions())
	parent := b.post("#alerts", "Sync started").body["ts"].(string)
	b.clock.Advance(time.Second)
	a := b.call("chat.postMessage", map[string]any{"channel": "C0000ALERT", "text": "1,204 rows", "thread_ts": parent, "reply_broadcast": true})
	require.Equal(t, "U0SIMBOT1", a.body["message"].(map[string]any)["parent_user_id"])
	failed(t, b.post("#random", "not a member"), "not_in_channel")
	require.Equal(t, "ok", b.hook(hookAlerts, `{"text":"from the webhook"}`).raw)
	require.Equal(t, true, b.post("#sales", "Deal won").body["ok"])
	b.clock.Advance(time.Second)
	require.Equal(t, true, b.post("#alerts", "Sync finished").body["ok"])

	alerts := b.sim.Messages("#alerts")
	require.Equal(t, []string{"Sync started", "1,204 rows", "from the webhook", "Sync finished"}, texts(alerts))
	require.Equal(t, []string{ViaAPI, ViaAPI, ViaWebhook, ViaAPI}, []string{alerts[0].Via, alerts[1].Via, alerts[2].Via, alerts[3].Via})
	require.Equal(t, parent, alerts[1].ThreadTS)
	require.True(t, alerts[1].ReplyBroadcast)
	require.Equal(t, []string{"Deal won"}, texts(b.sim.Messages("C0000SALES")))
	require.Empty(t, b.sim.Messages("random"))
	require.Equal(t, []string{"Sync started", "1,204 rows", "from the webhook", "Deal won", "Sync finished"}, texts(b.sim.AllMessages()))
	all := b.sim.AllMessages()
	for i := 1; i < len(all); i++ {
		require.Greater(t, all[i].TS, all[i-1].TS, "ts increase in arrival order")
	}
	require.Equal(t, []Failure{{Time: t0.Add(time.Second), Via: ViaAPI, Channel: "#random", Status: 200, Error: "not_in_channel"}}, b.sim.Failures())

	b.sim.Reset()
	require.Empty(t, b.sim.AllMessages())
	require.Empty(t, b.sim.Failures())
	require.Empty(t, b.sim.Log().Requests())
	require.Zero(t, b.sim.Counters().Requests.Load())
	require.Equal(t, true, b.post("#alerts", "after reset").body["ok"], "the rate limits were reset too")
}

// Concurrent senders: every message is kept, each channel's in the order its
// sender sent them, and ts are unique.
func TestConcurrentOrder(t *testing.T) {
	t.Parallel()
	channels := map[string]Channel{}
	for i := range 8 {
		channels[fmt.Sprintf("C00000000%d", i)] = Channel{Name: fmt.Sprintf("ch-%d", i), Member: true}
	}
	b := setup(t, Options{Channels: channels, PerChannelPerSecond: -1, WorkspacePerMinute: -1, KeepBodies: true})
	var wg sync.WaitGroup
	for id := range channels {
		wg.Go(func() {
			for n := range 50 {
				body := fmt.Sprintf(`{"channel":%q,"text":"%s-%d"}`, id, id, n)
				a := b.do(req{path: "/api/chat.postMessage", body: body})
				if a.body["ok"] != true {
					t.Errorf("%s: %s", body, a.raw)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for id := range channels {
		var want []string
		for n := range 50 {
			want = append(want, fmt.Sprintf("%s-%d", id, n))
		}
		got := b.sim.Messages(id)
		require.Equal(t, want, texts(got))
		for _, m := range got {
			require.False(t, seen[m.TS], "duplicate ts %s", m.TS)
			seen[m.TS] = true
		}
	}
	require.Len(t, b.sim.AllMessages(), 400)
	reqs := b.sim.Log().Requests()
	require.Len(t, reqs, 400)
	require.True(t, strings.HasPrefix(string(reqs[0].Body), `{"channel":`))
}

// SetChannel archives a channel or removes the bot mid-run.
func TestSetChannel(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerChannelPerSecond: -1})
	require.Equal(t, true, b.post("#alerts", "before").body["ok"])
	require.NoError(t, b.sim.SetChannel("C0000ALERT", Channel{Name: "alerts", Member: true, Archived: true}))
	failed(t, b.post("#alerts", "archived"), "is_archived")
	require.NoError(t, b.sim.SetChannel("C0000ALERT", Channel{Name: "alerts-renamed"}))
	failed(t, b.post("#alerts", "renamed"), "channel_not_found")
	failed(t, b.post("#alerts-renamed", "kicked"), "not_in_channel")
	require.NoError(t, b.sim.SetChannel("C0NEWCHAN1", Channel{Name: "new", Member: true}))
	require.Equal(t, true, b.post("#new", "new").body["ok"])
	require.Error(t, b.sim.SetChannel("C0NEWCHAN2", Channel{Name: "new"}), "names are unique")
	require.Error(t, b.sim.SetChannel("bad", Channel{Name: "x"}))
	id, ok := b.sim.ChannelID("#new")
	require.True(t, ok)
	require.Equal(t, "C0NEWCHAN1", id)
}

// The default workspace has #general; the handler also works without a server.
func TestDefaults(t *testing.T) {
	t.Parallel()
	sim := New(Options{})
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/api/chat.postMessage", strings.NewReader(`{"channel":"#general","text":"hello"}`))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Authorization", "Bearer xoxb-any")
	sim.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"channel":"C0123ABCD"`)
	require.Equal(t, []string{"hello"}, texts(sim.Messages("general")))
}
