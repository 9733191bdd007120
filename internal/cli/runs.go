package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/store"
)

func (a *app) runsCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "runs [sync]",
		Short: "List runs, newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openForReading(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			sync := ""
			if len(args) == 1 {
				sync = args[0]
				if err := a.requireSync(s.project, sync); err != nil {
					return err
				}
			}
			runs, err := s.store.ListRuns(cmd.Context(), sync, limit)
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			if a.jsonOut {
				out := []runOut{}
				for _, r := range runs {
					out = append(out, runJSON(r))
				}
				writeJSON(a.stdout, out)
				return nil
			}
			if len(runs) == 0 {
				fmt.Fprintln(a.stdout, "no runs yet")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSYNC\tSTATUS\tSTARTED\tDURATION\tREAD\tADDED\tCHANGED\tREMOVED\tSUCCEEDED\tFAILED\tINVALID")
			for _, r := range runs {
				st := r.Stats
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Sync, r.Status,
					r.StartedAt.Local().Format("2006-01-02 15:04:05"), ms(st.DurationMS), num(st.RowsRead),
					num(st.Planned.Added), num(st.Planned.Changed), num(st.Planned.Removed),
					num(st.Succeeded), num(st.Failed), num(st.Invalid))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 20, "most runs to list (0 for all)")
	return cmd
}

func (a *app) runCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "Inspect one run"}
	var failed, full bool
	var key string
	var limit int
	show := &cobra.Command{
		Use:   "show <run-id>",
		Short: "Show a run; with --failed or --key, its rows and the requests and responses that carried them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openForReading(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			ctx := cmd.Context()
			run, err := s.store.GetRun(ctx, args[0])
			if errors.Is(err, store.ErrNotFound) {
				return usageError(fmt.Errorf("no run %q: list runs with `sluice runs`", args[0]))
			}
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			var rows []store.RowOutcome
			if failed || key != "" {
				rows, err = s.store.RowOutcomes(ctx, run.ID, store.RowFilter{Key: key, FailedOnly: failed, Limit: limit})
				if err != nil {
					return &exitError{code: exitRunFail, err: err}
				}
			}
			batches := map[int]*store.Batch{}
			for _, r := range rows {
				if r.BatchSeq == 0 || batches[r.BatchSeq] != nil {
					continue
				}
				b, err := s.store.GetBatch(ctx, run.ID, r.BatchSeq)
				if err != nil {
					return &exitError{code: exitRunFail, err: err}
				}
				batches[r.BatchSeq] = b
			}
			if a.jsonOut {
				writeJSON(a.stdout, showJSON(run, rows, batches))
				return nil
			}
			printRunSummary(a.stdout, run)
			if failed || key != "" {
				st := run.Stats
				if len(rows) == 0 && st.Succeeded+st.Failed+st.Invalid > 0 {
					if any, err := s.store.RowOutcomes(ctx, run.ID, store.RowFilter{Limit: 1}); err == nil && len(any) == 0 {
						fmt.Fprintln(a.stdout, "\nthe rows of this run are no longer kept: only the newest 100 runs of a sync keep them (and the newest 20 their requests)")
						return nil
					}
				}
				printRows(a.stdout, rows, batches, key, full)
			}
			return nil
		},
	}
	show.Flags().BoolVar(&failed, "failed", false, "list failed and invalid rows with their errors and the requests that carried them")
	show.Flags().StringVar(&key, "key", "", "show the row with this primary key, with its outcome and request")
	show.Flags().BoolVar(&full, "full", false, "print request and response bodies whole")
	show.Flags().IntVar(&limit, "limit", 100, "most rows to list (0 for all)")
	show.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON instead of text")
	cmd.AddCommand(show)
	return cmd
}

type exchangeOut struct {
	Request    messageOut `json:"request"`
	Response   messageOut `json:"response"`
	DurationMS float64    `json:"duration_ms"`
	Error      string     `json:"error,omitempty"`
}

