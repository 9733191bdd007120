package localstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/store/localstore"
	"github.com/sluicehq/sluice/internal/store/storetest"
	"github.com/sluicehq/sluice/record"
)

func open(t *testing.T, dir string) *localstore.Store {
	t.Helper()
	s, err := localstore.Open(context.Background(), dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store { return open(t, t.TempDir()) },
		func(t *testing.T, s store.Store) store.Store { return open(t, s.(*localstore.Store).Dir()) },
	)
}

func mutation(key, plan string) store.Mutation {
	names := []string{"plan"}
	vals := record.AppendValues(nil, []record.Value{plan})
	return store.Mutation{Key: diff.HashKey(key), Row: diff.NewRowHasher(names).Hash(vals), KeyText: key, Names: names, Values: vals}
}

// A write cut short (a crash or a full disk in the middle of a frame) loses only the
// cut frame; everything before it is kept and the log accepts writes again.
func TestTornTailIsCutOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	require.NoError(t, b.Apply(ctx, []store.Mutation{mutation("1", "free"), mutation("2", "pro")}))
	require.NoError(t, b.Close())

	logs, _ := filepath.Glob(filepath.Join(dir, "baselines", "a", "data-*.log"))
	require.Len(t, logs, 1)
	fi, err := os.Stat(logs[0])
	require.NoError(t, err)
	require.NoError(t, os.Truncate(logs[0], fi.Size()-3)) // tear the last frame

	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	ix, _ := b.Index(ctx)
	require.Equal(t, 1, ix.Len(), "the torn frame is dropped, the whole one kept")
	require.NoError(t, b.Apply(ctx, []store.Mutation{mutation("3", "team")}))
	require.NoError(t, b.Close())

	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a", ReadOnly: true})
	require.NoError(t, err)
	defer b.Close()
	got, err := b.Lookup(ctx, []diff.KeyHash{diff.HashKey("1"), diff.HashKey("2"), diff.HashKey("3")})
	require.NoError(t, err)
	require.True(t, got[0].Found)
	require.False(t, got[1].Found)
	require.True(t, got[2].Found)
}

func TestDamagedIndexIsAnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	var muts []store.Mutation
	for i := range 60_000 {
		muts = append(muts, mutation(string(rune('a'+i%26))+string(rune(i)), "x"))
	}
	require.NoError(t, b.Apply(ctx, muts))
	require.NoError(t, b.Close())
	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"}) // folds the tail into an index
	require.NoError(t, err)
	require.NoError(t, b.Close())
	keys, _ := filepath.Glob(filepath.Join(dir, "baselines", "a", "index-*.keys"))
	require.Len(t, keys, 1)
	f, err := os.OpenFile(keys[0], os.O_RDWR, 0)
	require.NoError(t, err)
	f.WriteAt([]byte{0xff, 0xfe}, 100)
	f.Close()
	_, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.ErrorContains(t, err, "checksum")
}

// Churn makes most of the logs dead; folding then rewrites the live records into a
// fresh log and deletes the old ones, and nothing live is lost.
func TestDeadLogsAreRewritten(t *testing.T) {
	defer localstore.SetRewriteMinBytes(0)()
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	want := map[string]bool{}
	for round := range 6 {
		b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
		require.NoError(t, err)
		var muts []store.Mutation
		for i := range 60_000 {
			key := strconv.Itoa(i % 20_000)
			muts = append(muts, mutation(key, strconv.Itoa(round)))
			want[key] = true
		}
		require.NoError(t, b.Apply(ctx, muts))
		require.NoError(t, b.Close())
	}
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	logs, _ := filepath.Glob(filepath.Join(dir, "baselines", "a", "data-*.log"))
	require.Len(t, logs, 1, "old logs are deleted after the rewrite")
	fi, err := os.Stat(logs[0])
	require.NoError(t, err)
	require.Less(t, fi.Size(), int64(2<<20), "the log holds the 20,000 live records, not all 360,000 written")
	b, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a", ReadOnly: true})
	require.NoError(t, err)
	defer b.Close()
	ix, _ := b.Index(ctx)
	require.Equal(t, len(want), ix.Len())
	var keys []diff.KeyHash
	for k := range want {
		keys = append(keys, diff.HashKey(k))
	}
	got, err := b.Lookup(ctx, keys)
	require.NoError(t, err)
	for _, g := range got {
		require.True(t, g.Found)
		require.Equal(t, "5", g.Fields.Values()[0], "the newest value survives")
	}
}

