package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/simkit"
)

// Records Salesforce refuses fail alone with its statusCode and message, mapped
// back to their rows: in input order with sObject Collections, by external ID
// from a Bulk job's results (which come back shuffled).
func TestRecordErrorsAreMappedBackToTheirRows(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"collections", "bulk"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{})
			tb.reject("d-3", "Districts under review cannot be synced")
			d := tb.districts(t, connector.ModeUpsert, api, nil)
			changes := districtsRange(record.OpAdd, 0, 10, 100)
			changes[7] = record.Change{Op: record.OpAdd, Key: "d-7", Fields: record.MakeFields(districtFields, []record.Value{"d-7", nil, int64(5)})}
			changes[8] = district(record.OpAdd, "d-8", "Far too many students", 2_000_000_000)
			err, _ := write(d, changes...)
			got := conformance.FailedRows(t, err)
			require.Equal(t, map[int]string{
				3: "salesforce: upsert Account: FIELD_CUSTOM_VALIDATION_EXCEPTION: Districts under review cannot be synced",
				7: "salesforce: upsert Account: REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)",
				8: "salesforce: upsert Account: NUMBER_OUTSIDE_VALID_RANGE: Students Online: value outside of valid range on numeric field: 2000000000 (fields: Students_Online__c)",
			}, got)
			accounts := tb.accounts()
			require.Len(t, accounts, 7)
			require.Equal(t, map[string]string{"Name": "District d-9", "Students_Online__c": "109"}, accounts["d-9"])
			require.NotContains(t, accounts, "d-3")
		})
	}
}

// A value of the wrong type fails Salesforce's JSON reader for the whole
// sObject Collections request: the batch is returned Divisible, and its halves
// isolate the row. A Bulk job refuses the row alone.
func TestValueOfTheWrongTypeFailsItsRowAlone(t *testing.T) {
	t.Parallel()
	fields := []string{"District_Id__c", "Name", "Renewal_Date__c"}
	info := connector.SyncInfo{Name: "districts_to_salesforce", Mode: connector.ModeUpsert, KeyField: "District_Id__c", Fields: fields}
	changes := func() []record.Change {
		var out []record.Change
		for i := range 8 {
			id := fmt.Sprintf("d-%d", i)
			var renewal record.Value = record.Date{Year: 2026, Month: 9, Day: 1}
			if i == 5 {
				renewal = "next autumn"
			}
			out = append(out, record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{id, "District " + id, renewal})})
		}
		return out
	}
	for _, api := range []string{"collections", "bulk"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{})
			d := tb.open(t, tb.config(nil), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: api})
			got := conformance.SendSplitting(t, d, changes())
			for i, e := range got {
				if i == 5 {
					require.Contains(t, e, "next autumn")
					continue
				}
				require.Empty(t, e, "row %d", i)
			}
			require.Len(t, tb.accounts(), 7)
		})
	}
}

// UNABLE_TO_LOCK_ROW is another transaction's lock: the records that met one
// are sent once more within the Write, after a pause, in requests of at most 50
// one after another; those locked again fail with Salesforce's message and go
// again on the next run.
func TestLockedRecordsAreRetriedInSmallerRequests(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"collections", "bulk"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{LockErrorRate: 0.3, Seed: 42, BulkRecordsPerSecond: 1e6})
			d := tb.districts(t, connector.ModeUpsert, api, nil)
			changes := districtsRange(record.OpAdd, 0, 200, 0)
			var retried int64
			b := connector.NewBatch("districts_to_salesforce", "run-1", "batch-1", changes, nil).OnCount(func(name string, n int64) {
				if name == "locked_records_retried" {
					retried += n
				}
			})
			err := d.Write(context.Background(), b)
			failed := map[int]string{}
			if err != nil {
				failed = conformance.FailedRows(t, err)
			}
			require.Positive(t, retried, "some records met a lock")
			require.Less(t, int64(len(failed)), retried, "most locked records were written the second time")
			for i, msg := range failed {
				require.Equal(t, "salesforce: upsert Account: UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record (locked again when sent a second time; the next run sends it again: if this persists, lower max_in_flight or write records of one parent together)", msg, "row %d", i)
			}
			require.Len(t, tb.accounts(), 200-len(failed))

			// The retries went through sObject Collections, at most 50 records a request.
			var retries []int
			for _, r := range tb.sim.Log().Requests() {
				if strings.HasSuffix(r.Path, "/composite/sobjects/Account/District_Id__c") {
					retries = append(retries, strings.Count(string(r.Body), `"attributes"`))
				}
			}
			if api == "collections" {
				require.Equal(t, 200, retries[0], "the first request carried the batch")
				retries = retries[1:]
			}
			require.NotEmpty(t, retries)
			sum := 0
			for _, n := range retries {
				require.LessOrEqual(t, n, 50)
				sum += n
			}
			require.Equal(t, int(retried), sum)
		})
	}

	t.Run("always locked", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, sim.Options{LockErrorRate: 1})
		d := tb.districts(t, connector.ModeUpsert, "collections", nil)
		err, traced := write(d, districtsRange(record.OpAdd, 0, 120, 0)...)
		require.Len(t, conformance.FailedRows(t, err), 120)
		require.Equal(t, 1+3, traced, "the batch, then 50, 50 and 20 records once more")
		require.Empty(t, tb.accounts())
	})
}

