package mixpanel

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// testNow is the fake clock's start; testTime is an event time an hour before it.
var (
	testNow  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	testTime = testNow.Add(-time.Hour)
)

type testBundle struct {
	sim   *Server
	srv   *httptest.Server
	clock *simtest.Clock
}

// setup starts a simulator behind a real HTTP server, on a fake clock unless
// opts.Now is set.
func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	tb := &testBundle{clock: simtest.NewClock(testNow)}
	if opts.Now == nil {
		opts.Now = tb.clock.Now
	}
	if opts.ServiceAccounts == nil {
		opts.ServiceAccounts = map[string]string{"sa": "sa-secret"}
	}
	if opts.ProjectID == "" {
		opts.ProjectID = "42"
	}
	if opts.Token == "" {
		opts.Token = "tok"
	}
	tb.sim = New(opts)
	tb.srv = httptest.NewServer(tb.sim)
	t.Cleanup(tb.srv.Close)
	return tb
}

type call struct {
	method   string // default POST
	path     string
	query    string
	body     []byte
	gzip     bool
	ctype    string // default application/json
	user     string // Basic auth; none when both are empty
	password string
	noAuth   bool
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (tb *testBundle) do(t *testing.T, c call) answer {
	t.Helper()
	body := c.body
	if c.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write(body)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		body = buf.Bytes()
	}
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	u := tb.srv.URL + c.path
	if c.query != "" {
		u += "?" + c.query
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	ctype := c.ctype
	if ctype == "" {
		ctype = "application/json"
	}
	req.Header.Set("Content-Type", ctype)
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if !c.noAuth {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// importEvents posts events to /import with the service account, strict unless query says otherwise.
func (tb *testBundle) importEvents(t *testing.T, query string, body []byte) answer {
	t.Helper()
	if query == "" {
		query = "strict=1"
	}
	return tb.do(t, call{path: "/import", query: "project_id=42&" + query, body: body, user: "sa", password: "sa-secret"})
}

// ev builds an event; extra properties are merged in (a nil value deletes one).
func ev(name, distinctID, insertID string, extra map[string]any) map[string]any {
	props := map[string]any{
		"time":        testTime.Unix(),
		"distinct_id": distinctID,
		"$insert_id":  insertID,
	}
	for k, v := range extra {
		if v == nil {
			delete(props, k)
			continue
		}
		props[k] = v
	}
	e := map[string]any{"properties": props}
	if name != "" {
		e["event"] = name
	}
	return e
}

func jsonArray(t *testing.T, events ...any) []byte {
	t.Helper()
	b, err := json.Marshal(events)
	require.NoError(t, err)
	return b
}

func ndjson(t *testing.T, events ...any) []byte {
	t.Helper()
	var lines []string
	for _, e := range events {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

func okBody(n int) string {
	return fmt.Sprintf(`{"code":200,"num_records_imported":%d,"status":"OK"}`, n)
}

// failedBody is the strict-mode 400 for the given failed records.
func failedBody(t *testing.T, imported int, recs ...map[string]any) string {
	t.Helper()
	var parts []string
	for _, r := range recs {
		b, err := json.Marshal(r["index"])
		require.NoError(t, err)
		part := `{"index":` + string(b)
		for _, k := range []string{"insert_id", "field", "message"} {
			v, err := json.Marshal(r[k])
			require.NoError(t, err)
			part += `,"` + k + `":` + string(v)
		}
		parts = append(parts, part+"}")
	}
	return `{"code":400,"error":"some data points in the request failed validation","failed_records":[` +
		strings.Join(parts, ",") + fmt.Sprintf(`],"num_records_imported":%d,"status":"Bad Request"}`, imported)
}
