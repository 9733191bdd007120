package salesforce

import (
	"context"
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
	t := &tally{}
	var writeErr, removeErr error
	if len(removes) > 0 {
		removeErr = d.removeRows(ctx, b, removes, t)
	}
	if len(writes) > 0 {
		writeErr = d.writeRows(ctx, b, writes, t)
	}
	return t.settle(writes, writeErr, removes, removeErr)
}

// tally is one Write's record of its rows' outcomes: the rows that failed, each
// once with its first reason, how many of them were refused before anything was
// sent (which the batch sent again would refuse the same way), and whether some
// row got an outcome from Salesforce (which the batch sent again would write
// again: a closed Bulk job's rows as a second job, an insert's records twice).
type tally struct {
	be       connector.BatchError
	failed   map[int]error
	refused  int
	answered bool
}

// refuse records err as the failure of a row refused before it was sent.
func (t *tally) refuse(row int, err error) {
	if t.failed[row] == nil {
		t.refused++
	}
	t.fail(row, err)
}

// fail records err as the failure of row, unless the row failed already (a row
// with several records fails on the first).
func (t *tally) fail(row int, err error) {
	if t.failed[row] != nil {
		return
	}
	if t.failed == nil {
		t.failed = map[int]error{}
	}
	t.failed[row] = err
	t.be.Fail(row, err)
}

// failRows records err as the failure of every row ops serve that has not failed yet.
func (t *tally) failRows(ops []recordOp, err error) {
	for i := range ops {
		t.fail(ops[i].row, err)
	}
}

