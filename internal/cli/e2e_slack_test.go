package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/simulator/simkit"
	slacksim "github.com/sluicehq/sluice/simulator/slack"
)

// These tests run at Slack's own pace, one message per second per channel, so
// they send a handful of messages each.

// slackProject is a project whose destinations are the Slack simulator's Web
// API (alerts) and one of its incoming webhooks (hook).
type slackProject struct {
	*project
	sim *slacksim.Server
	url string
}

const (
	slackToken       = "xoxb-e2e-0123-abcdef"
	slackChannel     = "C0123ABCD"
	slackWebhookPath = "/services/T0SIM0001/B0E2E0001/e2ehooksecret"
)

// newSlackProject writes sluice.yaml from tmpl, where {{URL}} is the
// simulator's address, and runs setup against the warehouse. The token is in
// SLACK_BOT_TOKEN, the webhook's URL in SLACK_WEBHOOK.
func newSlackProject(t *testing.T, tmpl, setup string, opts slacksim.Options) *slackProject {
	t.Helper()
	opts.Tokens = []string{slackToken}
	if opts.Channels == nil {
		opts.Channels = map[string]slacksim.Channel{
			slackChannel: {Name: "alerts", Member: true},
			"C0OUTSIDE":  {Name: "outside"},
		}
	}
	opts.Webhooks = map[string]string{slackWebhookPath: slackChannel}
	s := slacksim.New(opts)
	url := serve(t, s)
	t.Setenv("SLACK_BOT_TOKEN", slackToken)
	t.Setenv("SLACK_WEBHOOK", url+slackWebhookPath)
	p := projectAt(t, tmpl, setup, "{{URL}}", url)
	return &slackProject{project: p, sim: s, url: url}
}

func (p *slackProject) requests() int64 { return p.sim.Counters().Requests.Load() }

// texts are the texts of the channel's messages, in the order they arrived.
func (p *slackProject) texts() []string {
	var out []string
	for _, m := range p.sim.Messages(slackChannel) {
		out = append(out, m.Text)
	}
	return out
}

const slackYAML = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  at_risk_accounts: {source: warehouse, table: accounts, primary_key: id}
destinations:
  alerts:
    type: slack
    bot_token: ${env:SLACK_BOT_TOKEN}
    base_url: {{URL}}
  hook:
    type: slack
    webhook_url: ${env:SLACK_WEBHOOK}
syncs:
  at_risk_to_slack:
    model: at_risk_accounts
    destination: alerts
    channel: C0123ABCD
    mode: insert
    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"
  at_risk_to_hook:
    model: at_risk_accounts
    destination: hook
    mode: insert
    template: ":warning: {{ row.name | upcase }}{% if row.unused_seats > 10 %} (many seats){% endif %}"
`

// accountsSetup creates n accounts, keyed 1…n.
func accountsSetup(n int) string {
	return `create table accounts as
