package facebook_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// goldenHeaders are the request headers the golden files pin.
var goldenHeaders = []string{"Authorization", "Content-Type", "User-Agent"}

// formBody shows a form-encoded body's fields decoded, one per line, in the order
// they were sent, checking that the body is exactly what url.Values encodes.
func formBody(t testing.TB, body []byte) []byte {
	var b bytes.Buffer
	for _, field := range strings.Split(string(body), "&") {
		if field == "" {
			continue
		}
		name, value, _ := strings.Cut(field, "=")
		decoded, err := url.QueryUnescape(value)
		require.NoError(t, err)
		require.Equal(t, url.Values{name: {decoded}}.Encode(), field)
		b.WriteString(name + "=" + decoded + "\n")
	}
	return b.Bytes()
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
	simtest.Golden(t, "add.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, formBody))
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
	simtest.Golden(t, "remove.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, formBody))
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
	simtest.Golden(t, "replace.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, formBody))
}
