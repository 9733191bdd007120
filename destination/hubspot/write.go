package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// Write applies a batch: added and changed rows are created, updated or upserted
// in one request; removed rows (mirror) are looked up by id_property and archived.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) error {
	if err := d.dailySpent(); err != nil {
		return err
	}
	defer d.awaitLimits()()
	var writes, removes []int
	for i := range b.Changes {
		switch {
		case b.Changes[i].Op != record.OpRemove:
			writes = append(writes, i)
		case d.mode == connector.ModeMirror:
			removes = append(removes, i)
		}
		// Other modes never receive removals; one that came would be a no-op.
	}
	be := &connector.BatchError{}
	var writeErr, removeErr error
	if len(writes) > 0 {
		writeErr = d.writeRows(ctx, b, writes, be)
	}
	if len(removes) > 0 {
		removeErr = d.removeRows(ctx, b, removes, be)
	}
	if err := combine(be, writes, writeErr, removes, removeErr); err != nil {
		return err
	}
	if be.Len() > 0 {
		return be
	}
	return nil
}

// combine decides a batch's outcome when it held both writes and removals. A part
// refused permanently fails its own rows only; any other failure of a part is
// returned whole, so that the engine retries or splits the batch (both kinds of
// request are safe to repeat: upserts and archives are idempotent).
func combine(be *connector.BatchError, writes []int, writeErr error, removes []int, removeErr error) error {
	if writeErr == nil && removeErr == nil {
		return nil
	}
	if len(writes) == 0 || len(removes) == 0 {
		return errors.Join(writeErr, removeErr)
	}
	for _, part := range []struct {
		rows []int
		err  error
	}{{writes, writeErr}, {removes, removeErr}} {
		if part.err == nil {
			continue
		}
		if !connector.IsPermanent(part.err) || connector.IsDivisible(part.err) {
			return part.err
		}
	}
	for _, part := range []struct {
		rows []int
		err  error
	}{{writes, writeErr}, {removes, removeErr}} {
		if part.err != nil {
			for _, i := range part.rows {
				be.Fail(i, part.err)
			}
		}
	}
	return nil
}

// action names a mode's request for messages and paths.
func (d *Destination) action() string {
	switch d.mode {
	case connector.ModeInsert:
		return "create"
	case connector.ModeUpdate:
		return "update"
	}
	return "upsert"
}

// writeRows sends the added and changed rows at idx (indices into b.Changes) in
// one batch request, recording rows HubSpot refused in be. It returns an error
// when the whole request failed.
func (d *Destination) writeRows(ctx context.Context, b *connector.Batch, idx []int, be *connector.BatchError) error {
	action := d.action()
	// The body is kept by the trace for the run log, so it is not pooled; the
	// last body's size is a good guess for this one's.
	body := make([]byte, 0, d.sizeHint.Load()*5/4+256)
	body = append(body, `{"inputs":[`...)
	rows := newRowIndex(len(idx))
	var scratch []byte
	for _, i := range idx {
		ch := &b.Changes[i]
		values := ch.Fields.Values()
		var id string
		if d.idProperty != "" {
			id = d.idText(ch, values)
			if id == "" {
				be.Fail(i, fmt.Errorf("hubspot: %s %s: the row's %s is empty, so HubSpot cannot identify its record: fill it in the model", action, d.object, d.idProperty))
				continue
			}
		}
		if rows.len() > 0 {
			body = append(body, ',')
		}
		// A trace id of its own on every input makes HubSpot answer 207 naming
		// each record it refused, instead of refusing the whole batch for one.
		trace := rows.add(id, i)
		body = append(body, `{"objectWriteTraceId":"`...)
		body = append(body, trace...)
		body = append(body, '"')
		switch {
		case d.byRecordID:
			body = append(body, `,"id":`...)
			body = record.AppendJSONString(body, id)
		case d.idProperty != "":
			body = append(body, `,"idProperty":`...)
			body = record.AppendJSONString(body, d.idProperty)
			body = append(body, `,"id":`...)
			body = record.AppendJSONString(body, id)
		}
		body = append(body, `,"properties":{`...)
		for j, p := range d.props {
			if j > 0 {
				body = append(body, ',')
			}
			body = append(body, p.quoted...)
			body = appendValue(body, values[p.field], &scratch)
		}
		body = append(body, "}}"...)
	}
	body = append(body, "]}"...)
	if rows.len() == 0 {
		return nil
	}
	d.sizeHint.Store(int64(len(body)))
	resp, err := d.do(ctx, b, saas.Request{
		Method: http.MethodPost, Path: d.objectPath + "/batch/" + action,
		Body: body, ContentType: "application/json",
	})
	if err != nil {
		return d.requestError(action, err)
	}
	switch {
	case resp.Status == http.StatusNoContent:
		return nil
	case resp.Status >= 200 && resp.Status < 300:
		return d.multiStatus(action, resp.Status, resp.Body, rows, be)
	}
	return d.failure(action, resp, rows, be)
}