// settle decides a batch's outcome from its parts' (writes and removals). A
// part's error that refers to the whole batch is returned as it is, for the
// engine to retry or split the batch, only while that loses and duplicates
// nothing: no row has an outcome from Salesforce yet, success or failure (rows
// refused before sending are refused again). Once one has, the batch sent again
// would write its rows a second time: a closed Bulk job's as a second job. A
// permanent error of one part of two is not returned either: the other part's
// rows may be done. Otherwise the failed part's rows that have no outcome fail
// with its error, and the rows that have one keep it.
func (t *tally) settle(writes []int, writeErr error, removes []int, removeErr error) error {
	if writeErr != nil || removeErr != nil {
		if t.be.Len() == t.refused && !t.answered {
			single := len(writes) == 0 || len(removes) == 0
			for _, err := range []error{removeErr, writeErr} {
				if err != nil && (single || !connector.IsPermanent(err) || connector.IsDivisible(err)) {
					return err
				}
			}
		}
		for _, part := range []struct {
			rows []int
			err  error
		}{{removes, removeErr}, {writes, writeErr}} {
			if part.err == nil {
				continue
			}
			for _, i := range part.rows {
				t.fail(i, part.err)
			}
		}
	}
	if t.be.Len() > 0 {
		return &t.be
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
// recording the rows Salesforce refused in t. It returns an error when the
// whole batch failed.
func (d *Destination) writeRows(ctx context.Context, b *connector.Batch, idx []int, t *tally) error {
	op := d.writeOperation()
	ops := make([]recordOp, 0, len(idx))
	for _, i := range idx {
		ch := &b.Changes[i]
		values, err := d.rowValues(ch)
		if err != nil {
			t.refuse(i, fmt.Errorf("salesforce: %s %s: %w", op.action(), d.object, err))
			continue
		}
		o := recordOp{row: i, values: values}
		if d.extID != "" {
			o.ext = d.extText(ch, o.values)
			if o.ext == "" && op != opInsert && !d.byID {
				t.refuse(i, fmt.Errorf("salesforce: %s %s: the row's %s is empty, so Salesforce cannot find its record: fill it in the model", op.action(), d.object, d.extID))
				continue
			}
		}
		if d.byID {
			o.id = valueText(o.values[d.idIndex])
			if o.id == "" {
				t.refuse(i, fmt.Errorf("salesforce: update %s: the row's Id is empty, so Salesforce cannot find its record: fill it in the model", d.object))
				continue
			}
		}
		ops = append(ops, o)
	}
	if op == opUpdate && !d.byID && len(ops) > 0 {
		var err error
		if ops, err = d.resolveUpdates(ctx, b, ops, t); err != nil {
			return err
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if d.viaBulk(len(ops)) {
		return d.bulkWrite(ctx, b, op, ops, t)
	}
	return d.collectionsWrite(ctx, b, op, ops, t)
}

// rowValues are an added or changed row's values laid out as the sync's fields
// (d.sync.Fields), which index them. The engine lays them out so; values of
// another number are found by name rather than read out of range.
func (d *Destination) rowValues(ch *record.Change) ([]record.Value, error) {
	values := ch.Fields.Values()
	if len(values) == len(d.sync.Fields) {
		return values, nil
	}
	names := ch.Fields.Names
	out := make([]record.Value, len(d.sync.Fields))
	for i, name := range d.sync.Fields {
		j := fieldAt(names, i, name)
		if j < 0 || j >= len(values) {
			return nil, fmt.Errorf("the row carries the fields %s, without %s, which the sync writes: the row cannot be written as the mappings say (report this as a bug in Sluice)",
				fieldList(names), name)
		}
		out[i] = values[j]
	}
	return out, nil
}

// fieldList names fields in a message.
func fieldList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// fieldAt is the index in names of the field name: at, when names has it there,
// or else its last position, the name compared without case as Salesforce reads
// field names; -1 when names lacks it.
func fieldAt(names []string, at int, name string) int {
	if at >= 0 && at < len(names) && strings.EqualFold(names[at], name) {
		return at
	}
	for i := len(names) - 1; i >= 0; i-- {
		if strings.EqualFold(names[i], name) {
			return i
		}
	}
	return -1
}

// resolveUpdates finds the record Id of each update by its external ID. A row
// whose record does not exist, or that several records match, fails: update
// mode changes existing records only.
func (d *Destination) resolveUpdates(ctx context.Context, b *connector.Batch, ops []recordOp, t *tally) ([]recordOp, error) {
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
			t.refuse(o.row, fmt.Errorf("salesforce: update %s: no %s has %s = %q: update mode changes existing records only (use upsert to create them)", d.object, d.object, d.extID, o.ext))
		default:
			t.refuse(o.row, fmt.Errorf("salesforce: update %s: %d records of %s have %s = %q (%s): make the field unique in Salesforce, or remove the duplicates", d.object, len(ids), d.object, d.extID, o.ext, strings.Join(ids, ", ")))
		}
	}
	return kept, nil
}

// removeRows deletes the records of the removed rows at idx (mirror mode): their
// external IDs find their Ids, and a delete removes them (to the Recycle Bin).
// A row whose record is not found is already gone, which is success.
func (d *Destination) removeRows(ctx context.Context, b *connector.Batch, idx []int, t *tally) error {
	var ops []recordOp
	var values []string
	for _, i := range idx {
		ext, err := d.removedExt(&b.Changes[i])
		if err != nil {
			t.refuse(i, err)
			continue
		}
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
	// Two removed rows with one external ID delete its records once, by the
	// first row's delete; every row a record serves shares its outcome.
	var deletes []recordOp
	served := map[string][]int{} // record Id → the rows it serves
	for _, o := range ops {
		for _, id := range found[d.extKey(o.ext)] {
			if _, ok := served[id]; !ok {
				deletes = append(deletes, recordOp{row: o.row, ext: o.ext, id: id})
			}
			served[id] = append(served[id], o.row)
		}
	}
	if len(deletes) == 0 {
		return nil
	}
	if d.viaBulk(len(deletes)) {
		err = d.bulkWrite(ctx, b, opDelete, deletes, t)
	} else {
		err = d.collectionsWrite(ctx, b, opDelete, deletes, t)
	}
	for _, o := range deletes {
		if failed := t.failed[o.row]; failed != nil {
			for _, row := range served[o.id] {
				t.fail(row, failed) // its record was not deleted: it is not removed either
			}
		}
	}
	return err
}

// removedExt is the text of a removed row's external ID. A removed row carries
// the fields it was last synced with, laid out by the mappings of that run,
// which may have changed since: the value is found by its field's name.
func (d *Destination) removedExt(ch *record.Change) (string, error) {
	if d.extField < 0 {
		return ch.Key, nil
	}
	names := ch.Fields.Names
	values := ch.Fields.Values()
	i := d.extField
	if names != nil || i >= len(values) {
		i = fieldAt(names, i, d.extID)
	}
	if i >= 0 && i < len(values) {
		return valueText(values[i]), nil
	}
	if strings.EqualFold(d.sync.KeyField, d.extID) {
		return ch.Key, nil // the model's key was the external ID, then unmapped
	}
	return "", fmt.Errorf("salesforce: delete %s: the row was last synced with the fields %s, without %s (external_id_field), so Salesforce cannot find its record: the mappings changed since; delete the record in Salesforce if it should go",
		d.object, fieldList(names), d.extID)
}

// extText is the text of an added or changed row's external ID value, "" when
// it has none.
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
