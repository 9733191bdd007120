package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// A batch written with Bulk API 2.0 is one ingest job: create it, upload the
// CSV, close it (UploadComplete), poll its state with a growing interval until
// it is processed, then read successfulResults, failedResults and
// unprocessedrecords and match each result row to its batch row.
//
// Once a job is closed Salesforce processes it, whatever becomes of the run: its
// rows must not be sent again in a new job (an insert would create its records
// twice, a unique external ID would then fail with DUPLICATE_VALUE). So after
// closing, nothing fails the batch for the engine to retry: the job is polled
// until it is done, its results are read even when it was aborted, and a row
// whose result cannot be read fails with the job's id, for the next run.
//
// Polls and results reads share one deadline, maxJobWait after the close: a
// batch waits on its job no longer than that (and the requests under way).
var (
	pollFirst  = 250 * time.Millisecond // the first poll's delay, doubled up to pollMax
	pollMax    = 5 * time.Second
	maxJobWait = 30 * time.Minute // a job seen not done by then is aborted; its unprocessed rows fail
)

// jobReserve is how many requests of the org's daily allocation a run writing
// with Bulk API 2.0 keeps for the jobs it closed: with fewer left it creates no
// job, so that those jobs can still be polled and their results read.
const jobReserve = 100

// Bulk API 2.0 job states.
const (
	stateOpen           = "Open"
	stateUploadComplete = "UploadComplete"
	stateJobComplete    = "JobComplete"
	stateFailed         = "Failed"
	stateAborted        = "Aborted"
)

// jobInfo is what the destination reads of a job.
type jobInfo struct {
	ID                     string `json:"id"`
	State                  string `json:"state"`
	ErrorMessage           string `json:"errorMessage"`
	NumberRecordsProcessed int64  `json:"numberRecordsProcessed"`
	NumberRecordsFailed    int64  `json:"numberRecordsFailed"`
}

// ended reports whether the job is done: nothing more of it will be processed.
func (j *jobInfo) ended() bool {
	switch j.State {
	case stateJobComplete, stateFailed, stateAborted:
		return true
	}
	return false
}

// bulkWrite writes ops as one Bulk API 2.0 ingest job and records each row's
// outcome in t. Some rows go through sObject Collections instead (see aside).
func (d *Destination) bulkWrite(ctx context.Context, b *connector.Batch, op operation, ops []recordOp, t *tally) error {
	var keyed, aside []recordOp
	for j := range ops {
		if d.aside(b, op, &ops[j]) {
			if aside == nil {
				keyed = append(make([]recordOp, 0, len(ops)), ops[:j]...)
			}
			aside = append(aside, ops[j])
		} else if aside != nil {
			keyed = append(keyed, ops[j])
		}
	}
	if aside == nil {
		return d.runJob(ctx, b, op, ops, t)
	}
	if err := d.collectionsWrite(ctx, b, op, aside, t); err != nil {
		return err // nothing written yet: the engine may retry or split the batch
	}
	if len(keyed) == 0 {
		return nil
	}
	if err := d.runJob(ctx, b, op, keyed, t); err != nil {
		// The rows sent aside have their outcomes: sending the batch again would
		// write them again (create them twice, for an insert).
		t.failRows(keyed, err)
	}
	return nil
}

// aside tells the rows a job cannot carry, which go through sObject Collections:
// an insert without an external ID, since an insert's result is told apart by
// it; and a value holding a carriage return, since the job declares LF line
// endings and Salesforce fails the whole job on a CR line break (a Windows
// "\r\n" in a text value), quoted or not.
func (d *Destination) aside(b *connector.Batch, op operation, o *recordOp) bool {
	switch op {
	case opDelete:
		return false
	case opInsert:
		if o.ext == "" {
			return true
		}
	}
	for _, f := range d.fields {
		switch v := d.fieldValue(f, o, b).(type) {
		case string:
			if strings.IndexByte(v, '\r') >= 0 {
				return true
			}
		case record.JSON:
			if strings.IndexByte(string(v), '\r') >= 0 {
				return true
			}
		}
	}
	return false
}

