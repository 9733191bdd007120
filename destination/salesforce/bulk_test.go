package salesforce_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

// A job that stops part way (here the org's daily Bulk allowance runs out after
// its first internal batch) keeps what it processed: those rows succeed, the
// unprocessed ones fail with the job's reason and go again on the next run.
func TestUnprocessedBulkRecordsFailForTheNextRun(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkBatchSize: 10, BulkDailyRecords: 15, BulkResultsInOrder: false})
	d := tb.districts(t, connector.ModeUpsert, "bulk", nil)
	err, _ := write(d, districtsRange(record.OpAdd, 0, 30, 0)...)
	got := rowErrors(t, err)
	require.Len(t, got, 20)
	for i := range 30 {
		if i < 10 {
			require.NotContains(t, got, i, "processed in the first internal batch")
			continue
		}
		require.Contains(t, got[i], "salesforce: upsert Account: not processed: bulk job")
		require.Contains(t, got[i], "ended Failed (ExceededQuota : the org has used its Bulk API records for the last 24 hours); the row is sent again on the next run")
	}
	require.Len(t, tb.accounts(), 10)
}

// Rows that share an external ID take its results in turn; Salesforce fails
// both when one upload carries a value twice.
func TestBulkResultsOfRowsSharingAnExternalID(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.districts(t, connector.ModeUpsert, "bulk", nil)
	changes := []record.Change{district(record.OpAdd, "d-1", "One", 1), district(record.OpAdd, "d-2", "Two", 2), district(record.OpAdd, "D-1", "One again", 3)}
	changes[2].Key = "row-3"
	err, _ := write(d, changes...)
	require.Equal(t, map[int]string{
		0: "salesforce: upsert Account: DUPLICATE_VALUE: Duplicate external id specified: d-1",
		2: "salesforce: upsert Account: DUPLICATE_VALUE: Duplicate external id specified: D-1",
	}, rowErrors(t, err))
	require.Equal(t, []string{"d-2"}, keys(tb.accounts()))
}

// Updates by external ID look the records up first: a row whose record does not
// exist fails without reaching the job, the others are matched back by Id.
func TestBulkUpdateByExternalID(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	var seeded []map[string]any
	for i := range 50 {
		seeded = append(seeded, map[string]any{"District_Id__c": fmt.Sprintf("d-%d", i), "Name": "Old"})
	}
	tb.seed(t, "Account", seeded)
	tb.reject("d-7", "Locked by finance")
	d := tb.districts(t, connector.ModeUpdate, "bulk", nil)
	err, _ := write(d, districtsRange(record.OpChange, 0, 55, 1000)...)
	got := rowErrors(t, err)
	require.Len(t, got, 6)
	require.Equal(t, "salesforce: update Account: FIELD_CUSTOM_VALIDATION_EXCEPTION: Locked by finance", got[7])
	for i := 50; i < 55; i++ {
		require.Equal(t, fmt.Sprintf(`salesforce: update Account: no Account has District_Id__c = "d-%d": update mode changes existing records only (use upsert to create them)`, i), got[i])
	}
	accounts := tb.accounts()
	require.Len(t, accounts, 50)
	require.Equal(t, map[string]string{"Name": "District d-12", "Students_Online__c": "1012"}, accounts["d-12"])
	require.Equal(t, "Old", accounts["d-7"]["Name"])
	jobs := tb.sim.Jobs()
	require.Len(t, jobs, 1)
	require.Equal(t, "update", jobs[0].Operation)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
