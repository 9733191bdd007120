package slack_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
	sim "github.com/sluicehq/sluice/simulator/slack"
)

// The check calls auth.test and conversations.info, and posts nothing.
func TestCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		channel string
		token   string
		faults  simkit.Faults
		want    string // "" when the check passes
	}{
		{name: "ready", channel: alerts},
		{name: "a wrong token", channel: alerts, token: "xoxb-wrong",
			want: "slack: check bot_token (auth.test): Slack answered invalid_auth: check bot_token: it must be the Bot User OAuth Token (xoxb-…)"},
		{name: "no such channel", channel: "C0NOTHERE", want: "slack: check channel C0NOTHERE (conversations.info): Slack answered channel_not_found: check channel"},
		{name: "a private channel without the bot", channel: secret, want: "Slack answered channel_not_found: check channel: it must be the ID of a channel in the token's workspace (in Slack, the channel's details › About); a private channel is found only once the app is invited to it"},
		{name: "an archived channel", channel: archived, want: "slack: check channel C0ARCHIVE (#old-alerts): the channel is archived: unarchive it, or set channel to another"},
		{name: "a channel without the bot", channel: outside,
			want: "slack: check channel C0OUTSIDE (#outside): the app's bot (@sluice) is not a member of the channel: invite it (/invite @sluice in the channel), or give the app the chat:write.public scope"},
		{name: "throttled: the run goes on", channel: outside, faults: simkit.Faults{Force429: 2}},
		{name: "Slack's trouble: the run goes on", channel: alerts, faults: simkit.Faults{Fail5xx: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{})
			cfg := tb.botConfig()
			if tc.token != "" {
				cfg.BotToken = tc.token
			}
			d := tb.open(t, cfg, connector.ModeInsert, syncConfig(tc.channel))
			tb.sim.SetFaults(tc.faults)
			err := d.Check(context.Background())
			if tc.want == "" {
				require.NoError(t, err)
			} else {
				require.True(t, connector.IsPermanent(err), "%v", err)
				require.ErrorContains(t, err, tc.want)
			}
			var paths []string
			for _, r := range tb.sim.Log().Requests() {
				paths = append(paths, r.Method+" "+r.Path)
			}
			switch {
			case tc.token != "":
				require.Equal(t, []string{"POST /auth.test"}, paths, "a wrong token stops the check")
			case tc.faults.Force429 > 0 || tc.faults.Fail5xx > 0:
				require.Equal(t, []string{"POST /auth.test"}, paths, "no answer to learn from: the rest is left to the first message")
			default:
				require.Equal(t, []string{"POST /auth.test", "GET /conversations.info"}, paths)
			}
			require.Empty(t, tb.sim.AllMessages())
		})
	}
}

// A webhook cannot be checked without posting: the check sends nothing.
func TestCheckOfAWebhookSendsNothing(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, tb.hookConfig(), connector.ModeInsert, &slack.SyncConfig{Template: accountTemplate})
	require.NoError(t, d.Check(context.Background()))
	require.Empty(t, tb.sim.Log().Requests())
}

// The token's scopes, which Slack sends in X-OAuth-Scopes: a bot with
// chat:write.public may post to a public channel it is not in; a token without
// chat:write cannot post at all. A token without the scope conversations.info
// needs leaves the channel to the first message. (The simulator sends no
// X-OAuth-Scopes and models no scope but chat:write.public: the handler in
// front of it adds what Slack would say.)
func TestCheckReadsTheTokensScopes(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{WritePublic: true})
	var mu sync.Mutex
	var scopes string
	var infoError bool
	set := func(s string, info bool) {
		mu.Lock()
		scopes, infoError = s, info
		mu.Unlock()
	}
	front := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scopes, infoError := scopes, infoError
		mu.Unlock()
		if scopes != "" {
			w.Header().Set("X-OAuth-Scopes", scopes)
		}
		if infoError && r.URL.Path == "/conversations.info" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte(`{"ok":false,"error":"missing_scope","needed":"channels:read","provided":"chat:write"}`))
			return
		}
		tb.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	check := func(channel string) error {
		cfg := tb.botConfig(func(c *slack.Config) { c.BaseURL = front.URL })
		return tb.open(t, cfg, connector.ModeInsert, syncConfig(channel)).Check(context.Background())
	}

	set("chat:write,chat:write.public,channels:read", false)
	require.NoError(t, check(outside), "chat:write.public posts to public channels without joining")
	require.ErrorContains(t, check(secret), "channel_not_found")

	set("chat:write,channels:read", false)
	require.ErrorContains(t, check(outside), "is not a member of the channel")

	set("channels:read,users:read", false)
	require.ErrorContains(t, check(alerts), "slack: check bot_token: the app has no chat:write scope (it has channels:read, users:read): add it under OAuth & Permissions › Bot Token Scopes and reinstall the app")

	set("chat:write", true)
	require.NoError(t, check(outside), "without channels:read the channel is left to the first message")
}

// A Slack that cannot be reached fails the check, to be tried again.
func TestCheckWithoutSlack(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, tb.botConfig(), connector.ModeInsert, syncConfig(alerts))
	tb.srv.Close()
	err := d.Check(context.Background())
	require.ErrorContains(t, err, "slack: check the bot token and channel at "+tb.srv.URL)
	require.False(t, connector.IsPermanent(err))
}
