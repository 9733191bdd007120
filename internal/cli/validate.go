package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/registry"
)

func (a *app) validateCommand() *cobra.Command {
	var offline bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the project file, and each sync's model columns, reporting every problem at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.loadProject()
			if err != nil {
				return err
			}
			if !offline {
				eng := engine.New(engine.Params{Project: p, Catalog: registry.Catalog{}, Logger: a.logger(p)})
				if problems := eng.CheckAll(context.WithoutCancel(cmd.Context())); len(problems) > 0 {
					return usageError(fmt.Errorf("%s has %d problem(s) with its models:\n%s", a.configPath, len(problems), strings.Join(problems, "\n")))
				}
			}
			fmt.Fprintf(a.stdout, "%s is valid: %d source(s), %d model(s), %d destination(s), %d sync(s)\n",
				a.configPath, len(p.Sources), len(p.Models), len(p.Destinations), len(p.Syncs))
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "check the file only; do not open sources to check models' columns")
	return cmd
}
