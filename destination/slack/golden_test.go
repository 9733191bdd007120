package slack_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// goldenHeaders are the request headers the golden files pin.
var goldenHeaders = []string{"Authorization", "Content-Type", "User-Agent"}

// A mirror sync with a bot token: the check, then one chat.postMessage per
// change, its text rendered from the change type's template.
func TestGoldenBot(t *testing.T) {
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts,
		Template: accountTemplate,
		Templates: slack.Templates{
			Added:   ":rotating_light: *{{ row.name }}* has {{ row.unused_seats }} unused seats{% if row.plan %} on {{ row.plan | upcase }}{% endif %} (owner <mailto:{{ row.owner_email }}|{{ row.owner_email }}>)",
			Removed: ":white_check_mark: {{ row.name }} no longer needs attention",
		}}
	d := tb.open(t, tb.botConfig(fast), connector.ModeMirror, sc)
	require.NoError(t, d.Check(context.Background()))
	changed := account(record.OpChange, sc, "2", "Globex \"West\" & Co", 30, "hank@globex.test", nil)
	changed.Previous = account(record.OpAdd, sc, "2", "Globex \"West\" & Co", 25, "hank@globex.test", nil).Fields
	for _, c := range []record.Change{
		account(record.OpAdd, sc, "1", "Acme", 12, "ada@acme.test", "pro"),
		account(record.OpAdd, sc, "4", "Ünïcode ☃", 1, "u@example.test", nil),
		changed,
		account(record.OpRemove, sc, "3", "Initech", 7, "bill@initech.test", "team"),
	} {
		err, _ := write(d, c)
		require.NoError(t, err)
	}
	simtest.Golden(t, "bot.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, nil))
}

// An insert sync through an incoming webhook: no check, one POST of {"text"} per row.
func TestGoldenWebhook(t *testing.T) {
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Template: accountTemplate}
	d := tb.open(t, tb.hookConfig(fast), connector.ModeInsert, sc)
	require.NoError(t, d.Check(context.Background()))
	for _, c := range []record.Change{
		account(record.OpAdd, sc, "1", "Acme", 12, "ada@acme.test", "pro"),
		account(record.OpAdd, sc, "2", "Globex <West>", 30, "hank@globex.test", nil),
	} {
		err, _ := write(d, c)
		require.NoError(t, err)
	}
	simtest.Golden(t, "webhook.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, nil))
}
