package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

func (a *app) syncCommand() *cobra.Command {
	var fullResync, noProgress bool
	cmd := &cobra.Command{
		Use:   "sync <sync>",
		Short: "Run a sync: send what changed since the last acknowledged run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				var ee *exitError
				if a.jsonOut && errors.As(err, &ee) && ee.code == exitRunFail {
					// The state could not be opened: still one JSON object, a failed one.
					writeJSON(a.stdout, map[string]any{"sync": args[0], "status": store.StatusFailed, "error": ee.err.Error()})
				}
				return err
			}
			defer s.close()
			if err := a.requireSync(s.project, args[0]); err != nil {
				return err
			}
			var bar *progressDisplay
			if !a.jsonOut && !noProgress && isTerminal(a.stderr) {
				bar = newProgressDisplay(a.stderr)
			}
			params := engine.RunParams{Sync: args[0], FullResync: fullResync}
			if bar != nil {
				params.Progress = bar.update
			}
			run, err := s.engine.Run(cmd.Context(), params)
			if bar != nil {
				bar.finish()
			}
			if run == nil {
				// The run could not even be recorded (the state directory): still one
				// JSON object, a failed one, for programs that read it.
				if a.jsonOut {
					writeJSON(a.stdout, map[string]any{"sync": args[0], "status": store.StatusFailed, "error": err.Error()})
				}
				return &exitError{code: exitRunFail, err: err}
			}
			if a.jsonOut {
				writeJSON(a.stdout, runJSON(run))
			} else {
				printRunSummary(a.stdout, run)
			}
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			if run.Status != store.StatusSucceeded {
				return silentExit(exitRunFail)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print one JSON object with the run's outcome instead of text")
	cmd.Flags().BoolVar(&fullResync, "full-resync", false, "send every row again, not only what changed")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "do not draw a progress bar")
	return cmd
}

func (a *app) planCommand() *cobra.Command {
	var fullResync bool
	var samples int
	cmd := &cobra.Command{
		Use:   "plan <sync>",
		Short: "Show what a run would send, without sending anything",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			if err := a.requireSync(s.project, args[0]); err != nil {
				return err
			}
			plan, err := s.engine.Plan(cmd.Context(), engine.PlanParams{Sync: args[0], FullResync: fullResync, Samples: samples})
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			if a.jsonOut {
				writeJSON(a.stdout, planJSON(plan))
				return nil
			}
			printPlan(a.stdout, plan)
			return nil
		},
	}
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print one JSON object instead of text")
	cmd.Flags().BoolVar(&fullResync, "full-resync", false, "plan a full resync")
	cmd.Flags().IntVar(&samples, "samples", 3, "sample rows to show per change type")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// runOut is the JSON form of a run: the public contract of `sync --json`.
