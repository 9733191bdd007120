package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/internal/bench"
)

func (a *app) benchCommand() *cobra.Command {
	var rows []string
	var write string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench [case…]",
		Short: "Measure sync speed against each destination's simulator at its documented limits",
		Long: `Runs a sync of a generated DuckDB model to each destination's simulator, in this
process, at the API's documented default limits, and reports records/s, the ceiling
those limits allow, efficiency, 429s and the p95 request time. The cases are ` + strings.Join(caseNames(), ", ") + `.

  sluice bench                          # every case at its published size
  sluice bench hubspot --rows hubspot=5000
  sluice bench --write docs/speeds.md   # regenerate the published table`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sizes := map[string]int{}
			for _, r := range rows {
				name, n, ok := strings.Cut(r, "=")
				v, err := strconv.Atoi(n)
				if !ok || err != nil || v < 1 {
					return usageError(fmt.Errorf("--rows %q: write case=count, e.g. --rows hubspot=5000", r))
				}
				sizes[name] = v
			}
			results, err := bench.Run(cmd.Context(), bench.Params{Cases: args, Rows: sizes, Log: a.stderr})
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(results)
			}
			page := bench.Markdown(results, time.Now(), "sluice bench --write "+write)
			if write != "" {
				if err := os.WriteFile(write, []byte(page), 0o644); err != nil {
					return &exitError{code: exitRunFail, err: err}
				}
				fmt.Fprintf(a.stderr, "wrote %s\n", write)
				return nil
			}
			fmt.Fprint(a.stdout, page)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&rows, "rows", nil, "rows for a case, as case=count (repeatable)")
	cmd.Flags().StringVar(&write, "write", "", "write the results page to this file (docs/speeds.md)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

func caseNames() []string {
	var out []string
	for _, c := range bench.Cases() {
		out = append(out, c.Name)
	}
	return out
}
