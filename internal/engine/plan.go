package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// PlanParams select a plan.
type PlanParams struct {
	Sync       string
	FullResync bool
	Samples    int // sample changes to show per change type (default 3)
}

// Plan is what a run would send, computed without sending anything or touching the baseline.
type Plan struct {
	Sync     string
	Mode     connector.Mode
	Fields   []string
	RowsRead int64
	Invalid  int64
	Diff     store.Diff
	Planned  store.Counts
	// Samples holds a few of the changes a run would send, by change type.
	Samples []record.Change
	// InvalidRows holds a few invalid rows with their reasons.
	InvalidRows []store.RowOutcome
}

// Plan computes what a run of a sync would send.
func (e *Engine) Plan(ctx context.Context, p PlanParams) (*Plan, error) {
	if p.Samples <= 0 {
		p.Samples = 3
	}
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
	index, err := baseline.Index(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sluice-plan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var read atomic.Int64
	res, err := scan(ctx, scanParams{rows: rows, fields: fm, base: index, mode: plan.sync.Mode,
		fullResync: p.FullResync, spillDir: dir, rowsRead: &read})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", plan.model.Name, err)
	}
	defer res.close()
	counts, err := res.tally(plan.sync.Mode, p.FullResync)
	if err != nil {
		return nil, err
	}
	out := &Plan{
		Sync: p.Sync, Mode: plan.sync.Mode, Fields: fm.names, RowsRead: res.rowsRead,
		Invalid: res.invalidCount + counts.dupRows, Diff: counts.diff, Planned: counts.planned,
	}
	dups, err := res.duplicateOutcomes()
	if err != nil {
		return nil, err
	}
	out.InvalidRows = append(res.invalid[:min(p.Samples, len(res.invalid))], dups[:min(p.Samples, len(dups))]...)
	if out.Samples, err = samples(ctx, res, fm, baseline, plan.sync.Mode, p.Samples); err != nil {
		return nil, err
	}
	return out, nil
}

// samples reads the first n changes of each type that a run would send.
func samples(ctx context.Context, res *scanResult, fm *fieldMap, baseline store.Baseline, mode connector.Mode, n int) ([]record.Change, error) {
	var rows batchRows
	perOp := map[record.Op]int{}
	stop := errors.New("enough")
	err := res.forEachSpilled(func(rec *spillRecord) error {
		if !rec.send || res.diff.IsDuplicate(rec.key) {
			return nil
		}
		op := record.OpChange
		if rec.verdict == diff.Added {
			op = record.OpAdd
		}
		if perOp[op] >= n {
			if perOp[record.OpAdd] >= n && perOp[record.OpChange] >= n {
				return stop
			}
			return nil
		}
		values, err := record.DecodeValues(nil, rec.values)
		if err != nil {
			return err
		}
		perOp[op]++
		rows.add(record.Change{Op: op, Key: strings.Clone(rec.text), Fields: record.MakeFields(fm.names, values)}, rec.key, rec.row)
		return nil
	})
	if err != nil && !errors.Is(err, stop) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := fillPrevious(ctx, baseline, &rows); err != nil {
		return nil, err
	}
	out := append(make([]record.Change, 0, rows.len()+n), rows.changes...)
	if mode.Sends(record.OpRemove) && len(res.diff.Removed) > 0 {
		var keys []diff.KeyHash
		for _, e := range res.diff.Removed[:min(n, len(res.diff.Removed))] {
			keys = append(keys, e.Key)
		}
		synced, err := baseline.Lookup(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, s := range synced {
			out = append(out, record.Change{Op: record.OpRemove, Key: s.Key, Fields: s.Fields})
		}
	}
	return out, nil
}