// 403 REQUEST_LIMIT_EXCEEDED ("TotalRequests Limit exceeded") is the spent
// daily allocation, not a 429: the batch fails at once for the next run, and the
// run sends nothing more.
func TestSpentDailyAllocationStopsTheRun(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.districts(t, connector.ModeUpsert, "collections", nil)
	tb.sim.SetFaults(simkit.Faults{Force429: 1})
	err, traced := write(d, districtsRange(record.OpAdd, 0, 5, 0)...)
	require.Equal(t, 1, traced)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.True(t, connector.RateLimited(err), "counted as the API's rate limiting")
	require.ErrorContains(t, err, "salesforce: upsert Account: HTTP 403: REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.: the org's daily API request allocation is used up")
	require.ErrorContains(t, err, "the rows are sent again on the next run")

	before := len(tb.sim.Log().Requests())
	err, traced = write(d, districtsRange(record.OpAdd, 5, 10, 0)...)
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, "salesforce: not sent: upsert Account: HTTP 403")
	require.Zero(t, traced)
	require.Len(t, tb.sim.Log().Requests(), before, "nothing more is sent")
}

// REQUEST_LIMIT_EXCEEDED for too many long-running requests at once
// ("ConcurrentPerOrgLongTxn Limit exceeded") is waited out and retried.
func TestConcurrentRequestLimitIsRetried(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{ConcurrentLongRequests: 1, LongRequestThreshold: time.Millisecond})
	tb.sim.SetFaults(simkit.Faults{Latency: 200 * time.Millisecond})
	d := tb.districts(t, connector.ModeUpsert, "collections", nil)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond) // the first is running long by then
			errs[i], _ = write(d, districtsRange(record.OpAdd, i*10, i*10+10, 0)...)
		})
	}
	wg.Wait()
	throttled := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		throttled++
		require.True(t, connector.RateLimited(err), "%v", err)
		require.False(t, connector.IsPermanent(err), "the engine retries it: %v", err)
		require.ErrorContains(t, err, "ConcurrentPerOrgLongTxn Limit exceeded")
	}
	require.Positive(t, throttled)
}

func TestRejectedTokenAndServerErrors(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.districts(t, connector.ModeUpsert, "collections", func(c *salesforce.Config) { c.AccessToken = "revoked" })
	err, _ := write(d, districtsRange(record.OpAdd, 0, 3, 0)...)
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, "salesforce: upsert Account: HTTP 401: INVALID_SESSION_ID: Session expired or invalid: check access_token")

	d = tb.districts(t, connector.ModeUpsert, "collections", nil)
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 1})
	err, _ = write(d, districtsRange(record.OpAdd, 0, 3, 0)...)
	require.Error(t, err)
	require.False(t, connector.IsPermanent(err) || connector.IsDivisible(err), "a 5xx is retried by the engine: %v", err)
	var be *connector.BatchError
	require.False(t, errors.As(err, &be))
	err, _ = write(d, districtsRange(record.OpAdd, 0, 3, 0)...)
	require.NoError(t, err)
	require.Len(t, tb.accounts(), 3)
}

// A job Salesforce fails as a whole (a header naming no field of the object)
// fails its batch permanently: every batch would fail the same way.
func TestFailedBulkJobFailsTheBatch(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	fields := []string{"District_Id__c", "Nickname__c"}
	d := tb.open(t, tb.config(nil), connector.SyncInfo{Name: "districts_to_salesforce", Mode: connector.ModeUpsert, KeyField: "District_Id__c", Fields: fields},
		salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "bulk"})
	err, _ := write(d, record.Change{Op: record.OpAdd, Key: "d-1", Fields: record.MakeFields(fields, []record.Value{"d-1", "Springy"})})
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "Failed: InvalidBatch : Field name not found : Nickname__c")
}
