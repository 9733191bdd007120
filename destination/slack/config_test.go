package slack_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/slack"
	sim "github.com/sluicehq/sluice/simulator/slack"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	valid := func() *slack.Config {
		c := slack.Spec.NewConfig().(*slack.Config)
		c.SetDefaults()
		c.BotToken = testToken
		return c
	}
	require.NoError(t, valid().Validate())
	hook := valid()
	hook.BotToken, hook.WebhookURL = "", "https://hooks.slack.com/services/T0/B0/secret"
	require.NoError(t, hook.Validate())

	for name, tc := range map[string]struct {
		edit  func(*slack.Config)
		field string
		want  string
	}{
		"neither credential": {func(c *slack.Config) { c.BotToken = "" }, "bot_token", "Slack needs a credential: set bot_token"},
		"both credentials": {func(c *slack.Config) { c.WebhookURL = "https://hooks.slack.com/services/T0/B0/x" }, "webhook_url",
			"set bot_token or webhook_url, not both"},
		"a URL as the token":   {func(c *slack.Config) { c.BotToken = "https://hooks.slack.com/services/T0/B0/x" }, "bot_token", "goes in webhook_url"},
		"an app-level token":   {func(c *slack.Config) { c.BotToken = "xapp-1-A0-secret" }, "bot_token", "Bot User OAuth Token (xoxb-…)"},
		"a token as a webhook": {func(c *slack.Config) { c.BotToken, c.WebhookURL = "", "xoxb-123" }, "webhook_url", "a bot token goes in bot_token"},
		"a webhook without its path": {func(c *slack.Config) { c.BotToken, c.WebhookURL = "", "https://hooks.slack.com" }, "webhook_url",
			"has no path"},
		"a bad base_url":     {func(c *slack.Config) { c.BaseURL = "slack.com/api" }, "base_url", "must start with https://"},
		"faster than Slack":  {func(c *slack.Config) { c.RateLimit = saas.RateLimit{Requests: 2, Per: time.Second} }, "rate_limit.requests", "more than Slack allows (1 per 1s)"},
		"a burst over 1/s":   {func(c *slack.Config) { c.RateLimit = saas.RateLimit{Requests: 10, Per: time.Minute} }, "rate_limit.requests", "would let more than Slack's 1 requests go out within 1s"},
		"too many attempts":  {func(c *slack.Config) { c.MaxAttempts = 50 }, "max_attempts", "between 1 and 20"},
		"a negative timeout": {func(c *slack.Config) { c.Timeout = -time.Second }, "timeout", "must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			tc.edit(c)
			errs := conformance.FieldErrors(t, c.Validate())
			require.Contains(t, errs, tc.field, "%v", errs)
			require.Contains(t, errs[tc.field], tc.want)
			for _, msg := range errs {
				require.NotContains(t, msg, "secret", "a message never quotes a credential")
				require.NotContains(t, msg, "xapp-1", "a message never quotes a credential")
			}
		})
	}

	slower := valid()
	slower.RateLimit = saas.RateLimit{Requests: 1, Per: 5 * time.Second}
	require.NoError(t, slower.Validate(), "posting more slowly than Slack allows is fine")
}

