package slack_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
	sim "github.com/sluicehq/sluice/simulator/slack"
)

// outcome is how the engine will treat a Write's error.
type outcome int

const (
	rowFails   outcome = iota // a BatchError naming the row: it fails alone
	setupFails                // a permanent error of the whole batch: counts toward stopping the run
	retried                   // transient: retried with backoff
	throttled                 // rate limited: retried after Retry-After
)

func classify(t *testing.T, err error) outcome {
	t.Helper()
	require.Error(t, err)
	var be *connector.BatchError
	switch {
	case errors.As(err, &be):
		require.Len(t, be.Rows, 1)
		require.True(t, connector.IsPermanent(be.Rows[0].Err))
		return rowFails
	case connector.RateLimited(err):
		return throttled
	case connector.IsPermanent(err):
		return setupFails
	}
	return retried
}

// Every error chat.postMessage answers (HTTP 200 with ok: false, or a 429) is
// mapped: the setup's errors stop the run with what to do, a message's own fail
// its row, Slack's trouble and rate limiting are retried.
func TestWebAPIErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opts    func(*sim.Options)
		channel string
		token   string
		reject  string
		faults  simkit.Faults
		text    string // the row's name, when it matters
		want    outcome
		msg     string
	}{
		{name: "channel_not_found", channel: "C0NOTHERE", want: setupFails,
			msg: "slack: post to channel C0NOTHERE: Slack answered channel_not_found: check channel: it must be the ID of a channel in the token's workspace"},
		{name: "private channel without the bot", channel: secret, want: setupFails, msg: "channel_not_found: check channel"},
		{name: "not_in_channel", channel: outside, want: setupFails, msg: "Slack answered not_in_channel: invite the app's bot to the channel (/invite @your-app in the channel), or give the app the chat:write.public scope"},
		{name: "is_archived", channel: archived, want: setupFails, msg: "Slack answered is_archived: the channel is archived: unarchive it, or set channel to another"},
		{name: "invalid_auth", token: "xoxb-not-the-token", want: setupFails, msg: "Slack answered invalid_auth: check bot_token: it must be the Bot User OAuth Token (xoxb-…)"},
		{name: "not_authed", token: "xoxb-inactive", opts: func(o *sim.Options) { o.InactiveTokens = []string{"xoxb-inactive"} }, want: setupFails,
			msg: "Slack answered account_inactive: the token no longer works"},
		{name: "token_revoked", token: "xoxb-revoked", opts: func(o *sim.Options) { o.RevokedTokens = []string{"xoxb-revoked"} }, want: setupFails,
			msg: "Slack answered token_revoked: the token no longer works (the app was uninstalled, the token rotated or revoked, or its workspace or user deactivated): reinstall the app"},
		{name: "missing_scope", reject: "missing_scope", want: setupFails, msg: "Slack answered missing_scope: add the chat:write scope"},
		{name: "restricted_action", reject: "restricted_action", want: setupFails, msg: "a workspace admin restricts who may post there"},
		{name: "an error Slack adds later", reject: "brand_new_error", want: setupFails, msg: "Slack answered brand_new_error: see https://docs.slack.dev/reference/methods/chat.postMessage#errors"},
		{name: "msg_too_long", opts: func(o *sim.Options) { o.MaxTextChars, o.RefuseLongText = 20, true }, text: strings.Repeat("long ", 10), want: rowFails,
			msg: "Slack refused the message: msg_too_long: the message is longer than Slack takes (40,000 characters): shorten the message"},
		{name: "no_text", reject: "no_text", want: rowFails, msg: "Slack refused the message: no_text: the message is empty"},
		{name: "invalid_blocks", reject: "invalid_blocks", want: rowFails, msg: "Slack refused the message: invalid_blocks"},
		{name: "internal_error", reject: "internal_error", want: retried, msg: "Slack answered internal_error: Slack's trouble: retried"},
		{name: "fatal_error", reject: "fatal_error", want: retried, msg: "may have been posted"},
		{name: "ratelimited in a 200", reject: "ratelimited", want: throttled, msg: "HTTP 200: ratelimited"},
		{name: "429", faults: simkit.Faults{Force429: 1}, want: throttled, msg: "HTTP 429: ratelimited"},
		{name: "5xx", faults: simkit.Faults{Fail5xx: 1}, want: retried, msg: "HTTP 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := unpaced()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			tb := setup(t, opts)
			channel := tc.channel
			if channel == "" {
				channel = alerts
			}
			cfg := tb.botConfig(fast)
			if tc.token != "" {
				cfg.BotToken = tc.token
			}
			sc := syncConfig(channel)
			d := tb.open(t, cfg, connector.ModeInsert, sc)
			if tc.reject != "" {
				tb.sim.SetReject(func(sim.Message) string { return tc.reject })
			}
			tb.sim.SetFaults(tc.faults)
			name := tc.text
			if name == "" {
				name = "Acme"
			}
			err, exchanges := write(d, account(record.OpAdd, sc, "1", name, 3, "ada@acme.test", nil))
			require.Equal(t, tc.want, classify(t, err), "%v", err)
			require.Contains(t, err.Error(), tc.msg)
			require.NotContains(t, err.Error(), cfg.BotToken)
			require.Len(t, exchanges, 1, "every request is traced")
			require.Equal(t, tc.want == throttled, exchanges[0].Throttled)
			if tc.want == throttled {
				d, ok := connector.RetryDelay(err)
				require.True(t, ok)
				if tc.faults.Force429 > 0 {
					require.Equal(t, time.Second, d, "Slack's Retry-After")
				} else {
					require.Positive(t, d, "without Retry-After, the budget's backoff")
				}
			}
			require.Empty(t, tb.sim.Messages(channel))
		})
	}
}

