package salesforce_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/salesforce"
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
	got := conformance.FailedRows(t, err)
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

// Rows that share an external ID are told apart by the rest of their cells,
// which the results echo; Salesforce fails both when one upsert carries a
// value twice.
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
	}, conformance.FailedRows(t, err))
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
	got := conformance.FailedRows(t, err)
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

// In an insert job on an External ID that is not unique, rows sharing a value
// get their own results: the results echo every uploaded cell, so the row
// Salesforce refused is not reported written in place of the one it wrote
// (which the next run would then create again).
func TestBulkResultsOfRowsSharingAKeyAreMatchedByTheirCells(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkResultsInOrder: true})
	fields := []string{"District_Id__c", "Name", "Legacy_Code__c"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeInsert, KeyColumn: "district_id", KeyField: "District_Id__c", Fields: fields}
	d := tb.open(t, tb.config(nil), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Legacy_Code__c", API: "bulk"})
	require.NoError(t, d.Check(context.Background()))
	tb.reject("bad", "Validation failed")
	row := func(id, name string) record.Change {
		return record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{id, name, "L-1"})}
	}
	err, _ := write(d, row("bad", "Refused"), row("good", "Written"), row("good-too", "Written"))
	require.Equal(t, map[int]string{0: "salesforce: create Account: FIELD_CUSTOM_VALIDATION_EXCEPTION: Validation failed"}, conformance.FailedRows(t, err))
	require.ElementsMatch(t, []string{"good", "good-too"}, keys(tb.accounts()))
	require.Len(t, tb.sim.Jobs(), 1)
}

// A Bulk job declares LF line endings, and Salesforce fails the whole job when
// a value holds a CR line break (a multi-line text from Windows): such rows go
// through sObject Collections, and the others in the job.
func TestValuesWithCarriageReturnsGoThroughCollections(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	fields := []string{"District_Id__c", "Name", "Notes__c"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "district_id", KeyField: "District_Id__c", Fields: fields}
	d := tb.open(t, tb.config(nil), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "bulk"})
	var changes []record.Change
	for i := range 50 {
		var note record.Value = "one line\nand another"
		switch i {
		case 7:
			note = "line one\r\nline two"
		case 9:
			note = record.JSON("{\r\n\"a\": 1}")
		}
		id := fmt.Sprintf("d-%d", i)
		changes = append(changes, record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{id, "N", note})})
	}
	err, _ := write(d, changes...)
	require.NoError(t, err)
	require.Len(t, tb.sim.Records("Account"), 50)
	notes := map[string]any{}
	for _, r := range tb.sim.Records("Account") {
		notes[r.Fields["District_Id__c"].(string)] = r.Fields["Notes__c"]
	}
	require.Equal(t, "line one\r\nline two", notes["d-7"])
	require.Equal(t, "one line\nand another", notes["d-8"])
	jobs := tb.sim.Jobs()
	require.Len(t, jobs, 1)
	require.Equal(t, int64(48), jobs[0].RecordsProcessed)
	require.Equal(t, "PATCH /composite/sobjects/Account/District_Id__c", tb.requestLines()[0], "the two rows went first, through sObject Collections")
}

// Marking the rows of a job that stopped early is linear: 20,000 rows, all but
// ten unprocessed, are recorded at once (quadratic, this took 14 s).
func TestManyFailedBulkRowsAreRecordedQuickly(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkBatchSize: 10, BulkDailyRecords: 10, BulkRecordsPerSecond: 1e7})
	d := tb.districts(t, connector.ModeUpsert, "bulk", func(c *salesforce.Config) { c.BulkBatchSize = 20_000 })
	start := time.Now()
	err, _ := write(d, districtsRange(record.OpAdd, 0, 20_000, 0)...)
	took := time.Since(start)
	require.Len(t, conformance.FailedRows(t, err), 19_990)
	require.Less(t, took, 3*time.Second)
}

// Polls come at most an eighth of the previous job's time apart, but also up to
// an eighth of the job's own age: a job that runs long after a quick one backs
// off to the longest interval instead of being polled at the first poll's delay
// all along, each poll a request of the daily allocation.
func TestAJobPolledLongBacksOff(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkRecordsPerSecond: 1000})
	d := tb.districts(t, connector.ModeUpsert, "bulk", nil)
	d.SetTimings(time.Millisecond, 5*time.Millisecond, 100*time.Millisecond)
	polls := func() int {
		n := 0
		for _, l := range tb.requestLines() {
			if strings.HasPrefix(l, "GET /jobs/ingest/") && strings.Count(l, "/") == 3 {
				n++
			}
		}
		return n
	}
	err, _ := write(d, districtsRange(record.OpAdd, 0, 1, 0)...) // a quick job
	require.NoError(t, err)
	before := polls()
	err, _ = write(d, districtsRange(record.OpAdd, 1, 1001, 0)...) // a second of processing
	require.NoError(t, err)
	// Every 5 ms, that was about 200 polls; backing off, about 35.
	require.Less(t, polls()-before, 60)
}

