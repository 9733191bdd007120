package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// RunParams select a run.
type RunParams struct {
	Sync string
	// FullResync sends every row again, not just the changes: rows the destination
	// already holds go as changes, new ones as adds, and mirror mode still removes.
	FullResync bool
	// Progress, when set, is called about ten times a second from another goroutine.
	Progress func(Progress)
}

// Progress is a running sync's state.
type Progress struct {
	Phase     string // "reading", "sending", "done"
	RowsRead  int64
	Planned   int64 // changes to send, known once reading is done
	Succeeded int64
	Failed    int64
}

// NewRunID returns a run id that sorts by start time: 20261125T214303Z-3f9c2a.
func NewRunID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Run executes a sync. It returns the recorded run, whose Status tells the outcome,
// or an error when the run could not even be recorded (an unknown sync, a state
// directory that cannot be written).
func (e *Engine) Run(ctx context.Context, p RunParams) (*store.Run, error) {
	plan, err := e.resolve(p.Sync)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	// Times are kept to the millisecond, as the run log stores them.
	run := &store.Run{ID: NewRunID(start), Sync: p.Sync, Status: store.StatusRunning, FullResync: p.FullResync, StartedAt: start.UTC().Truncate(time.Millisecond)}
	if err := e.store.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("sync %s: %w", p.Sync, err)
	}
	log := e.logger.With(logSync, p.Sync, logRun, run.ID)
	log.Info("run started", "full_resync", p.FullResync)

	r := &runner{e: e, plan: plan, run: run, params: p}
	runErr := r.execute(ctx)

	run.FinishedAt = time.Now().UTC().Truncate(time.Millisecond)
	elapsed := time.Since(start)
	run.Stats.DurationMS = elapsed.Milliseconds()
	r.efficiency(elapsed)
	run.Status = finalStatus(run, runErr)
	if runErr != nil {
		run.Error = e.project.Redact(runErr.Error())
	}
	if err := e.store.UpdateRun(context.WithoutCancel(ctx), run); err != nil {
		return run, fmt.Errorf("sync %s: record the end of run %s: %w", p.Sync, run.ID, err)
	}
	log.Info("run finished", "status", run.Status, "succeeded", run.Stats.Succeeded, "failed", run.Stats.Failed, "duration_ms", run.Stats.DurationMS)
	return run, nil
}

func finalStatus(run *store.Run, runErr error) store.Status {
	s := run.Stats
	switch {
	case runErr != nil && s.Succeeded > 0:
		return store.StatusPartial
	case runErr != nil:
		return store.StatusFailed
	case s.Failed == 0:
		return store.StatusSucceeded
	case s.Succeeded == 0:
		return store.StatusFailed
	}
	return store.StatusPartial
}

// runner is one run's state.
type runner struct {
	e      *Engine
	plan   *syncPlan
	run    *store.Run
	params RunParams

	rowsRead atomic.Int64
	planned  atomic.Int64
	phase    atomic.Pointer[string]
	live     liveStats
	caps     connector.Capabilities // the destination's, once it is open
}

func (r *runner) setPhase(p string) { r.phase.Store(&p) }

func (r *runner) progress() Progress {
	ph := ""
	if p := r.phase.Load(); p != nil {
		ph = *p
	}
	return Progress{Phase: ph, RowsRead: r.rowsRead.Load(), Planned: r.planned.Load(),
		Succeeded: r.live.succeeded.Load(), Failed: r.live.failed.Load()}
}