// Older runs keep their summary but give up their requests and responses.
func TestOldRunsArePruned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	base := time.Now()
	for i := range 25 {
		id := fmt.Sprintf("run-%02d", i)
		require.NoError(t, s.CreateRun(ctx, &store.Run{ID: id, Sync: "a", Status: store.StatusRunning, StartedAt: base.Add(time.Duration(i) * time.Second)}))
		require.NoError(t, s.AppendBatches(ctx, []*store.Batch{{RunID: id, Seq: 1, ID: id + "-1", Attempts: 1,
			Rows:      []store.BatchRow{{Key: "1", Op: record.OpAdd}},
			Exchanges: []connector.Exchange{{Request: connector.Message{Line: "POST x", Body: []byte(`{"a":1}`)}}}}}))
		if i == 3 {
			continue // still running (another process): it keeps everything
		}
		require.NoError(t, s.UpdateRun(ctx, &store.Run{ID: id, Sync: "a", Status: store.StatusSucceeded, StartedAt: base, FinishedAt: base}))
	}
	require.NoError(t, s.CreateRun(ctx, &store.Run{ID: "run-25", Sync: "a", Status: store.StatusRunning, StartedAt: base.Add(time.Minute)}))
	old, err := s.GetBatch(ctx, "run-05", 1)
	require.NoError(t, err, "the batch and its rows are kept for 100 runs")
	require.Empty(t, old.Exchanges, "exchanges are kept for the newest 20 runs")
	_, err = os.Stat(filepath.Join(s.Dir(), "exchanges", "run-05.s2"))
	require.True(t, os.IsNotExist(err))
	running, err := s.GetBatch(ctx, "run-03", 1)
	require.NoError(t, err)
	require.Len(t, running.Exchanges, 1, "a running run is never pruned")
	recent, err := s.GetBatch(ctx, "run-06", 1)
	require.NoError(t, err)
	require.Len(t, recent.Exchanges, 1)
	require.Equal(t, `{"a":1}`, string(recent.Exchanges[0].Request.Body))
	_, err = s.GetRun(ctx, "run-00")
	require.NoError(t, err, "summaries stay")
}

// A run that sent nothing has only invalid rows; they are pruned with the rest.
func TestInvalidOnlyRunsArePruned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	base := time.Now()
	for i := range 102 {
		id := fmt.Sprintf("run-%03d", i)
		require.NoError(t, s.CreateRun(ctx, &store.Run{ID: id, Sync: "a", Status: store.StatusRunning, StartedAt: base.Add(time.Duration(i) * time.Second)}))
		require.NoError(t, s.AppendRows(ctx, id, []store.RowOutcome{{Status: store.RowInvalid, Error: "primary key is null"}}))
		require.NoError(t, s.UpdateRun(ctx, &store.Run{ID: id, Sync: "a", Status: store.StatusSucceeded, StartedAt: base, FinishedAt: base}))
	}
	old, err := s.RowOutcomes(ctx, "run-000", store.RowFilter{})
	require.NoError(t, err)
	require.Empty(t, old, "runs beyond the newest 100 lose their rows")
	recent, err := s.RowOutcomes(ctx, "run-101", store.RowFilter{})
	require.NoError(t, err)
	require.Len(t, recent, 1)
}

// Saving the manifest between folds (a new field-name schema here) must not count
// the log's tail twice: a log that is mostly alive is not rewritten.
func TestTailIsCountedOnce(t *testing.T) {
	defer localstore.SetRewriteMinBytes(0)()
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	for round := range 4 {
		b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
		require.NoError(t, err)
		var muts []store.Mutation
		for i := range 20_000 { // new keys every round: nothing dies
			k := strconv.Itoa(round*20_000 + i)
			vals := record.AppendValues(nil, []record.Value{"x"})
			muts = append(muts, store.Mutation{Key: diff.HashKey(k), Row: 1, KeyText: k, Names: []string{"f" + strconv.Itoa(round)}, Values: vals})
		}
		require.NoError(t, b.Apply(ctx, muts))
		require.NoError(t, b.Close())
	}
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	m, err := os.ReadFile(filepath.Join(dir, "baselines", "a", "MANIFEST"))
	require.NoError(t, err)
	var man struct {
		Logs []struct {
			Num  int   `json:"num"`
			Puts int64 `json:"puts"`
		} `json:"logs"`
	}
	require.NoError(t, json.Unmarshal(m, &man))
	var puts int64
	for _, l := range man.Logs {
		puts += l.Puts
	}
	require.Equal(t, int64(60_000), puts, "the puts the index covers (three rounds), each counted once")
}

// A log rewrite that fails part way (here its fsync) leaves the old logs and index
// in charge: nothing acknowledged is lost, and the open reports the failure.
func TestFailedRewriteLosesNothing(t *testing.T) {
	defer localstore.SetRewriteMinBytes(0)()
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	for round := range 3 {
		b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
		require.NoError(t, err)
		var muts []store.Mutation
		for i := range 60_000 {
			muts = append(muts, mutation(strconv.Itoa(i%20_000), strconv.Itoa(round)))
		}
		require.NoError(t, b.Apply(ctx, muts))
		require.NoError(t, b.Close())
	}
	restore := localstore.FailSyncs()
	_, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"}) // wants to rewrite: most frames are dead
	restore()
	require.ErrorContains(t, err, "injected fsync failure")
	b, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a", ReadOnly: true})
	require.NoError(t, err)
	defer b.Close()
	ix, _ := b.Index(ctx)
	require.Equal(t, 20_000, ix.Len())
	got, err := b.Lookup(ctx, []diff.KeyHash{diff.HashKey("7")})
	require.NoError(t, err)
	require.Equal(t, "2", got[0].Fields.Values()[0], "the newest value survives")
}
