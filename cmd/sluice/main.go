// Command sluice syncs warehouse models to the tools where teams act on them.
package main

import (
	"os"

	"github.com/sluicehq/sluice/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
