package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// chunkRows is how many rows travel together from the reader to a scan worker.
const chunkRows = 1024

// maxInvalidKept bounds the invalid rows recorded one by one in a run; all are counted.
const maxInvalidKept = 100_000

// scanParams are the inputs of the scan phase.
type scanParams struct {
	rows       connector.Rows
	fields     *fieldMap
	base       *diff.Index
	mode       connector.Mode
	fullResync bool
	spillDir   string
	rowsRead   *atomic.Int64 // progress
}

// scanResult is what the scan found.
type scanResult struct {
	spills   []*spillWriter
	diff     *diff.Result
	hasher   diff.RowHasher
	rowsRead int64
	// invalid rows (null or empty keys); duplicates are reported from diff.Duplicates
	invalid      []store.RowOutcome
	invalidCount int64
	// key text of duplicated keys that were in the baseline (new ones come from the spills)
	dupText map[diff.KeyHash]string
	spilled [5][2]int64
}

func (r *scanResult) close() {
	for _, s := range r.spills {
		s.close()
	}
}

type scanWorker struct {
	obs   *diff.Worker
	spill *spillWriter
	// spilled counts spilled rows by verdict and whether they are to be sent.
	spilled [5][2]int64
	// per-chunk buffers
	keys, encs []byte
	khs        []diff.KeyHash
	rhs        []uint64
	rowIdx     []span
	verdicts   []diff.Verdict
	values     []record.Value
	invalid    []store.RowOutcome
	nInv       int64
	dupText    map[diff.KeyHash]string
}

