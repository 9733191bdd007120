package docgen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/registry"
)

var update = flag.Bool("update", false, "rewrite "+File+" from the code")

// repoFile is File from this package's directory, where go test runs.
var repoFile = filepath.Join("..", "..", filepath.FromSlash(File))

func TestReferenceIsUpToDate(t *testing.T) {
	got := Reference()
	if *update {
		require.NoError(t, os.WriteFile(repoFile, got, 0o644))
		return
	}
	want, err := os.ReadFile(repoFile)
	require.NoError(t, err, "%s is missing: run `go test ./internal/docgen -update`", File)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the connectors' code (%s): run `go test ./internal/docgen -update`",
			File, firstDifference(got, want))
	}
}

func TestReferenceIsDeterministic(t *testing.T) {
	t.Parallel()
	require.Equal(t, string(Reference()), string(Reference()))
}

func TestReferenceListsEveryConnector(t *testing.T) {
	t.Parallel()
	page := string(Reference())
	for _, s := range registry.Sources() {
		require.Contains(t, page, "\n### "+s.Type+"\n", "source %s", s.Type)
	}
	for _, d := range registry.Destinations() {
		require.Contains(t, page, "\n### "+d.Type+"\n", "destination %s", d.Type)
	}
}

func TestCell(t *testing.T) {
	t.Parallel()
	require.Equal(t, `a \| b c`, cell("a | b\n  c"))
	require.Equal(t, "`5000`", code("5000"))
	require.Equal(t, "``a`b``", code("a`b"))
	require.Equal(t, "`` `x ``", code("`x"))
	require.Equal(t, "", code(""))
}

// firstDifference names the first line where the generated page and the file differ.
func firstDifference(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: the code gives %q, the file has %q", i+1, gl, wl)
		}
	}
	return "they differ only in line endings"
}
