package hubspot_test

import (
	"math/big"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// goldenHeaders are the request headers a golden file pins.
// golden compares what the simulator received with testdata/name.golden.
func golden(t *testing.T, name string, reqs []simkit.Request) {
	t.Helper()
	simtest.Golden(t, name+".golden", simtest.Render(t, reqs, goldenHeaders, nil))
}

var goldenHeaders = []string{"Accept", "Authorization", "Content-Encoding", "Content-Type", "User-Agent"}

// typedFields are a sync writing a value of every kind to contacts, to pin how
// each becomes a property value.
var typedFields = []string{"email", "firstname", "seats", "mrr", "score", "is_active", "trial_ends", "last_seen", "tags", "settings", "avatar", "notes"}

func typedProperties() []sim.Property {
	return []sim.Property{
		{Name: "seats", Type: "number"},
		{Name: "mrr", Type: "number"},
		{Name: "score", Type: "number"},
		{Name: "is_active", Type: "bool"},
		{Name: "trial_ends", Type: "date"},
		{Name: "last_seen", Type: "datetime"},
		{Name: "tags", Type: "string"},
		{Name: "settings", Type: "string"},
		{Name: "avatar", Type: "string"},
		{Name: "notes", Type: "string", FieldType: "textarea"},
	}
}

func typedRow(op record.Op, key, email string, i int64) record.Change {
	values := []record.Value{
		email, "Ada \"the first\"", i * 10, record.NewDecimal(big.NewInt(1250+i), 2), 0.000001 * float64(i+1), i%2 == 0,
		record.Date{Year: 2026, Month: 2, Day: int(i) + 1}, time.Date(2026, 1, 2, 3, 4, 5, 678912345, time.UTC),
		[]record.Value{"a", "b"}, record.Struct{{Name: "theme", Value: "dark"}, {Name: "beta", Value: true}},
		[]byte("hi"), nil,
	}
	return record.Change{Op: op, Key: key, Fields: record.MakeFields(typedFields, values)}
}

func TestGoldenRequests(t *testing.T) {
	newBundle := func(t *testing.T) *testBundle {
		tb := setup(t, sim.Options{})
		for _, p := range typedProperties() {
			require.NoError(t, tb.sim.AddProperty("contacts", p))
		}
		return tb
	}
	info := func(mode connector.Mode) connector.SyncInfo {
		return connector.SyncInfo{Name: "users_to_hubspot", Mode: mode, KeyColumn: "id", KeyField: "id", Fields: typedFields}
	}
	contactsOf := func(tb *testBundle) []string {
		var emails []string
		for _, r := range tb.sim.Records("contacts") {
			emails = append(emails, r.Properties["email"])
		}
		return emails
	}

	t.Run("create", func(t *testing.T) {
		tb := newBundle(t)
		d := tb.open(t, tb.config(nil), info(connector.ModeInsert), hubspot.SyncConfig{Object: "contacts"})
		err, _ := write(d, typedRow(record.OpAdd, "1", "ada@example.com", 1), typedRow(record.OpAdd, "2", "bob@example.com", 2))
		require.NoError(t, err)
		golden(t, "create", tb.sim.Log().Requests())
		require.Equal(t, []string{"ada@example.com", "bob@example.com"}, contactsOf(tb))
	})

	t.Run("upsert", func(t *testing.T) {
		tb := newBundle(t)
		tb.seed(t, "contacts", "email", []map[string]string{{"email": "ada@example.com", "firstname": "Old"}})
		tb.sim.Log().Reset()
		d := tb.open(t, tb.config(nil), info(connector.ModeUpsert), hubspot.SyncConfig{Object: "contacts", IDProperty: "email"})
		err, _ := write(d, typedRow(record.OpChange, "1", "ada@example.com", 1), typedRow(record.OpAdd, "2", "bob@example.com", 2))
		require.NoError(t, err)
		golden(t, "upsert", tb.sim.Log().Requests())
		require.Equal(t, []string{"ada@example.com", "bob@example.com"}, contactsOf(tb))
		ada, _ := tb.sim.Find("contacts", "email", "ada@example.com")
		require.Equal(t, `Ada "the first"`, ada.Properties["firstname"])
		require.Equal(t, "2026-01-02T03:04:05.678Z", ada.Properties["last_seen"])
	})

	t.Run("update", func(t *testing.T) {
		tb := newBundle(t)
		tb.seed(t, "contacts", "email", []map[string]string{{"email": "ada@example.com", "firstname": "Old", "notes": "kept?"}})
		tb.sim.Log().Reset()
		d := tb.open(t, tb.config(nil), info(connector.ModeUpdate), hubspot.SyncConfig{Object: "contacts", IDProperty: "email"})
		err, _ := write(d, typedRow(record.OpChange, "1", "ada@example.com", 1))
		require.NoError(t, err)
		golden(t, "update", tb.sim.Log().Requests())
		ada, _ := tb.sim.Find("contacts", "email", "ada@example.com")
		require.NotContains(t, ada.Properties, "notes", "null clears the property")
	})

	t.Run("update_by_record_id", func(t *testing.T) {
		tb := newBundle(t)
		tb.seed(t, "contacts", "email", []map[string]string{{"email": "ada@example.com"}})
		ada, ok := tb.sim.Find("contacts", "email", "ada@example.com")
		require.True(t, ok)
		tb.sim.Log().Reset()
		fields := []string{"hs_object_id", "firstname"}
		d := tb.open(t, tb.config(nil),
			connector.SyncInfo{Name: "users_to_hubspot", Mode: connector.ModeUpdate, KeyColumn: "hubspot_id", KeyField: "hs_object_id", Fields: fields},
			hubspot.SyncConfig{Object: "contacts", IDProperty: "hs_object_id"})
		id := parseAs(t, ada.ID, record.KindInt)
		err, _ := write(d, record.Change{Op: record.OpChange, Key: ada.ID, Fields: record.MakeFields(fields, []record.Value{id, "Ada"})})
		require.NoError(t, err)
		golden(t, "update_by_record_id", tb.sim.Log().Requests())
		ada, _ = tb.sim.Find("contacts", "email", "ada@example.com")
		require.Equal(t, "Ada", ada.Properties["firstname"])
	})

	t.Run("mirror", func(t *testing.T) {
		tb := newBundle(t)
		tb.seed(t, "contacts", "email", []map[string]string{{"email": "ada@example.com"}, {"email": "gone@example.com"}, {"email": "eve@example.com"}})
		tb.sim.Log().Reset()
		d := tb.open(t, tb.config(nil), info(connector.ModeMirror), hubspot.SyncConfig{Object: "contacts", IDProperty: "email"})
		err, _ := write(d, typedRow(record.OpChange, "1", "ada@example.com", 1), typedRow(record.OpAdd, "2", "bob@example.com", 2))
		require.NoError(t, err)
		// Removed rows carry the fields last synced; one was never in HubSpot, one is written in another case.
		err, _ = write(d, typedRow(record.OpRemove, "3", "gone@example.com", 3), typedRow(record.OpRemove, "4", "EVE@example.com", 4),
			typedRow(record.OpRemove, "5", "never@example.com", 5))
		require.NoError(t, err)
		golden(t, "mirror", tb.sim.Log().Requests())
		require.Equal(t, []string{"ada@example.com", "bob@example.com"}, contactsOf(tb))
		require.Len(t, tb.sim.Archived("contacts"), 2)
	})
}

func TestGoldenFilesAreUsed(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	require.Equal(t, []string{"create.golden", "mirror.golden", "update.golden", "update_by_record_id.golden", "upsert.golden"}, names)
}
