package mixpanel_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
)

func TestProfilesSetUnsetDelete(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, profileInfo(connector.ModeMirror), profileSync, nil)

	err, exchanges := write(d, []record.Change{
		profileRow(record.OpAdd, "1", "a@x.io", "pro"),
		profileRow(record.OpAdd, "2", "b@x.io", nil), // null on the first sync: left alone
		profileRow(record.OpAdd, "3", "c@x.io", "team"),
	})
	require.NoError(t, err)
	require.Len(t, exchanges, 1)
	require.Equal(t, "POST "+tb.srv.URL+"/engage?ip=0&strict=1&verbose=1", exchanges[0].Request.Line)
	require.Equal(t, map[string]any{"$email": "a@x.io", "plan": "pro"}, props(t, tb, "1"))
	require.Equal(t, map[string]any{"$email": "b@x.io"}, props(t, tb, "2"))

	// A property that became null is unset; one that stays null is not sent again.
	change := profileRow(record.OpChange, "1", "a@x.io", nil)
	change.Previous = profileRow(record.OpAdd, "1", "a@x.io", "pro").Fields
	stillNull := profileRow(record.OpChange, "2", "b2@x.io", nil)
	stillNull.Previous = profileRow(record.OpAdd, "2", "b@x.io", nil).Fields
	err, exchanges = write(d, []record.Change{change, stillNull, profileRow(record.OpRemove, "3", "c@x.io", "team")})
	require.NoError(t, err)
	var updates []map[string]any
	require.NoError(t, json.Unmarshal(exchanges[0].Request.Body, &updates))
	require.Len(t, updates, 4, "$set and $unset of 1, $set of 2, $delete of 3")
	require.Equal(t, []any{"plan"}, updates[1]["$unset"])
	require.Equal(t, map[string]any{"$email": "a@x.io"}, props(t, tb, "1"))
	require.Equal(t, map[string]any{"$email": "b2@x.io"}, props(t, tb, "2"))
	_, found := tb.sim.Profile("3")
	require.False(t, found, "a removed row's profile is deleted")
	require.Equal(t, true, updates[3]["$ignore_alias"])

	// Without the previous fields every null property is unset.
	err, _ = write(d, []record.Change{profileRow(record.OpChange, "2", nil, nil)})
	require.NoError(t, err)
	require.Equal(t, map[string]any{}, props(t, tb, "2"))
}

func props(t *testing.T, tb *testBundle, id string) map[string]any {
	t.Helper()
	p, ok := tb.sim.Profile(id)
	require.True(t, ok, "profile %s", id)
	return p.Properties
}

// With strict=1 Mixpanel names the updates it refused: exactly their rows fail.
func TestProfileFailuresAreNamedPerRow(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{MaxUpdateBytes: 200})
	d := tb.open(t, profileInfo(connector.ModeUpsert), profileSync, nil)
	long := strings.Repeat("x", 200)
	changes := []record.Change{
		profileRow(record.OpAdd, "1", "a@x.io", "pro"),
		profileRow(record.OpAdd, "2", "b@x.io", long),
		profileRow(record.OpAdd, "", "c@x.io", "pro"), // no distinct_id: fails before sending
		profileRow(record.OpAdd, "4", "d@x.io", "team"),
	}
	err, _ := write(d, changes)
	failed := conformance.FailedRows(t, err)
	require.Len(t, failed, 2)
	require.Contains(t, failed[1], "Mixpanel refused the profile update: update is invalid: must be at most 200 bytes")
	require.Contains(t, failed[2], "distinct_id (column id) is empty")
	require.Equal(t, 2, tb.sim.ProfileCount())
}

// Without per-update detail a refused request is divisible: the engine halves it
// until the rows at fault are alone.
func TestRefusedProfileRequestIsDivisible(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{MaxUpdateBytes: 200, EngageIgnoreStrict: true})
	d := tb.open(t, profileInfo(connector.ModeUpsert), profileSync, nil)
	long := strings.Repeat("x", 200)
	err, exchanges := write(d, []record.Change{profileRow(record.OpAdd, "1", "a@x.io", long), profileRow(record.OpAdd, "2", "b@x.io", long)})
	require.True(t, connector.IsDivisible(err), "%v", err)
	require.Contains(t, err.Error(), "must be at most 200 bytes")
	require.JSONEq(t, `{"status":0,"error":"update is invalid: must be at most 200 bytes"}`, string(exchanges[0].Response.Body))
}

func TestProfilesNeedTheProjectToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	cfg := tb.config(func(c *mixpanel.Config) { c.ProjectToken = "" })
	require.NoError(t, cfg.Validate(), "a service account is enough for the destination")
	_, err := mixpanel.Spec.Open(context.Background(), connector.DestinationParams{Name: "product", Config: cfg, SyncConfig: profileSync, Sync: profileInfo(connector.ModeUpsert)})
	var fe *connector.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "project_token", fe.Field)
	require.Contains(t, fe.Message, "add project_token")
	require.Contains(t, fe.Message, "destination product")
	require.Equal(t, int64(0), tb.sim.Counters().Requests.Load())
}

// A wrong token is refused for every update: the batch fails whole, with the key to
// fix, instead of being halved row by row.
func TestWrongTokenFailsTheBatch(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, profileInfo(connector.ModeUpsert), profileSync, func(c *mixpanel.Config) { c.ProjectToken = "nope" })
	err, _ := write(d, []record.Change{profileRow(record.OpAdd, "1", "a@x.io", "pro"), profileRow(record.OpAdd, "2", "b@x.io", "pro")})
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.False(t, connector.IsDivisible(err))
	require.Contains(t, err.Error(), "check project_token")

	tb = setup(t, sim.Options{BadToken403: true})
	d = tb.open(t, profileInfo(connector.ModeUpsert), profileSync, func(c *mixpanel.Config) { c.ProjectToken = "nope" })
	err, _ = write(d, []record.Change{profileRow(record.OpAdd, "1", "a@x.io", "pro")})
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.Contains(t, err.Error(), "HTTP 403")
	require.Contains(t, err.Error(), "check project_token")
}

// A batch of 2,000 rows can make more than 2,000 updates: they go in several
// requests, a row's $set and $unset always together and in order.
func TestProfileUpdatesAreSplitAtTheLimit(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, profileInfo(connector.ModeUpsert), profileSync, nil)
	var changes []record.Change
	for i := range 2000 {
		id := itoa(i)
		c := profileRow(record.OpChange, id, id+"@x.io", nil)
		c.Previous = profileRow(record.OpAdd, id, id+"@x.io", "pro").Fields
		changes = append(changes, c)
	}
	err, exchanges := write(d, changes)
	require.NoError(t, err)
	require.Len(t, exchanges, 2)
	for _, ex := range exchanges {
		var updates []map[string]any
		require.NoError(t, json.Unmarshal(ex.Request.Body, &updates))
		require.LessOrEqual(t, len(updates), 2000)
		require.Contains(t, updates[0], "$set", "a request starts with a row's first update")
	}
	require.Equal(t, 2000, tb.sim.ProfileCount())
}

// A row removed after the sync's mappings changed carries the fields last synced
// under the old mappings: its profile is still deleted, by its distinct_id.
func TestRemovalAfterMappingsChanged(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.seedProfiles(t, map[string]map[string]any{"9": {"$email": "old@x.io"}})
	d := tb.open(t, profileInfo(connector.ModeMirror), profileSync, nil)
	old := record.MakeFields([]string{"$email", "id"}, []record.Value{"old@x.io", "9"})
	err, _ := write(d, []record.Change{{Op: record.OpRemove, Key: "9", Fields: old}})
	require.NoError(t, err)
	_, found := tb.sim.Profile("9")
	require.False(t, found)

	err, _ = write(d, []record.Change{{Op: record.OpRemove, Key: "9", Fields: record.MakeFields([]string{"$email"}, []record.Value{"old@x.io"})}})
	require.Contains(t, conformance.FailedRows(t, err)[0], "do not carry the distinct_id column id")
}
