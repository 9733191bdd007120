package slack_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/simulator/simkit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the destination sends")

// goldenHeaders are the request headers the golden files pin.
var goldenHeaders = []string{"Authorization", "Content-Type", "User-Agent"}

// renderRequests writes requests as the simulator received them: the request
// line, the pinned headers (credentials redacted) and the body.
func renderRequests(reqs []simkit.Request) []byte {
	var b bytes.Buffer
	for i, r := range reqs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(r.Method + " " + r.Path)
		if r.RawQuery != "" {
			b.WriteString("?" + r.RawQuery)
		}
		b.WriteString("\n")
		for _, h := range goldenHeaders {
			v := r.Header.Get(h)
			if v == "" {
				continue
			}
			if h == "Authorization" {
				scheme, _, _ := strings.Cut(v, " ")
				v = scheme + " [redacted]"
			}
			b.WriteString(h + ": " + v + "\n")
		}
		b.WriteString("\n")
		b.Write(r.Body)
		b.WriteString("\n")
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./destination/slack -run Golden -update to create it")
	require.Equal(t, string(want), string(got), "the requests changed: if that is intended, run go test ./destination/slack -run Golden -update")
}

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
	checkGolden(t, "bot.golden", renderRequests(tb.sim.Log().Requests()))
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
	checkGolden(t, "webhook.golden", renderRequests(tb.sim.Log().Requests()))
}