select i as id, 'Account ' || i as name, i * 5 as unused_seats, 'owner' || i || '@example.com' as owner_email
from range(1, ` + itoa(n+1) + `) t(i) order by i;`
}

func accountText(i int) string {
	return "Account " + itoa(i) + " has " + itoa(i*5) + " unused seats (owner owner" + itoa(i) + "@example.com)"
}

// Each new row is one message, once: a run posts the rows added since the last,
// at one per second, and reports the wait and its efficiency.
func TestSlackMessagesArriveOncePerNewRow(t *testing.T) {
	p := newSlackProject(t, slackYAML, accountsSetup(3), slacksim.Options{})
	run, code := p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 3, num64(run, "succeeded"))
	require.ElementsMatch(t, []string{accountText(1), accountText(2), accountText(3)}, p.texts())
	require.Positive(t, num64(run, "rate_limit_wait_ms"), "three messages to one channel wait for each other")
	require.Equal(t, 0, num64(run, "rate_limited"))
	require.Zero(t, p.sim.Counters().Throttled.Load())
	eff, ok := run["efficiency"].(float64)
	require.True(t, ok, "efficiency is a number: %v", run["efficiency"])
	require.Greater(t, eff, 0.8)

	// New rows are posted; a changed row is not (insert mode).
	p.sql(`insert into accounts values (4, 'Account 4', 20, 'owner4@example.com'), (5, 'Account 5', 25, 'owner5@example.com');
	       update accounts set unused_seats = 99 where id = 1;`)
	run, code = p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 2, num64(run, "succeeded"))
	require.Len(t, p.texts(), 5)
	require.ElementsMatch(t, []string{accountText(4), accountText(5)}, p.texts()[3:])

	before := p.requests()
	run, code = p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 0, num64(run, "succeeded"))
	require.Equal(t, before+2, p.requests(), "only the check (auth.test, conversations.info): nothing new to post")
	require.Len(t, p.texts(), 5)
}

// An incoming webhook posts to its own channel, with no check before.
func TestSlackWebhookPostsEachRow(t *testing.T) {
	p := newSlackProject(t, slackYAML, accountsSetup(3), slacksim.Options{})
	run, code := p.syncJSON("at_risk_to_hook")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 3, num64(run, "succeeded"))
	require.Equal(t, int64(3), p.requests(), "one request per message, no check")
	require.ElementsMatch(t, []string{":warning: ACCOUNT 1", ":warning: ACCOUNT 2", ":warning: ACCOUNT 3 (many seats)"}, p.texts())
	for _, m := range p.sim.Messages(slackChannel) {
		require.Equal(t, slacksim.ViaWebhook, m.Via)
	}
	// The webhook's URL is a secret: the run log shows it redacted.
	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "1")
	require.NotContains(t, out, "e2ehooksecret")
	require.Contains(t, out, "POST [REDACTED]")
}

// A mirror sync posts a message per change, each type its own.
func TestSlackMirrorPostsAMessagePerChange(t *testing.T) {
	tmpl := strings.Replace(slackYAML, `    mode: insert
    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"`, `    mode: mirror
    templates:
      added: ":new: {{ row.name }} needs attention ({{ row.unused_seats }} unused seats)"
      changed: "{{ row.name }} now has {{ row.unused_seats }} unused seats"
      removed: ":white_check_mark: {{ row.name }} no longer needs attention (it had {{ row.unused_seats }} unused seats)"`, 1)
	p := newSlackProject(t, tmpl, accountsSetup(2), slacksim.Options{})
	run, code := p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	require.ElementsMatch(t, []string{":new: Account 1 needs attention (5 unused seats)", ":new: Account 2 needs attention (10 unused seats)"}, p.texts())

	p.sql(`update accounts set unused_seats = 7 where id = 1; delete from accounts where id = 2;`)
	run, code = p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, [3]int{0, 1, 1}, counts(run))
	require.ElementsMatch(t, []string{"Account 1 now has 7 unused seats",
		":white_check_mark: Account 2 no longer needs attention (it had 10 unused seats)"}, p.texts()[2:])
}

// A message Slack refuses fails its row with Slack's reason; the next run posts
// it again, and only it.
func TestSlackRefusedRowsAreRetriedOnTheNextRun(t *testing.T) {
	var blocked atomic.Bool
	blocked.Store(true)
	p := newSlackProject(t, slackYAML, accountsSetup(3), slacksim.Options{Reject: func(m slacksim.Message) string {
		if blocked.Load() && strings.HasPrefix(m.Text, "Account 2 ") {
			return "msg_too_long"
		}
		return ""
	}})
	run, code := p.syncJSON("at_risk_to_slack")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, 2, num64(run, "succeeded"))
	require.Equal(t, 1, num64(run, "failed"))
	require.ElementsMatch(t, []string{accountText(1), accountText(3)}, p.texts())

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "2")
	require.Contains(t, out, "row 2: added failed: Slack refused the message: msg_too_long: the message is longer than Slack takes (40,000 characters)")
	require.Contains(t, out, "POST "+p.url+"/chat.postMessage")
	require.Contains(t, out, `"error": "msg_too_long"`)
	require.NotContains(t, out, slackToken)

	blocked.Store(false)
	run, code = p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, [3]int{1, 0, 0}, counts(run))
	require.Equal(t, []string{accountText(1), accountText(3), accountText(2)}, sortedFirst(p.texts(), 2))
}

// sortedFirst sorts the first n texts (a run's order among its rows is the
// engine's) and leaves the rest in arrival order.
func sortedFirst(texts []string, n int) []string {
	head := append([]string(nil), texts[:n]...)
	for i := range head {
		for j := i + 1; j < len(head); j++ {
			if head[j] < head[i] {
				head[i], head[j] = head[j], head[i]
			}
		}
	}
	return append(head, texts[n:]...)
}

// Slack's 429s are waited out (Retry-After) and the message sent again: none is
// lost, none is out of order, and the run reports the throttling.
func TestSlackThrottlingIsWaitedOut(t *testing.T) {
	// The same rows without 429s, for the order (each project points
	// SLACK_WEBHOOK at its own simulator).
	reference := newSlackProject(t, slackYAML, accountsSetup(4), slacksim.Options{})
	run, code := reference.syncJSON("at_risk_to_hook")
	require.Equal(t, 0, code, "%v", run)

	p := newSlackProject(t, slackYAML, accountsSetup(4), slacksim.Options{})
	p.sim.SetFaults(simkit.Faults{Force429: 2})
	start := time.Now()
	run, code = p.syncJSON("at_risk_to_hook")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 4, num64(run, "succeeded"))
	require.Equal(t, 2, num64(run, "rate_limited"))
	require.Equal(t, 2, num64(run, "retries"))
	require.GreaterOrEqual(t, num64(run, "rate_limit_wait_ms"), 2000, "two Retry-After: 1")
	require.Equal(t, reference.texts(), p.texts(), "the same messages in the same order as a run without 429s")
	require.GreaterOrEqual(t, time.Since(start), 4*time.Second)
}

// A sync killed with SIGKILL while it posts loses no message: the next run
// posts what was not acknowledged. At most the message in flight when it died
// is posted twice (Slack has no idempotency key).
func TestSlackKilledSyncLosesNothing(t *testing.T) {
	const n = 6
	p := newSlackProject(t, slackYAML, accountsSetup(n), slacksim.Options{})
	cmd := exec.Command(os.Args[0], "--config", filepath.Join(p.dir, "sluice.yaml"), "sync", "at_risk_to_slack", "--json")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for len(p.texts()) < 2 {
		require.True(t, time.Now().Before(deadline), "the sync did not get going")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	time.Sleep(100 * time.Millisecond)
	delivered := len(p.texts())
	require.Less(t, delivered, n, "the kill came before the end")

	run, code := p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	seen := map[string]int{}
	for _, text := range p.texts() {
		seen[text]++
	}
	twice := 0
	for i := 1; i <= n; i++ {
		require.Positive(t, seen[accountText(i)], "account %d's message is lost", i)
		if seen[accountText(i)] > 1 {
			twice++
		}
	}
	require.LessOrEqual(t, twice, 1, "only the message in flight may be posted again")
	require.Len(t, p.texts(), n+twice)

	run, _ = p.syncJSON("at_risk_to_slack")
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

// The check finds a channel the bot cannot post to before any message is sent.
func TestSlackCheckFindsTheChannel(t *testing.T) {
	for channel, want := range map[string]string{
		"C0NOTHERE": "Slack answered channel_not_found: check channel",
		"C0OUTSIDE": "the app's bot (@sluice) is not a member of the channel: invite it (/invite @sluice in the channel)",
	} {
		t.Run(channel, func(t *testing.T) {
			p := newSlackProject(t, strings.Replace(slackYAML, "channel: C0123ABCD", "channel: "+channel, 1), accountsSetup(3), slacksim.Options{})
			run, code := p.syncJSON("at_risk_to_slack")
			require.Equal(t, 1, code)
			require.Equal(t, "failed", run["status"])
			require.Contains(t, run["error"], want)
			require.Equal(t, int64(2), p.requests(), "auth.test and conversations.info")
			require.Empty(t, p.sim.AllMessages())
		})
	}
	// A wrong token stops at auth.test.
	p := newSlackProject(t, slackYAML, accountsSetup(3), slacksim.Options{})
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-not-the-token")
	run, code := p.syncJSON("at_risk_to_slack")
	require.Equal(t, 1, code)
	require.Contains(t, run["error"], "Slack answered invalid_auth: check bot_token")
	require.NotContains(t, run["error"], "xoxb-not-the-token")
	require.Equal(t, int64(1), p.requests())
}

// Configuration mistakes fail the sync with the key to fix, before any request
// reaches Slack.
func TestSlackBadConfigFailsBeforeSending(t *testing.T) {
	const tmplLine = `    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"`
	cases := map[string]struct {
		edit func(string) string
		sync string
		want string
	}{
		"both credentials": {
			edit: func(s string) string {
				return strings.Replace(s, "    base_url: {{URL}}\n", "    base_url: {{URL}}\n    webhook_url: ${env:SLACK_WEBHOOK}\n", 1)
			},
			want: "destinations.alerts.webhook_url: set bot_token or webhook_url, not both",
		},
		"neither credential": {
			edit: func(s string) string { return strings.Replace(s, "    bot_token: ${env:SLACK_BOT_TOKEN}\n", "", 1) },
			want: "destinations.alerts.bot_token: Slack needs a credential",
		},
		"a template that does not parse": {
			edit: func(s string) string {
				return strings.Replace(s, tmplLine, `    template: "{% if row.unused_seats > 10 %}{{ row.name }}"`, 1)
			},
			want: `sluice.yaml:20:5: syncs.at_risk_to_slack.template: invalid Liquid template: unterminated "if" block`,
		},
		"a misspelt filter": {
			edit: func(s string) string {
				return strings.Replace(s, tmplLine, `    template: "{{ row.name | upcsae }}"`, 1)
			},
			want: `syncs.at_risk_to_slack.template: invalid Liquid template: line 1: undefined filter "upcsae": see docs/configuration.md#templates`,
		},
		"a column the model lacks": {
			edit: func(s string) string { return strings.Replace(s, "row.unused_seats", "row.unused_seat", 1) },
			want: `syncs.at_risk_to_slack.template (row.unused_seat): names column "unused_seat", which model at_risk_accounts does not return: the columns are id, name, unused_seats, owner_email`,
		},
		"no channel": {
			edit: func(s string) string { return strings.Replace(s, "    channel: C0123ABCD\n", "", 1) },
			want: "channel: is required with bot_token",
		},
		"a channel name": {
			edit: func(s string) string { return strings.Replace(s, "channel: C0123ABCD", "channel: \"#alerts\"", 1) },
			want: `syncs.at_risk_to_slack.channel: "#alerts" is not a channel ID`,
		},
		"a channel with a webhook": {
			edit: func(s string) string { return s + "    channel: C0123ABCD\n" },
			sync: "at_risk_to_hook",
			want: "channel: destination hook posts through an incoming webhook",
		},
		"mirror without a removed message": {
			edit: func(s string) string { return strings.Replace(s, "mode: insert", "mode: mirror", 1) },
			want: "syncs.at_risk_to_slack.templates.removed: mode mirror posts a message for each row that leaves the model",
		},
		"no template": {
			edit: func(s string) string { return strings.Replace(s, tmplLine+"\n", "", 1) },
			want: "syncs.at_risk_to_slack.template: is required",
		},
		"faster than Slack": {
			edit: func(s string) string {
				return strings.Replace(s, "    base_url: {{URL}}\n", "    base_url: {{URL}}\n    rate_limit: {requests: 5, per: 1s}\n", 1)
			},
			want: "destinations.alerts.rate_limit.requests: 5 per 1s is more than Slack allows (1 per 1s)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := newSlackProject(t, tc.edit(slackYAML), accountsSetup(3), slacksim.Options{})
			sync := tc.sync
			if sync == "" {
				sync = "at_risk_to_slack"
			}
			out, errOut, code := p.sluice("sync", sync)
			require.NotEqual(t, 0, code)
			require.Contains(t, out+errOut, tc.want)
			require.NotContains(t, out+errOut, slackToken)
			require.Equal(t, int64(0), p.requests(), "nothing reached Slack")
		})
	}
}

