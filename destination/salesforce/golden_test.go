package salesforce_test

import (
	"math/big"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
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

// typedFields are a sync writing a value of every kind to Account, to pin how
// each becomes a field value.
var typedFields = []string{"District_Id__c", "Name", "Students_Online__c", "MRR__c", "Score__c", "Active__c",
	"Renewal_Date__c", "Last_Seen__c", "Tags__c", "Avatar__c", "Notes__c", "Plan__c"}

func typedRow(op record.Op, id string, i int64) record.Change {
	values := []record.Value{
		id, `Springfield "North", Unified`, i * 10, record.NewDecimal(big.NewInt(1250+i), 2), 0.000001 * float64(i+1), i%2 == 0,
		record.Date{Year: 2026, Month: 2, Day: int(i) + 1}, time.Date(2026, 1, 2, 3, 4, 5, 678912345, time.UTC),
		[]record.Value{"k12", "rural"}, []byte("hi"), nil, "",
	}
	return record.Change{Op: op, Key: id, Fields: record.MakeFields(typedFields, values)}
}

func typedInfo(mode connector.Mode) connector.SyncInfo {
	return connector.SyncInfo{Name: "districts_to_salesforce", Mode: mode, KeyColumn: "district_id", KeyField: "District_Id__c", Fields: typedFields}
}

// fastBulk is an org whose Bulk jobs are done by the first poll, so that a
// golden file holds one poll per job.
var fastBulk = sim.Options{BulkRecordsPerSecond: 1e9, BulkResultsInOrder: false}

func TestGoldenRequests(t *testing.T) {
	t.Parallel()
	seeded := func(t *testing.T, opts sim.Options) *testBundle {
		tb := setup(t, opts)
		tb.seed(t, "Account", []map[string]any{{"District_Id__c": "d-1", "Name": "Old name", "Notes__c": "kept?"}})
		tb.sim.Log().Reset()
		return tb
	}
	districtIDs := func(tb *testBundle) []string {
		var ids []string
		for _, r := range tb.sim.Records("Account") {
			ids = append(ids, r.Fields["District_Id__c"].(string))
		}
		slices.Sort(ids)
		return ids
	}

	t.Run("collections_create", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, sim.Options{})
		d := tb.open(t, tb.config(nil), typedInfo(connector.ModeInsert), salesforce.SyncConfig{Object: "Account", API: "collections"})
		err, _ := write(d, typedRow(record.OpAdd, "d-1", 1), typedRow(record.OpAdd, "d-2", 2))
		require.NoError(t, err)
		golden(t, "collections_create", tb.sim.Log().Requests())
		require.Equal(t, []string{"d-1", "d-2"}, districtIDs(tb))
	})

	t.Run("collections_upsert", func(t *testing.T) {
		t.Parallel()
		tb := seeded(t, sim.Options{})
		d := tb.open(t, tb.config(nil), typedInfo(connector.ModeUpsert), salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "collections"})
		err, _ := write(d, typedRow(record.OpChange, "d-1", 1), typedRow(record.OpAdd, "d-2", 2))
		require.NoError(t, err)
		golden(t, "collections_upsert", tb.sim.Log().Requests())
		require.Equal(t, []string{"d-1", "d-2"}, districtIDs(tb))
		acct, _ := tb.sim.Find("Account", "District_Id__c", "d-1")
		require.Equal(t, `Springfield "North", Unified`, acct.Fields["Name"])
		require.Equal(t, "2026-01-02T03:04:05.678+0000", acct.Fields["Last_Seen__c"])
		require.Equal(t, "2026-02-02", acct.Fields["Renewal_Date__c"])
		require.NotContains(t, acct.Fields, "Notes__c", "null clears the field")
	})

	t.Run("collections_update_by_id", func(t *testing.T) {
		t.Parallel()
		tb := seeded(t, sim.Options{})
		acct, ok := tb.sim.Find("Account", "District_Id__c", "d-1")
		require.True(t, ok)
		fields := []string{"Id", "Students_Online__c"}
		d := tb.open(t, tb.config(nil),
			connector.SyncInfo{Name: "districts_to_salesforce", Mode: connector.ModeUpdate, KeyColumn: "sfid", KeyField: "Id", Fields: fields},
			salesforce.SyncConfig{Object: "Account", API: "collections"})
		err, _ := write(d, record.Change{Op: record.OpChange, Key: acct.ID, Fields: record.MakeFields(fields, []record.Value{acct.ID, int64(42)})})
		require.NoError(t, err)
		golden(t, "collections_update_by_id", tb.sim.Log().Requests())
		acct, _ = tb.sim.Find("Account", "District_Id__c", "d-1")
		require.Equal(t, int64(42), acct.Fields["Students_Online__c"])
	})

	t.Run("collections_update", func(t *testing.T) {
		t.Parallel()
		tb := seeded(t, sim.Options{})
		d := tb.open(t, tb.config(nil), typedInfo(connector.ModeUpdate), salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "collections"})
		err, _ := write(d, typedRow(record.OpChange, "D-1", 1), typedRow(record.OpChange, "d-404", 2))
		require.Equal(t, map[int]string{1: `salesforce: update Account: no Account has District_Id__c = "d-404": update mode changes existing records only (use upsert to create them)`}, conformance.FailedRows(t, err))
		golden(t, "collections_update", tb.sim.Log().Requests())
		require.Equal(t, []string{"D-1"}, districtIDs(tb), "the value sent is written, in its case; nothing is created")
	})

	t.Run("collections_mirror", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, sim.Options{})
		tb.seed(t, "Account", []map[string]any{{"District_Id__c": "d-1", "Name": "Kept"}, {"District_Id__c": "d-2", "Name": "Gone"}, {"District_Id__c": "d-3", "Name": "Gone too"}})
		tb.sim.Log().Reset()
		d := tb.open(t, tb.config(nil), typedInfo(connector.ModeMirror), salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "collections"})
		// Removed rows carry the fields last synced: one is written in another
		// case, one was never in Salesforce, one carries a quote.
		err, _ := write(d, typedRow(record.OpRemove, "d-2", 2), typedRow(record.OpRemove, "D-3", 3),
			typedRow(record.OpRemove, "never-synced", 4), typedRow(record.OpRemove, "o'brien", 5))
		require.NoError(t, err)
		golden(t, "collections_mirror", tb.sim.Log().Requests())
		require.Equal(t, []string{"d-1"}, districtIDs(tb))
		require.Len(t, tb.sim.Deleted("Account"), 2, "in the Recycle Bin")
	})

	t.Run("bulk_upsert", func(t *testing.T) {
		t.Parallel()
		tb := seeded(t, fastBulk)
		d := tb.open(t, tb.config(nil), typedInfo(connector.ModeUpsert), salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "bulk"})
		err, _ := write(d, typedRow(record.OpChange, "d-1", 1), typedRow(record.OpAdd, "d-2", 2))
		require.NoError(t, err)
		golden(t, "bulk_upsert", tb.sim.Log().Requests())
		require.Equal(t, []string{"d-1", "d-2"}, districtIDs(tb))
		acct, _ := tb.sim.Find("Account", "District_Id__c", "d-1")
		require.Equal(t, `Springfield "North", Unified`, acct.Fields["Name"])
		require.Equal(t, "2026-01-02T03:04:05.678+0000", acct.Fields["Last_Seen__c"])
		require.NotContains(t, acct.Fields, "Notes__c", "#N/A clears the field")
		require.NotContains(t, acct.Fields, "Plan__c", "an empty string is #N/A too")
		jobs := tb.sim.Jobs()
		require.Len(t, jobs, 1)
		require.Equal(t, "JobComplete", jobs[0].State)
	})
	t.Run("bulk_mirror", func(t *testing.T) {
		t.Parallel()
		tb := seeded(t, fastBulk)
		tb.seed(t, "Account", []map[string]any{{"District_Id__c": "d-2", "Name": "Gone"}})
		tb.sim.Log().Reset()
		d := tb.open(t, tb.config(nil), typedInfo(connector.ModeMirror), salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "bulk"})
		err, _ := write(d, typedRow(record.OpRemove, "d-1", 1), typedRow(record.OpRemove, "d-2", 2), typedRow(record.OpRemove, "d-3", 3))
		require.NoError(t, err)
		golden(t, "bulk_mirror", tb.sim.Log().Requests())
		require.Empty(t, districtIDs(tb))
		jobs := tb.sim.Jobs()
		require.Len(t, jobs, 1)
		require.Equal(t, "delete", jobs[0].Operation)
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
	require.Equal(t, []string{"bulk_mirror.golden", "bulk_upsert.golden", "collections_create.golden", "collections_mirror.golden",
		"collections_update.golden", "collections_update_by_id.golden", "collections_upsert.golden"}, names)
}
