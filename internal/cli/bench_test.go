package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"bench", "hubspot", "--rows", "hubspot=120", "--json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var results []map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &results), out.String())
	require.Len(t, results, 1)
	require.Equal(t, "hubspot", results[0]["case"])
	require.EqualValues(t, 120, results[0]["succeeded"])

	out.Reset()
	errb.Reset()
	code = Main([]string{"bench", "--rows", "hubspot"}, &out, &errb)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errb.String(), "write case=count")
}