// do sends a request through the client of the account's current budget.
func (d *Destination) do(ctx context.Context, b *connector.Batch, r saas.Request) (*saas.Response, error) {
	resp, err := d.client.Load().Do(ctx, b, r)
	if err == nil && resp.Status < 300 && !d.knowsLimits.Load() {
		d.learn(nil, nil) // HubSpot answered without its rate-limit headers
	}
	return resp, err
}

// idText is the text of the row's id_property value, "" when it has none.
func (d *Destination) idText(ch *record.Change, values []record.Value) string {
	if d.idField < 0 {
		return ch.Key
	}
	return valueText(values[d.idField])
}

// requestError describes a request that got no answer.
func (d *Destination) requestError(action string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, saas.ErrDailyLimit) {
		return connector.Permanent(fmt.Errorf("hubspot: %s %s: %w", action, d.object, err))
	}
	return fmt.Errorf("hubspot: %s %s: %w", action, d.object, err)
}

// multiStatus reads a 2xx answer. Every input must be accounted for: written
// (a result echoes its objectWriteTraceId, or the results that echo none are as
// many as the inputs left) or refused (an error names it). Inputs the answer
// leaves unaccounted fail with HubSpot's message when the results show which
// they are; when they cannot, the batch is returned Divisible, and its halves
// name the rows at fault by failing alone.
func (d *Destination) multiStatus(action string, status int, body []byte, rows *rowIndex, be *connector.BatchError) error {
	r, err := parseBatchResponse(body)
	if err != nil {
		// A 2xx that cannot be read could hide failures; fail the rows rather than
		// report them written.
		return connector.Permanent(fmt.Errorf("hubspot: %s %s: cannot read HubSpot's answer (%v): %s", action, d.object, err, saas.Snippet(body)))
	}
	failed := map[int]bool{}
	var rowErrs []connector.RowError
	var unnamed []apiError
	var propertyProblem *apiError
	for _, e := range r.Errors {
		named := rows.match(e, d.idProperty)
		if len(named) == 0 {
			unnamed = append(unnamed, e)
			continue
		}
		if propertyProblem == nil && e.isPropertyProblem() {
			propertyProblem = &e
		}
		for _, i := range named {
			if !failed[i] {
				failed[i] = true
				rowErrs = append(rowErrs, connector.RowError{Index: i, Err: d.rowError(action, e)})
			}
		}
	}
	if propertyProblem != nil && len(failed) == rows.len() {
		// A mapped property HubSpot does not take fails every record: say so once,
		// as the whole batch's failure, so that a run stops instead of sending
		// every batch to fail the same way.
		return connector.Permanent(fmt.Errorf("hubspot: %s %s: %s: fix the sync's mappings or create the property in HubSpot", action, d.object, propertyProblem.describe()))
	}
	be.Rows = append(be.Rows, rowErrs...)

	written := map[int]bool{}
	anonymous := 0 // results that echo no trace id of this request
	for _, res := range r.Results {
		named := rows.byTrace(res.ObjectWriteTraceID)
		if len(named) == 0 {
			anonymous++
		}
		for _, i := range named {
			written[i] = true
		}
	}
	var open []int // inputs neither written nor refused by name
	for _, i := range rows.all() {
		if !failed[i] && !written[i] {
			open = append(open, i)
		}
	}
	switch {
	case len(open) == 0:
		if len(unnamed) > 0 {
			d.log.Warn("HubSpot's answer has an error naming no input, though every input has a result or an error of its own: taken as written",
				logAction, action, logError, unnamed[0].describe())
		}
		return nil
	case anonymous == 0:
		// Every result named its input, so the open inputs are exactly those
		// HubSpot did not write.
		reason := d.unaccounted(action, status, unnamed, len(r.Results), rows.len())
		for _, i := range open {
			be.Fail(i, reason)
		}
		return nil
	case anonymous == len(open) && len(unnamed) == 0:
		return nil // as many results as open inputs, and no other error: all written
	}
	what := fmt.Sprintf("HubSpot's answer does not say which inputs failed (%d results without objectWriteTraceId and %d errors naming no input, for the %d inputs left of %d)",
		anonymous, len(unnamed), len(open), rows.len())
	if len(unnamed) > 0 {
		what += ": " + describeAll(unnamed)
	}
	return connector.Divisible(fmt.Errorf("hubspot: %s %s: %s", action, d.object, what))
}

