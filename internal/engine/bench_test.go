package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/webhook/webhooktest"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/store/localstore"
	"github.com/sluicehq/sluice/record"
)

// The benchmarks below are the figures in docs/performance.md. Run one at a time so
// that the peak memory each reports is its own:
//
//	go test ./internal/engine -run '^$' -bench '^BenchmarkPlainScan$' -benchtime 3x
//	go test ./internal/engine -run '^$' -bench '^BenchmarkInitialSync$' -benchtime 3x
//	go test ./internal/engine -run '^$' -bench '^BenchmarkInitialSyncVsScan$' -benchtime 10x
//	go test ./internal/engine -run '^$' -bench '^BenchmarkChangedSync$' -benchtime 3x
//	go test ./internal/engine -run '^$' -bench '^BenchmarkDiff10M$' -benchtime 3x
//	go test ./internal/engine -run '^$' -bench '^BenchmarkPlan10MDuckDB$' -benchtime 3x
//
// SLUICE_BENCH_ROWS overrides the row counts (1,000,000 and 10,000,000).

const modelSQL = `select * from users`

func rowsFromEnv(def int) int {
	if v, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return def
}

// warehouse creates a DuckDB file with n users: id, email, name, plan, seats, mrr,
// signed_up_at: a typical CRM-bound model.
func warehouse(b *testing.B, dir string, n int) string {
	b.Helper()
	path := filepath.Join(dir, "warehouse.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf(`create table users as
		select i as id, 'user' || i || '@example.com' as email, 'User ' || i as name,
		       (['free','starter','team','business'])[1 + (i %% 4)::int] as plan,
		       (i %% 500)::int as seats, (i %% 100000)::decimal(12,2) / 100 as mrr,
		       timestamp '2024-01-01' + to_seconds(i) as signed_up_at
		from range(1, %d) t(i)`, n+1))
	if err != nil {
		b.Fatal(err)
	}
	return path
}

// changeOnePercent changes the plan of every hundredth user.
func changeOnePercent(b *testing.B, path string, round int) {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`update users set plan = 'changed%d' where id %% 100 = 0`, round)); err != nil {
		b.Fatal(err)
	}
}

const benchProject = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  users: {source: warehouse, query: "%s", primary_key: id}
destinations:
  hook:
    type: webhook
    url: %s
    batch_size: 1000
    max_in_flight: 8
syncs:
  users_to_hook: {model: users, destination: hook, mode: mirror}
`

type bench struct {
	dir     string
	project *config.Project
	recv    *webhooktest.Receiver
}

func newBench(b *testing.B, n int) *bench {
	b.Helper()
	dir := b.TempDir()
	warehouse(b, dir, n)
	recv, err := webhooktest.Start("127.0.0.1:0", webhooktest.Options{Discard: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { recv.Close() })
	yaml := fmt.Sprintf(benchProject, modelSQL, recv.URL)
	p, err := config.Parse("sluice.yaml", dir, []byte(yaml), registry.Catalog{}, config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return &bench{dir: dir, project: p, recv: recv}
}

func (bn *bench) run(b *testing.B, stateDir string, plan bool) (*store.Run, *engine.Plan) {
	b.Helper()
	bn.project.StateDir = stateDir
	st, err := localstore.Open(context.Background(), stateDir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	e := engine.New(engine.Params{Project: bn.project, Catalog: registry.Catalog{}, Store: st})
	if plan {
		p, err := e.Plan(context.Background(), engine.PlanParams{Sync: "users_to_hook"})
		if err != nil {
			b.Fatal(err)
		}
		return nil, p
	}
	r, err := e.Run(context.Background(), engine.RunParams{Sync: "users_to_hook"})
	if err != nil {
		b.Fatal(err)
	}
	if r.Status != store.StatusSucceeded {
		b.Fatalf("run %s: %s", r.Status, r.Error)
	}
	return r, nil
}

// resetPeak restarts the kernel's count of this process's peak memory.
func resetPeak() {
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakMiB is this process's peak resident memory since resetPeak.
func peakMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// reportRowsAndPeak reports rows per second over the timed part and the peak memory.
func reportRowsAndPeak(b *testing.B, rowsPerOp int) {
	b.ReportMetric(float64(rowsPerOp)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(peakMiB(), "peak-MiB")
}

// plainScan reads the model the way a plain Go program would: database/sql, every
// column scanned into an any.
func plainScan(b *testing.B, path string, n int) {
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(modelSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	count := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		count++
	}
	if count != n {
		b.Fatalf("scanned %d rows", count)
	}
}

func BenchmarkPlainScan(b *testing.B) {
	n := rowsFromEnv(1_000_000)
	dir := b.TempDir()
	path := warehouse(b, dir, n)
	resetPeak()
	b.ResetTimer()
	for range b.N {
		plainScan(b, path, n)
	}
	reportRowsAndPeak(b, n)
}

// BenchmarkInitialSyncVsScan alternates a plain scan and an initial sync of the same
// model in one process and reports the sync's rate as a share of the scan's: on a
// noisy machine the ratio holds better than two separate runs.
func BenchmarkInitialSyncVsScan(b *testing.B) {
	n := rowsFromEnv(1_000_000)
	bn := newBench(b, n)
	path := filepath.Join(bn.dir, "warehouse.duckdb")
	var scan, syncing time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		plainScan(b, path, n)
		t1 := time.Now()
		bn.run(b, filepath.Join(bn.dir, "state-"+strconv.Itoa(i)), false)
		scan, syncing = scan+t1.Sub(t0), syncing+time.Since(t1)
	}
	b.ReportMetric(float64(n)*float64(b.N)/scan.Seconds(), "scan-rows/s")
	b.ReportMetric(float64(n)*float64(b.N)/syncing.Seconds(), "sync-rows/s")
	b.ReportMetric(100*scan.Seconds()/syncing.Seconds(), "%-of-scan")
}

func BenchmarkInitialSync(b *testing.B) {
	n := rowsFromEnv(1_000_000)
	bn := newBench(b, n)
	resetPeak()
	b.ResetTimer()
	var readMS, writeMS int64
	for i := range b.N {
		r, _ := bn.run(b, filepath.Join(bn.dir, "state-"+strconv.Itoa(i)), false)
		if r.Stats.Succeeded != int64(n) {
			b.Fatalf("succeeded %d of %d", r.Stats.Succeeded, n)
		}
		readMS += r.Stats.ReadMS
		writeMS += r.Stats.WriteMS
	}
	b.ReportMetric(float64(readMS)/float64(b.N), "read-ms")
	b.ReportMetric(float64(writeMS)/float64(b.N), "write-ms")
	reportRowsAndPeak(b, n)
}

func BenchmarkChangedSync(b *testing.B) {
	n := rowsFromEnv(1_000_000)
	bn := newBench(b, n)
	seed := filepath.Join(bn.dir, "state-seed")
	bn.run(b, seed, false)
	bn.run(b, seed, false) // folds the first run's log into an index, as a second run would
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		state := filepath.Join(bn.dir, "state-"+strconv.Itoa(i))
		if out, err := exec.Command("cp", "-a", seed, state).CombinedOutput(); err != nil {
			b.Fatalf("copy state: %v %s", err, out)
		}
		changeOnePercent(b, filepath.Join(bn.dir, "warehouse.duckdb"), i)
		resetPeak()
		b.StartTimer()
		r, _ := bn.run(b, state, false)
		if r.Stats.Planned.Changed != int64(n/100) {
			b.Fatalf("changed %d, want %d", r.Stats.Planned.Changed, n/100)
		}
	}
	reportRowsAndPeak(b, n)
}

// BenchmarkPlan10MDuckDB is BenchmarkDiff10M with the rows read from DuckDB: the
// whole of a plan on a 10-million-row model, database included.
func BenchmarkPlan10MDuckDB(b *testing.B) {
	n := rowsFromEnv(10_000_000)
	bn := newBench(b, n)
	state := filepath.Join(bn.dir, "state")
	bn.run(b, state, false)
	bn.run(b, state, false) // folds the log into an index
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		changeOnePercent(b, filepath.Join(bn.dir, "warehouse.duckdb"), i)
		resetPeak()
		b.StartTimer()
		_, p := bn.run(b, state, true)
		if p.Planned.Changed != int64(n/100) {
			b.Fatalf("changed %d, want %d", p.Planned.Changed, n/100)
		}
	}
	reportRowsAndPeak(b, n)
}

// generated is a source of n synthetic rows made on the fly, shaped like the
// warehouse model (id, email, name, plan, seats, mrr, signed_up_at); from round r on,
// every hundredth row's plan changes. It isolates the engine's own work from any
// database's.
type generated struct {
	n     *int
	round *int
	plan  *func(i int64) string // overrides the plan column when set
}

func (g generated) Query(ctx context.Context, m connector.Model) (connector.Rows, error) {
	return &generatedRows{g: g}, nil
}

func (g generated) Close() error { return nil }

type generatedRows struct {
	g    generated
	next int
}

func (r *generatedRows) Columns() []connector.Column {
	return []connector.Column{{Name: "id"}, {Name: "email"}, {Name: "name"}, {Name: "plan"}, {Name: "seats"}, {Name: "mrr"}, {Name: "signed_up_at"}}
}

var plans = []string{"free", "starter", "team", "business"}

func (r *generatedRows) Next(dst []record.Row) (int, error) {
	n := 0
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for n < len(dst) && r.next < *r.g.n {
		i := int64(r.next + 1)
		plan := plans[i%4]
		if r.g.plan != nil && *r.g.plan != nil {
			plan = (*r.g.plan)(i)
		}
		if *r.g.round > 0 && i%100 == 0 {
			plan = "changed" + strconv.Itoa(*r.g.round)
		}
		id := strconv.FormatInt(i, 10)
		row := dst[n][:0]
		row = append(row, i, "user"+id+"@example.com", "User "+id, plan, i%500, record.NewDecimalInt64(i%100000, 2), base.Add(time.Duration(i)*time.Second))
		dst[n] = row
		n++
		r.next++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (r *generatedRows) Close() error { return nil }

// withGenerated is the built-in catalog plus the "generated" source.
type withGenerated struct {
	registry.Catalog
	src generated
}

type generatedConfig struct{}

func (c withGenerated) Source(typ string) (connector.SourceSpec, bool) {
	if typ == "generated" {
		return connector.SourceSpec{Type: "generated", Summary: "synthetic rows", NewConfig: func() any { return new(generatedConfig) },
			Open: func(context.Context, connector.SourceParams) (connector.Source, error) { return c.src, nil }}, true
	}
	return c.Catalog.Source(typ)
}

// BenchmarkDiff10M measures the diff stage on 10 million rows with 1% changed: mapping,
// key and row hashing, loading the 10-million-key baseline from disk, comparing and
// counting. The rows come from a generator, so no database's read speed is in the
// figure (BenchmarkPlainScan gives DuckDB's). It runs a plan: a run without sending.
func BenchmarkDiff10M(b *testing.B) {
	n := rowsFromEnv(10_000_000)
	round := 0
	cat := withGenerated{src: generated{n: &n, round: &round}}
	dir := b.TempDir()
	recv, err := webhooktest.Start("127.0.0.1:0", webhooktest.Options{Discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer recv.Close()
	yaml := strings.Replace(fmt.Sprintf(benchProject, modelSQL, recv.URL), "{type: duckdb, path: warehouse.duckdb}", "{type: generated}", 1)
	p, err := config.Parse("sluice.yaml", dir, []byte(yaml), cat, config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p.StateDir = filepath.Join(dir, "state")
	st, err := localstore.Open(context.Background(), p.StateDir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	e := engine.New(engine.Params{Project: p, Catalog: cat, Store: st})
	for range 2 { // the second run folds the first one's log into an index
		if r, err := e.Run(context.Background(), engine.RunParams{Sync: "users_to_hook"}); err != nil || r.Status != store.StatusSucceeded {
			b.Fatalf("seed run: %v %v", err, r)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		round = i + 1
		resetPeak()
		plan, err := e.Plan(context.Background(), engine.PlanParams{Sync: "users_to_hook"})
		if err != nil {
			b.Fatal(err)
		}
		if plan.Planned.Changed != int64(n/100) {
			b.Fatalf("changed %d, want %d", plan.Planned.Changed, n/100)
		}
	}
	reportRowsAndPeak(b, n)
}
