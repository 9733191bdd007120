package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/store/localstore"
	"github.com/sluicehq/sluice/record"
)

// capture is a destination that records what it is sent, within limits a test sets.
type capture struct {
	caps connector.Capabilities
	// misbehave, when set, turns a batch's outcome into a contract violation.
	misbehave func(b *connector.Batch) error
	delay     time.Duration
	// sizeOf, when set, measures a change for bytes (default: its fields' JSON).
	sizeOf func(record.Change) int
	// wrap, when set, is what opening the destination returns (a wrapper of c).
	wrap connector.Destination

	mu                    sync.Mutex
	batches               [][]record.Change
	bytes                 []int
	inFlight, maxInFlight int
}

type captureConfig struct{}

func (c *capture) spec() connector.DestinationSpec {
	return connector.DestinationSpec{
		Type: "capture", Summary: "records batches", Modes: connector.Modes,
		NewConfig: func() any { return new(captureConfig) },
		Open: func(context.Context, connector.DestinationParams) (connector.Destination, error) {
			if c.wrap != nil {
				return c.wrap, nil
			}
			return c, nil
		},
	}
}

func (c *capture) Capabilities() connector.Capabilities { return c.caps }
func (c *capture) Close() error                         { return nil }

func (c *capture) Write(ctx context.Context, b *connector.Batch) error {
	c.mu.Lock()
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}()
	time.Sleep(c.delay)
	size := 0
	copied := make([]record.Change, len(b.Changes))
	for i, ch := range b.Changes {
		// Batches are only valid during Write: keep copies.
		copied[i] = record.Change{Op: ch.Op, Key: string([]byte(ch.Key)),
			Fields:   record.MakeFields(ch.Fields.Names, append([]record.Value(nil), cloneValues(ch.Fields.Values())...)),
			Previous: record.MakeFields(ch.Previous.Names, cloneValues(ch.Previous.Values()))}
		if c.sizeOf != nil {
			size += c.sizeOf(ch)
		} else {
			size += len(ch.Fields.AppendJSON(nil))
		}
	}
	b.Trace(connector.Exchange{Request: connector.Message{Line: "CAPTURE"}, Duration: c.delay})
	c.mu.Lock()
	c.batches = append(c.batches, copied)
	c.bytes = append(c.bytes, size)
	c.mu.Unlock()
	if c.misbehave != nil {
		return c.misbehave(b)
	}
	return nil
}

func cloneValues(vs []record.Value) []record.Value {
	out := make([]record.Value, len(vs))
	for i, v := range vs {
		if s, ok := v.(string); ok {
			v = string([]byte(s))
		}
		out[i] = v
	}
	return out
}

type testCatalog struct {
	withGenerated
	dest *capture
}

func (c testCatalog) Destination(typ string) (connector.DestinationSpec, bool) {
	if typ == "capture" {
		return c.dest.spec(), true
	}
	return c.withGenerated.Destination(typ)
}

const captureProject = `
sources:
  gen: {type: generated}
models:
  users: {source: gen, table: users, primary_key: id}
destinations:
  dest: {type: capture}
syncs:
  s:
    model: users
    destination: dest
    mode: mirror
    mappings:
      - {from: email, to: email}
      - {from: plan, to: plan}
`

type harness struct {
	engine  *engine.Engine
	dest    *capture
	round   *int
	n       *int
	planFor func(i int64) string // overrides the generated plan column
	store   store.Store
}

// failingStore is a store whose baselines fail to apply after a number of writes,
// as a disk that fills up does.
type failingStore struct {
	store.Store
	applies     int
	failLookups bool
	failLog     bool
}

func (s *failingStore) AppendBatches(ctx context.Context, b []*store.Batch) error {
	if s.failLog {
		return errors.New("run log: disk I/O error")
	}
	return s.Store.AppendBatches(ctx, b)
}

func (s *failingStore) OpenBaseline(ctx context.Context, p store.BaselineParams) (store.Baseline, error) {
	b, err := s.Store.OpenBaseline(ctx, p)
	if err != nil || p.ReadOnly {
		return b, err
	}
	return &failingBaseline{Baseline: b, left: s.applies, failLookups: s.failLookups}, nil
}