// Every error an incoming webhook answers (plain text, by HTTP status) is mapped
// the same way.
func TestWebhookErrors(t *testing.T) {
	t.Parallel()
	const gone, old = "/services/T0SIM0001/B0GONE001/x1", "/services/T0SIM0001/B0OLD0001/x2"
	hooks := map[string]string{webhookPath: alerts, gone: "C0DELETED", old: archived}
	cases := []struct {
		name   string
		path   string
		opts   func(*sim.Options)
		reject string
		faults simkit.Faults
		text   string
		want   outcome
		msg    string
	}{
		{name: "no_service", path: "/services/T0SIM0001/B0NOPE001/x3", want: setupFails,
			msg: "slack: post through the incoming webhook: HTTP 404 no_service: the incoming webhook is disabled or was removed"},
		{name: "channel_not_found", path: gone, want: setupFails, msg: "HTTP 404 channel_not_found: the webhook's channel was deleted"},
		{name: "channel_is_archived", path: old, want: setupFails, msg: "HTTP 410 channel_is_archived: the webhook's channel is archived"},
		{name: "action_prohibited", reject: "action_prohibited", want: setupFails, msg: "HTTP 403 action_prohibited: a workspace admin restricts who may post there"},
		{name: "posting_to_general_channel_denied", reject: "posting_to_general_channel_denied", want: setupFails, msg: "HTTP 403 posting_to_general_channel_denied"},
		{name: "invalid_token", reject: "invalid_token", want: setupFails, msg: "HTTP 403 invalid_token"},
		{name: "an error Slack adds later", reject: "brand_new_error", want: setupFails, msg: "HTTP 400: brand_new_error"},
		{name: "invalid_payload", reject: "invalid_payload", want: rowFails, msg: "Slack refused the message: HTTP 400 invalid_payload"},
		{name: "no_text", reject: "no_text", want: rowFails, msg: "Slack refused the message: HTTP 400 no_text: the message is empty"},
		{name: "user_not_found", reject: "user_not_found", want: rowFails, msg: "HTTP 400 user_not_found"},
		{name: "msg_too_long", opts: func(o *sim.Options) { o.MaxTextChars, o.RefuseLongText = 20, true }, text: strings.Repeat("long ", 10), want: rowFails,
			msg: "Slack refused the message: HTTP 400 msg_too_long"},
		{name: "rollup_error", faults: simkit.Faults{Fail5xx: 3}, want: retried, msg: "HTTP"},
		{name: "429", faults: simkit.Faults{Force429: 1}, want: throttled, msg: "HTTP 429"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := unpaced()
			opts.Webhooks = hooks
			if tc.opts != nil {
				tc.opts(&opts)
			}
			tb := setup(t, opts)
			path := tc.path
			if path == "" {
				path = webhookPath
			}
			cfg := tb.hookConfig(fast, func(c *slack.Config) { c.WebhookURL = tb.srv.URL + path })
			sc := &slack.SyncConfig{Template: accountTemplate}
			d := tb.open(t, cfg, connector.ModeInsert, sc)
			if tc.reject != "" {
				tb.sim.SetReject(func(sim.Message) string { return tc.reject })
			}
			tb.sim.SetFaults(tc.faults)
			name := tc.text
			if name == "" {
				name = "Acme"
			}
			err, exchanges := write(d, account(record.OpAdd, sc, "1", name, 3, "", nil))
			require.Equal(t, tc.want, classify(t, err), "%v", err)
			require.Contains(t, err.Error(), tc.msg)
			require.NotContains(t, err.Error(), "x1")
			require.Len(t, exchanges, 1)
			if tc.want == throttled {
				d, _ := connector.RetryDelay(err)
				require.Equal(t, time.Second, d)
			}
			require.Empty(t, tb.sim.AllMessages())
		})
	}
}

