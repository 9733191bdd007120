package mixpanel_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// goldenHeaders are the request headers the golden files pin.
var goldenHeaders = []string{"Authorization", "Content-Encoding", "Content-Type", "User-Agent"}

func TestGoldenImport(t *testing.T) {
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	require.NoError(t, d.(connector.Checker).Check(context.Background()))
	changes := []record.Change{
		eventRow("evt-1", "Signed Up", "user-1", eventTime, "pro"),
		eventRow("evt-2", "Viewed \"Report\"", "user-2", record.Date{Year: 2025, Month: 5, Day: 31}, nil),
		eventRow("evt-3", "Exported", "user-1", int64(1748781000), "team"),
		eventRow("evt-4", "Upgraded", "user-3", record.NewDecimal(big.NewInt(1748781000123), 3), "business"),
	}
	err, _ := write(d, changes)
	require.NoError(t, err)

	// Only a project token: it is the Basic-auth username, and no project_id is sent.
	d = tb.open(t, eventInfo, eventSync, func(c *mixpanel.Config) { c.ServiceAccount = mixpanel.ServiceAccount{}; c.ProjectID = "" })
	err, _ = write(d, changes[:1])
	require.NoError(t, err)
	simtest.Golden(t, "import.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, nil))
}

func TestGoldenEngage(t *testing.T) {
	tb := setup(t, sim.Options{})
	d := tb.open(t, profileInfo(connector.ModeMirror), profileSync, nil)
	require.NoError(t, d.(connector.Checker).Check(context.Background()))
	err, _ := write(d, []record.Change{
		profileRow(record.OpAdd, "1", "ada@example.com", "pro"),
		profileRow(record.OpAdd, "2", "bob@example.com", nil),
		profileRow(record.OpAdd, "3", "cy@example.com", "team"),
	})
	require.NoError(t, err)
	changed := profileRow(record.OpChange, "1", "ada@example.com", nil)
	changed.Previous = profileRow(record.OpAdd, "1", "ada@example.com", "pro").Fields
	err, _ = write(d, []record.Change{changed, profileRow(record.OpRemove, "3", "cy@example.com", "team")})
	require.NoError(t, err)
	simtest.Golden(t, "engage.golden", simtest.Render(t, tb.sim.Log().Requests(), goldenHeaders, nil))
}