// `sluice validate` reports the template's problems with their position.
func TestSlackValidateReportsTemplates(t *testing.T) {
	tmpl := strings.Replace(slackYAML, "row.unused_seats }} unused", "row.seats }} unused", 1)
	tmpl = strings.Replace(tmpl, `template: ":warning: {{ row.name | upcase }}`, `template: ":warning: {% iff row.name %}`, 1)
	p := newSlackProject(t, tmpl, accountsSetup(3), slacksim.Options{})
	_, errOut, code := p.sluice("validate", "--offline")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, `sluice.yaml:25:5: syncs.at_risk_to_hook.template: invalid Liquid template: undefined tag "iff"`)

	tmpl = strings.Replace(slackYAML, "row.unused_seats }} unused", "row.seats }} unused", 1)
	p = newSlackProject(t, tmpl, accountsSetup(3), slacksim.Options{})
	_, errOut, code = p.sluice("validate")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, `syncs.at_risk_to_slack.template (row.seats): names column "seats", which model at_risk_accounts does not return`)
	require.Equal(t, int64(0), p.requests())
}

// A webhook URL whose environment variable ends with a newline (a Kubernetes
// secret made from a file, an env-file written by echo) is trimmed by the
// destination, and redacted trimmed too: runs.db never holds it in clear.
func TestSlackWebhookWithTrailingNewlineIsRedacted(t *testing.T) {
	p := newSlackProject(t, slackYAML, accountsSetup(1), slacksim.Options{})
	t.Setenv("SLACK_WEBHOOK", p.url+slackWebhookPath+"\n")
	run, code := p.syncJSON("at_risk_to_hook")
	require.Equal(t, 0, code, "%v", run)
	b, err := os.ReadFile(filepath.Join(p.dir, ".sluice", "runs.db"))
	require.NoError(t, err)
	require.False(t, strings.Contains(string(b), "e2ehooksecret"), "runs.db holds the webhook's secret path in clear")
}