// An incoming webhook answers "ok" when it posted: any other 200 (a proxy's or
// sign-in page, a webhook_url that is not Slack's) posted nothing, and the row
// is not recorded as delivered.
func TestWebhook200WithoutOKIsNotDelivery(t *testing.T) {
	t.Parallel()
	srv := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Sign in to continue</body></html>"))
	}))
	t.Cleanup(srv.Close)
	tb := setup(t, unpaced())
	cfg := tb.hookConfig(fast, func(c *slack.Config) { c.WebhookURL = srv.URL + webhookPath })
	sc := &slack.SyncConfig{Template: accountTemplate}
	d := tb.open(t, cfg, connector.ModeInsert, sc)
	err, _ := write(d, account(record.OpAdd, sc, "1", "Acme", 1, "", nil))
	require.Error(t, err)
	require.Contains(t, err.Error(), "HTTP 200 without Slack's answer (ok), so no message was posted")
	require.Contains(t, err.Error(), "Sign in to continue")
	require.NotContains(t, err.Error(), webhookPath)
}

// A batch of several messages stops at the first that fails for the setup: the
// messages before it stay posted and succeed, it and the rest fail unsent (the
// engine retries them, without posting the first ones twice). A message's own
// refusal fails only its row.
func TestLongerBatchesStopAtTheSetupsError(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := syncConfig(alerts)
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	tb.sim.SetReject(func(m sim.Message) string {
		switch {
		case strings.HasPrefix(m.Text, "Globex"):
			return "msg_too_long"
		case strings.HasPrefix(m.Text, "Hooli"):
			return "is_archived"
		}
		return ""
	})
	err, exchanges := write(d,
		account(record.OpAdd, sc, "1", "Acme", 1, "", nil),
		account(record.OpAdd, sc, "2", "Globex", 2, "", nil),
		account(record.OpAdd, sc, "3", "Initech", 3, "", nil),
		account(record.OpAdd, sc, "4", "Hooli", 4, "", nil),
		account(record.OpAdd, sc, "5", "Umbrella", 5, "", nil),
	)
	fails := conformance.FailedRows(t, err)
	require.Len(t, fails, 3)
	require.Contains(t, fails[1], "msg_too_long")
	require.Contains(t, fails[3], "is_archived")
	require.Contains(t, fails[4], "is_archived", "not sent after the channel refused")
	require.Len(t, exchanges, 4)
	require.Equal(t, []string{"Acme has 1 unused seats (owner )", "Initech has 3 unused seats (owner )"}, tb.texts(alerts))

	// A throttled first message fails the batch whole, to be retried.
	tb.sim.SetReject(nil)
	tb.sim.SetFaults(simkit.Faults{Force429: 1})
	err, _ = write(d, account(record.OpAdd, sc, "6", "Massive", 6, "", nil), account(record.OpAdd, sc, "7", "Dynamic", 7, "", nil))
	require.True(t, connector.RateLimited(err))
	require.Len(t, tb.texts(alerts), 2)
}

// The app is uninstalled while a run posts: the next message fails with what
// to do, and the engine stops the run after a few.
func TestRevokedTokenMidRun(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := syncConfig(alerts)
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, _ := write(d, account(record.OpAdd, sc, "1", "Acme", 1, "", nil))
	require.NoError(t, err)
	tb.sim.RevokeToken(testToken)
	err, _ = write(d, account(record.OpAdd, sc, "2", "Globex", 1, "", nil))
	require.Equal(t, setupFails, classify(t, err))
	require.ErrorContains(t, err, "token_revoked: the token no longer works")
}