type failingBaseline struct {
	store.Baseline
	left        int
	failLookups bool
}

func (b *failingBaseline) Lookup(ctx context.Context, keys []diff.KeyHash) ([]store.Synced, error) {
	if b.failLookups {
		return nil, errors.New("read error")
	}
	return b.Baseline.Lookup(ctx, keys)
}

func (b *failingBaseline) Apply(ctx context.Context, muts []store.Mutation) error {
	if b.left <= 0 {
		return errors.New("no space left on device")
	}
	b.left--
	return b.Baseline.Apply(ctx, muts)
}

func newHarness(t *testing.T, n int, caps connector.Capabilities) *harness {
	return newHarnessWith(t, n, caps, nil)
}

func newHarnessWith(t *testing.T, n int, caps connector.Capabilities, wrap func(store.Store) store.Store) *harness {
	round := 0
	rows := n
	dest := &capture{caps: caps}
	h := &harness{dest: dest, round: &round, n: &rows}
	cat := testCatalog{withGenerated: withGenerated{src: generated{n: h.n, round: &round, plan: &h.planFor}}, dest: dest}
	dir := t.TempDir()
	p, err := config.Parse("sluice.yaml", dir, []byte(captureProject), cat, config.Options{})
	require.NoError(t, err)
	p.StateDir = filepath.Join(dir, ".sluice")
	ls, err := localstore.Open(context.Background(), p.StateDir)
	require.NoError(t, err)
	t.Cleanup(func() { ls.Close() })
	var st store.Store = ls
	if wrap != nil {
		st = wrap(ls)
	}
	h.store = st
	h.engine = engine.New(engine.Params{Project: p, Catalog: cat, Store: st})
	return h
}

func (h *harness) run(t *testing.T) *store.Run {
	t.Helper()
	r, err := h.engine.Run(context.Background(), engine.RunParams{Sync: "s"})
	require.NoError(t, err)
	return r
}

func TestBatchesRespectCapabilities(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5000, connector.Capabilities{MaxBatchRecords: 70, MaxBatchBytes: 3000, MaxInFlight: 3, MaxAttempts: 1})
	h.dest.delay = 2 * time.Millisecond // long enough for requests to overlap
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	seen := map[string]int{}
	for i, b := range h.dest.batches {
		require.LessOrEqual(t, len(b), 70, "batch %d has too many records", i)
		require.LessOrEqual(t, h.dest.bytes[i], 3000, "batch %d is too big", i)
		for _, c := range b {
			seen[c.Key]++
		}
	}
	require.Len(t, seen, 5000)
	for k, n := range seen {
		require.Equal(t, 1, n, "key %s sent %d times", k, n)
	}
	require.LessOrEqual(t, h.dest.maxInFlight, 3)
	require.Greater(t, h.dest.maxInFlight, 1, "batches go out concurrently")
}

func TestChangedRowsCarryTheirPreviousFields(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1000, connector.Capabilities{MaxBatchRecords: 100, MaxInFlight: 2, MaxAttempts: 1})
	h.run(t)
	h.dest.batches = nil
	*h.round = 1 // every hundredth plan changes
	*h.n = 990   // and the last ten rows leave the model
	r := h.run(t)
	require.Equal(t, store.Counts{Changed: 9, Removed: 10}, r.Stats.Planned) // row 1000 changed, but it left
	ops := map[record.Op]int{}
	for _, b := range h.dest.batches {
		for _, c := range b {
			ops[c.Op]++
			switch c.Op {
			case record.OpChange:
				now, _ := c.Fields.Get("plan")
				was, _ := c.Previous.Get("plan")
				require.Equal(t, "changed1", now)
				require.NotEqual(t, "changed1", was)
				require.NotEmpty(t, was)
			case record.OpRemove:
				email, _ := c.Fields.Get("email")
				require.Equal(t, fmt.Sprintf("user%s@example.com", c.Key), email, "removals carry the last synced fields")
			}
		}
	}
	require.Equal(t, map[record.Op]int{record.OpChange: 9, record.OpRemove: 10}, ops)
	require.Len(t, h.dest.batches, 2, "a small change set is one batch of changes and one of removals, however many spill files held it")
}

func TestBatchErrorContractIsChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 50, connector.Capabilities{MaxBatchRecords: 50, MaxInFlight: 1, MaxAttempts: 1})
	h.dest.misbehave = func(b *connector.Batch) error {
		be := &connector.BatchError{}
		be.Fail(len(b.Changes)+5, errors.New("index out of range"))
		return be
	}
	r := h.run(t)
	require.Equal(t, store.StatusFailed, r.Status)
	require.Equal(t, int64(50), r.Stats.Failed, "a broken BatchError fails the whole batch, not a random row")
	// Nothing was acknowledged: the next run sends every row again.
	h.dest.misbehave = nil
	r = h.run(t)
	require.Equal(t, int64(50), r.Stats.Planned.Added)
}

// A destination's declared request rate paces the run; the wait is reported.
func TestRequestsArePaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 200, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 4, MaxAttempts: 1, RequestsPerSecond: 50})
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status)
	require.Equal(t, int64(20), r.Stats.Requests)
	// 20 requests at 50 a second, one at a time after the first: at least 19 × 20 ms of waiting.
	require.GreaterOrEqual(t, r.Stats.RateLimitWaitMS, int64(19*20*9/10))
}

// Rows whose JSON is far larger than their encoding (control characters escape to
// six bytes each) still make requests within MaxBatchBytes.
func TestBatchBytesHoldForHardToEscapeValues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, connector.Capabilities{MaxBatchRecords: 1000, MaxBatchBytes: 64 << 10, MaxInFlight: 2, MaxAttempts: 1})
	h.dest.sizeOf = func(c record.Change) int {
		return len(c.Fields.AppendJSON(record.AppendJSONString(nil, c.Key))) + len(c.Previous.AppendJSON(nil)) + 48
	}
	*h.n = 400
	h.planFor = func(i int64) string { return strings.Repeat("\x01", 300) }
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	require.Greater(t, len(h.dest.batches), 1)
	for i, size := range h.dest.bytes {
		require.LessOrEqual(t, size, 64<<10, "batch %d", i)
	}
}

// When the baseline cannot record acknowledged rows (the disk filled up), they count
// as failed, the run stops sending, and the next run plans exactly what the baseline
// lacks.
func TestBaselineWriteFailureCountsHonestly(t *testing.T) {
	t.Parallel()
	var fs *failingStore
	h := newHarnessWith(t, 5000, connector.Capabilities{MaxBatchRecords: 100, MaxInFlight: 4, MaxAttempts: 1},
		func(s store.Store) store.Store { fs = &failingStore{Store: s, applies: 5}; return fs })
	r := h.run(t)
	require.Equal(t, store.StatusPartial, r.Status)
	require.Contains(t, r.Error, "no space left on device")
	require.Equal(t, int64(500), r.Stats.Succeeded, "five batches were recorded")
	require.Equal(t, int64(4500), r.Stats.Failed)
	fs.applies = 1 << 30
	r = h.run(t)
	require.Equal(t, int64(4500), r.Stats.Planned.Added, "the next run sends exactly what was not recorded")
}

// Cutting batches that fails part way (here, looking up previous fields) still gives
// every planned row an outcome.
func TestEveryPlannedRowHasAnOutcome(t *testing.T) {
	t.Parallel()
	var fs *failingStore
	h := newHarnessWith(t, 1000, connector.Capabilities{MaxBatchRecords: 100, MaxInFlight: 2, MaxAttempts: 1},
		func(s store.Store) store.Store { fs = &failingStore{Store: s, applies: 1 << 30}; return fs })
	h.run(t)
	*h.round = 1
	fs.failLookups = true
	r := h.run(t)
	require.Equal(t, store.StatusFailed, r.Status)
	require.Contains(t, r.Error, "read error")
	require.Equal(t, int64(10), r.Stats.Planned.Changed)
	require.Equal(t, r.Stats.Planned.Total(), r.Stats.Succeeded+r.Stats.Failed)
}