// unaccounted is the failure of an input HubSpot's answer neither wrote nor named.
func (d *Destination) unaccounted(action string, status int, unnamed []apiError, results, inputs int) error {
	if len(unnamed) == 0 {
		return fmt.Errorf("hubspot: %s %s: HubSpot's answer (HTTP %d) has no result and no error for this input (%d results for %d inputs): it was not written",
			action, d.object, status, results, inputs)
	}
	return fmt.Errorf("hubspot: %s %s: %s", action, d.object, describeAll(unnamed))
}

// describeAll is the distinct messages of errs, joined.
func describeAll(errs []apiError) string {
	var msgs []string
	for _, e := range errs {
		if m := e.describe(); !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, "; ")
}

// rowError is one record's failure as HubSpot described it.
func (d *Destination) rowError(action string, e apiError) error {
	return fmt.Errorf("hubspot: %s %s: %s", action, d.object, e.describe())
}

// failure turns a non-2xx answer to a batch request into the engine's terms.
func (d *Destination) failure(action string, resp *saas.Response, rows *rowIndex, be *connector.BatchError) error {
	e := parseError(resp.Body)
	what := fmt.Sprintf("hubspot: %s %s", action, d.object)
	msg := e.describeOr(resp.Body)
	switch {
	case isDaily(resp.Status, resp.Body):
		d.markDailySpent(resp.Retry)
		return connector.Permanent(connector.Throttled(fmt.Errorf("%s: HTTP 429: %s: the account's daily API limit is used up; it resets at midnight in the account's time zone, and the rows are sent again on the next run", what, msg), 0))
	case resp.Throttled:
		return fmt.Errorf("%s: %w", what, resp.Error(msg))
	case resp.Status == http.StatusUnauthorized:
		return connector.Permanent(fmt.Errorf("%s: HTTP 401: %s: check access_token: HubSpot does not accept it (a private app's token may have been rotated or the app removed)", what, msg))
	case resp.Status == http.StatusForbidden:
		return connector.Permanent(fmt.Errorf("%s: HTTP 403: %s: check access_token's scopes: the private app needs %s", what, msg, d.scopes()))
	case resp.Status == http.StatusNotFound && rows.len() > 0 && len(rows.match(e, d.idProperty)) == rows.len():
		// Every record named missing (an update of records that do not exist).
		for _, i := range rows.match(e, d.idProperty) {
			be.Fail(i, d.rowError(action, e))
		}
		return nil
	case resp.Status == http.StatusNotFound || e.unknownObject():
		return connector.Permanent(fmt.Errorf("%s: HTTP %d: %s: HubSpot has no object %q: set object to contacts, companies, deals, or a custom object's name or objectTypeId (2-…)", what, resp.Status, msg, d.object))
	case resp.Status == http.StatusBadRequest && e.isPropertyProblem():
		// Every record carries the mapping's properties: halving would not help.
		return connector.Permanent(fmt.Errorf("%s: HTTP 400: %s: fix the sync's mappings or create the property in HubSpot", what, msg))
	case resp.Status == http.StatusBadRequest || resp.Status == http.StatusConflict || resp.Status == http.StatusRequestEntityTooLarge:
		// A refusal of the whole batch for some of its records (the same id twice,
		// a value HubSpot rejects without naming its record): halves isolate them.
		return connector.Divisible(fmt.Errorf("%s: HTTP %d: %s", what, resp.Status, msg))
	}
	return fmt.Errorf("%s: %w", what, resp.Error(msg))
}

// scopes names the scopes a private app needs for the sync.
func (d *Destination) scopes() string {
	name := "custom"
	switch {
	case isContacts(d.object):
		name = "contacts"
	case d.object == "companies" || d.object == "0-2":
		name = "companies"
	case d.object == "deals" || d.object == "0-3":
		name = "deals"
	}
	return fmt.Sprintf("crm.objects.%[1]s.write and crm.objects.%[1]s.read (Settings > Integrations > Private apps > Scopes)", name)
}

// dailySpent refuses to send once HubSpot said the day's allowance is spent,
// until it resets. The shared budget stops too when HubSpot's headers say none is
// left; this holds when an answer did not carry them.
func (d *Destination) dailySpent() error {
	until := d.spentUntil.Load()
	if until != 0 && time.Now().UnixNano() < until {
		return connector.Permanent(fmt.Errorf("hubspot: not sent: %w (HubSpot answered 429 DAILY; the rows are sent again on the next run)", saas.ErrDailyLimit))
	}
	return nil
}

// markDailySpent stops sending until the daily limit resets: after the 429's
// Retry-After when it gives one, else at the next midnight in the account's time
// zone (learned by Check; UTC before).
func (d *Destination) markDailySpent(retry time.Duration) {
	now := time.Now()
	until := d.client.Load().Budget.NextMidnight(now)
	if retry > 0 && retry <= 24*time.Hour {
		until = now.Add(retry)
	}
	d.spentUntil.Store(until.UnixNano())
}