func TestSyncConfigValidation(t *testing.T) {
	t.Parallel()
	require.NoError(t, syncConfig(alerts).Validate())
	require.NoError(t, syncConfig(alerts).ValidateMode(connector.ModeInsert))

	for name, tc := range map[string]struct {
		sc    slack.SyncConfig
		field string
		want  string
	}{
		"no template":       {slack.SyncConfig{Channel: alerts}, "template", "is required: add template:"},
		"an empty template": {slack.SyncConfig{Channel: alerts, Template: "  "}, "template", "is empty"},
		"a template error":  {slack.SyncConfig{Channel: alerts, Template: "{% if row.seats > 10 %}big"}, "template", `invalid Liquid template: unterminated "if" block in {% if row.seats > 10 %}: see docs/configuration.md#templates`},
		"an unknown tag":    {slack.SyncConfig{Channel: alerts, Templates: slack.Templates{Added: "{% iff row.x %}"}}, "templates.added", `undefined tag "iff"`},
		"an unknown filter": {slack.SyncConfig{Channel: alerts, Template: "{{ row.name | upcse }}"}, "template", `undefined filter "upcse"`},
		"an unknown filter in a branch": {slack.SyncConfig{Channel: alerts, Template: "{% if row.plan %}\n{{ row.name | upcsae }}{% else %}{{ row.name }}{% endif %}"},
			"template", `line 2: undefined filter "upcsae"`},
		"the whole row":   {slack.SyncConfig{Channel: alerts, Template: "New account: {{ row | json }}"}, "template", "uses row as a whole"},
		"a channel name":  {slack.SyncConfig{Channel: "#alerts", Template: "x"}, "channel", `"#alerts" is not a channel ID: use the channel's ID, e.g. C0123ABCD, not its name`},
		"a lower-case ID": {slack.SyncConfig{Channel: "c0123abcd", Template: "x"}, "channel", "not its name"},
		"a user ID":       {slack.SyncConfig{Channel: "U0123ABCD", Template: "x"}, "channel", "is not a channel ID"},
	} {
		t.Run(name, func(t *testing.T) {
			errs := conformance.FieldErrors(t, tc.sc.Validate())
			require.Contains(t, errs, tc.field, "%v", errs)
			require.Contains(t, errs[tc.field], tc.want)
		})
	}
}

// Each mode needs a message for every type of change it sends, and takes none
// it would never send.
func TestSyncConfigPerMode(t *testing.T) {
	t.Parallel()
	one := slack.SyncConfig{Channel: alerts, Template: "x"}
	for _, m := range []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert} {
		require.NoError(t, one.ValidateMode(m), m)
	}
	errs := conformance.FieldErrors(t, one.ValidateMode(connector.ModeMirror))
	require.Contains(t, errs["templates.removed"], "mode mirror posts a message for each row that leaves the model: add templates.removed")

	perType := slack.SyncConfig{Channel: alerts, Templates: slack.Templates{Added: "a", Changed: "c", Removed: "r"}}
	require.NoError(t, perType.ValidateMode(connector.ModeMirror))
	errs = conformance.FieldErrors(t, perType.ValidateMode(connector.ModeInsert))
	require.Contains(t, errs["templates.changed"], "mode insert sends no changed rows, so this message would never be posted: remove it, or use a mode that sends them (update, upsert, mirror)")
	require.Contains(t, errs["templates.removed"], "(mirror)")

	onlyAdded := slack.SyncConfig{Channel: alerts, Templates: slack.Templates{Added: "a"}}
	require.NoError(t, onlyAdded.ValidateMode(connector.ModeInsert))
	errs = conformance.FieldErrors(t, onlyAdded.ValidateMode(connector.ModeUpsert))
	require.Contains(t, errs["templates.changed"], "mode upsert sends changed rows: add templates.changed, or template")
}

// The engine checks and carries the columns each template reads: one key per
// column, named by the first template that reads it.
func TestColumnKeys(t *testing.T) {
	t.Parallel()
	sc := slack.SyncConfig{
		Template:  `{{ row.name }} has {{ row["unused seats"] }} unused seats`,
		Templates: slack.Templates{Removed: "{{ row.name }} ({{ row.owner_email }}) left", Changed: "{% if"},
	}
	require.Equal(t, []connector.ColumnKey{
		{Key: "template (row.name)", Column: "name"},
		{Key: "template (row.unused seats)", Column: "unused seats"},
		{Key: "templates.removed (row.owner_email)", Column: "owner_email"},
	}, sc.ColumnKeys())
}

// Columns come from the template's Liquid only: a link to …/row.html in its text
// or a commented-out reference is not a column the model must return.
func TestColumnKeysIgnoreTextAndComments(t *testing.T) {
	t.Parallel()
	sc := slack.SyncConfig{Channel: alerts, Template: "{{ row.name }}: see https://wiki.example/row.html {% comment %}{{ row.old }}{% endcomment %}"}
	require.Equal(t, []connector.ColumnKey{{Key: "template (row.name)", Column: "name"}}, sc.ColumnKeys())
}