// A Retry-After longer than a run waits fails the batch at once instead of stalling
// every sender for an hour.
func TestLongRetryAfterFailsTheBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 50, connector.Capabilities{MaxBatchRecords: 50, MaxInFlight: 1, MaxAttempts: 5})
	h.dest.misbehave = func(b *connector.Batch) error {
		return connector.Throttled(errors.New("HTTP 429"), time.Hour)
	}
	r := h.run(t)
	require.Equal(t, store.StatusFailed, r.Status)
	require.Equal(t, int64(1), r.Stats.Requests)
	require.Equal(t, int64(50), r.Stats.Failed)
}

// A run log that cannot be written stops the run, but never the baseline: rows the
// destination acknowledged are recorded there, and only the others are sent again.
func TestRunLogFailureKeepsTheBaselineGoing(t *testing.T) {
	t.Parallel()
	var fs *failingStore
	// Enough batches that the run log's first group (64 batches) fails while more
	// are still being delivered.
	h := newHarnessWith(t, 20_000, connector.Capabilities{MaxBatchRecords: 100, MaxInFlight: 2, MaxAttempts: 1},
		func(s store.Store) store.Store {
			fs = &failingStore{Store: s, applies: 1 << 30, failLog: true}
			return fs
		})
	r := h.run(t)
	require.Contains(t, r.Error, "run log")
	delivered := 0
	for _, b := range h.dest.batches {
		delivered += len(b)
	}
	require.Positive(t, delivered)
	fs.failLog = false
	r = h.run(t)
	require.Equal(t, int64(20_000-delivered), r.Stats.Planned.Added, "what was delivered is in the baseline")
}

// A destination's Retry-After is waited out before the batch is tried again, and
// the wait is reported.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 50, connector.Capabilities{MaxBatchRecords: 50, MaxInFlight: 1, MaxAttempts: 3})
	var calls atomic.Int32
	h.dest.misbehave = func(b *connector.Batch) error {
		if calls.Add(1) == 1 {
			return connector.Throttled(errors.New("HTTP 429"), 300*time.Millisecond)
		}
		return nil
	}
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	require.Equal(t, int64(2), r.Stats.Requests)
	require.Equal(t, int64(1), r.Stats.RateLimited)
	require.GreaterOrEqual(t, r.Stats.RateLimitWaitMS, int64(300))
}

// A batch the destination refuses whole for some of its rows is halved until those
// rows fail alone; every other row is delivered.
func TestDivisibleBatchesAreSplitToIsolateBadRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 300, connector.Capabilities{MaxBatchRecords: 100, MaxInFlight: 2, MaxAttempts: 3})
	bad := map[string]bool{"17": true, "18": true, "250": true}
	h.dest.misbehave = func(b *connector.Batch) error {
		for _, c := range b.Changes {
			if bad[c.Key] {
				return connector.Divisible(fmt.Errorf("400 validation error in the batch"))
			}
		}
		return nil
	}
	r := h.run(t)
	require.Equal(t, int64(3), r.Stats.Failed, r.Error)
	require.Equal(t, int64(297), r.Stats.Succeeded)
	require.Positive(t, r.Stats.Splits)
	delivered := map[string]int{}
	for _, b := range h.dest.batches {
		ok := true
		for _, c := range b {
			ok = ok && !bad[c.Key]
		}
		for _, c := range b {
			if ok {
				delivered[c.Key]++
			}
		}
	}
	require.Len(t, delivered, 297)
	// Bisecting costs about 2·log2(100) requests per bad row, not one per row.
	require.Less(t, r.Stats.Requests, int64(3+3*2*8))

	rows, err := h.store.RowOutcomes(context.Background(), r.ID, store.RowFilter{FailedOnly: true})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for _, row := range rows {
		require.True(t, bad[row.Key], row.Key)
		require.Contains(t, row.Error, "400 validation error")
	}
}