func (r *runner) execute(ctx context.Context) (err error) {
	e, plan := r.e, r.plan
	if r.params.Progress != nil {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					r.params.Progress(r.progress())
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			<-done
			p := r.progress()
			p.Phase = "done"
			r.params.Progress(p)
		}()
	}
	r.setPhase("reading")
	defer r.collectStats()

	baseline, err := e.store.OpenBaseline(ctx, store.BaselineParams{Sync: plan.sync.Name})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := baseline.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close baseline: %w", cerr)
		}
	}()
	e.closeAbandonedRuns(ctx, plan.sync.Name, r.run.ID)
	src, err := e.openSource(ctx, plan)
	if err != nil {
		return err
	}
	defer src.Close()
	readStart := time.Now() // the query itself is part of reading: DuckDB runs it here
	rows, err := e.query(ctx, src, plan)
	if err != nil {
		return err
	}
	defer rows.Close()
	fm, err := plan.mapFields(rows.Columns())
	if err != nil {
		return err
	}
	dest, err := e.openDestination(ctx, plan, fm)
	if err != nil {
		return err
	}
	defer dest.Close()
	index, err := baseline.Index(ctx)
	if err != nil {
		return err
	}
	spillDir, err := e.spillDir(r.run.ID)
	if err != nil {
		return err
	}
	defer os.RemoveAll(spillDir)

	res, err := scan(ctx, scanParams{
		rows: rows, fields: fm, base: index, mode: plan.sync.Mode,
		fullResync: r.params.FullResync, spillDir: spillDir, rowsRead: &r.rowsRead,
	})
	if err != nil {
		return fmt.Errorf("model %s: %w", plan.model.Name, err)
	}
	defer res.close()
	rows.Close()
	counts, err := res.tally(plan.sync.Mode, r.params.FullResync)
	if err != nil {
		return err
	}
	st := &r.run.Stats
	st.RowsRead = res.rowsRead
	st.Invalid = res.invalidCount + counts.dupRows
	st.Diff, st.Planned = counts.diff, counts.planned
	st.ReadMS = time.Since(readStart).Milliseconds()
	r.planned.Store(counts.planned.Total())
	dups, err := res.duplicateOutcomes()
	if err != nil {
		return err
	}
	invalid := append(res.invalid, dups...)
	for i := range invalid {
		// The description of a row without a key quotes its values.
		invalid[i].Error = e.project.Redact(invalid[i].Error)
	}
	if err := e.store.AppendRows(ctx, r.run.ID, invalid); err != nil {
		return err
	}
	e.store.UpdateRun(ctx, r.run) // the plan is visible while sending; failure here is not fatal

	r.setPhase("sending")
	writeStart := time.Now()
	defer func() { st.WriteMS = time.Since(writeStart).Milliseconds() }()
	stopCheckpoints := r.checkpoints(ctx, *r.run)
	defer stopCheckpoints()
	planner, planned := dest.(connector.RunPlanner)
	if planned {
		rp := connector.RunPlan{Added: counts.planned.Added, Changed: counts.planned.Changed, Removed: counts.planned.Removed, FullResync: r.params.FullResync}
		if err := planner.PlanRun(ctx, rp); err != nil {
			return fmt.Errorf("destination %s: plan the run: %w", plan.dest.Name, err)
		}
	}
	snd := newSender(dest, plan.sync.Name, r.run.ID, e.project, &r.live)
	r.caps = snd.caps
	com := newCommitter(baseline, e.store, r.run.ID, &r.live, snd.abort)
	sendErr := sendAll(ctx, &batcherParams{
		scan: res, fields: fm, baseline: baseline, mode: plan.sync.Mode, sender: snd, runID: r.run.ID,
		removedOps: plan.sync.Mode.Sends(record.OpRemove),
	}, com.add)
	comErr := com.close()
	// Some destinations learn their limits from the API's answers (Meta's usage
	// headers, HubSpot's without a tier): the run is measured against what the
	// destination knows once it is over.
	if l := dest.Capabilities().Limits; l != nil {
		r.caps.Limits = l
	}
	if f, ok := dest.(connector.Finisher); ok && planned {
		res := connector.RunResult{Succeeded: r.live.succeeded.Load(), Failed: r.live.failed.Load(), Cancelled: ctx.Err() != nil}
		res.Complete = sendErr == nil && comErr == nil && ctx.Err() == nil && res.Failed == 0 && res.Succeeded == counts.planned.Total()
		// A run cancelled before it finishes still tells the destination (to
		// abandon what it opened); one cancelled while finishing stops it.
		fctx := ctx
		if ctx.Err() != nil {
			fctx = context.WithoutCancel(ctx)
		}
		if err := f.FinishRun(fctx, res); err != nil {
			sendErr = errors.Join(sendErr, fmt.Errorf("destination %s: finish the run: %w", plan.dest.Name, err))
		}
	}
	// Every planned row has an outcome, unless cutting batches failed part way (a
	// baseline lookup, a spill read): the rows it never reached failed with it.
	missing := counts.planned.Total() - r.live.succeeded.Load() - r.live.failed.Load()
	if missing > 0 {
		r.live.failed.Add(missing)
		if sendErr == nil && comErr == nil {
			sendErr = fmt.Errorf("%d planned rows were never sent (a bug: please report it)", missing)
		} else {
			sendErr = fmt.Errorf("%w; %d rows were not sent", errors.Join(comErr, sendErr), missing)
			comErr = nil
		}
	}
	switch {
	case comErr != nil:
		return comErr
	case sendErr != nil:
		return sendErr
	case ctx.Err() != nil:
		return fmt.Errorf("run cancelled: %w", ctx.Err())
	}
	if reason := snd.aborted(); reason != "" {
		return errors.New(reason)
	}
	return nil
}

