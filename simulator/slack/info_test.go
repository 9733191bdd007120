package slack

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuthTest(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{TeamID: "T0ACME001", Team: "Acme", TeamDomain: "acme", BotName: "sync-bot"})
	for _, r := range []req{
		{path: "/api/auth.test"},
		{path: "/api/auth.test", ctype: "application/x-www-form-urlencoded", body: "token=" + testToken, token: "-"},
		{method: http.MethodGet, path: "/auth.test"},
	} {
		a := b.do(r)
		require.Equal(t, http.StatusOK, a.status)
		require.JSONEq(t, `{"ok":true,"url":"https://acme.slack.com/","team":"Acme","user":"sync-bot",
			"team_id":"T0ACME001","user_id":"U0SIMBOT1","bot_id":"B0SIMBOT1","is_enterprise_install":false}`, a.raw)
	}
	failed(t, b.do(req{path: "/api/auth.test", token: "-"}), "not_authed")
	failed(t, b.do(req{path: "/api/auth.test", token: "nope"}), "invalid_auth")
	require.Empty(t, b.sim.Failures(), "only posts are failures")
}

func TestConversationsInfo(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	info := func(channel string) answer {
		t.Helper()
		return b.form("conversations.info", "channel", channel)
	}
	a := info("C0000ALERT")
	require.Equal(t, true, a.body["ok"], a.raw)
	created := t0.Unix()
	require.JSONEq(t, `{"ok":true,"channel":{"id":"C0000ALERT","name":"alerts","is_channel":true,"is_group":false,
		"is_im":false,"is_mpim":false,"is_private":false,"created":`+itoa(created)+`,"is_archived":false,"is_general":false,
		"unlinked":0,"name_normalized":"alerts","is_shared":false,"is_org_shared":false,"is_pending_ext_shared":false,
		"pending_shared":[],"context_team_id":"T0SIM0001","updated":`+itoa(t0.UnixMilli())+`,"creator":"U0SIMUSR1",
		"is_ext_shared":false,"shared_team_ids":["T0SIM0001"],"is_member":true,
		"topic":{"value":"","creator":"","last_set":0},"purpose":{"value":"","creator":"","last_set":0},"previous_names":[]}}`, a.raw)

	tests := []struct {
		channel  string
		member   bool
		archived bool
		private  bool
		err      string
	}{
		{channel: "C0000RANDM"},
		{channel: "C0000OLDIE", member: true, archived: true},
		{channel: "G0000PRIVT", member: true, private: true},
		{channel: "G0000SECRT", err: "channel_not_found"},
		{channel: "C0000NONE1", err: "channel_not_found"},
		{channel: "#alerts", err: "channel_not_found"},
		{channel: "alerts", err: "channel_not_found"},
		{channel: "", err: "channel_not_found"},
	}
	for _, tt := range tests {
		a := info(tt.channel)
		if tt.err != "" {
			failed(t, a, tt.err)
			continue
		}
		ch := a.body["channel"].(map[string]any)
		require.Equal(t, tt.member, ch["is_member"], tt.channel)
		require.Equal(t, tt.archived, ch["is_archived"], tt.channel)
		require.Equal(t, tt.private, ch["is_private"], tt.channel)
		require.Nil(t, ch["num_members"])
	}

	a = b.call("conversations.info", map[string]any{"channel": "C0000ALERT", "include_num_members": true})
	require.Equal(t, float64(2), a.body["channel"].(map[string]any)["num_members"])
	failed(t, b.do(req{path: "/api/conversations.info?channel=C0000ALERT", token: "-"}), "not_authed")
}

// conversations.info is a Tier 3 method: 50 calls a minute by default.
func TestConversationsInfoLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for range 50 {
		require.Equal(t, http.StatusOK, b.do(req{method: http.MethodGet, path: "/api/conversations.info?channel=C0000ALERT"}).status)
	}
	a := b.do(req{method: http.MethodGet, path: "/api/conversations.info?channel=C0000ALERT"})
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "60", a.header.Get("Retry-After"))
	require.Equal(t, map[string]any{"ok": false, "error": "ratelimited"}, a.body)
	b.clock.Advance(time.Minute)
	require.Equal(t, true, b.do(req{method: http.MethodGet, path: "/api/conversations.info?channel=C0000ALERT"}).body["ok"])
	require.Equal(t, true, b.post("C0000ALERT", "posting has its own limit").body["ok"])
}

// With AnyChannel, conversations.info knows any channel ID.
func TestConversationsInfoAnyChannel(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{AnyChannel: true})
	a := b.form("conversations.info", "channel", "C0SOMEWHR1")
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Equal(t, true, a.body["channel"].(map[string]any)["is_member"])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