// A run against a destination with published limits reports its speed against the
// ceiling they allow.
func TestEfficiencyIsReportedAgainstTheCeiling(t *testing.T) {
	t.Parallel()
	limits := &connector.RateLimits{Requests: 10, Window: time.Second}
	h := newHarness(t, 200, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 2, MaxAttempts: 1, Limits: limits})
	h.dest.delay = 5 * time.Millisecond
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	require.InDelta(t, 200, r.Stats.CeilingOpsPerSecond, 0.001, "200 changes in 20 requests at 10 per second: 10 at once, 10 a second later")
	require.InDelta(t, 100, r.Stats.SustainedOpsPerSecond, 0.001)
	require.NotNil(t, r.Stats.Efficiency)
	require.True(t, *r.Stats.LimitsBinding)
	elapsed := time.Duration(r.Stats.DurationMS) * time.Millisecond
	require.InDelta(t, 1/elapsed.Seconds(), *r.Stats.Efficiency, 0.1*1/elapsed.Seconds())
	require.InDelta(t, 200/elapsed.Seconds(), r.Stats.OpsPerSecond, 0.1*200/elapsed.Seconds())
	require.Positive(t, r.Stats.RequestP95MS)

	h2 := newHarness(t, 10, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 1, MaxAttempts: 1})
	r2 := h2.run(t)
	require.Nil(t, r2.Stats.Efficiency, "no limits, no ceiling")
	require.Nil(t, r2.Stats.LimitsBinding)

	h3 := newHarness(t, 100, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 1, MaxAttempts: 1, Limits: limits})
	r3 := h3.run(t)
	require.Nil(t, r3.Stats.Efficiency, "10 requests fit the first window: the limits do not bind")
	require.False(t, *r3.Stats.LimitsBinding)
}

// learning is a destination that learns its limits from its first answer, as
// one reading the API's usage headers does.
type learning struct {
	*capture
	learned atomic.Pointer[connector.RateLimits]
}

func (l *learning) Capabilities() connector.Capabilities {
	c := l.capture.Capabilities()
	if p := l.learned.Load(); p != nil {
		c.Limits = p
	}
	return c
}

func (l *learning) Write(ctx context.Context, b *connector.Batch) error {
	l.learned.Store(&connector.RateLimits{Requests: 10, Window: time.Second})
	return l.capture.Write(ctx, b)
}

// The run is measured against the limits the destination knows at its end,
// not the ones it declared before its first request.
func TestEfficiencyUsesLimitsLearnedDuringTheRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 200, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 2, MaxAttempts: 1,
		Limits: &connector.RateLimits{Requests: 1000, Window: time.Second}})
	h.dest.wrap = &learning{capture: h.dest}
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	require.True(t, *r.Stats.LimitsBinding, "20 requests at the learned 10 a second do not fit one window")
	require.InDelta(t, 200, r.Stats.CeilingOpsPerSecond, 0.001)
	require.InDelta(t, 100, r.Stats.SustainedOpsPerSecond, 0.001)
}

func TestCeilingCountsRequestsAndBytes(t *testing.T) {
	l := &connector.RateLimits{Requests: 190, Window: 10 * time.Second}
	// 1,000 requests: 190 at once, then 190 every 10 s; the last group leaves at 50 s.
	require.Equal(t, 50*time.Second, l.Ceiling(100_000, 100, 0))
	require.Equal(t, 10*time.Second, l.Ceiling(19_100, 100, 0))
	require.Zero(t, l.Ceiling(19_000, 100, 0), "190 requests fit the first window")
	require.InDelta(t, 1900, l.Sustained(100, 0), 0.001)
	b := &connector.RateLimits{Bytes: 2 << 30, Window: time.Minute}
	require.Equal(t, time.Minute, b.Ceiling(10, 2000, 3<<30))
	require.Zero(t, b.Ceiling(10, 2000, 1<<30))
	require.InDelta(t, float64(2<<30)/500/60, b.Sustained(2000, 500), 0.01)
	var none *connector.RateLimits
	require.Zero(t, none.Ceiling(10, 1, 10))
}

// Removals reach the destination before any addition or change of the same run: a
// destination identifying records by something else than the key (an email) must
// not see a re-keyed record's addition archived by its old key's removal.
func TestRemovalsSettleBeforeOtherChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3000, connector.Capabilities{MaxBatchRecords: 50, MaxInFlight: 4, MaxAttempts: 1})
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	*h.n = 2000
	h.planFor = func(i int64) string { return "changed" }
	h.dest.mu.Lock()
	h.dest.batches = nil
	h.dest.mu.Unlock()
	r = h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	require.Equal(t, int64(1000), r.Stats.Planned.Removed)
	require.Positive(t, r.Stats.Planned.Changed)
	seenOther := false
	for i, b := range h.dest.batches {
		for _, c := range b {
			if c.Op == record.OpRemove {
				require.False(t, seenOther, "batch %d removes after an addition or change was sent", i)
			} else {
				seenOther = true
			}
		}
	}
}

