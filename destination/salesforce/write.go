package salesforce

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// operation is what a request does to records, in Bulk API 2.0's words.
type operation string

const (
	opInsert operation = "insert"
	opUpdate operation = "update"
	opUpsert operation = "upsert"
	opDelete operation = "delete"
)

// action names an operation in messages: "upsert Account".
func (o operation) action() string {
	if o == opInsert {
		return "create"
	}
	return string(o)
}

// recordOp is one record write of a batch: the batch row it serves, the row's
// values, its external ID's text and the record Id (update and delete).
type recordOp struct {
	row    int
	values []record.Value
	ext    string
	id     string
}

// Write applies a batch: removed rows (mirror) are looked up by their external
// ID and deleted; added and changed rows are created, updated or upserted. A
// batch goes through sObject Collections, or as one Bulk API 2.0 job when the
// run writes with Bulk.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) error {
	if err := d.dailySpent(); err != nil {
		return err
	}
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
	if len(removes) > 0 {
		removeErr = d.removeRows(ctx, b, removes, be)
	}
	if len(writes) > 0 {
		writeErr = d.writeRows(ctx, b, writes, be)
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
// returned whole, so that the engine retries or splits the batch.
func combine(be *connector.BatchError, writes []int, writeErr error, removes []int, removeErr error) error {
	if writeErr == nil && removeErr == nil {
		return nil
	}
	if len(writes) == 0 || len(removes) == 0 {
		return errors.Join(writeErr, removeErr)
	}
	parts := []struct {
		rows []int
		err  error
	}{{writes, writeErr}, {removes, removeErr}}
	for _, part := range parts {
		if part.err != nil && (!connector.IsPermanent(part.err) || connector.IsDivisible(part.err)) {
			return part.err
		}
	}
	failed := map[int]bool{}
	for _, r := range be.Rows {
		failed[r.Index] = true
	}
	for _, part := range parts {
		if part.err == nil {
			continue
		}
		for _, i := range part.rows {
			if !failed[i] {
				be.Fail(i, part.err)
			}
		}
	}
	return nil
}

// writeOperation is the operation the sync's mode writes added and changed rows with.
func (d *Destination) writeOperation() operation {
	switch d.mode {
	case connector.ModeInsert:
		return opInsert
	case connector.ModeUpdate:
		return opUpdate
	}
	return opUpsert
}

// writeRows sends the added and changed rows at idx (indices into b.Changes),
// recording the rows Salesforce refused in be. It returns an error when the
// whole batch failed.
func (d *Destination) writeRows(ctx context.Context, b *connector.Batch, idx []int, be *connector.BatchError) error {
	op := d.writeOperation()
	ops := make([]recordOp, 0, len(idx))
	for _, i := range idx {
		ch := &b.Changes[i]
		o := recordOp{row: i, values: ch.Fields.Values()}
		if d.extID != "" {
			o.ext = d.extText(ch, o.values)
			if o.ext == "" && op != opInsert && !d.byID {
				be.Fail(i, fmt.Errorf("salesforce: %s %s: the row's %s is empty, so Salesforce cannot find its record: fill it in the model", op.action(), d.object, d.extID))
				continue
			}
		}
		if d.byID {
			o.id = valueText(o.values[d.idIndex])
			if o.id == "" {
				be.Fail(i, fmt.Errorf("salesforce: update %s: the row's Id is empty, so Salesforce cannot find its record: fill it in the model", d.object))
				continue
			}
		}
		ops = append(ops, o)
	}
	if op == opUpdate && !d.byID && len(ops) > 0 {
		var err error
		if ops, err = d.resolveUpdates(ctx, b, ops, be); err != nil {
			return err
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if d.viaBulk(len(ops)) {
		return d.bulkWrite(ctx, b, op, ops, be)
	}
	return d.collectionsWrite(ctx, b, op, ops, be)
}

// resolveUpdates finds the record Id of each update by its external ID. A row
// whose record does not exist, or that several records match, fails: update
// mode changes existing records only.
func (d *Destination) resolveUpdates(ctx context.Context, b *connector.Batch, ops []recordOp, be *connector.BatchError) ([]recordOp, error) {
	values := make([]string, 0, len(ops))
	for _, o := range ops {
		values = append(values, o.ext)
	}
	found, err := d.lookUp(ctx, b, values)
	if err != nil {
		return nil, err
	}
	kept := ops[:0]
	for _, o := range ops {
		ids := found[d.extKey(o.ext)]
		switch len(ids) {
		case 1:
			o.id = ids[0]
			kept = append(kept, o)
		case 0:
			be.Fail(o.row, fmt.Errorf("salesforce: update %s: no %s has %s = %q: update mode changes existing records only (use upsert to create them)", d.object, d.object, d.extID, o.ext))
		default:
			be.Fail(o.row, fmt.Errorf("salesforce: update %s: %d records of %s have %s = %q (%s): make the field unique in Salesforce, or remove the duplicates", d.object, len(ids), d.object, d.extID, o.ext, strings.Join(ids, ", ")))
		}
	}
	return kept, nil
}

// removeRows deletes the records of the removed rows at idx (mirror mode): their
// external IDs find their Ids, and a delete removes them (to the Recycle Bin).
// A row whose record is not found is already gone, which is success.
func (d *Destination) removeRows(ctx context.Context, b *connector.Batch, idx []int, be *connector.BatchError) error {
	var ops []recordOp
	var values []string
	for _, i := range idx {
		ch := &b.Changes[i]
		ext := d.extText(ch, ch.Fields.Values())
		if ext == "" {
			continue // no record can carry an empty external ID: nothing to remove
		}
		ops = append(ops, recordOp{row: i, ext: ext})
		values = append(values, ext)
	}
	if len(ops) == 0 {
		return nil
	}
	found, err := d.lookUp(ctx, b, values)
	if err != nil {
		return err
	}
	var deletes []recordOp
	seen := map[string]bool{}
	for _, o := range ops {
		for _, id := range found[d.extKey(o.ext)] {
			if !seen[id] { // two removed rows with one external ID delete its records once
				seen[id] = true
				deletes = append(deletes, recordOp{row: o.row, ext: o.ext, id: id})
			}
		}
	}
	if len(deletes) == 0 {
		return nil
	}
	if d.viaBulk(len(deletes)) {
		return d.bulkWrite(ctx, b, opDelete, deletes, be)
	}
	return d.collectionsWrite(ctx, b, opDelete, deletes, be)
}

// extText is the text of the row's external ID value, "" when it has none.
func (d *Destination) extText(ch *record.Change, values []record.Value) string {
	if d.extField < 0 {
		return ch.Key
	}
	return valueText(values[d.extField])
}

// fieldValue is the value of written field f of a row.
func (d *Destination) fieldValue(f field, o *recordOp, b *connector.Batch) record.Value {
	if f.index < 0 {
		return b.Changes[o.row].Key
	}
	return o.values[f.index]
}

// failRows records err as the failure of every row ops serve, once each.
func failRows(be *connector.BatchError, ops []recordOp, err error) {
	failed := map[int]bool{}
	for _, r := range be.Rows {
		failed[r.Index] = true
	}
	for _, o := range ops {
		if !failed[o.row] {
			failed[o.row] = true
			be.Fail(o.row, err)
		}
	}
}
