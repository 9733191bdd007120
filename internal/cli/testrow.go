package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/internal/engine"
)

func (a *app) testRowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test-row <sync> <key>",
		Short: "Send one row to the destination and show the request and response; the baseline is left alone",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			if err := a.requireSync(s.project, args[0]); err != nil {
				return err
			}
			res, err := s.engine.TestRow(cmd.Context(), engine.TestRowParams{Sync: args[0], Key: args[1]})
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			if a.jsonOut {
				status := "succeeded"
				if res.Error != "" {
					status = "failed"
				}
				writeJSON(a.stdout, map[string]any{
					"sync": args[0], "key": args[1], "status": status, "error": res.Error, "note": res.Note,
					"change": changeJSON(res.Change), "attempts": res.Attempts, "exchanges": exchangesJSON(res.Exchanges),
				})
			} else {
				c := res.Change
				fmt.Fprintf(a.stdout, "row %s (%s): %s\n", c.Key, c.Op, c.Fields.AppendJSON(nil))
				if res.Note != "" {
					fmt.Fprintf(a.stdout, "note: %s\n", res.Note)
				}
				for i, ex := range res.Exchanges {
					fmt.Fprintf(a.stdout, "── request %d, %s ──\n", i+1, ex.Duration)
					printMessage(a.stdout, "> ", ex.Request, true)
					if ex.Err != "" {
						fmt.Fprintf(a.stdout, "< (no response: %s)\n", ex.Err)
					} else {
						printMessage(a.stdout, "< ", ex.Response, true)
					}
				}
				if res.Error == "" {
					fmt.Fprintln(a.stdout, "result: succeeded (the baseline was not changed)")
				} else {
					fmt.Fprintf(a.stdout, "result: failed: %s\n", res.Error)
				}
			}
			if res.Error != "" {
				return silentExit(exitRunFail)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON instead of text")
	return cmd
}