// planning wraps capture with the optional run hooks.
type planning struct {
	*capture
	plans   []connector.RunPlan
	results []connector.RunResult
}

func (p *planning) PlanRun(ctx context.Context, rp connector.RunPlan) error {
	p.plans = append(p.plans, rp)
	p.caps.MaxBatchRecords = 25 // a plan may change the capabilities
	return nil
}

func (p *planning) FinishRun(ctx context.Context, r connector.RunResult) error {
	p.results = append(p.results, r)
	if !r.Complete {
		return errors.New("replace session not closed")
	}
	return nil
}

// A destination that plans its runs hears the counts before the first write, its
// capabilities are read after, it finishes the run after the last, and its own
// counters reach the run's statistics.
func TestRunPlannerAndFinisher(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 100, connector.Capabilities{MaxBatchRecords: 100, MaxInFlight: 1, MaxAttempts: 1})
	p := &planning{capture: h.dest}
	h.dest.wrap = p
	h.dest.misbehave = func(b *connector.Batch) error {
		b.Count("num_invalid_entries", 2)
		return nil
	}
	r := h.run(t)
	require.Equal(t, store.StatusSucceeded, r.Status, r.Error)
	require.Equal(t, []connector.RunPlan{{Added: 100}}, p.plans)
	require.Len(t, h.dest.batches, 4, "batches cut by the capabilities the plan set")
	require.Equal(t, []connector.RunResult{{Complete: true, Succeeded: 100}}, p.results)
	require.Equal(t, map[string]int64{"num_invalid_entries": 8}, r.Stats.Destination)

	h.dest.misbehave = func(b *connector.Batch) error { return connector.Permanent(errors.New("no")) }
	*h.n = 110
	r = h.run(t)
	require.Equal(t, store.StatusFailed, r.Status)
	require.Contains(t, r.Error, "replace session not closed")
	require.False(t, p.results[1].Complete)
}

// finishing is a Finisher whose FinishRun runs finish with its context.
type finishing struct {
	*capture
	finish func(ctx context.Context, r connector.RunResult) error
}

func (f *finishing) PlanRun(context.Context, connector.RunPlan) error { return nil }
func (f *finishing) FinishRun(ctx context.Context, r connector.RunResult) error {
	return f.finish(ctx, r)
}

// FinishRun can be interrupted: a run cancelled while the destination finishes
// (a long wait for Meta to take a replace session's last batch) stops it. A run
// cancelled before still lets the destination finish, to abandon what it opened.
func TestFinishRunContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 10, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 1, MaxAttempts: 1})
	ctx, cancel := context.WithCancel(context.Background())
	f := &finishing{capture: h.dest, finish: func(fctx context.Context, _ connector.RunResult) error {
		cancel()
		select {
		case <-fctx.Done():
			return fctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("FinishRun was not interrupted")
		}
	}}
	h.dest.wrap = f
	r, err := h.engine.Run(ctx, engine.RunParams{Sync: "s"})
	require.NoError(t, err)
	require.Contains(t, r.Error, "context canceled")

	h2 := newHarness(t, 10, connector.Capabilities{MaxBatchRecords: 10, MaxInFlight: 1, MaxAttempts: 1})
	ctx2, cancel2 := context.WithCancel(context.Background())
	h2.dest.misbehave = func(*connector.Batch) error { cancel2(); return nil }
	var finishErr error
	var result connector.RunResult
	h2.dest.wrap = &finishing{capture: h2.dest, finish: func(fctx context.Context, r connector.RunResult) error {
		finishErr, result = fctx.Err(), r
		return nil
	}}
	_, err = h2.engine.Run(ctx2, engine.RunParams{Sync: "s"})
	require.NoError(t, err)
	require.NoError(t, finishErr, "a run cancelled before finishing still finishes with a live context")
	require.True(t, result.Cancelled, "and is told the run was cancelled")
	require.False(t, result.Complete)
}
