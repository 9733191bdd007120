package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the project file and report every problem at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.loadProject()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s is valid: %d source(s), %d model(s), %d destination(s), %d sync(s)\n",
				a.configPath, len(p.Sources), len(p.Models), len(p.Destinations), len(p.Syncs))
			return nil
		},
	}
}
