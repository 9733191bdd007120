package facebook_test

import (
	"bytes"
	"context"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the destination sends")

// goldenHeaders are the request headers the golden files pin.
var goldenHeaders = []string{"Authorization", "Content-Type", "User-Agent"}

// renderRequests writes requests as the simulator received them: the request
// line, the pinned headers (credentials redacted) and the body, whose form
// fields are shown decoded, one per line, in the order they were sent.
func renderRequests(t *testing.T, reqs []simkit.Request) []byte {
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
		for _, field := range strings.Split(string(r.Body), "&") {
			if field == "" {
				continue
			}
			name, value, _ := strings.Cut(field, "=")
			decoded, err := url.QueryUnescape(value)
			require.NoError(t, err)
			// The body is exactly what url.Values encodes, field by field.
			require.Equal(t, url.Values{name: {decoded}}.Encode(), field)
			b.WriteString(name + "=" + decoded + "\n")
		}
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
	require.NoError(t, err, "run go test ./destination/facebook -run Golden -update to create it")
	require.Equal(t, string(want), string(got), "the requests changed: if that is intended, run go test ./destination/facebook -run Golden -update")
}

// goldenPeople are rows with every kind of cell: unicode names, empty cells, a
// phone with a national prefix, a name of two words.
var goldenPeople = []customer{
	{id: "1", email: "John_Smith@Gmail.com", phone: "+1 (650) 555-1212", first: "John", last: "Smith", country: "US"},
	{id: "2", email: "  zoe@example.org ", phone: nil, first: "Zoë", last: "Ångström", country: "Sweden"},
	{id: "3", email: nil, phone: "0044 20 7946 0958", first: "Mary Ann", last: "O'Brien", country: "gb"},
}

func TestGoldenAdd(t *testing.T) {
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	require.NoError(t, d.Check(context.Background()))
	var changes []record.Change
	for _, c := range goldenPeople {
		changes = append(changes, c.add())
	}
	require.NoError(t, first(write(d, changes)))

	// With app_secret every request carries appsecret_proof.
	d = tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), func(c *facebook.Config) { c.AppSecret = "app-secret-0123" })
	require.NoError(t, first(write(d, changes[:1])))
	checkGolden(t, "add.golden", renderRequests(t, tb.sim.Log().Requests()))
}

func TestGoldenRemove(t *testing.T) {
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	var adds []record.Change
	for _, c := range goldenPeople {
		adds = append(adds, c.add())
	}
	require.NoError(t, first(write(d, adds)))
	tb.sim.Log().Reset()

	// Person 1 changed email; person 3 left the model.
	moved := goldenPeople[0]
	moved.email = "john@smith.example"
	require.NoError(t, first(write(d, []record.Change{goldenPeople[0].changeTo(moved), goldenPeople[2].remove()})))
	tb.requireMembers(t, moved, goldenPeople[1])
	checkGolden(t, "remove.golden", renderRequests(t, tb.sim.Log().Requests()))
}

func TestGoldenReplaceSession(t *testing.T) {
	restore := facebook.SetSessionIDs(func() int64 { return 4242424242 })
	defer restore()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(7).add(), goldenPeople[2].add()})))
	tb.sim.Log().Reset()

	// A full resync: people 1 and 2 are new, 3 is unchanged, 7 left the model.
	// The changes also go to the audience directly; every row goes to the session.
	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 2, Changed: 1, Removed: 1, FullResync: true}))
	require.NoError(t, first(write(d, []record.Change{person(7).remove()})))
	require.NoError(t, first(write(d, []record.Change{
		goldenPeople[0].add(), goldenPeople[1].add(), goldenPeople[2].changeTo(goldenPeople[2]),
	})))
	require.NoError(t, d.FinishRun(ctx, connector.RunResult{Complete: true, Succeeded: 4}))
	tb.requireMembers(t, goldenPeople...)
	checkGolden(t, "replace.golden", renderRequests(t, tb.sim.Log().Requests()))
}
