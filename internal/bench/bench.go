// Package bench measures how fast Sluice syncs to each destination's simulator at
// the API's documented default limits, and writes the table published in
// docs/speeds.md. `sluice bench` runs it.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/store/localstore"
)

// Case is one destination's benchmark: a warehouse model of Rows rows synced to
// its simulator.
type Case struct {
	Name        string // "hubspot"
	Description string // what is synced, for the table
	Rows        int    // default row count
	Target      string // the target, for the table
	// setup builds the warehouse table in db for n rows.
	setup func(ctx context.Context, db *sql.DB, n int) error
	// start runs the simulator; it returns its handler's base URL facts for the project.
	start func() (sim simulator, err error)
	// project is the project file, given the warehouse path and the simulator's URL.
	project func(warehouse, url string) string
	sync    string
	// verify checks the simulator's final state after the run.
	verify func(sim simulator, n int) error
	// simCeiling, when set, gives the ceiling from limits the simulator enforces
	// that no documented limit tells the run: the least time n records can take,
	// the long-run records/s, and what they are, for the page. Salesforce
	// publishes no Bulk processing rate; a Meta ad account's budget is its own.
	simCeiling func(n int) (least time.Duration, sustained float64, note string)
}

// simulator is a running simulator.
type simulator struct {
	handler http.Handler
	state   any // the simulator itself, for verify
}

// Result is one case's measurement.
type Result struct {
	Case          string  `json:"case"`
	Description   string  `json:"description"`
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	RecordsPerS   float64 `json:"records_per_second"`
	CeilingPerS   float64 `json:"ceiling_records_per_second"`
	SustainedPerS float64 `json:"sustained_records_per_second"`
	Binding       bool    `json:"limits_binding"`
	Efficiency    float64 `json:"efficiency"`
	Requests      int64   `json:"requests"`
	Throttled     int64   `json:"throttled"`
	P95Seconds    float64 `json:"p95_seconds_per_request"`
	Target        string  `json:"target"`
	Succeeded     int64   `json:"succeeded"`
	Failed        int64   `json:"failed"`
	// CeilingNote says where the ceiling comes from when the simulator's own
	// limits set it (Case.simCeiling); empty when the run's declared limits do.
	CeilingNote string `json:"ceiling_from_simulator,omitempty"`
	// RunEfficiency is the efficiency the run itself reported against the
	// limits it knew (nil when they did not bind).
	RunEfficiency *float64 `json:"run_efficiency,omitempty"`
}

// Cases lists the benchmarks in order.
func Cases() []Case { return cases }

// Params select and size the cases.
type Params struct {
	Cases []string       // names; empty means all
	Rows  map[string]int // overrides of Case.Rows
	Dir   string         // work directory; empty means a temporary one
	Log   io.Writer      // progress lines
}

// Run runs the selected cases one after the other.
func Run(ctx context.Context, p Params) ([]Result, error) {
	if p.Log == nil {
		p.Log = io.Discard
	}
	var out []Result
	for _, c := range cases {
		if len(p.Cases) > 0 && !contains(p.Cases, c.Name) {
			continue
		}
		n := c.Rows
		if v, ok := p.Rows[c.Name]; ok && v > 0 {
			n = v
		}
		fmt.Fprintf(p.Log, "%s: %d rows (%s)…\n", c.Name, n, c.Description)
		r, err := runCase(ctx, c, n, p.Dir)
		if err != nil {
			return out, fmt.Errorf("bench %s: %w", c.Name, err)
		}
		fmt.Fprintf(p.Log, "%s: %.0f records/s, ceiling %.0f/s (sustained %.0f/s), efficiency %.1f%% (limits binding: %v), %d requests, %d answered 429, p95 %.3f s\n",
			c.Name, r.RecordsPerS, r.CeilingPerS, r.SustainedPerS, 100*r.Efficiency, r.Binding, r.Requests, r.Throttled, r.P95Seconds)
		out = append(out, r)
	}
	for _, name := range p.Cases {
		if !containsCase(name) {
			return out, fmt.Errorf("bench: no case named %q (the cases are %s)", name, strings.Join(caseNames(), ", "))
		}
	}
	return out, nil
}