// Once a job is closed Salesforce processes it: polls and results reads that
// fail for a while (5xx past max_attempts) are made again, and the batch is
// never returned for the engine to send again as a new job, which would create
// an insert's records twice.
func TestClosedJobIsReadUntilItsResultsCome(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	var failing atomic.Int32
	failing.Store(7)
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/jobs/ingest/") && failing.Add(-1) >= 0 {
			unavailable(w)
			return true
		}
		return false
	})
	cfg := tb.config(func(c *salesforce.Config) { c.InstanceURL = url; c.MaxAttempts = 2 })
	fields := []string{"Name", "Legacy_Code__c"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeInsert, KeyColumn: "code", KeyField: "Legacy_Code__c", Fields: fields}
	d := tb.open(t, cfg, info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Legacy_Code__c", API: "bulk"})
	var changes []record.Change
	for _, id := range []string{"a", "b", "c"} {
		changes = append(changes, record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{"N " + id, "L-" + id})})
	}
	err, _ := write(d, changes...)
	require.NoError(t, err)
	require.Negative(t, failing.Load(), "every failure was met")
	require.Len(t, tb.sim.Records("Account"), 3)
	require.Len(t, tb.sim.Jobs(), 1)
}

// A close whose answer was lost may have closed the job: the polls tell. A job
// still Open is aborted and the batch returned for the engine to retry, since
// nothing of it was processed; a closed one is awaited like any other.
func TestAJobWhoseCloseFailedIsAwaitedIfClosed(t *testing.T) {
	t.Parallel()
	for _, closes := range []bool{true, false} {
		t.Run(fmt.Sprintf("closed %v", closes), func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{})
			url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPatch || !strings.Contains(r.URL.Path, "/jobs/ingest/") {
					return false
				}
				body, _ := io.ReadAll(r.Body)
				if !strings.Contains(string(body), "UploadComplete") {
					r.Body = io.NopCloser(bytes.NewReader(body))
					return false
				}
				if closes {
					r.Body = io.NopCloser(bytes.NewReader(body))
					tb.sim.ServeHTTP(httptest.NewRecorder(), r) // the answer is lost
				}
				unavailable(w)
				return true
			})
			d := tb.districts(t, connector.ModeInsert, "bulk", func(c *salesforce.Config) { c.InstanceURL = url; c.MaxAttempts = 1 })
			err, _ := write(d, districtsRange(record.OpAdd, 0, 3, 0)...)
			jobs := tb.sim.Jobs()
			require.Len(t, jobs, 1)
			if closes {
				require.NoError(t, err)
				require.Len(t, tb.accounts(), 3)
				return
			}
			require.ErrorContains(t, err, "HTTP 503")
			require.False(t, connector.IsPermanent(err), "nothing was processed: the engine may send the batch again")
			require.Equal(t, sim.StateAborted, jobs[0].State)
			require.Empty(t, tb.accounts())
		})
	}
}

