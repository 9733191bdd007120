package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
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

const testToken = "pat-na1-test"

// t0 is the simulated time tests start at: 11:00 in New York (EDT), 15:00 UTC.
var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

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
	body   map[string]any
}

// do sends a request with the test token. body is sent as is when it is a
// string, as JSON otherwise. header pairs override (an empty value removes).
func (b *testBundle) do(method, path string, body any, header ...string) answer {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		require.NoError(b.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	require.NoError(b.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
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
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		require.NoError(b.t, json.Unmarshal(raw, &a.body), "body: %s", raw)
	}
	return a
}

func (b *testBundle) post(path string, body any) answer {
	b.t.Helper()
	return b.do(http.MethodPost, path, body)
}

func (b *testBundle) get(path string) answer {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// inputs builds {"inputs":[…]} from input objects.
func inputs(in ...map[string]any) map[string]any {
	return map[string]any{"inputs": in}
}

// props is an input of properties only.
func props(kv ...string) map[string]any {
	p := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return map[string]any{"properties": p}
}

// with adds a key to an input.
func with(in map[string]any, key string, value any) map[string]any {
	in[key] = value
	return in
}

// seed creates contacts by email (with an optional first name after a "|").
func (b *testBundle) seed(object string, in ...map[string]any) []string {
	b.t.Helper()
	a := b.post("/crm/v3/objects/"+object+"/batch/create", inputs(in...))
	require.Equal(b.t, http.StatusCreated, a.status, "%s", a.raw)
	var ids []string
	for _, r := range a.body["results"].([]any) {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	return ids
}

// results returns the results of a batch answer.
func (a answer) results() []map[string]any {
	var out []map[string]any
	for _, r := range a.body["results"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// errs returns the errors of a batch answer.
func (a answer) errs() []map[string]any {
	var out []map[string]any
	list, _ := a.body["errors"].([]any)
	for _, e := range list {
		out = append(out, e.(map[string]any))
	}
	return out
}

// propsOf returns a result's properties.
func propsOf(result map[string]any) map[string]any { return result["properties"].(map[string]any) }

// contextOf returns an error's context as string lists.
func contextOf(e map[string]any) map[string][]string {
	out := map[string][]string{}
	ctx, _ := e["context"].(map[string]any)
	for k, v := range ctx {
		for _, s := range v.([]any) {
			out[k] = append(out[k], fmt.Sprint(s))
		}
	}
	return out
}

// validationList parses the JSON list a "Property values were not valid" message embeds.
func validationList(t *testing.T, message string) []map[string]any {
	t.Helper()
	list, ok := strings.CutPrefix(message, "Property values were not valid: ")
	require.True(t, ok, message)
	var out []map[string]any
	require.NoError(t, json.Unmarshal([]byte(list), &out))
	return out
}

func idN(n int) string { return fmt.Sprint(uint64(10_000_000_000 + n)) }