type messageOut struct {
	Line    string              `json:"line"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    string              `json:"body,omitempty"`
}

type batchOut struct {
	Seq       int           `json:"seq"`
	ID        string        `json:"id"`
	Attempts  int           `json:"attempts"`
	Error     string        `json:"error,omitempty"`
	Rows      int           `json:"rows"`
	Exchanges []exchangeOut `json:"exchanges"`
}

type rowOut struct {
	Key    string    `json:"key"`
	Type   string    `json:"type,omitempty"`
	Status string    `json:"status"`
	Error  string    `json:"error,omitempty"`
	Batch  *batchOut `json:"batch,omitempty"`
}

type showOut struct {
	Run  runOut   `json:"run"`
	Rows []rowOut `json:"rows"`
}

func exchangesJSON(exs []connector.Exchange) []exchangeOut {
	out := []exchangeOut{}
	for _, ex := range exs {
		out = append(out, exchangeOut{
			Request:    messageOut{Line: ex.Request.Line, Headers: ex.Request.Header, Body: string(ex.Request.Body)},
			Response:   messageOut{Line: ex.Response.Line, Headers: ex.Response.Header, Body: string(ex.Response.Body)},
			DurationMS: float64(ex.Duration.Microseconds()) / 1000,
			Error:      ex.Err,
		})
	}
	return out
}

func showJSON(run *store.Run, rows []store.RowOutcome, batches map[int]*store.Batch) showOut {
	out := showOut{Run: runJSON(run), Rows: []rowOut{}}
	for _, r := range rows {
		ro := rowOut{Key: r.Key, Status: string(r.Status), Error: r.Error}
		if r.Op != 0 {
			ro.Type = r.Op.String()
		}
		if b := batches[r.BatchSeq]; b != nil {
			ro.Batch = &batchOut{Seq: b.Seq, ID: b.ID, Attempts: b.Attempts, Error: b.Error, Rows: len(b.Rows), Exchanges: exchangesJSON(b.Exchanges)}
		}
		out.Rows = append(out.Rows, ro)
	}
	return out
}

func printRows(w io.Writer, rows []store.RowOutcome, batches map[int]*store.Batch, key string, full bool) {
	if len(rows) == 0 {
		if key != "" {
			fmt.Fprintf(w, "\nno row with key %q in this run: it was unchanged, or not in the model\n", key)
		} else {
			fmt.Fprintln(w, "\nno failed or invalid rows")
		}
		return
	}
	fmt.Fprintln(w)
	shown := map[int]bool{}
	bySeq := map[int][]store.RowOutcome{}
	var seqs []int
	for _, r := range rows {
		if _, ok := bySeq[r.BatchSeq]; !ok {
			seqs = append(seqs, r.BatchSeq)
		}
		bySeq[r.BatchSeq] = append(bySeq[r.BatchSeq], r)
	}
	sort.Ints(seqs)
	for _, seq := range seqs {
		for _, r := range bySeq[seq] {
			op := ""
			if r.Op != 0 {
				op = r.Op.String() + " "
			}
			fmt.Fprintf(w, "row %s: %s%s", displayKey(r.Key), op, r.Status)
			if r.Error != "" {
				fmt.Fprintf(w, ": %s", r.Error)
			}
			fmt.Fprintln(w)
		}
		b := batches[seq]
		if b == nil || shown[seq] {
			continue
		}
		shown[seq] = true
		fmt.Fprintf(w, "  batch %d (%s): %d rows, %d attempt(s)\n", b.Seq, b.ID, len(b.Rows), b.Attempts)
		for i, ex := range b.Exchanges {
			fmt.Fprintf(w, "  ── request %d, %s ──\n", i+1, ex.Duration.Round(time.Microsecond))
			req := ex.Request
			if key != "" && !full {
				if body, ok := focusBody(req.Body, key); ok {
					req.Body = body
					fmt.Fprintf(w, "  (request body narrowed to key %s; --full shows the whole batch)\n", key)
				}
			}
			printMessage(w, "  > ", req, full)
			if ex.Err != "" {
				fmt.Fprintf(w, "  < (no response: %s)\n", ex.Err)
			} else {
				printMessage(w, "  < ", ex.Response, full)
			}
		}
		fmt.Fprintln(w)
	}
}

func printMessage(w io.Writer, prefix string, m connector.Message, full bool) {
	fmt.Fprintf(w, "%s%s\n", prefix, m.Line)
	names := make([]string, 0, len(m.Header))
	for k := range m.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "%s%s: %s\n", prefix, k, strings.Join(m.Header[k], ", "))
	}
	if len(m.Body) == 0 {
		return
	}
	body := string(m.Body)
	if len(body) < 64<<10 && !strings.Contains(body, "\n") {
		var pretty bytes.Buffer
		if json.Indent(&pretty, m.Body, "", "  ") == nil {
			body = pretty.String()
		}
	}
	const limit = 4000
	if !full && len(body) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut] + fmt.Sprintf("\n… %d more bytes (--full shows all)", len(body)-cut)
	}
	fmt.Fprintf(w, "%s\n", prefix)
	for _, line := range strings.Split(body, "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