// scan reads every row, maps and hashes it, classifies it against the baseline and
// spills the rows that may be sent. Reading runs in one goroutine (sources stream
// sequentially); mapping, hashing and diffing run in one worker per CPU.
func scan(ctx context.Context, p scanParams) (*scanResult, error) {
	differ := diff.NewDiffer(p.base)
	res := &scanResult{hasher: diff.NewRowHasher(p.fields.names), dupText: map[diff.KeyHash]string{}}
	nWorkers := max(1, runtime.GOMAXPROCS(0))
	workers := make([]*scanWorker, nWorkers)
	for i := range workers {
		sw, err := newSpillWriter(filepath.Join(p.spillDir, fmt.Sprintf("spill-%d", i)))
		if err != nil {
			res.close()
			return nil, fmt.Errorf("create spill file in %s: %w", p.spillDir, err)
		}
		res.spills = append(res.spills, sw)
		workers[i] = &scanWorker{obs: differ.NewWorker(), spill: sw, dupText: map[diff.KeyHash]string{}}
	}

	g, ctx := errgroup.WithContext(ctx)
	// A chunk carries its place in the model, for messages about its rows.
	type chunk struct {
		rows  []record.Row
		first int64
	}
	chunks := make(chan chunk, 2*nWorkers)
	free := make(chan []record.Row, 3*nWorkers)
	g.Go(func() error {
		defer close(chunks)
		var read int64
		for {
			var rows []record.Row
			select {
			case rows = <-free:
			default:
				rows = make([]record.Row, chunkRows)
			}
			n, err := p.rows.Next(rows[:chunkRows])
			if n > 0 {
				p.rowsRead.Add(int64(n))
				select {
				case chunks <- chunk{rows: rows[:n], first: read}:
				case <-ctx.Done():
					return ctx.Err()
				}
				read += int64(n)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	for _, w := range workers {
		g.Go(func() error {
			for c := range chunks {
				if err := w.observeChunk(&p, res.hasher, c.rows, c.first); err != nil {
					return err
				}
				select {
				case free <- c.rows[:cap(c.rows)]:
				default:
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		res.close()
		return nil, err
	}
	res.rowsRead = p.rowsRead.Load()
	res.diff = differ.Finish()
	for _, w := range workers {
		if err := w.spill.finish(); err != nil {
			res.close()
			return nil, fmt.Errorf("write spill file: %w", err)
		}
		res.invalidCount += w.nInv
		res.invalid = append(res.invalid, w.invalid...)
		for v := range w.spilled {
			for b := range w.spilled[v] {
				res.spilled[v][b] += w.spilled[v][b]
			}
		}
		for k, t := range w.dupText {
			res.dupText[k] = t
		}
	}
	if len(res.invalid) > maxInvalidKept {
		res.invalid = res.invalid[:maxInvalidKept]
	}
	return res, nil
}

// observeChunk maps, hashes and classifies a chunk of rows in three passes, so that
// the baseline lookups of the whole chunk go to memory together (see
// diff.Worker.ObserveBatch); first is the chunk's offset in the model.
func (w *scanWorker) observeChunk(p *scanParams, hasher diff.RowHasher, chunk []record.Row, first int64) error {
	fm := p.fields
	w.keys, w.encs = w.keys[:0], w.encs[:0]
	w.khs, w.rhs, w.rowIdx = w.khs[:0], w.rhs[:0], w.rowIdx[:0]
	for i, row := range chunk {
		if fm.keyIndex >= len(row) {
			return fmt.Errorf("source returned a row with %d columns, fewer than its schema", len(row))
		}
		keyAt := len(w.keys)
		var err error
		w.keys, err = record.AppendKey(w.keys, row[fm.keyIndex])
		if err != nil {
			w.keys = w.keys[:keyAt]
			w.nInv++
			if len(w.invalid) < maxInvalidKept {
				w.invalid = append(w.invalid, store.RowOutcome{
					Status: store.RowInvalid,
					Error:  fmt.Sprintf("%v (row %d of the model: %s)", err, first+int64(i)+1, describeRow(fm, row)),
				})
			}
			continue
		}
		w.values, err = fm.appendFields(w.values[:0], row)
		if err != nil {
			// A field its template could not render: the row is invalid and not sent,
			// but its key is observed, so that mirror mode does not take it for a
			// removed row and the destination keeps what it had.
			key := string(w.keys[keyAt:])
			w.obs.Observe(diff.HashKeyBytes(w.keys[keyAt:]), 0)
			w.keys = w.keys[:keyAt]
			w.nInv++
			if len(w.invalid) < maxInvalidKept {
				w.invalid = append(w.invalid, store.RowOutcome{Key: key, Status: store.RowInvalid,
					Error: fmt.Sprintf("%v (row %d of the model): fix the template or the row; the destination keeps what it had", err, first+int64(i)+1)})
			}
			continue
		}
		encAt := len(w.encs)
		w.encs = record.AppendValues(w.encs, w.values)
		w.khs = append(w.khs, diff.HashKeyBytes(w.keys[keyAt:]))
		w.rhs = append(w.rhs, hasher.Hash(w.encs[encAt:]))
		w.rowIdx = append(w.rowIdx, span{keyAt, len(w.keys), encAt, len(w.encs)})
	}
	w.verdicts = slices.Grow(w.verdicts[:0], len(w.khs))[:len(w.khs)]
	w.obs.ObserveBatch(w.khs, w.rhs, w.verdicts)
	for i, verdict := range w.verdicts {
		sp := w.rowIdx[i]
		key := w.keys[sp.keyAt:sp.keyEnd]
		// The spill copies the key; no string is made for it here.
		rec := spillRecord{verdict: verdict, key: w.khs[i], row: w.rhs[i], text: unsafe.String(unsafe.SliceData(key), len(key))}
		switch verdict {
		case diff.Duplicate:
			w.dupText[rec.key] = string(key)
			continue
		case diff.Unchanged:
			if !p.fullResync {
				continue
			}
			rec.send = true
		case diff.Added:
			rec.send = p.fullResync || p.mode.Sends(record.OpAdd)
		case diff.Changed:
			rec.send = p.fullResync || p.mode.Sends(record.OpChange)
		}
		if rec.send {
			rec.values = w.encs[sp.encAt:sp.encEnd]
		}
		if err := w.spill.write(&rec); err != nil {
			return fmt.Errorf("write spill file: %w", err)
		}
		w.spilled[verdict][b2i(rec.send)]++
	}
	return nil
}

// span locates a row's key and encoded fields in a worker's chunk buffers.
type span struct{ keyAt, keyEnd, encAt, encEnd int }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// describeRow names a row without a usable key by its first mapped fields.
func describeRow(fm *fieldMap, row record.Row) string {
	var b []byte
	for i, c := range fm.columns {
		if i == 3 {
			b = append(b, ", …"...)
			break
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, fm.names[i]...)
		b = append(b, '=')
		v := record.AppendJSON(nil, row[c])
		if len(v) > 40 {
			v = append(v[:40], "…"...)
		}
		b = append(b, v...)
	}
	if len(b) == 0 {
		return "no mapped fields"
	}
	return string(b)
}

// counts derives the diff counts by reading the spills: a spilled row whose key is
// duplicated is invalid, not added or changed.
type spillCounts struct {
	diff    store.Diff
	planned store.Counts
	dupRows int64
}

// forEachSpilled calls fn for every spilled record in file order.
func (r *scanResult) forEachSpilled(fn func(rec *spillRecord) error) error {
	for _, s := range r.spills {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		rd := newSpillReader(s.f)
		var rec spillRecord
		for {
			err := rd.next(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if err := fn(&rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// tally counts what the scan found and what the mode will send. The scan workers
// counted the spilled rows; only when keys are duplicated do the spills need reading
// again, to leave the rows of those keys out.
func (r *scanResult) tally(mode connector.Mode, fullResync bool) (spillCounts, error) {
	var c spillCounts
	count := func(v diff.Verdict, send bool, n int64) {
		switch v {
		case diff.Added:
			c.diff.Added += n
			if send {
				c.planned.Added += n
			}
		case diff.Changed:
			c.diff.Changed += n
			if send {
				c.planned.Changed += n
			}
		case diff.Unchanged:
			c.planned.Changed += n // a full resync sends it again as a change
		}
	}
	if len(r.diff.Duplicates) == 0 {
		for v := range r.spilled {
			count(diff.Verdict(v), false, r.spilled[v][0])
			count(diff.Verdict(v), true, r.spilled[v][1])
		}
	} else {
		err := r.forEachSpilled(func(rec *spillRecord) error {
			if !r.diff.IsDuplicate(rec.key) {
				count(rec.verdict, rec.send, 1)
			}
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	c.dupRows = int64(r.diff.DuplicateRows())
	c.diff.Removed = int64(len(r.diff.Removed))
	if mode.Sends(record.OpRemove) {
		c.planned.Removed = c.diff.Removed
	}
	c.diff.Unchanged = r.rowsRead - r.invalidCount - c.dupRows - c.diff.Added - c.diff.Changed
	return c, nil
}

// duplicateOutcomes reports each duplicated key once, with how many rows carried it.
func (r *scanResult) duplicateOutcomes() ([]store.RowOutcome, error) {
	if len(r.diff.Duplicates) == 0 {
		return nil, nil
	}
	text := make(map[diff.KeyHash]string, len(r.diff.Duplicates))
	for k, t := range r.dupText {
		text[k] = t
	}
	err := r.forEachSpilled(func(rec *spillRecord) error {
		if _, ok := text[rec.key]; !ok && r.diff.IsDuplicate(rec.key) {
			text[rec.key] = strings.Clone(rec.text)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.RowOutcome, 0, len(r.diff.Duplicates))
	for k, n := range r.diff.Duplicates {
		out = append(out, store.RowOutcome{
			Key:    text[k],
			Status: store.RowInvalid,
			Error:  fmt.Sprintf("%d rows share this primary key: make it unique in the model (every row with it is skipped)", n),
		})
	}
	slices.SortFunc(out, func(a, b store.RowOutcome) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
