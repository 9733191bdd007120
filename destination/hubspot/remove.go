package hubspot

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// removeRows archives the records of the removed rows at idx (mirror mode): a
// batch read by id_property finds their HubSpot ids, and a batch archive removes
// them. A row whose record is not found is already gone, which is success.
func (d *Destination) removeRows(ctx context.Context, b *connector.Batch, idx []int, be *connector.BatchError) error {
	ids := newRowIndex(len(idx))
	var order []string
	for _, i := range idx {
		ch := &b.Changes[i]
		id := d.idText(ch, ch.Fields.Values())
		if id == "" {
			continue // no record can carry an empty id: nothing to remove
		}
		if _, dup := ids.ids[id]; !dup {
			order = append(order, id)
		}
		ids.add(id, i)
	}
	if len(order) == 0 {
		return nil
	}
	found, err := d.lookUp(ctx, b, ids, order, be)
	if err != nil || len(found) == 0 {
		return err
	}
	body := make([]byte, 0, 16+len(found)*24)
	body = append(body, `{"inputs":[`...)
	for j, f := range found {
		if j > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"id":`...)
		body = record.AppendJSONString(body, f.recordID)
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	resp, err := d.do(ctx, b, saas.Request{
		Method: http.MethodPost, Path: d.objectPath + "/batch/archive",
		Body: body, ContentType: "application/json",
	})
	if err != nil {
		return d.requestError("archive", err)
	}
	archived := newRowIndex(len(found))
	for _, f := range found {
		for _, i := range f.rows {
			archived.add(f.recordID, i)
		}
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return d.archiveStatus(resp, archived, be)
	}
	ferr := d.failure("archive", resp, archived, be)
	if ferr != nil && connector.IsPermanent(ferr) && !connector.IsDivisible(ferr) {
		// Only the rows whose records were found failed; the others are gone.
		for _, i := range archived.all() {
			be.Fail(i, ferr)
		}
		return nil
	}
	return ferr
}

// archiveStatus reads a 2xx answer to an archive. HubSpot answers 204 without a
// body, whatever each record's state: every input archived. An answer with
// errors must account for every input: errors that name records fail their rows
// (a record not found is gone, which is success), and an error naming none
// leaves the others unknown, so the batch is returned Divisible and its halves
// name the rows at fault. Archives are safe to repeat.
func (d *Destination) archiveStatus(resp *saas.Response, archived *rowIndex, be *connector.BatchError) error {
	if len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	r, err := parseBatchResponse(resp.Body)
	if err != nil {
		return connector.Permanent(fmt.Errorf("hubspot: archive %s: cannot read HubSpot's answer (%v): %s", d.object, err, saas.Snippet(resp.Body)))
	}
	settled := map[int]bool{}
	var unnamed []apiError
	for _, e := range r.Errors {
		rows := archived.match(e, "")
		if len(rows) == 0 {
			if !isNotFound(e) {
				unnamed = append(unnamed, e)
			}
			continue
		}
		for _, i := range rows {
			if settled[i] {
				continue
			}
			settled[i] = true
			if !isNotFound(e) { // a record not found is gone: success
				be.Fail(i, d.rowError("archive", e))
			}
		}
	}
	if len(unnamed) == 0 || len(settled) == archived.len() {
		return nil
	}
	return connector.Divisible(fmt.Errorf("hubspot: archive %s: HubSpot's answer (HTTP %d) does not say which records it refused: %s", d.object, resp.Status, describeAll(unnamed)))
}

// foundRecord is a HubSpot record found for removed rows.
type foundRecord struct {
	recordID string
	rows     []int
}

// lookUp reads the records whose id_property holds the given values and returns
// those found. Rows HubSpot refused to look up are failed in be.
func (d *Destination) lookUp(ctx context.Context, b *connector.Batch, ids *rowIndex, order []string, be *connector.BatchError) ([]foundRecord, error) {
	body := make([]byte, 0, 64+len(order)*32)
	body = append(body, `{"idProperty":`...)
	body = record.AppendJSONString(body, d.idProperty)
	body = append(body, `,"properties":[`...)
	body = record.AppendJSONString(body, d.idProperty)
	body = append(body, `],"propertiesWithHistory":[],"inputs":[`...)
	for j, id := range order {
		if j > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"id":`...)
		body = record.AppendJSONString(body, id)
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	resp, err := d.do(ctx, b, saas.Request{
		Method: http.MethodPost, Path: d.objectPath + "/batch/read",
		Body: body, ContentType: "application/json",
	})
	if err != nil {
		return nil, d.requestError("read", err)
	}
	if resp.Status == http.StatusNotFound && isNotFound(parseError(resp.Body)) {
		return nil, nil // none of the records exists: all are gone already
	}
	if resp.Status < 200 || resp.Status >= 300 {
		return nil, d.failure("read", resp, ids, be)
	}
	r, err := parseBatchResponse(resp.Body)
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("hubspot: read %s: cannot read HubSpot's answer (%v): %s", d.object, err, saas.Snippet(resp.Body)))
	}
	failed := map[int]bool{}
	var unattributed *apiError
	for _, e := range r.Errors {
		if isNotFound(e) {
			continue
		}
		rows := ids.match(e, d.idProperty)
		if len(rows) == 0 {
			unattributed = &e
		}
		for _, i := range rows {
			if !failed[i] {
				failed[i] = true
				be.Fail(i, d.rowError("read", e))
			}
		}
	}
	var found []foundRecord
	located := map[int]bool{}
	archiving := map[string]bool{}
	for _, res := range r.Results {
		if res.ID == "" {
			continue
		}
		value := ""
		if v := res.Properties[d.idProperty]; v != nil {
			value = *v
		}
		var keep []int
		for _, i := range ids.byID(value) {
			if !failed[i] && !located[i] {
				located[i] = true
				keep = append(keep, i)
			}
		}
		if len(keep) > 0 && !archiving[res.ID] {
			archiving[res.ID] = true
			found = append(found, foundRecord{recordID: res.ID, rows: keep})
		}
	}
	if unattributed != nil {
		// An error that names no row: the rows whose records were not found cannot
		// be told gone, so they fail and are sent again on the next run.
		for _, i := range ids.all() {
			if !failed[i] && !located[i] {
				failed[i] = true
				be.Fail(i, d.rowError("read", *unattributed))
			}
		}
	}
	return found, nil
}

// isNotFound reports HubSpot's answer for records that do not exist.
func isNotFound(e apiError) bool {
	return e.Category == "OBJECT_NOT_FOUND" || strings.EqualFold(e.Status, "NOT_FOUND")
}
