package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// committer makes outcomes durable. Acknowledged rows advance the baseline before
// their sender takes its next batch, so a process killed at any moment re-sends at
// most the batches that were in flight. The run log is written in groups by its own
// goroutine, off the senders' path.
type committer struct {
	baseline store.Baseline
	store    store.Store
	runID    string
	stats    *liveStats
	onFatal  func(reason string)

	mu   sync.Mutex // serialises baseline writes
	muts []store.Mutation
	// baselineErr stops baseline writes (rows delivered after it count as failed);
	// fatal is the first failure of either kind, which stops the run's sending.
	baselineErr error
	fatal       error

	log chan logged
	wg  sync.WaitGroup
	// rowBufs recycles the row lists of batches the run log has written.
	rowBufs chan []store.BatchRow
}

// logged is a batch for the run log, and how to give back its memory once written.
type logged struct {
	batch   *store.Batch
	release func()
}

func newCommitter(b store.Baseline, st store.Store, runID string, stats *liveStats, onFatal func(string)) *committer {
	c := &committer{
		baseline: b, store: st, runID: runID, stats: stats, onFatal: onFatal,
		log:     make(chan logged, 256),
		rowBufs: make(chan []store.BatchRow, 64),
	}
	c.wg.Add(1)
	go c.logLoop()
	return c
}

// add records a batch's outcome; it returns once the baseline holds its acknowledged rows.
func (c *committer) add(o *outcome) error {
	var rows []store.BatchRow
	select {
	case rows = <-c.rowBufs:
	default:
	}
	rows = slices.Grow(rows[:0], o.rows.len())[:o.rows.len()]
	var ok, failed int64
	c.mu.Lock()
	muts := c.muts[:0]
	for i, ch := range o.rows.changes {
		rows[i] = store.BatchRow{Key: ch.Key, Op: ch.Op, Error: o.errs[i]}
		if o.errs[i] != "" {
			failed++
			continue
		}
		ok++
		if ch.Op == record.OpRemove {
			muts = append(muts, store.Mutation{Key: o.rows.keys[i], Remove: true})
		} else {
			muts = append(muts, store.Mutation{Key: o.rows.keys[i], Row: o.rows.hashes[i], KeyText: ch.Key, Names: ch.Fields.Names, Values: ch.Fields.Encoded()})
		}
	}
	if len(muts) > 0 && c.baselineErr == nil {
		// Committing finishes even when the run is cancelled: the rows were delivered.
		if err := c.baseline.Apply(context.Background(), muts); err != nil {
			c.baselineErr = fmt.Errorf("save baseline: %w", err)
			c.failLocked(c.baselineErr)
		}
	}
	if len(muts) > 0 && c.baselineErr != nil {
		// Delivered but not recorded: the next run sends these rows again, so they
		// count as failed here, with the reason.
		reason := "delivered, but the baseline could not record it (" + c.baselineErr.Error() + "): it is sent again by the next run"
		for i := range rows {
			if rows[i].Error == "" {
				rows[i].Error = reason
				ok--
				failed++
			}
		}
	}
	c.muts = muts[:0]
	c.mu.Unlock()
	c.stats.succeeded.Add(ok)
	c.stats.failed.Add(failed)
	c.log <- logged{batch: &store.Batch{
		RunID: c.runID, Seq: o.seq, ID: o.id, Attempts: o.attempts, Error: o.batchErr,
		Rows: rows, Exchanges: o.exchanges,
	}, release: o.release}
	return nil
}

// close waits for the run log to be written and returns the first failure.
func (c *committer) close() error {
	close(c.log)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatal
}

func (c *committer) setFatal(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

// failLocked records the run's first failure and stops its sending; c.mu is held.
func (c *committer) failLocked(err error) {
	if c.fatal == nil {
		c.fatal = err
		c.onFatal("not sent: " + err.Error())
	}
}

func (c *committer) logLoop() {
	defer c.wg.Done()
	ctx := context.Background()
	var pending []*store.Batch
	var releases []func()
	rows := 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := c.store.AppendBatches(ctx, pending); err != nil {
			c.setFatal(fmt.Errorf("run log: %w", err))
		}
		for _, r := range releases {
			r()
		}
		for _, b := range pending {
			clear(b.Rows) // the keys point into released batch memory
			select {
			case c.rowBufs <- b.Rows[:0]:
			default:
			}
		}
		clear(pending)
		pending, releases, rows = pending[:0], releases[:0], 0
	}
	for {
		select {
		case l, ok := <-c.log:
			if !ok {
				flush()
				return
			}
			pending = append(pending, l.batch)
			if l.release != nil {
				releases = append(releases, l.release)
			}
			rows += len(l.batch.Rows)
			if len(pending) >= 64 || rows >= 50_000 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}