// With a trailing space, run show does not print it either.
func TestSlackWebhookWithTrailingSpaceIsRedacted(t *testing.T) {
	p := newSlackProject(t, slackYAML, accountsSetup(1), slacksim.Options{})
	t.Setenv("SLACK_WEBHOOK", p.url+slackWebhookPath+" ")
	run, code := p.syncJSON("at_risk_to_hook")
	require.Equal(t, 0, code, "%v", run)
	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "1")
	require.NotContains(t, out, "e2ehooksecret")
}

// An insert sync with templates.added only posts every row again on
// --full-resync, which sends unchanged rows as changes.
func TestSlackFullResyncOfAnInsertSync(t *testing.T) {
	tmpl := strings.Replace(slackYAML, `    mode: insert
    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"`, `    mode: insert
    templates: {added: "{{ row.name }} is new"}`, 1)
	p := newSlackProject(t, tmpl, accountsSetup(2), slacksim.Options{})
	run, code := p.syncJSON("at_risk_to_slack")
	require.Equal(t, 0, code, "%v", run)
	run, code = p.syncJSON("at_risk_to_slack", "--full-resync")
	require.Equal(t, 0, num64(run, "failed"), "%v", run)
	require.Equal(t, 0, code, "%v", run)
	require.Len(t, p.sim.Messages(slackChannel), 4, "each row posted again")
}