// When a closed job's outcome cannot be read (a results file refused, the daily
// allocation spent while polling), its rows fail, naming the job for the admin
// to check; the batch is not sent again as a new job.
func TestClosedJobWhoseResultsCannotBeReadFailsItsRowsNamingIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		handle func(tb *testBundle, w http.ResponseWriter, r *http.Request) bool
		reason string
	}{
		{"results refused", func(tb *testBundle, w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/successfulResults") {
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`))
				return true
			}
			return false
		}, "HTTP 404: NOT_FOUND"},
		{"daily allocation spent while polling", func(tb *testBundle, w http.ResponseWriter, r *http.Request) bool {
			if isPoll(r) {
				tb.useUp()
			}
			return false
		}, "REQUEST_LIMIT_EXCEEDED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{DailyRequests: 1000})
			url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool { return tc.handle(tb, w, r) })
			d := tb.districts(t, connector.ModeInsert, "bulk", func(c *salesforce.Config) { c.InstanceURL = url })
			err, _ := write(d, districtsRange(record.OpAdd, 0, 3, 0)...)
			got := conformance.FailedRows(t, err)
			require.Len(t, got, 3)
			jobs := tb.sim.Jobs()
			require.Len(t, jobs, 1)
			for _, msg := range got {
				require.Contains(t, msg, "salesforce: create Account: bulk job "+jobs[0].ID+" was closed, so Salesforce processes it, but its results could not be read (")
				require.Contains(t, msg, tc.reason)
				require.Contains(t, msg, "check in Setup > Bulk Data Load Jobs whether it created the record before the next run")
			}
		})
	}
}

// A job not done in time is aborted, and what Salesforce processed by then
// keeps its results: only the unprocessed rows fail.
func TestLateJobIsAbortedAndItsResultsRead(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkRecordsPerSecond: 100, BulkBatchSize: 5})
	d := tb.districts(t, connector.ModeUpsert, "bulk", nil)
	d.SetJobWait(100 * time.Millisecond)
	err, _ := write(d, districtsRange(record.OpAdd, 0, 40, 0)...)
	got := conformance.FailedRows(t, err)
	require.NotEmpty(t, got)
	require.Less(t, len(got), 40, "some rows were processed before the abort")
	require.Len(t, tb.accounts(), 40-len(got))
	job := tb.sim.Jobs()[0]
	require.Equal(t, sim.StateAborted, job.State)
	for _, msg := range got {
		require.Equal(t, "salesforce: upsert Account: not processed: bulk job "+job.ID+" ended Aborted (still InProgress after 100ms, so Sluice aborted it: Setup > Bulk Data Load Jobs shows what held it); the row is sent again on the next run", msg)
	}
}

// Inserts without an external ID are created through sObject Collections before
// the job: when the job then fails, their outcomes stand, and only the job's
// rows fail. Sending the batch again would create them twice.
func TestRowsSentAsideKeepTheirOutcomesWhenTheJobFails(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.rejectOn = "Name"
	tb.reject("Refused", "Names are checked")
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/jobs/ingest") {
			unavailable(w)
			return true
		}
		return false
	})
	fields := []string{"Name", "Legacy_Code__c"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeInsert, KeyColumn: "code", KeyField: "Legacy_Code__c", Fields: fields}
	d := tb.open(t, tb.config(func(c *salesforce.Config) { c.InstanceURL = url }), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Legacy_Code__c", API: "bulk"})
	err, _ := write(d,
		record.Change{Op: record.OpAdd, Key: "k-1", Fields: record.MakeFields(fields, []record.Value{"Kept", nil})},
		record.Change{Op: record.OpAdd, Key: "k-2", Fields: record.MakeFields(fields, []record.Value{"Refused", nil})},
		record.Change{Op: record.OpAdd, Key: "a", Fields: record.MakeFields(fields, []record.Value{"Keyed", "L-a"})},
	)
	got := conformance.FailedRows(t, err)
	require.Equal(t, "salesforce: create Account: FIELD_CUSTOM_VALIDATION_EXCEPTION: Names are checked", got[1])
	require.Contains(t, got[2], "HTTP 503")
	require.NotContains(t, got, 0, "created")
	require.Len(t, tb.sim.Records("Account"), 1)
}

// A run writing with Bulk keeps the last requests of the org's daily allocation
// for the jobs it closed: their polls and results tell their rows' outcomes.
func TestBulkRunKeepsRequestsForClosedJobs(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{DailyRequests: 200})
	tb.spend(t, 120) // other integrations of the org
	d := tb.districts(t, connector.ModeUpsert, "bulk", nil)
	err, _ := write(d, districtsRange(record.OpAdd, 0, 5, 0)...)
	require.NoError(t, err)
	err, traced := write(d, districtsRange(record.OpAdd, 5, 10, 0)...)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "requests of the org's daily API allocation are left")
	require.ErrorContains(t, err, "a run writing with Bulk API 2.0 keeps 100 for polling the jobs it closed and reading their results; the rows are sent again on the next run")
	require.Zero(t, traced)
	require.Len(t, tb.sim.Jobs(), 1)
}

// The reserve is kept for jobs: a batch of a Bulk run that creates none (rows
// sent through sObject Collections, here for a carriage return) is written with
// fewer requests left, while a batch that would create a job is still refused.
func TestTheReserveHoldsBackJobsOnly(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{DailyRequests: 200})
	tb.spend(t, 100)
	fields := []string{"District_Id__c", "Name", "Notes__c"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "district_id", KeyField: "District_Id__c", Fields: fields}
	d := tb.open(t, tb.config(nil), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "bulk"})
	row := func(id, notes string) record.Change {
		return record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{id, "N", notes})}
	}
	err, _ := write(d, row("d-1", "a\r\nb")) // learns the org's usage: 101 used, 99 left
	require.NoError(t, err)
	err, _ = write(d, row("d-2", "a\r\nb"))
	require.NoError(t, err, "one sObject Collections request, no job to keep requests for")
	err, traced := write(d, row("d-3", "plain"))
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "a run writing with Bulk API 2.0 keeps 100 for polling the jobs it closed")
	require.Zero(t, traced)
	require.Empty(t, tb.sim.Jobs())
	require.ElementsMatch(t, []string{"d-1", "d-2"}, keys(tb.accounts()))
}

// Polls and results reads that keep failing hold a batch for the job wait in
// all, counted from the close (not the polls' wait and then the reads' again).
// A job whose state could not be read is not aborted: it may have finished.
// Its rows fail naming it.
func TestFailingReadsHoldABatchNoLongerThanTheJobWait(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkRecordsPerSecond: 1}) // still in progress at the deadline
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/jobs/ingest/") {
			unavailable(w)
			return true
		}
		return false
	})
	d := tb.districts(t, connector.ModeUpsert, "bulk", func(c *salesforce.Config) { c.InstanceURL = url; c.MaxAttempts = 1 })
	const wait = 400 * time.Millisecond
	d.SetJobWait(wait)
	start := time.Now()
	err, _ := write(d, districtsRange(record.OpAdd, 0, 3, 0)...)
	took := time.Since(start)
	got := conformance.FailedRows(t, err)
	require.Len(t, got, 3)
	require.Less(t, took, wait*3/2)
	job := tb.sim.Jobs()[0]
	require.NotEqual(t, sim.StateAborted, job.State, "not aborted while its state was unknown")
	for _, msg := range got {
		require.Contains(t, msg, "salesforce: upsert Account: bulk job "+job.ID+" was closed, so Salesforce processes it, but its results could not be read (")
		require.Contains(t, msg, "HTTP 503")
	}
}

// A cancelled run does not keep polling: the closed job's rows fail at once,
// naming the job.
func TestACancelledRunStopsPollingItsJob(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkRecordsPerSecond: 1})
	d := tb.districts(t, connector.ModeUpsert, "bulk", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	b := connector.NewBatch("districts_to_salesforce", "run-1", "batch-1", districtsRange(record.OpAdd, 0, 50, 0), func(connector.Exchange) {})
	start := time.Now()
	err := d.Write(ctx, b)
	require.Less(t, time.Since(start), 2*time.Second)
	got := conformance.FailedRows(t, err)
	require.Len(t, got, 50)
	require.Contains(t, got[0], "bulk job "+tb.sim.Jobs()[0].ID+" was closed, so Salesforce processes it, but the run was cancelled before its results were read")
}

// When rows share a key, a result whose cells match none of them is given to
// none: in turn, it would go to the first row waiting (here the one Salesforce
// refused, reported written). The rows of that key it leaves without a result
// fail, their outcome unknown; the others keep theirs.
func TestABulkResultMatchingNoRowSharingItsKeyIsGivenToNone(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{BulkResultsInOrder: true})
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/successfulResults") {
			return false
		}
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		w.WriteHeader(rec.Code)
		// A cell echoed otherwise than it was sent.
		w.Write(bytes.Replace(rec.Body.Bytes(), []byte("Kept"), []byte("Kept twice"), 1))
		return true
	})
	fields := []string{"District_Id__c", "Name", "Legacy_Code__c"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeInsert, KeyColumn: "district_id", KeyField: "District_Id__c", Fields: fields}
	d := tb.open(t, tb.config(func(c *salesforce.Config) { c.InstanceURL = url }), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Legacy_Code__c", API: "bulk"})
	tb.reject("bad", "Validation failed")
	row := func(id, name string) record.Change {
		return record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{id, name, "L-1"})}
	}
	err, _ := write(d, row("bad", "Refused"), row("good", "Kept"), row("good-too", "Written"))
	job := tb.sim.Jobs()[0]
	require.Equal(t, map[int]string{
		0: "salesforce: create Account: FIELD_CUSTOM_VALIDATION_EXCEPTION: Validation failed",
		1: "salesforce: create Account: bulk job " + job.ID + ` returned a result for Legacy_Code__c "L-1" whose other cells match none of the rows sent with that value, so which of them it belongs to, and this row's outcome, is unknown: check in Setup > Bulk Data Load Jobs whether the job created its record before the next run, which sends the row again and would create it twice`,
	}, conformance.FailedRows(t, err))
	require.ElementsMatch(t, []string{"good", "good-too"}, keys(tb.accounts()))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