type runOut struct {
	RunID      string       `json:"run_id"`
	Sync       string       `json:"sync"`
	Status     store.Status `json:"status"`
	Error      string       `json:"error,omitempty"`
	FullResync bool         `json:"full_resync"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	store.Stats
	RowsPerSecond float64 `json:"rows_per_second"`
}

func runJSON(r *store.Run) runOut {
	out := runOut{RunID: r.ID, Sync: r.Sync, Status: r.Status, Error: r.Error, FullResync: r.FullResync,
		StartedAt: r.StartedAt, Stats: r.Stats, RowsPerSecond: rowsPerSecond(r.Stats)}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		out.FinishedAt = &t
	}
	return out
}

func rowsPerSecond(s store.Stats) float64 {
	if s.DurationMS <= 0 {
		return 0
	}
	return float64(s.RowsRead) / (float64(s.DurationMS) / 1000)
}

func printRunSummary(w io.Writer, r *store.Run) {
	s := r.Stats
	fmt.Fprintf(w, "sync %s  run %s  %s\n", r.Sync, r.ID, r.Status)
	if r.Error != "" {
		fmt.Fprintf(w, "  error      %s\n", r.Error)
	}
	if r.Status == store.StatusFailed && s.RowsRead == 0 && s.Requests == 0 {
		fmt.Fprintf(w, "  nothing was sent; the baseline is unchanged (%s)\n", ms(s.DurationMS))
		return
	}
	fmt.Fprintf(w, "  read       %s rows (%s invalid)\n", num(s.RowsRead), num(s.Invalid))
	fmt.Fprintf(w, "  changes    %s added, %s changed, %s removed, %s unchanged\n", num(s.Diff.Added), num(s.Diff.Changed), num(s.Diff.Removed), num(s.Diff.Unchanged))
	fmt.Fprintf(w, "  planned    %s added, %s changed, %s removed\n", num(s.Planned.Added), num(s.Planned.Changed), num(s.Planned.Removed))
	fmt.Fprintf(w, "  outcome    %s succeeded, %s failed\n", num(s.Succeeded), num(s.Failed))
	fmt.Fprintf(w, "  requests   %s (%s retried, %s rate limited, %s waiting on limits summed over requests)\n", num(s.Requests), num(s.Retries), num(s.RateLimited), time.Duration(s.RateLimitWaitMS)*time.Millisecond)
	fmt.Fprintf(w, "  duration   %s (read %s, write %s), %s rows/s\n", ms(s.DurationMS), ms(s.ReadMS), ms(s.WriteMS), num(int64(rowsPerSecond(s))))
	if s.Succeeded+s.Failed > 0 {
		fmt.Fprintf(w, "  speed      %s\n", efficiencyText(s))
	}
	if s.Failed > 0 || s.Invalid > 0 {
		fmt.Fprintf(w, "  see why    sluice run show %s --failed\n", r.ID)
	}
}

// efficiencyText says how close a run came to its destination's ceiling.
func efficiencyText(s store.Stats) string {
	switch {
	case s.Efficiency != nil:
		return fmt.Sprintf("%s changes/s of a %s/s ceiling: %.0f%% efficiency", num(int64(s.OpsPerSecond)), num(int64(s.CeilingOpsPerSecond)), 100**s.Efficiency)
	case s.LimitsBinding != nil && s.SustainedOpsPerSecond > 0:
		return fmt.Sprintf("%s changes/s; the API's limits (%s/s sustained) did not slow this run: it fit in their first window",
			num(int64(s.OpsPerSecond)), num(int64(s.SustainedOpsPerSecond)))
	case s.LimitsBinding != nil:
		return fmt.Sprintf("%s changes/s; the API's daily allowance did not slow this run", num(int64(s.OpsPerSecond)))
	}
	return fmt.Sprintf("%s changes/s", num(int64(s.OpsPerSecond)))
}

// speedLine is a run in one line: what it sent, how fast, how close to the ceiling.
func speedLine(r *store.Run) string {
	s := r.Stats
	line := fmt.Sprintf("%s: %s sent (%s failed) in %s, %s requests, %s answered 429",
		r.Status, num(s.Succeeded+s.Failed), num(s.Failed), ms(s.DurationMS), num(s.Requests), num(s.RateLimited))
	if s.RateLimitWaitMS > 0 {
		// Requests waiting for room under the limits, summed: a run paced to the
		// limits says how long it waited rather than failing.
		line += ", " + ms(s.RateLimitWaitMS) + " waiting on limits"
	}
	if s.Succeeded+s.Failed > 0 {
		line += "; " + efficiencyText(s)
	}
	return line
}

func ms(n int64) string { return (time.Duration(n) * time.Millisecond).String() }

// num formats with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// changeOut is the JSON form of a change, like a webhook event.
type changeOut struct {
	Type     string          `json:"type"`
	Key      string          `json:"key"`
	Fields   json.RawMessage `json:"fields"`
	Previous json.RawMessage `json:"previous,omitempty"`
}

func changeJSON(c record.Change) changeOut {
	out := changeOut{Type: c.Op.String(), Key: c.Key, Fields: c.Fields.AppendJSON(nil)}
	if c.Op == record.OpChange && c.Previous.Len() > 0 {
		out.Previous = c.Previous.AppendJSON(nil)
	}
	return out
}

type planOut struct {
	Sync        string        `json:"sync"`
	Mode        string        `json:"mode"`
	RowsRead    int64         `json:"rows_read"`
	Invalid     int64         `json:"invalid"`
	Planned     store.Counts  `json:"planned"`
	Diff        store.Diff    `json:"diff"`
	Samples     []changeOut   `json:"samples"`
	InvalidRows []rowIssueOut `json:"invalid_rows"`
}

type rowIssueOut struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

func planJSON(p *engine.Plan) planOut {
	out := planOut{Sync: p.Sync, Mode: string(p.Mode), RowsRead: p.RowsRead, Invalid: p.Invalid,
		Planned: p.Planned, Diff: p.Diff, Samples: []changeOut{}, InvalidRows: []rowIssueOut{}}
	for _, c := range p.Samples {
		out.Samples = append(out.Samples, changeJSON(c))
	}
	for _, r := range p.InvalidRows {
		out.InvalidRows = append(out.InvalidRows, rowIssueOut{Key: r.Key, Error: r.Error})
	}
	return out
}

func printPlan(w io.Writer, p *engine.Plan) {
	fmt.Fprintf(w, "plan for sync %s (%s mode)\n", p.Sync, p.Mode)
	fmt.Fprintf(w, "  read       %s rows (%s invalid)\n", num(p.RowsRead), num(p.Invalid))
	fmt.Fprintf(w, "  changes    %s added, %s changed, %s removed, %s unchanged\n", num(p.Diff.Added), num(p.Diff.Changed), num(p.Diff.Removed), num(p.Diff.Unchanged))
	fmt.Fprintf(w, "  would send %s added, %s changed, %s removed\n", num(p.Planned.Added), num(p.Planned.Changed), num(p.Planned.Removed))
	if len(p.Samples) > 0 {
		fmt.Fprintln(w, "samples:")
		for _, c := range p.Samples {
			fmt.Fprintf(w, "  %-8s %s  %s\n", c.Op, c.Key, c.Fields.AppendJSON(nil))
			if c.Op == record.OpChange && c.Previous.Len() > 0 {
				fmt.Fprintf(w, "  %-8s %s  %s\n", "was", "", c.Previous.AppendJSON(nil))
			}
		}
	}
	if len(p.InvalidRows) > 0 {
		fmt.Fprintln(w, "invalid rows:")
		for _, r := range p.InvalidRows {
			fmt.Fprintf(w, "  %s: %s\n", displayKey(r.Key), r.Error)
		}
	}
}

func displayKey(k string) string {
	if k == "" {
		return "(no key)"
	}
	return k
}

// progressDisplay draws the run's progress on a terminal.
type progressDisplay struct {
	w       io.Writer
	reading *progressbar.ProgressBar
	sending *progressbar.ProgressBar
}

func newProgressDisplay(w io.Writer) *progressDisplay { return &progressDisplay{w: w} }

func (d *progressDisplay) update(p engine.Progress) {
	switch p.Phase {
	case "reading":
		if d.reading == nil {
			d.reading = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(d.w),
				progressbar.OptionSetDescription("reading model"), progressbar.OptionShowCount(),
				progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
				progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish())
		}
		d.reading.Set64(p.RowsRead)
	case "sending", "done":
		if d.reading != nil {
			d.reading.Finish()
			d.reading = nil
		}
		if d.sending == nil && p.Planned > 0 {
			d.sending = progressbar.NewOptions64(p.Planned, progressbar.OptionSetWriter(d.w),
				progressbar.OptionSetDescription("sending changes"), progressbar.OptionShowCount(),
				progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
				progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		}
		if d.sending != nil {
			d.sending.Set64(p.Succeeded + p.Failed)
		}
	}
}

func (d *progressDisplay) finish() {
	if d.reading != nil {
		d.reading.Finish()
	}
	if d.sending != nil {
		d.sending.Finish()
	}
}
