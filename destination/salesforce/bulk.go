package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// A batch written with Bulk API 2.0 is one ingest job: create it, upload the
// CSV, close it (UploadComplete), poll its state with a growing interval until
// it is processed, then read successfulResults, failedResults and
// unprocessedrecords and match each result row to its batch row.
var (
	pollFirst  = 250 * time.Millisecond // the first poll's delay, doubled up to pollMax
	pollMax    = 5 * time.Second
	maxJobWait = 30 * time.Minute // a job not done by then is aborted and its rows fail
)

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

// bulkWrite writes ops as one Bulk API 2.0 ingest job and records each row's
// outcome in be.
func (d *Destination) bulkWrite(ctx context.Context, b *connector.Batch, op operation, ops []recordOp, be *connector.BatchError) error {
	keyed, keyless := ops, []recordOp(nil)
	if op == opInsert {
		// An insert's result is told apart by its external ID: rows without one
		// are created through sObject Collections instead.
		keyed = keyed[:0:0]
		for _, o := range ops {
			if o.ext == "" {
				keyless = append(keyless, o)
			} else {
				keyed = append(keyed, o)
			}
		}
	}
	if len(keyless) > 0 {
		if err := d.collectionsWrite(ctx, b, op, keyless, be); err != nil {
			failRows(be, keyless, err)
		}
	}
	if len(keyed) == 0 {
		return nil
	}
	body := d.bulkCSV(b, op, keyed)
	if len(body) > bulkMaxBytes {
		return connector.Divisible(fmt.Errorf("salesforce: %s %s: the batch's CSV is %d MB, more than the %d MB a Bulk API 2.0 upload takes: lower bulk_batch_size",
			op.action(), d.object, len(body)>>20, bulkMaxBytes>>20))
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
	if err := d.setJobState(ctx, b, op, job, stateUploadComplete); err != nil {
		d.abortJob(b, op, job)
		return err
	}
	info, err := d.awaitJob(ctx, b, op, job)
	if err != nil {
		return err
	}
	log.Debug("bulk job done", "state", info.State, "processed", info.NumberRecordsProcessed, "failed", info.NumberRecordsFailed)
	return d.jobOutcome(ctx, b, op, keyed, info, be)
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

// abortJob aborts a job that will not be closed, so that nothing of it is
// processed; it is best effort (a job left open expires after a day).
func (d *Destination) abortJob(b *connector.Batch, op operation, job string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.setJobState(ctx, b, op, job, stateAborted); err != nil {
		d.log.Warn("could not abort a bulk job", logJob, job, logError, err)
	}
}

// awaitJob polls a closed job until it is processed (JobComplete), failed or
// aborted, 250 ms after closing it and then twice as long each time up to 5 s,
// or up to an eighth of the time the run's previous job took, when that is
// less: a job is then seen done soon after it is, instead of up to 5 s later,
// for a few more polls. Each poll is a request of the daily allocation.
func (d *Destination) awaitJob(ctx context.Context, b *connector.Batch, op operation, job string) (*jobInfo, error) {
	wait := d.pollFirst
	closed := time.Now()
	deadline := closed.Add(maxJobWait)
	most := pollLimit(d.pollFirst, d.pollMax, time.Duration(d.jobSpan.Load()))
	for {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			// The job is closed: Salesforce processes it anyway. Its rows are sent
			// again by the next run, which upserts and updates make harmless.
			return nil, ctx.Err()
		}
		b.Count("bulk_polls", 1)
		resp, err := d.fetch(ctx, b, d.jobsPath(job), fmt.Sprintf("read bulk job %s to %s", job, op.action()))
		if err != nil {
			return nil, err
		}
		var info jobInfo
		if err := json.Unmarshal(resp.Body, &info); err != nil {
			return nil, connector.Permanent(fmt.Errorf("salesforce: read bulk job %s: cannot read Salesforce's answer (%v): %s", job, err, saas.Snippet(resp.Body)))
		}
		switch info.State {
		case stateJobComplete, stateFailed, stateAborted:
			info.ID = job
			d.jobSpan.Store(int64(time.Since(closed)))
			return &info, nil
		}
		if time.Now().After(deadline) {
			d.abortJob(b, op, job)
			return nil, connector.Permanent(fmt.Errorf("salesforce: %s %s: bulk job %s was still %s after %s, so it was aborted; its rows are sent again on the next run (Setup > Bulk Data Load Jobs shows what held it)",
				op.action(), d.object, job, info.State, maxJobWait))
		}
		wait = min(wait*2, most)
	}
}

// pollLimit is the longest wait between a job's polls: last, or an eighth of
// the previous job's time from closing to processed (span, 0 when unknown) when
// that is less, but never less than first.
func pollLimit(first, last, span time.Duration) time.Duration {
	if span <= 0 {
		return last
	}
	return max(first, min(last, span/8))
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
		wait := 250 * time.Millisecond << min(attempt-1, 6)
		if delay, ok := connector.RetryDelay(err); ok && delay > 0 {
			wait = delay
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
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
func (d *Destination) jobOutcome(ctx context.Context, b *connector.Batch, op operation, ops []recordOp, info *jobInfo, be *connector.BatchError) error {
	m := d.newResultMatcher(op, ops)
	what := fmt.Sprintf("salesforce: %s %s", op.action(), d.object)
	read := func(kind string) error {
		resp, err := d.fetch(ctx, b, d.jobsPath(info.ID, kind), fmt.Sprintf("read the %s of bulk job %s", kind, info.ID))
		if err != nil {
			return err
		}
		return m.read(kind, resp.Body)
	}
	if err := read("successfulResults"); err != nil {
		return err
	}
	if info.NumberRecordsFailed > 0 || m.open() > 0 {
		if err := read("failedResults"); err != nil {
			return err
		}
	}
	if m.open() > 0 {
		if err := read("unprocessedrecords"); err != nil {
			return err
		}
	}
	if m.processed == 0 && info.State != stateJobComplete {
		// Nothing was written: the job failed as a whole (an invalid header, an
		// object or operation refused). Every batch would fail the same way.
		return connector.Permanent(fmt.Errorf("%s: bulk job %s %s: %s", what, info.ID, info.State, jobError(info)))
	}
	var locked []recordOp
	for j, o := range ops {
		switch r := m.fates[j]; {
		case r.state == fateSucceeded:
		case r.state == fateFailed && op == opDelete && isGoneCode(r.code):
		case r.state == fateFailed && r.code == codeLocked:
			locked = append(locked, o)
		case r.state == fateFailed:
			failRows(be, []recordOp{o}, fmt.Errorf("%s: %s", what, r.message))
		case r.state == fateUnprocessed:
			failRows(be, []recordOp{o}, fmt.Errorf("%s: not processed: bulk job %s ended %s (%s); the row is sent again on the next run", what, info.ID, info.State, jobError(info)))
		default:
			failRows(be, []recordOp{o}, fmt.Errorf("%s: bulk job %s (%s) returned no result for this row; the row is sent again on the next run", what, info.ID, info.State))
		}
	}
	if m.unmatched > 0 {
		d.log.Warn("bulk results name rows the job was not sent", logJob, info.ID, "rows", m.unmatched)
	}
	if len(locked) > 0 {
		d.retryLocked(ctx, b, op, locked, be)
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
