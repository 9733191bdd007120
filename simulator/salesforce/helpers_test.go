package salesforce

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

const (
	testToken = "00D5g000004SIMU!AQ4AQtest"
	base      = "/services/data/v62.0"
)

// t0 is the simulated time tests start at.
var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

var idRE = regexp.MustCompile(`^[0-9A-Za-z]{18}$`)

type testBundle struct {
	t     *testing.T
	sim   *Server
	srv   *httptest.Server
	clock *simtest.Clock
}

// setup starts a simulator on a fake clock (unless opts has one) behind a real
// HTTP server.
func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	clock := simtest.NewClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &testBundle{t: t, sim: sim, srv: srv, clock: clock}
}

type answer struct {
	status int
	header http.Header
	raw    []byte
}

// json decodes the body.
func (a answer) json(t *testing.T) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(a.raw, &v), "body: %s", a.raw)
	return v
}

// errs decodes an error body: [{message, errorCode, fields?}].
func (a answer) errs(t *testing.T) []map[string]any {
	t.Helper()
	var v []map[string]any
	require.NoError(t, json.Unmarshal(a.raw, &v), "body: %s", a.raw)
	return v
}

// results decodes a Collections answer.
func (a answer) results(t *testing.T) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	return a.errs(t)
}

// obj decodes a JSON object body.
func (a answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(a.raw, &v), "body: %s", a.raw)
	return v
}

// do sends a request with the test token. body is sent as is when it is a
// string, as JSON otherwise. header pairs override (an empty value removes).
func (b *testBundle) do(method, path string, body any, header ...string) answer {
	b.t.Helper()
	var rd io.Reader
	contentType := "application/json"
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
		contentType = "text/csv"
	default:
		raw, err := json.Marshal(v)
		require.NoError(b.t, err)
		rd = bytes.NewReader(raw)
	}
	if !strings.HasPrefix(path, "/") {
		path = base + "/" + path
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	require.NoError(b.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := b.srv.Client().Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return answer{status: resp.StatusCode, header: resp.Header, raw: raw}
}

func (b *testBundle) get(path string) answer {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// rec builds a Collections record of a type from field pairs.
func rec(typ string, kv ...any) map[string]any {
	r := map[string]any{"attributes": map[string]any{"type": typ}}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i].(string)] = kv[i+1]
	}
	return r
}

func records(allOrNone bool, recs ...map[string]any) map[string]any {
	return map[string]any{"allOrNone": allOrNone, "records": recs}
}

// create posts records and requires every one to succeed; it returns their ids.
func (b *testBundle) create(recs ...map[string]any) []string {
	b.t.Helper()
	res := b.do(http.MethodPost, "composite/sobjects", records(false, recs...)).results(b.t)
	var ids []string
	for _, r := range res {
		require.Equal(b.t, true, r["success"], "%v", r)
		ids = append(ids, r["id"].(string))
	}
	return ids
}

// failure is a failed save result with one error.
func failure(code, message string, fields ...string) map[string]any {
	fs := []any{}
	for _, f := range fields {
		fs = append(fs, f)
	}
	return map[string]any{"success": false, "errors": []any{map[string]any{"statusCode": code, "message": message, "fields": fs}}}
}

func success(id string) map[string]any {
	return map[string]any{"id": id, "success": true, "errors": []any{}}
}

// csvRows parses a results CSV.
func csvRows(t *testing.T, body []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err, "%s", body)
	return rows
}

// newJob creates an ingest job and returns its id.
func (b *testBundle) newJob(spec map[string]any) string {
	b.t.Helper()
	a := b.do(http.MethodPost, "jobs/ingest", spec)
	require.Equal(b.t, http.StatusOK, a.status, "%s", a.raw)
	return a.obj(b.t)["id"].(string)
}

// runJob creates a job, uploads data and closes it; it returns the job id.
func (b *testBundle) runJob(spec map[string]any, data string) string {
	b.t.Helper()
	id := b.newJob(spec)
	a := b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", data)
	require.Equal(b.t, http.StatusCreated, a.status, "%s", a.raw)
	a = b.do(http.MethodPatch, "jobs/ingest/"+id, map[string]any{"state": "UploadComplete"})
	require.Equal(b.t, http.StatusOK, a.status, "%s", a.raw)
	return id
}

// jobState polls a job once.
func (b *testBundle) jobState(id string) map[string]any {
	b.t.Helper()
	a := b.get("jobs/ingest/" + id)
	require.Equal(b.t, http.StatusOK, a.status, "%s", a.raw)
	return a.obj(b.t)
}