// Opening refuses what only the pair of destination and sync shows: a bot
// token needs a channel, a webhook has its own.
func TestOpenChecksTheChannelAgainstTheCredential(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	openErr := func(cfg *slack.Config, sc *slack.SyncConfig, mode connector.Mode) error {
		_, err := slack.Spec.Open(context.Background(), connector.DestinationParams{Name: "alerts", Config: cfg, SyncConfig: sc, Sync: accountInfo(mode, sc)})
		return err
	}
	err := openErr(tb.botConfig(), &slack.SyncConfig{Template: accountTemplate}, connector.ModeInsert)
	require.ErrorContains(t, err, "slack: sync at_risk_to_slack: channel: is required with bot_token")
	require.True(t, connector.IsPermanent(err))

	err = openErr(tb.hookConfig(), syncConfig(alerts), connector.ModeInsert)
	require.ErrorContains(t, err, "channel: destination alerts posts through an incoming webhook, which always posts to the channel it was created for")

	err = openErr(tb.botConfig(), syncConfig(alerts), connector.ModeMirror)
	require.ErrorContains(t, err, "templates.removed")

	cfg := tb.botConfig()
	cfg.WebhookURL = tb.srv.URL + webhookPath
	err = openErr(cfg, syncConfig(alerts), connector.ModeInsert)
	require.ErrorContains(t, err, "not both")
	require.NotContains(t, err.Error(), "hooksecret123")
	require.NotContains(t, err.Error(), testToken)

	// A column the records do not carry (the engine would have refused the
	// project first) is named with its template.
	sc := syncConfig(alerts)
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeInsert, KeyColumn: "id", KeyField: "id", Fields: []string{"id", "name"}}
	_, err = slack.Spec.Open(context.Background(), connector.DestinationParams{Config: tb.botConfig(), SyncConfig: sc, Sync: info})
	require.ErrorContains(t, err, "template: reads row.unused_seats, which is not among the columns the sync carries (id, name)")

	require.Equal(t, 0, len(tb.sim.Log().Requests()), "opening sends nothing")
}

// Capabilities: one message per request, one request at a time, paced at one
// per second per channel (lowered by rate_limit).
func TestCapabilities(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, tb.botConfig(), connector.ModeInsert, syncConfig(alerts))
	c := d.Capabilities()
	require.Equal(t, 1, c.MaxBatchRecords)
	require.Equal(t, 1, c.MaxInFlight)
	require.Equal(t, 8, c.MaxAttempts)
	require.Equal(t, connector.RateLimits{Requests: 1, Window: time.Second}, *c.Limits)

	d = tb.open(t, tb.botConfig(func(c *slack.Config) {
		c.RateLimit = saas.RateLimit{Requests: 1, Per: 3 * time.Second}
		c.MaxAttempts = 3
	}),
		connector.ModeInsert, syncConfig(ops))
	c = d.Capabilities()
	require.Equal(t, 3, c.MaxAttempts)
	require.Equal(t, connector.RateLimits{Requests: 1, Window: 3 * time.Second}, *c.Limits)
}

// Whatever a user writes as a template, validating it and naming its columns
// neither panics nor names a column twice, and a template that validates opens.
func FuzzSyncConfig(f *testing.F) {
	for _, s := range []string{accountTemplate, "{% if row.a > 1 %}{{ row.b | upcase }}{% endif %}", `{{ row["a b"] }}`, "{{", "{% for x in row.tags %}{{ x }}{% endfor %}", "{{ row.a | nofilter }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		sc := &slack.SyncConfig{Channel: alerts, Template: src}
		err := sc.Validate()
		seen := map[string]bool{}
		for _, k := range sc.ColumnKeys() {
			require.False(t, seen[k.Column], "column %q named twice", k.Column)
			seen[k.Column] = true
		}
		if err != nil {
			return
		}
		info := accountInfo(connector.ModeInsert, sc)
		_, err = slack.Spec.Open(context.Background(), connector.DestinationParams{Config: &slack.Config{BotToken: testToken}, SyncConfig: sc, Sync: info})
		require.NoError(t, err)
	})
}
