// Package simtest helps tests of simulators and of the connectors run against
// them: a clock moved by hand (Clock), and golden files pinning the exact
// requests a connector sends (testdata/*.golden, rewritten with -update).
package simtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/simulator/simkit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the requests sent")

// Render writes requests as a golden file shows them: the request line, the
// headers named (an Authorization's credential redacted), the body and the
// answer's status. body formats a body; nil shows JSON indented and any other
// body as it was sent.
func Render(t testing.TB, reqs []simkit.Request, headers []string, body func(t testing.TB, b []byte) []byte) []byte {
	t.Helper()
	if body == nil {
		body = indentJSON
	}
	var b bytes.Buffer
	for i, r := range reqs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(r.Method + " " + r.Path)
		if r.RawQuery != "" {
			b.WriteString("?" + r.RawQuery)
		}
		b.WriteString("\n")
		for _, h := range headers {
			for _, v := range r.Header.Values(h) {
				if h == "Authorization" {
					scheme, _, _ := strings.Cut(v, " ")
					v = scheme + " [REDACTED]"
				}
				b.WriteString(h + ": " + v + "\n")
			}
		}
		if len(r.Body) > 0 {
			b.WriteString("\n")
			out := body(t, r.Body)
			b.Write(out)
			if !bytes.HasSuffix(out, []byte("\n")) {
				b.WriteString("\n")
			}
		}
		b.WriteString("-> HTTP " + strconv.Itoa(r.Status) + "\n")
	}
	return b.Bytes()
}

func indentJSON(t testing.TB, body []byte) []byte {
	if !json.Valid(body) {
		return body
	}
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, body, "", "  "))
	return pretty.Bytes()
}

// Golden compares got with testdata/name, or rewrites it when the test runs
// with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "%s is missing: run the test with -update to create it", path)
	require.Equal(t, string(want), string(got), "the requests differ from %s: if the change is meant, run the test with -update and review the diff", path)
}