// runJob writes ops as one job. It returns an error that fails the whole batch
// only while the job is not closed; after that it records every row's outcome.
func (d *Destination) runJob(ctx context.Context, b *connector.Batch, op operation, ops []recordOp, t *tally) error {
	body := d.bulkCSV(b, op, ops)
	if len(body) > bulkMaxBytes {
		return connector.Divisible(fmt.Errorf("salesforce: %s %s: the batch's CSV is %d MB, more than the %d MB a Bulk API 2.0 upload takes: lower bulk_batch_size",
			op.action(), d.object, len(body)>>20, bulkMaxBytes>>20))
	}
	if err := d.keepReserve(); err != nil {
		return err
	}
	b.Count("bulk_jobs", 1)
	job, err := d.createJob(ctx, b, op)
	if err != nil {
		return err
	}
	log := d.log.With(logJob, job, logAPI, "bulk")
	if err := d.uploadJob(ctx, b, op, job, body); err != nil {
		d.abortJob(b, op, job)
		return err
	}
	closed := time.Now()
	// A close that failed may have closed the job all the same (the answer was
	// lost): the polls tell, since a job still Open processes nothing.
	closeErr := d.setJobState(ctx, b, op, job, stateUploadComplete)
	info, err := d.awaitJob(ctx, b, op, job, closed)
	switch {
	case errors.Is(err, errNotClosed):
		d.abortJob(b, op, job)
		if closeErr == nil {
			closeErr = fmt.Errorf("salesforce: %s %s: bulk job %s was still Open after Salesforce accepted to close it", op.action(), d.object, job)
		}
		return closeErr
	case err != nil:
		if closeErr != nil {
			d.abortJob(b, op, job) // whether it was closed is unknown: an Open job would linger a day
		}
		t.failRows(ops, d.closedJobError(op, job, err))
		return nil
	}
	log.Debug("bulk job done", "state", info.State, "processed", info.NumberRecordsProcessed, "failed", info.NumberRecordsFailed)
	return d.jobOutcome(ctx, b, op, ops, info, closed.Add(d.jobWait), t)
}

// closedJobError is the failure of a closed job's rows whose results could not
// be read, because of err.
func (d *Destination) closedJobError(op operation, job string, err error) error {
	why := "its results could not be read (" + strings.TrimPrefix(err.Error(), "salesforce: ") + ")"
	if ctxErr(err) {
		why = "the run was cancelled before its results were read"
	}
	check := "Setup > Bulk Data Load Jobs shows what it wrote; the row is sent again on the next run"
	if op == opInsert {
		check = "check in Setup > Bulk Data Load Jobs whether it created the record before the next run, which sends the row again and would create it twice"
	}
	return connector.Permanent(fmt.Errorf("salesforce: %s %s: bulk job %s was closed, so Salesforce processes it, but %s: %s",
		op.action(), d.object, job, why, check))
}

// keepReserve refuses to create a job when fewer than jobReserve requests of the
// day are left, by the org's last count: they are kept for the jobs already
// closed, whose rows' outcomes are unknown until their results are read. It is
// checked where a job is about to be created, not for the whole batch: rows
// that go through sObject Collections (a run's small batches, the rows set
// aside) cost a request or two each and close no job, so they may spend into
// the reserve.
func (d *Destination) keepReserve() error {
	s := d.usage.Load()
	if s == nil || !d.bulk.Load() {
		return nil
	}
	limit := s.Max
	if l := d.client.Budget.Limits().Daily; l > 0 && l < limit {
		limit = l
	}
	used := s.Max - s.Remaining
	if left := limit - used; left < jobReserve {
		return connector.Permanent(connector.Throttled(fmt.Errorf("salesforce: not sent: %d requests of the org's daily API allocation are left (%d of %d used in the last 24 hours), and a run writing with Bulk API 2.0 keeps %d for polling the jobs it closed and reading their results; the rows are sent again on the next run (lower other integrations' use, or set edition and licenses to match the org)",
			max(0, left), used, limit, jobReserve), 0))
	}
	return nil
}