// checkpoints records the run's counts every few seconds while it sends, so that
// `sluice runs` shows a long run's progress and a killed run shows how far it got.
func (r *runner) checkpoints(ctx context.Context, snapshot store.Run) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				snapshot.Stats.Succeeded = r.live.succeeded.Load()
				snapshot.Stats.Failed = r.live.failed.Load()
				snapshot.Stats.Requests = r.live.requests.Load()
				r.e.store.UpdateRun(context.WithoutCancel(ctx), &snapshot)
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// efficiency reports how close the run came to the destination's ceiling: the
// changes it sent per second of the whole run, against the most its rate limits
// allow for that many changes of that size (connector.RateLimits.Ceiling).
func (r *runner) efficiency(elapsed time.Duration) {
	st := &r.run.Stats
	ops := st.Succeeded + st.Failed
	if ops == 0 || elapsed <= 0 {
		return
	}
	st.OpsPerSecond = float64(ops) / elapsed.Seconds()
	if r.caps.Limits == nil {
		return
	}
	st.SustainedOpsPerSecond = r.caps.Limits.Sustained(r.caps.MaxBatchRecords, float64(st.PayloadBytes)/float64(ops))
	ceiling := r.caps.Limits.Ceiling(ops, r.caps.MaxBatchRecords, st.PayloadBytes)
	binding := ceiling > 0
	st.LimitsBinding = &binding
	if !binding {
		return
	}
	st.CeilingOpsPerSecond = float64(ops) / ceiling.Seconds()
	eff := ceiling.Seconds() / elapsed.Seconds()
	st.Efficiency = &eff
}

func (r *runner) collectStats() {
	st := &r.run.Stats
	st.Requests = r.live.requests.Load()
	st.Retries = r.live.retries.Load()
	st.RateLimited = r.live.rateLimited.Load()
	st.RateLimitWaitMS = time.Duration(r.live.waitNanos.Load()).Milliseconds()
	st.Splits = r.live.splits.Load()
	st.Destination = r.live.destinationCounters()
	st.PayloadBytes = r.live.payloadBytes.Load()
	st.RequestP95MS = float64(r.live.p95().Microseconds()) / 1000
	st.Succeeded = r.live.succeeded.Load()
	st.Failed = r.live.failed.Load()
	if st.RowsRead == 0 {
		st.RowsRead = r.rowsRead.Load()
	}
}

// minFreeBytes is the free space a run needs in the state directory to start:
// below it, the run fails at once rather than part way through.
const minFreeBytes = 1 << 20

// spillDir makes a private directory for a run's spill files inside the state directory.
func (e *Engine) spillDir(runID string) (string, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(e.project.StateDir, &fs); err == nil {
		if free := int64(fs.Bavail) * int64(fs.Bsize); free < minFreeBytes {
			return "", fmt.Errorf("state directory %s is full (%d KiB free): free some space and run again; the baseline is unchanged", e.project.StateDir, free>>10)
		}
	}
	dir := filepath.Join(e.project.StateDir, "tmp", runID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return dir, nil
}

var timeNow = time.Now

// closeAbandonedRuns marks as failed the runs of a sync still recorded as running:
// holding the sync's baseline lock proves no process is running them any more (it
// was killed or crashed), and removes what their spill files left behind.
func (e *Engine) closeAbandonedRuns(ctx context.Context, sync, current string) {
	runs, err := e.store.ListRuns(ctx, sync, 0)
	if err != nil {
		return
	}
	for _, old := range runs {
		if old.ID == current || old.Status != store.StatusRunning {
			continue
		}
		old.Status = store.StatusFailed
		old.Error = "the process running this sync stopped before the run finished (killed or crashed); rows it had not acknowledged are sent by a later run"
		if old.FinishedAt.IsZero() {
			old.FinishedAt = time.Now().UTC()
		}
		if old.Stats.Succeeded > 0 {
			old.Status = store.StatusPartial
		}
		if err := e.store.UpdateRun(ctx, old); err == nil {
			os.RemoveAll(filepath.Join(e.project.StateDir, "tmp", old.ID))
			e.logger.Warn("closed an abandoned run", logSync, sync, logRun, old.ID)
		}
	}
}