func runCase(ctx context.Context, c Case, n int, base string) (Result, error) {
	dir, err := os.MkdirTemp(base, "sluice-bench-"+c.Name+"-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	warehouse := filepath.Join(dir, "warehouse.duckdb")
	db, err := sql.Open("duckdb", warehouse)
	if err != nil {
		return Result{}, err
	}
	err = c.setup(ctx, db, n)
	db.Close()
	if err != nil {
		return Result{}, fmt.Errorf("build the warehouse: %w", err)
	}
	sim, err := c.start()
	if err != nil {
		return Result{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	srv := &http.Server{Handler: sim.handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()

	cfgPath := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(cfgPath, []byte(c.project(warehouse, url)), 0o644); err != nil {
		return Result{}, err
	}
	proj, err := config.Load(cfgPath, registry.Catalog{}, config.Options{})
	if err != nil {
		return Result{}, err
	}
	st, err := localstore.Open(ctx, proj.StateDir)
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	eng := engine.New(engine.Params{Project: proj, Catalog: registry.Catalog{}, Store: st})
	run, err := eng.Run(ctx, engine.RunParams{Sync: c.sync})
	if err != nil {
		return Result{}, err
	}
	if run.Status != store.StatusSucceeded {
		return Result{}, fmt.Errorf("the run %s: %s (%d failed)", run.Status, run.Error, run.Stats.Failed)
	}
	if err := c.verify(sim, n); err != nil {
		return Result{}, fmt.Errorf("the simulator's final state: %w", err)
	}
	s := run.Stats
	r := Result{
		Case: c.Name, Description: c.Description, Rows: s.Succeeded + s.Failed,
		Seconds: float64(s.DurationMS) / 1000, RecordsPerS: s.OpsPerSecond, CeilingPerS: s.CeilingOpsPerSecond,
		SustainedPerS: s.SustainedOpsPerSecond, Binding: s.LimitsBinding != nil && *s.LimitsBinding,
		Requests: s.Requests, Throttled: s.RateLimited, P95Seconds: s.RequestP95MS / 1000, Target: c.Target,
		Succeeded: s.Succeeded, Failed: s.Failed,
	}
	if s.Efficiency != nil {
		r.Efficiency = *s.Efficiency
	}
	if c.simCeiling != nil {
		r.RunEfficiency = s.Efficiency
		least, sustained, note := c.simCeiling(int(r.Rows))
		r.CeilingNote, r.SustainedPerS = note, sustained
		r.Binding, r.CeilingPerS, r.Efficiency = false, 0, 0
		if least > 0 {
			r.Binding = true
			r.CeilingPerS = float64(r.Rows) / least.Seconds()
			r.Efficiency = r.RecordsPerS / r.CeilingPerS
		}
	}
	return r, nil
}

// Markdown renders results as the docs/speeds.md page.
func Markdown(results []Result, now time.Time, command string) string {
	var b strings.Builder
	b.WriteString("# Measured speeds\n\n")
	b.WriteString("<!-- Generated by `" + command + "`; do not edit by hand. -->\n\n")
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", now.UTC().Format("2006-01-02 15:04 MST"), Machine())
	b.WriteString("Each row is one `sluice sync` of a DuckDB model to the destination's simulator (`sluice simulate`),\n")
	b.WriteString("in the same process, at the API's documented default limits, reading and bookkeeping included.\n\n")
	b.WriteString("- **Ceiling/s** is the most the API's limits allow for that many records: on a rolling window the\n")
	b.WriteString("  first window's allowance goes at once and each further one a window later, so 100,000 HubSpot\n")
	b.WriteString("  contacts (1,000 requests at 190 per 10 s) can finish no sooner than 50 s: 2,000/s.\n")
	b.WriteString("- **Sustained/s** is the limits' long-run rate (HubSpot professional: 190 × 100 / 10 s = 1,900/s).\n")
	b.WriteString("- **Efficiency** is achieved records/s over the ceiling.\n")
	b.WriteString("- **mixpanel-paced** is a project whose allowance is 40 MB of JSON a minute (the simulator set so,\n")
	b.WriteString("  and `rate_limit: {bytes: 40000000, per: 1m}` in the project file): there the byte budget binds,\n")
	b.WriteString("  as 2 GB a minute does for imports of more than about six million events.\n")
	b.WriteString("- **429s** are requests the simulator answered with its rate-limit error, or its equivalent:\n")
	b.WriteString("  Salesforce's 403 REQUEST_LIMIT_EXCEEDED, Meta's throttling codes (4, 17, 613, 80003).\n")
	b.WriteString("  **p95** is the 95th percentile of a request's round trip (for Salesforce Bulk, of the\n")
	b.WriteString("  create, upload, close, poll and results requests).\n\n")
	b.WriteString("| Destination | Records | Records/s | Ceiling/s | Sustained/s | Efficiency | Requests | 429s | p95 s/request | Target |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	notBinding := false
	var simNotes []string
	for _, r := range results {
		ceiling, eff, sustained := "n/a", "n/a", "n/a"
		if r.SustainedPerS > 0 {
			sustained = rate(r.SustainedPerS)
		}
		switch {
		case r.Binding:
			ceiling, eff = rate(r.CeilingPerS), fmt.Sprintf("%.1f%%", 100*r.Efficiency)
			if r.CeilingNote != "" {
				ceiling += "²"
				own := "the run itself reports no efficiency, as no documented limit binds it"
				if r.RunEfficiency != nil {
					own = fmt.Sprintf("the run itself reported %.1f%% against the limits it learned from the API's headers", 100**r.RunEfficiency)
				}
				simNotes = append(simNotes, fmt.Sprintf("%s: %s; %s", r.Case, r.CeilingNote, own))
			}
		case r.SustainedPerS > 0:
			ceiling, eff, notBinding = "not binding¹", "not binding¹", true
		}
		pct := 0.0
		if r.Requests > 0 {
			pct = 100 * float64(r.Throttled) / float64(r.Requests)
		}
		fmt.Fprintf(&b, "| %s (%s) | %s | %s | %s | %s | %s | %s | %d (%.2f%%) | %.3f | %s |\n",
			r.Case, r.Description, thousands(r.Rows), rate(r.RecordsPerS), ceiling, sustained, eff,
			thousands(r.Requests), r.Throttled, pct, r.P95Seconds, r.Target)
	}
	if notBinding {
		b.WriteString("\n¹ The whole run fit in the API's first window (for Mixpanel, less than 2 GB of JSON in a\n")
		b.WriteString("minute), so the rate limit could not slow it: records/s is what Sluice and the simulator reach\n")
		b.WriteString("together on this machine.\n")
	}
	if len(simNotes) > 0 {
		b.WriteString("\n² A limit the simulator is set to, not one the API documents for every account, sets the\n")
		b.WriteString("ceiling and the efficiency:\n")
		for _, n := range simNotes {
			b.WriteString("- " + n + ".\n")
		}
	}
	b.WriteString("\nRerun with `go run ./cmd/sluice bench --write docs/speeds.md` (about six minutes).\n")
	return b.String()
}

// Machine describes where the benchmark ran.
func Machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsCase(name string) bool { return contains(caseNames(), name) }

func caseNames() []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.Name)
	}
	return out
}

// rate formats records a second: whole with thousands separators, or with two
// decimals below 100 (Slack's one message a second).
func rate(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.2f", v)
	}
	return thousands(int64(v))
}