// bulkCSV is the job's upload: a header of the fields' API names, then one line
// per record (LF line endings). Updates and deletes carry the record Id first.
func (d *Destination) bulkCSV(b *connector.Batch, op operation, ops []recordOp) []byte {
	body := make([]byte, 0, d.csvHint.Load()*5/4+256)
	switch op {
	case opDelete:
		body = append(body, idField...)
	case opUpdate:
		body = append(body, idField...)
		for _, f := range d.fields {
			body = append(body, ',')
			body = append(body, f.name...)
		}
	default:
		for j, f := range d.fields {
			if j > 0 {
				body = append(body, ',')
			}
			body = append(body, f.name...)
		}
	}
	body = append(body, '\n')
	var scratch []byte
	for j := range ops {
		o := &ops[j]
		switch op {
		case opDelete:
			body = append(body, o.id...)
		case opUpdate:
			body = append(body, o.id...)
			for _, f := range d.fields {
				body = append(body, ',')
				body = appendCSVValue(body, d.fieldValue(f, o, b), &scratch)
			}
		default:
			for k, f := range d.fields {
				if k > 0 {
					body = append(body, ',')
				}
				body = appendCSVValue(body, d.fieldValue(f, o, b), &scratch)
			}
		}
		body = append(body, '\n')
	}
	d.csvHint.Store(int64(len(body)))
	return body
}

// csvHeader is the columns of the job's upload, as bulkCSV writes them.
func (d *Destination) csvHeader(op operation) []string {
	var out []string
	if op == opUpdate || op == opDelete {
		out = append(out, idField)
	}
	if op != opDelete {
		for _, f := range d.fields {
			out = append(out, f.name)
		}
	}
	return out
}

// csvCells is a record's line of the job's upload, a cell per csvHeader column,
// as Salesforce reads the line (and its results echo it).
func (d *Destination) csvCells(b *connector.Batch, op operation, o *recordOp) []string {
	var out []string
	if op == opUpdate || op == opDelete {
		out = append(out, o.id)
	}
	if op != opDelete {
		for _, f := range d.fields {
			out = append(out, csvCell(d.fieldValue(f, o, b)))
		}
	}
	return out
}

