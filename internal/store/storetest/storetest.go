// Package storetest is the suite every store backend passes.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openMyStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// Run runs the suite; open returns a fresh, empty store for each test (and
// arranges its cleanup). Reopen, when the backend is persistent, returns a new
// handle on the same state as the store it is given.
func Run(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	t.Run("Runs", func(t *testing.T) { testRuns(t, open(t)) })
	t.Run("RowOutcomes", func(t *testing.T) { testRowOutcomes(t, open(t)) })
	t.Run("BaselineEmpty", func(t *testing.T) { testBaselineEmpty(t, open(t)) })
	t.Run("BaselineApply", func(t *testing.T) { testBaselineApply(t, open(t), reopen) })
	t.Run("BaselineLarge", func(t *testing.T) { testBaselineLarge(t, open(t), reopen) })
	t.Run("BaselineLock", func(t *testing.T) { testBaselineLock(t, open(t)) })
	t.Run("BaselinesAreSeparate", func(t *testing.T) { testBaselinesSeparate(t, open(t)) })
}

func testRuns(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.GetRun(ctx, "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 5 {
		sync := "a"
		if i%2 == 1 {
			sync = "b"
		}
		r := &store.Run{ID: "run-" + strconv.Itoa(i), Sync: sync, Status: store.StatusRunning, StartedAt: base.Add(time.Duration(i) * time.Minute)}
		require.NoError(t, s.CreateRun(ctx, r))
	}
	r, err := s.GetRun(ctx, "run-2")
	require.NoError(t, err)
	require.Equal(t, store.StatusRunning, r.Status)
	require.True(t, r.FinishedAt.IsZero())
	r.Status = store.StatusPartial
	r.Error = "2 rows failed"
	r.FinishedAt = base.Add(time.Hour)
	r.Stats = store.Stats{RowsRead: 10, Invalid: 1, Planned: store.Counts{Added: 5, Changed: 3, Removed: 1}, Succeeded: 7, Failed: 2, DurationMS: 1234}
	require.NoError(t, s.UpdateRun(ctx, r))
	got, err := s.GetRun(ctx, "run-2")
	require.NoError(t, err)
	require.Equal(t, r.Stats, got.Stats)
	require.Equal(t, store.StatusPartial, got.Status)
	require.Equal(t, "2 rows failed", got.Error)
	require.True(t, got.FinishedAt.Equal(r.FinishedAt))
	require.True(t, got.StartedAt.Equal(base.Add(2*time.Minute)))

	require.ErrorIs(t, s.UpdateRun(ctx, &store.Run{ID: "missing"}), store.ErrNotFound)

	runs, err := s.ListRuns(ctx, "a", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"run-4", "run-2", "run-0"}, ids(runs), "newest first, one sync")
	runs, err = s.ListRuns(ctx, "", 2)
	require.NoError(t, err)
	require.Equal(t, []string{"run-4", "run-3"}, ids(runs), "all syncs, limited")
}

func ids(runs []*store.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}

