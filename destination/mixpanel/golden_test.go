package mixpanel_test

import (
	"bytes"
	"context"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/simkit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the destination sends")

// goldenHeaders are the request headers the golden files pin.
var goldenHeaders = []string{"Authorization", "Content-Encoding", "Content-Type", "User-Agent"}

// renderRequests writes requests as the simulator received them: the request
// line, the pinned headers (credentials redacted) and the decompressed body.
func renderRequests(reqs []simkit.Request) []byte {
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
		for _, h := range goldenHeaders {
			v := r.Header.Get(h)
			if v == "" {
				continue
			}
			if h == "Authorization" {
				scheme, _, _ := strings.Cut(v, " ")
				v = scheme + " [redacted]"
			}
			b.WriteString(h + ": " + v + "\n")
		}
		b.WriteString("\n")
		b.Write(r.Body)
		b.WriteString("\n")
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./destination/mixpanel -run Golden -update to create it")
	require.Equal(t, string(want), string(got), "the requests changed: if that is intended, run go test ./destination/mixpanel -run Golden -update")
}

func TestGoldenImport(t *testing.T) {
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	require.NoError(t, d.(connector.Checker).Check(context.Background()))
	changes := []record.Change{
		eventRow("evt-1", "Signed Up", "user-1", eventTime, "pro"),
		eventRow("evt-2", "Viewed \"Report\"", "user-2", record.Date{Year: 2025, Month: 5, Day: 31}, nil),
		eventRow("evt-3", "Exported", "user-1", int64(1748781000), "team"),
		eventRow("evt-4", "Upgraded", "user-3", record.NewDecimal(big.NewInt(1748781000123), 3), "business"),
	}
	err, _ := write(d, changes)
	require.NoError(t, err)

	// Only a project token: it is the Basic-auth username, and no project_id is sent.
	d = tb.open(t, eventInfo, eventSync, func(c *mixpanel.Config) { c.ServiceAccount = mixpanel.ServiceAccount{}; c.ProjectID = "" })
	err, _ = write(d, changes[:1])
	require.NoError(t, err)
	checkGolden(t, "import.golden", renderRequests(tb.sim.Log().Requests()))
}

func TestGoldenEngage(t *testing.T) {
	tb := setup(t, sim.Options{})
	d := tb.open(t, profileInfo(connector.ModeMirror), profileSync, nil)
	require.NoError(t, d.(connector.Checker).Check(context.Background()))
	err, _ := write(d, []record.Change{
		profileRow(record.OpAdd, "1", "ada@example.com", "pro"),
		profileRow(record.OpAdd, "2", "bob@example.com", nil),
		profileRow(record.OpAdd, "3", "cy@example.com", "team"),
	})
	require.NoError(t, err)
	changed := profileRow(record.OpChange, "1", "ada@example.com", nil)
	changed.Previous = profileRow(record.OpAdd, "1", "ada@example.com", "pro").Fields
	err, _ = write(d, []record.Change{changed, profileRow(record.OpRemove, "3", "cy@example.com", "team")})
	require.NoError(t, err)
	checkGolden(t, "engage.golden", renderRequests(tb.sim.Log().Requests()))
}