func (d *Destination) jobsPath(job string, rest ...string) string {
	p := d.dataAPI + "/jobs/ingest"
	if job != "" {
		p += "/" + url.PathEscape(job)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// createJob opens an ingest job for op and returns its id.
func (d *Destination) createJob(ctx context.Context, b *connector.Batch, op operation) (string, error) {
	body := []byte(`{"object":`)
	body = record.AppendJSONString(body, d.object)
	body = append(body, `,"operation":"`...)
	body = append(body, op...)
	body = append(body, '"')
	if op == opUpsert {
		body = append(body, `,"externalIdFieldName":`...)
		body = record.AppendJSONString(body, d.extID)
	}
	body = append(body, `,"contentType":"CSV","columnDelimiter":"COMMA","lineEnding":"LF"}`...)
	resp, err := d.client.Do(ctx, b, saas.Request{Method: http.MethodPost, Path: d.jobsPath(""), Body: body, ContentType: "application/json"})
	if err != nil {
		return "", d.requestError("create a bulk job to "+op.action(), err)
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		return "", d.jobFailure("create a bulk job to "+op.action(), resp)
	}
	var info jobInfo
	if err := json.Unmarshal(resp.Body, &info); err != nil || info.ID == "" {
		return "", connector.Permanent(fmt.Errorf("salesforce: create a bulk job to %s %s: the answer has no job id: %s", op.action(), d.object, saas.Snippet(resp.Body)))
	}
	return info.ID, nil
}

// uploadJob uploads the job's CSV.
func (d *Destination) uploadJob(ctx context.Context, b *connector.Batch, op operation, job string, body []byte) error {
	resp, err := d.client.Do(ctx, b, saas.Request{Method: http.MethodPut, Path: d.jobsPath(job, "batches"), Body: body, ContentType: "text/csv"})
	if err != nil {
		return d.requestError("upload bulk job "+job+" to "+op.action(), err)
	}
	if resp.Status < 200 || resp.Status >= 300 {
		return d.jobFailure("upload bulk job "+job+" to "+op.action(), resp)
	}
	return nil
}

// setJobState closes (UploadComplete) or aborts a job.
func (d *Destination) setJobState(ctx context.Context, b *connector.Batch, op operation, job, state string) error {
	body := append([]byte(`{"state":"`), state...)
	body = append(body, `"}`...)
	resp, err := d.client.Do(ctx, b, saas.Request{Method: http.MethodPatch, Path: d.jobsPath(job), Body: body, ContentType: "application/json"})
	action := fmt.Sprintf("set bulk job %s to %s, to %s", job, state, op.action())
	if err != nil {
		return d.requestError(action, err)
	}
	if resp.Status < 200 || resp.Status >= 300 {
		return d.jobFailure(action, resp)
	}
	return nil
}

// abortJob aborts a job: one not closed processes nothing, one in progress
// stops, keeping what it processed. It is best effort (a job left open expires
// after a day).
func (d *Destination) abortJob(b *connector.Batch, op operation, job string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.setJobState(ctx, b, op, job, stateAborted); err != nil {
		d.log.Warn("could not abort a bulk job", logJob, job, logError, err)
	}
}

// awaitJob polls a closed job until it is processed (JobComplete), failed or
// aborted: 250 ms after closing it, then twice as long each time up to a limit
// (see pollLimit). Each poll is a request of the daily allocation. A poll that
// fails for a while (no answer, 5xx) does not end the wait: the job is processed
// anyway. A job seen still not done jobWait after its close is aborted, and what
// it processed by then is read like any job's results. One whose state could not
// be read by then is not: it may have finished, and aborting it would not tell
// what it wrote; the poll's error is returned, which fails its rows naming it.
func (d *Destination) awaitJob(ctx context.Context, b *connector.Batch, op operation, job string, closed time.Time) (*jobInfo, error) {
	wait := d.pollFirst
	deadline := closed.Add(d.jobWait)
	span := time.Duration(d.jobSpan.Load())
	for {
		// The last poll comes at the deadline, not up to pollMax after it.
		if err := saas.Sleep(ctx, min(wait, max(0, time.Until(deadline)))); err != nil {
			return nil, err
		}
		b.Count("bulk_polls", 1)
		info, err := d.readJob(ctx, b, op, job)
		late := time.Now().After(deadline)
		switch {
		case err == nil && info.ended():
			d.jobSpan.Store(int64(time.Since(closed)))
			return info, nil
		case err == nil && info.State == stateOpen:
			return nil, errNotClosed
		case err == nil && late:
			return d.abortLate(ctx, b, op, job, info.State), nil
		case err == nil:
		case connector.IsPermanent(err) || ctxErr(err) || late:
			return nil, err
		default:
			d.log.Warn("could not read a bulk job's state: polling it again", logJob, job, logError, err)
		}
		wait = min(wait*2, pollLimit(d.pollFirst, d.pollMax, span, time.Since(closed)))
	}
}

// errNotClosed is awaitJob's report of a job still Open: its close failed.
var errNotClosed = errors.New("the bulk job is not closed")

// abortLate aborts a job seen still not done (in state) after jobWait and returns
// its state after that: Salesforce keeps what it processed, and the rest is
// unprocessed.
func (d *Destination) abortLate(ctx context.Context, b *connector.Batch, op operation, job, state string) *jobInfo {
	d.abortJob(b, op, job)
	info, err := d.readJob(ctx, b, op, job)
	if err != nil {
		// The state after the abort is unknown: the results say what was
		// processed so far, and the other rows fail without being taken as
		// unprocessed.
		info = &jobInfo{State: state}
	}
	info.ID = job
	if info.State == stateAborted {
		info.ErrorMessage = fmt.Sprintf("still %s after %s, so Sluice aborted it: Setup > Bulk Data Load Jobs shows what held it", state, d.jobWait)
	}
	return info
}

// readJob reads a job's state (retrying a failure worth retrying max_attempts times).
func (d *Destination) readJob(ctx context.Context, b *connector.Batch, op operation, job string) (*jobInfo, error) {
	resp, err := d.fetch(ctx, b, d.jobsPath(job), fmt.Sprintf("read bulk job %s to %s", job, op.action()))
	if err != nil {
		return nil, err
	}
	var info jobInfo
	if err := json.Unmarshal(resp.Body, &info); err != nil {
		return nil, connector.Permanent(fmt.Errorf("salesforce: read bulk job %s: cannot read Salesforce's answer (%v): %s", job, err, saas.Snippet(resp.Body)))
	}
	info.ID = job
	return &info, nil
}

// pollLimit is the longest wait between a job's polls: an eighth of the longer
// of the previous job's time from closing to processed (span) and this job's
// time since closing (age), between first and last. A job is then seen done
// soon after it is, in about as long as the run's jobs take, while a job that
// takes long is polled less and less often, up to last. Before a job of the
// run is processed (span 0), it is last: polls just double.
func pollLimit(first, last, span, age time.Duration) time.Duration {
	if span <= 0 {
		return last
	}
	return max(first, min(last, max(span, age)/8))
}

// fetch reads path for a batch, retrying what is worth retrying (5xx, no
// answer, concurrent-request limits) up to max_attempts, and returns a 200's answer.
func (d *Destination) fetch(ctx context.Context, b *connector.Batch, path, action string) (*saas.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := d.client.Do(ctx, b, saas.Request{Method: http.MethodGet, Path: path})
		switch {
		case err != nil:
			err = d.requestError(action, err)
		case resp.Status == http.StatusOK:
			return resp, nil
		default:
			err = d.jobFailure(action, resp)
		}
		if connector.IsPermanent(err) || ctx.Err() != nil || attempt >= d.limits.Attempts {
			return nil, err
		}
		wait := d.pollFirst << min(attempt-1, 6)
		if delay, ok := connector.RetryDelay(err); ok && delay > 0 {
			wait = delay
		}
		if err := saas.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// fetchPatiently is fetch for what a closed job's rows depend on: a failure
// worth retrying is retried, with pauses growing to pollMax, until until (at
// least one fetch is made, however late).
func (d *Destination) fetchPatiently(ctx context.Context, b *connector.Batch, path, action string, until time.Time) (*saas.Response, error) {
	wait := d.pollFirst
	for {
		resp, err := d.fetch(ctx, b, path, action)
		if err == nil || connector.IsPermanent(err) || ctxErr(err) || time.Now().After(until) {
			return resp, err
		}
		d.log.Warn("could not read a bulk job's results: reading them again", logError, err)
		if err := saas.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*2, d.pollMax)
	}
}

// jobFailure turns a refused Bulk API request into the engine's terms. A job's
// requests refer to the whole batch, so a 400 is permanent for it (an invalid
// header, an operation the object does not allow): halving would not help.
func (d *Destination) jobFailure(action string, resp *saas.Response) error {
	err := d.failure(action, resp)
	if connector.IsDivisible(err) {
		errs := parseErrors(resp.Body)
		return connector.Permanent(fmt.Errorf("salesforce: %s %s: HTTP %d: %s", action, d.object, resp.Status, describeAll(errs, resp.Body)))
	}
	return err
}

// jobOutcome reads a processed job's results and records every row's fate.
// Reads that fail are made again until until, the deadline the polls had: a
// batch waits on its job jobWait in all.
func (d *Destination) jobOutcome(ctx context.Context, b *connector.Batch, op operation, ops []recordOp, info *jobInfo, until time.Time, t *tally) error {
	m := d.newResultMatcher(b, op, ops)
	what := fmt.Sprintf("salesforce: %s %s", op.action(), d.object)
	read := func(kind string) error {
		resp, err := d.fetchPatiently(ctx, b, d.jobsPath(info.ID, kind), fmt.Sprintf("read the %s of bulk job %s", kind, info.ID), until)
		if err != nil {
			return err
		}
		return m.read(kind, resp.Body)
	}
	err := read("successfulResults")
	if err == nil && (info.NumberRecordsFailed > 0 || m.open() > 0) {
		err = read("failedResults")
	}
	if err == nil && m.open() > 0 && info.ended() {
		// A job still running (an abort that did not take) has no unprocessed
		// records yet: its rows may still be written.
		err = read("unprocessedrecords")
	}
	if err == nil && m.processed == 0 && info.State != stateJobComplete && info.ended() {
		// Nothing was written: the job failed as a whole (an invalid header, an
		// object or operation refused). Every batch would fail the same way.
		return connector.Permanent(fmt.Errorf("%s: bulk job %s %s: %s", what, info.ID, info.State, jobError(info)))
	}
	// Salesforce wrote or refused rows of the job: the batch must not be sent
	// again (see settle), whatever becomes of the rest.
	t.answered = t.answered || m.processed > 0
	var unknown error
	if err != nil {
		unknown = d.closedJobError(op, info.ID, err)
	}
	var locked []recordOp
	for j, o := range ops {
		switch r := m.fates[j]; {
		case r.state == fateSucceeded:
		case r.state == fateFailed && op == opDelete && isGoneCode(r.code):
		case r.state == fateFailed && r.code == codeLocked:
			locked = append(locked, o)
		case r.state == fateFailed:
			t.fail(o.row, fmt.Errorf("%s: %s", what, r.message))
		case r.state == fateUnprocessed:
			t.fail(o.row, fmt.Errorf("%s: not processed: bulk job %s ended %s (%s); the row is sent again on the next run", what, info.ID, info.State, jobError(info)))
		case unknown != nil:
			t.fail(o.row, unknown)
		case m.astray[m.key(m.sent(&o))] > 0:
			check := "the row is sent again on the next run"
			if op == opInsert {
				check = "check in Setup > Bulk Data Load Jobs whether the job created its record before the next run, which sends the row again and would create it twice"
			}
			t.fail(o.row, fmt.Errorf("%s: bulk job %s returned a result for %s %q whose other cells match none of the rows sent with that value, so which of them it belongs to, and this row's outcome, is unknown: %s",
				what, info.ID, m.keyCol, m.sent(&o), check))
		case !info.ended():
			t.fail(o.row, d.closedJobError(op, info.ID, fmt.Errorf("it was still %s after %s, and Sluice asked to abort it", info.State, d.jobWait)))
		default:
			t.fail(o.row, fmt.Errorf("%s: bulk job %s (%s) returned no result for this row; the row is sent again on the next run", what, info.ID, info.State))
		}
	}
	if m.unmatched > 0 {
		d.log.Warn("bulk results name rows the job was not sent", logJob, info.ID, "rows", m.unmatched)
	}
	if len(m.astray) > 0 {
		d.log.Warn("bulk results of rows sharing a key match none of those rows by their cells: the rows left without a result fail, their outcome unknown",
			logJob, info.ID, "results", m.strays)
	}
	if len(locked) > 0 {
		d.retryLocked(ctx, b, op, locked, t)
	}
	return nil
}

func jobError(info *jobInfo) string {
	if info.ErrorMessage == "" {
		return "Salesforce gave no reason"
	}
	return info.ErrorMessage
}

func isGoneCode(code string) bool {
	return code == codeDeleted || code == codeInvalidID || code == codeNotFound
}
