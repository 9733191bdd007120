package salesforce_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

// api: auto chooses by the run's size before its first batch, and the engine's
// batches follow: 200 records a request with sObject Collections, a Bulk job per
// bulk_batch_size records above the threshold. collections and bulk force it.
func TestTheRunsSizeChoosesTheAPI(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	plan := func(d *salesforce.Destination, added, changed, removed int64) connector.Capabilities {
		t.Helper()
		require.NoError(t, d.PlanRun(context.Background(), connector.RunPlan{Added: added, Changed: changed, Removed: removed}))
		return d.Capabilities()
	}
	auto := tb.districts(t, connector.ModeMirror, "auto", nil)
	require.Equal(t, 200, auto.Capabilities().MaxBatchRecords, "before a plan (a test row): Collections")
	require.Equal(t, 200, plan(auto, 1500, 400, 100).MaxBatchRecords, "2,000 changes: Collections")
	caps := plan(auto, 1500, 400, 101)
	require.Equal(t, 10_000, caps.MaxBatchRecords, "2,001 changes: Bulk")
	require.Equal(t, 4, caps.MaxInFlight)
	require.Equal(t, 200, plan(auto, 10, 0, 0).MaxBatchRecords, "the next run plans again")

	forced := tb.districts(t, connector.ModeUpsert, "collections", nil)
	require.Equal(t, 200, plan(forced, 1_000_000, 0, 0).MaxBatchRecords)
	forced = tb.districts(t, connector.ModeUpsert, "bulk", nil)
	require.Equal(t, 10_000, forced.Capabilities().MaxBatchRecords, "forced before any plan")
	require.Equal(t, 10_000, plan(forced, 3, 0, 0).MaxBatchRecords)

	// An insert without an external ID cannot tell Bulk results apart: it stays
	// with Collections whatever the size.
	insert := tb.districts(t, connector.ModeInsert, "auto", nil)
	require.Equal(t, 200, plan(insert, 50_000, 0, 0).MaxBatchRecords)
}

// In a run auto sent to Bulk, a batch of 200 records or fewer (the run's last)
// goes through sObject Collections: one request instead of a job's six or more.
func TestSmallBatchesOfABulkRunUseCollections(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkRecordsPerSecond: 1e6})
	d := tb.districts(t, connector.ModeUpsert, "auto", nil)
	require.NoError(t, d.PlanRun(context.Background(), connector.RunPlan{Added: 2_150}))
	err, _ := write(d, districtsRange(record.OpAdd, 0, 2_000, 0)...)
	require.NoError(t, err)
	err, traced := write(d, districtsRange(record.OpAdd, 2_000, 2_150, 0)...)
	require.NoError(t, err)
	require.Equal(t, 1, traced)
	require.Len(t, tb.sim.Jobs(), 1)
	require.Len(t, tb.accounts(), 2_150)
	lines := tb.requestLines()
	require.Equal(t, "PATCH /composite/sobjects/Account/District_Id__c", lines[len(lines)-1])
	require.True(t, strings.HasPrefix(lines[0], "POST /jobs/ingest"), lines[0])
}