func testRowOutcomes(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateRun(ctx, &store.Run{ID: "r1", Sync: "a", Status: store.StatusRunning, StartedAt: time.Now()}))
	ex := connector.Exchange{
		Request:  connector.Message{Line: "POST http://x/events", Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"events":[]}`)},
		Response: connector.Message{Line: "HTTP 200 OK", Body: []byte(`{"failed":[{"key":"2","error":"bad"}]}`)},
		Duration: 1500 * time.Microsecond,
	}
	b1 := &store.Batch{RunID: "r1", Seq: 1, ID: "r1-1", Attempts: 2, Rows: []store.BatchRow{
		{Key: "1", Op: record.OpAdd}, {Key: "2", Op: record.OpChange, Error: "bad"}, {Key: "3", Op: record.OpRemove},
	}, Exchanges: []connector.Exchange{{Request: ex.Request, Err: "timeout"}, ex}}
	b2 := &store.Batch{RunID: "r1", Seq: 2, ID: "r1-2", Attempts: 1, Error: "HTTP 400", Rows: []store.BatchRow{
		{Key: "4", Op: record.OpAdd, Error: "HTTP 400"},
	}}
	b3 := &store.Batch{RunID: "r1", Seq: 3, ID: "r1-3", Attempts: 0, Error: "not sent: run cancelled", Rows: []store.BatchRow{
		{Key: "5", Op: record.OpAdd, Error: "not sent: run cancelled"}, {Key: "6", Op: record.OpRemove, Error: "not sent: run cancelled"},
	}}
	require.NoError(t, s.AppendBatches(ctx, []*store.Batch{b1, b2, b3}))
	require.NoError(t, s.AppendRows(ctx, "r1", []store.RowOutcome{{Key: "", Status: store.RowInvalid, Error: "primary key is null"}, {Key: "9", Status: store.RowInvalid, Error: "2 rows share this primary key"}}))

	all, err := s.RowOutcomes(ctx, "r1", store.RowFilter{})
	require.NoError(t, err)
	require.Equal(t, []store.RowOutcome{
		{Key: "1", Op: record.OpAdd, Status: store.RowSucceeded, BatchSeq: 1},
		{Key: "2", Op: record.OpChange, Status: store.RowFailed, Error: "bad", BatchSeq: 1},
		{Key: "3", Op: record.OpRemove, Status: store.RowSucceeded, BatchSeq: 1},
		{Key: "4", Op: record.OpAdd, Status: store.RowFailed, Error: "HTTP 400", BatchSeq: 2},
		{Key: "5", Op: record.OpAdd, Status: store.RowFailed, Error: "not sent: run cancelled", BatchSeq: 3},
		{Key: "6", Op: record.OpRemove, Status: store.RowFailed, Error: "not sent: run cancelled", BatchSeq: 3},
		{Key: "", Status: store.RowInvalid, Error: "primary key is null"},
		{Key: "9", Status: store.RowInvalid, Error: "2 rows share this primary key"},
	}, all)

	failed, err := s.RowOutcomes(ctx, "r1", store.RowFilter{FailedOnly: true})
	require.NoError(t, err)
	require.Len(t, failed, 6, "failed and invalid rows, including those of batches never sent")
	for _, o := range failed {
		require.NotEqual(t, store.RowSucceeded, o.Status)
	}
	unsent, err := s.RowOutcomes(ctx, "r1", store.RowFilter{Key: "6", FailedOnly: true})
	require.NoError(t, err)
	require.Equal(t, []store.RowOutcome{{Key: "6", Op: record.OpRemove, Status: store.RowFailed, Error: "not sent: run cancelled", BatchSeq: 3}}, unsent)
	one, err := s.RowOutcomes(ctx, "r1", store.RowFilter{Key: "3"})
	require.NoError(t, err)
	require.Equal(t, []store.RowOutcome{{Key: "3", Op: record.OpRemove, Status: store.RowSucceeded, BatchSeq: 1}}, one)
	limited, err := s.RowOutcomes(ctx, "r1", store.RowFilter{Limit: 2})
	require.NoError(t, err)
	require.Len(t, limited, 2)

	got, err := s.GetBatch(ctx, "r1", 1)
	require.NoError(t, err)
	require.Equal(t, b1.ID, got.ID)
	require.Equal(t, 2, got.Attempts)
	require.Equal(t, b1.Rows, got.Rows)
	require.Len(t, got.Exchanges, 2)
	require.Equal(t, "timeout", got.Exchanges[0].Err)
	require.Equal(t, ex.Request.Body, got.Exchanges[1].Request.Body)
	require.Equal(t, ex.Response.Body, got.Exchanges[1].Response.Body)
	require.Equal(t, ex.Request.Header, got.Exchanges[1].Request.Header)
	require.Equal(t, ex.Duration, got.Exchanges[1].Duration)
	_, err = s.GetBatch(ctx, "r1", 4)
	require.ErrorIs(t, err, store.ErrNotFound)
}

var names = []string{"email", "plan"}

func put(key string, plan string) store.Mutation {
	vals := record.AppendValues(nil, []record.Value{key + "@x.io", plan})
	return store.Mutation{Key: diff.HashKey(key), Row: diff.NewRowHasher(names).Hash(vals), KeyText: key, Names: names, Values: vals}
}

func remove(key string) store.Mutation { return store.Mutation{Key: diff.HashKey(key), Remove: true} }

func testBaselineEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, ro := range []bool{true, false} {
		b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "never-run", ReadOnly: ro})
		require.NoError(t, err)
		ix, err := b.Index(ctx)
		require.NoError(t, err)
		require.Zero(t, ix.Len())
		got, err := b.Lookup(ctx, []diff.KeyHash{diff.HashKey("x")})
		require.NoError(t, err)
		require.False(t, got[0].Found)
		require.NoError(t, b.Close())
	}
}

// contents reads a baseline back as key → plan.
func contents(t *testing.T, s store.Store, sync string) map[string]string {
	t.Helper()
	ctx := context.Background()
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: sync, ReadOnly: true})
	require.NoError(t, err)
	defer b.Close()
	ix, err := b.Index(ctx)
	require.NoError(t, err)
	var keys []diff.KeyHash
	for _, e := range ix.Entries() {
		keys = append(keys, e.Key)
	}
	got, err := b.Lookup(ctx, keys)
	require.NoError(t, err)
	out := map[string]string{}
	for i, g := range got {
		require.True(t, g.Found)
		require.Equal(t, keys[i], diff.HashKey(g.Key), "Lookup returns the record of the key asked for")
		require.Len(t, g.Fields.Names, 2)
		out[g.Key] = g.Fields.Values()[1].(string)
		if g.Fields.Names[1] == "plan" {
			vals := g.Fields.Encoded()
			require.Equal(t, ix.Entries()[i].Row, diff.NewRowHasher(names).Hash(vals), "the index's row hash matches the stored fields")
		}
	}
	return out
}

func testBaselineApply(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	ctx := context.Background()
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	require.NoError(t, b.Apply(ctx, []store.Mutation{put("1", "free"), put("2", "pro"), put("3", "team")}))
	require.NoError(t, b.Apply(ctx, []store.Mutation{put("2", "enterprise"), remove("3"), remove("never-there")}))
	require.NoError(t, b.Close())
	require.Equal(t, map[string]string{"1": "free", "2": "enterprise"}, contents(t, s, "a"))

	// a renamed field (new mappings) is stored with its own names
	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	other := []string{"email", "tier"}
	vals := record.AppendValues(nil, []record.Value{"4@x.io", "free"})
	require.NoError(t, b.Apply(ctx, []store.Mutation{{Key: diff.HashKey("4"), Row: 7, KeyText: "4", Names: other, Values: vals}}))
	require.NoError(t, b.Close())
	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a", ReadOnly: true})
	require.NoError(t, err)
	got, err := b.Lookup(ctx, []diff.KeyHash{diff.HashKey("4"), diff.HashKey("1")})
	require.NoError(t, err)
	require.Equal(t, other, got[0].Fields.Names)
	require.Equal(t, names, got[1].Fields.Names)
	require.NoError(t, b.Close())

	if reopen != nil {
		s2 := reopen(t, s)
		c := contents(t, s2, "a")
		require.Equal(t, "enterprise", c["2"])
		require.Len(t, c, 3)
	}
}

func testBaselineLarge(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	ctx := context.Background()
	want := map[string]string{}
	// Several runs of churn: enough to fold tails into indexes and rewrite logs.
	for round := range 4 {
		b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "big"})
		require.NoError(t, err)
		ix, err := b.Index(ctx)
		require.NoError(t, err)
		require.Equal(t, len(want), ix.Len(), "round %d", round)
		var muts []store.Mutation
		for i := range 60_000 {
			key := strconv.Itoa((i*7 + round*13_000) % 90_000)
			switch {
			case i%5 == 0:
				muts = append(muts, remove(key))
				delete(want, key)
			default:
				plan := fmt.Sprintf("p%d", round)
				muts = append(muts, put(key, plan))
				want[key] = plan
			}
			if len(muts) == 1000 {
				require.NoError(t, b.Apply(ctx, muts))
				muts = muts[:0]
			}
		}
		require.NoError(t, b.Apply(ctx, muts))
		require.NoError(t, b.Close())
	}
	require.Equal(t, want, contents(t, s, "big"))
	if reopen != nil {
		require.Equal(t, want, contents(t, reopen(t, s), "big"))
	}
}

func testBaselineLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	_, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.True(t, errors.Is(err, store.ErrLocked), "a second writer gets ErrLocked, got %v", err)
	ro, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a", ReadOnly: true})
	require.NoError(t, err, "readers are not locked out")
	require.NoError(t, ro.Close())
	other, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "b"})
	require.NoError(t, err, "other syncs are not locked")
	require.NoError(t, other.Close())
	require.NoError(t, b.Close())
	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err, "the lock is released on close")
	require.NoError(t, b.Close())
}

func testBaselinesSeparate(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, name := range []string{"x", "y"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: name})
			if err != nil {
				t.Error(err)
				return
			}
			defer b.Close()
			if err := b.Apply(ctx, []store.Mutation{put(name, name)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, map[string]string{"x": "x"}, contents(t, s, "x"))
	require.Equal(t, map[string]string{"y": "y"}, contents(t, s, "y"))
}
