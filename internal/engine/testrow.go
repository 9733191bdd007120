package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// TestRowParams select one row of a sync.
type TestRowParams struct {
	Sync string
	Key  string // the canonical primary key, as the webhook's "key"
}

// TestRowResult is what happened to the row.
type TestRowResult struct {
	Change    record.Change
	Exchanges []connector.Exchange
	Attempts  int
	Error     string // empty when the destination accepted the row
	// Note explains anything surprising, such as a mode that would not send this change.
	Note string
}

// TestRow sends one row of a sync's model to its destination as its own batch, and
// leaves the baseline and the run log alone.
func (e *Engine) TestRow(ctx context.Context, p TestRowParams) (*TestRowResult, error) {
	plan, err := e.resolve(p.Sync)
	if err != nil {
		return nil, err
	}
	baseline, err := e.store.OpenBaseline(ctx, store.BaselineParams{Sync: p.Sync, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer baseline.Close()
	src, err := e.openSource(ctx, plan)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	rows, err := e.query(ctx, src, plan)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fm, err := plan.mapFields(rows.Columns())
	if err != nil {
		return nil, err
	}
	var found []record.Value
	matches, read := 0, 0
	chunk := make([]record.Row, chunkRows)
	for {
		n, err := rows.Next(chunk)
		for _, row := range chunk[:n] {
			read++
			text, kerr := record.KeyString(row[fm.keyIndex])
			if kerr != nil || text != p.Key {
				continue
			}
			matches++
			var ferr error
			if found, ferr = fm.appendFields(found[:0], row); ferr != nil {
				return nil, fmt.Errorf("model %s, row %s: %w", plan.model.Name, p.Key, ferr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", plan.model.Name, err)
		}
	}
	switch {
	case matches == 0:
		return nil, fmt.Errorf("model %s has no row with primary key %q (%d rows read)", plan.model.Name, p.Key, read)
	case matches > 1:
		return nil, fmt.Errorf("model %s has %d rows with primary key %q: a run treats them as invalid; make the key unique", plan.model.Name, matches, p.Key)
	}
	kh := diff.HashKey(p.Key)
	change := record.Change{Op: record.OpAdd, Key: p.Key, Fields: record.MakeFields(fm.names, found)}
	synced, err := baseline.Lookup(ctx, []diff.KeyHash{kh})
	if err != nil {
		return nil, err
	}
	if synced[0].Found {
		change.Op, change.Previous = record.OpChange, synced[0].Fields
	}
	res := &TestRowResult{Change: change}
	if !plan.sync.Mode.Sends(change.Op) {
		res.Note = fmt.Sprintf("a run in %s mode would not send this %s row; it was sent anyway for the test", plan.sync.Mode, change.Op)
	}
	dest, err := e.openDestination(ctx, plan, fm)
	if err != nil {
		return nil, err
	}
	defer dest.Close()
	var stats liveStats
	snd := newSender(dest, plan.sync.Name, "test-row", e.project, &stats)
	var one batchRows
	one.add(change, kh, 0)
	out := snd.send(ctx, &outbound{seq: 1, id: "test-row-" + NewRunID(timeNow()), rows: one})
	res.Exchanges, res.Attempts, res.Error = out.exchanges, out.attempts, out.errs[0]
	return res, nil
}
