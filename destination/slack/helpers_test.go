package slack_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
	sim "github.com/sluicehq/sluice/simulator/slack"
)

const (
	testToken   = "xoxb-1111-2222-sluicetest"
	alerts      = "C0123ABCD" // #alerts, the bot a member
	ops         = "C0OPS0001" // #ops, the bot a member
	outside     = "C0OUTSIDE" // #outside, public, the bot not a member
	secret      = "C0SECRET1" // #secret, private, the bot not a member
	archived    = "C0ARCHIVE" // #old-alerts, archived
	webhookPath = "/services/T0SIM0001/B0HOOK001/hooksecret123"
)

// testBundle is a Slack simulator behind a real HTTP server.
type testBundle struct {
	sim *sim.Server
	srv *httptest.Server
}

// setup starts a simulator with the test workspace's token, channels and
// webhook, keeping request bodies. opts may set anything else; its zero rate
// limit is Slack's (one message per second per channel), fast() lifts it.
func setup(t testing.TB, opts sim.Options) *testBundle {
	t.Helper()
	opts.KeepBodies = true
	if opts.Tokens == nil {
		opts.Tokens = []string{testToken}
	}
	if opts.Channels == nil {
		opts.Channels = map[string]sim.Channel{
			alerts:   {Name: "alerts", Member: true},
			ops:      {Name: "ops", Member: true},
			outside:  {Name: "outside"},
			secret:   {Name: "secret", Private: true},
			archived: {Name: "old-alerts", Member: true, Archived: true},
		}
	}
	if opts.Webhooks == nil {
		opts.Webhooks = map[string]string{webhookPath: alerts}
	}
	tb := &testBundle{sim: sim.New(opts)}
	tb.srv = simtest.NewServer(tb.sim)
	t.Cleanup(tb.srv.Close)
	return tb
}

// unpaced are simulator options without Slack's rate limits, for tests that are
// not about pacing.
func unpaced() sim.Options {
	return sim.Options{PerChannelPerSecond: -1, WorkspacePerMinute: -1, InfoPerMinute: -1}
}

// fast lifts the destination's pacing to 1,000 messages a second, for tests
// that are not about pacing.
func fast(c *slack.Config) {
	slack.SetLimits(c, connector.RateLimits{Requests: 1000, Window: time.Second})
}

// botConfig is a destination posting with the bot token to the simulator.
func (tb *testBundle) botConfig(mutate ...func(*slack.Config)) *slack.Config {
	cfg := slack.Spec.NewConfig().(*slack.Config)
	cfg.SetDefaults()
	cfg.BotToken = testToken
	cfg.BaseURL = tb.srv.URL
	for _, m := range mutate {
		m(cfg)
	}
	return cfg
}

// hookConfig is a destination posting through the simulator's webhook.
func (tb *testBundle) hookConfig(mutate ...func(*slack.Config)) *slack.Config {
	cfg := slack.Spec.NewConfig().(*slack.Config)
	cfg.SetDefaults()
	cfg.WebhookURL = tb.srv.URL + webhookPath
	for _, m := range mutate {
		m(cfg)
	}
	return cfg
}

// The accounts sync of the tests: no mappings, so every column is a field,
// then the columns the template reads as the engine carries them.
var accountColumns = []string{"id", "name", "unused_seats", "owner_email", "plan"}

const accountTemplate = "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"

// accountInfo is what the engine passes for a sync of the accounts model with sc.
func accountInfo(mode connector.Mode, sc *slack.SyncConfig) connector.SyncInfo {
	info := connector.SyncInfo{Name: "at_risk_to_slack", Mode: mode, KeyColumn: "id", KeyField: "id",
		Fields: append([]string(nil), accountColumns...), ColumnFields: map[string]int{}}
	for _, k := range sc.ColumnKeys() {
		info.ColumnFields[k.Key] = len(info.Fields)
		info.Fields = append(info.Fields, k.Column)
	}
	return info
}

// account is a change of the accounts model as the engine would pass it for sc.
func account(op record.Op, sc *slack.SyncConfig, id, name string, seats int64, owner string, plan record.Value) record.Change {
	info := accountInfo(connector.ModeMirror, sc)
	byName := map[string]record.Value{"id": id, "name": name, "unused_seats": seats, "owner_email": owner, "plan": plan}
	values := make([]record.Value, len(info.Fields))
	for i, f := range info.Fields {
		values[i] = byName[f]
	}
	return record.Change{Op: op, Key: id, Fields: record.MakeFields(info.Fields, values)}
}

func syncConfig(channel string) *slack.SyncConfig {
	return &slack.SyncConfig{Channel: channel, Template: accountTemplate}
}

// open opens a destination for sc in mode against the simulator.
func (tb *testBundle) open(t testing.TB, cfg *slack.Config, mode connector.Mode, sc *slack.SyncConfig) *slack.Destination {
	t.Helper()
	require.NoError(t, cfg.Validate())
	require.NoError(t, sc.Validate())
	d, err := slack.Spec.Open(context.Background(), connector.DestinationParams{Name: "alerts", Config: cfg, SyncConfig: sc, Sync: accountInfo(mode, sc)})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d.(*slack.Destination)
}

// write sends changes as one batch and returns Write's error and the exchanges traced.
func write(d connector.Destination, changes ...record.Change) (error, []connector.Exchange) {
	var exchanges []connector.Exchange
	b := connector.NewBatch("at_risk_to_slack", "run-1", "batch-1", changes, func(ex connector.Exchange) {
		exchanges = append(exchanges, ex)
	})
	return d.Write(context.Background(), b), exchanges
}

// texts are the texts of the messages a channel received, in order.
func (tb *testBundle) texts(channel string) []string {
	var out []string
	for _, m := range tb.sim.Messages(channel) {
		out = append(out, m.Text)
	}
	return out
}
