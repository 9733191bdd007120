package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// Record-lock handling: UNABLE_TO_LOCK_ROW means another transaction (often a
// parallel write to records sharing a parent account) held a lock for longer
// than Salesforce waits. Such records are sent again once within the Write,
// after a pause and in smaller requests one at a time, which is what Salesforce
// advises; those still locked fail, and the next run sends them again.
var (
	lockRetryPause = 2 * time.Second
	lockRetryBatch = 50
)

// collectionsWrite sends ops through sObject Collections, at most batch_size
// records a request, and records each record's outcome in t.
func (d *Destination) collectionsWrite(ctx context.Context, b *connector.Batch, op operation, ops []recordOp, t *tally) error {
	var locked []recordOp
	size := max(1, d.limits.BatchRecords)
	for start := 0; start < len(ops); start += size {
		chunk := ops[start:min(start+size, len(ops))]
		results, err := d.sendCollection(ctx, b, op, chunk)
		if err != nil {
			if start == 0 {
				return err // nothing written yet: the engine retries or splits the batch
			}
			t.failRows(ops[start:], err)
			break
		}
		locked = append(locked, d.applyResults(op, chunk, results, t)...)
	}
	if len(locked) > 0 {
		d.retryLocked(ctx, b, op, locked, t)
	}
	return nil
}

// applyResults records the outcome of each record of a request (results are in
// input order) and returns the records that met a lock.
func (d *Destination) applyResults(op operation, ops []recordOp, results []recordResult, t *tally) (locked []recordOp) {
	// Every record has an outcome from Salesforce now, a success as much as a
	// failure: the batch must not be sent again (see settle).
	t.answered = t.answered || len(results) > 0
	// A row may have several records (a delete of duplicates): it fails when any does.
	for j, o := range ops {
		res := results[j]
		switch {
		case res.Success:
		case op == opDelete && res.gone():
		case res.locked():
			locked = append(locked, o)
		default:
			t.fail(o.row, fmt.Errorf("salesforce: %s %s: %s", op.action(), d.object, res.describe()))
		}
	}
	return locked
}

// retryLocked sends records that met a lock once more, after a pause, in
// smaller requests one after another. Those that fail again fail their rows.
func (d *Destination) retryLocked(ctx context.Context, b *connector.Batch, op operation, locked []recordOp, t *tally) {
	b.Count("locked_records_retried", int64(len(locked)))
	d.log.Info("records were locked by another transaction: sending them again in smaller requests",
		logAPI, "collections", "records", len(locked), "pause", d.lockPause)
	pause := d.lockPause
	if pause > 0 {
		pause += rand.N(pause/2 + 1)
	}
	if err := saas.Sleep(ctx, pause); err != nil {
		t.failRows(locked, fmt.Errorf("salesforce: %s %s: %s: %s (not sent again: the run was cancelled)", op.action(), d.object, codeLocked, lockMessage))
		return
	}
	for start := 0; start < len(locked); start += lockRetryBatch {
		chunk := locked[start:min(start+lockRetryBatch, len(locked))]
		results, err := d.sendCollection(ctx, b, op, chunk)
		if err != nil {
			t.failRows(chunk, err)
			continue
		}
		for _, o := range d.applyResults(op, chunk, results, t) {
			t.fail(o.row, fmt.Errorf("salesforce: %s %s: %s: %s (locked again when sent a second time; the next run sends it again: if this persists, lower max_in_flight or write records of one parent together)",
				op.action(), d.object, codeLocked, lockMessage))
		}
	}
}

const lockMessage = "unable to obtain exclusive access to this record"

// sendCollection makes one sObject Collections request for ops and returns one
// result per record, in input order, or the error that failed the request.
func (d *Destination) sendCollection(ctx context.Context, b *connector.Batch, op operation, ops []recordOp) ([]recordResult, error) {
	req := saas.Request{ContentType: "application/json"}
	collections := d.dataAPI + "/composite/sobjects"
	switch op {
	case opDelete:
		ids := make([]string, len(ops))
		for i, o := range ops {
			ids[i] = o.id
		}
		req.Method, req.Path = http.MethodDelete, collections
		req.Query = url.Values{"ids": {strings.Join(ids, ",")}, "allOrNone": {"false"}}
		req.ContentType = ""
	case opInsert:
		req.Method, req.Path, req.Body = http.MethodPost, collections, d.collectionBody(b, op, ops)
	case opUpdate:
		req.Method, req.Path, req.Body = http.MethodPatch, collections, d.collectionBody(b, op, ops)
	case opUpsert:
		req.Method, req.Body = http.MethodPatch, d.collectionBody(b, op, ops)
		req.Path = collections + "/" + url.PathEscape(d.object) + "/" + url.PathEscape(d.extID)
	}
	resp, err := d.client.Do(ctx, b, req)
	if err != nil {
		return nil, d.requestError(op.action(), err)
	}
	if resp.Status < 200 || resp.Status >= 300 {
		return nil, d.failure(op.action(), resp)
	}
	var results []recordResult
	if err := json.Unmarshal(resp.Body, &results); err != nil {
		// A 2xx that cannot be read could hide failures; fail the rows rather than
		// report them written.
		return nil, connector.Permanent(fmt.Errorf("salesforce: %s %s: cannot read Salesforce's answer (%v): %s", op.action(), d.object, err, saas.Snippet(resp.Body)))
	}
	if len(results) != len(ops) {
		// Results come in input order, one per record: without that, no result
		// can be told apart. The halves of the batch will say which rows fail.
		return nil, connector.Divisible(fmt.Errorf("salesforce: %s %s: Salesforce's answer has %d results for %d records, so the results cannot be matched to the rows", op.action(), d.object, len(results), len(ops)))
	}
	return results, nil
}

// collectionBody is the JSON body of a create, update or upsert:
// {"allOrNone":false,"records":[{"attributes":{"type":"Account"},"Name":"x",…}]}.
// allOrNone false lets the other records be saved when some are refused.
func (d *Destination) collectionBody(b *connector.Batch, op operation, ops []recordOp) []byte {
	// The body is kept by the trace for the run log, so it is not pooled; the
	// last body's size is a good guess for this one's.
	body := make([]byte, 0, d.jsonHint.Load()*5/4+256)
	body = append(body, `{"allOrNone":false,"records":[`...)
	attributes := `{"attributes":{"type":` + string(record.AppendJSONString(nil, d.object)) + `}`
	var scratch []byte
	for j := range ops {
		o := &ops[j]
		if j > 0 {
			body = append(body, ',')
		}
		body = append(body, attributes...)
		if op == opUpdate {
			body = append(body, `,"id":`...)
			body = record.AppendJSONString(body, o.id)
		}
		for _, f := range d.fields {
			body = append(body, ',')
			body = append(body, f.quoted...)
			body = appendJSONValue(body, d.fieldValue(f, o, b), &scratch)
		}
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	d.jsonHint.Store(int64(len(body)))
	return body
}
