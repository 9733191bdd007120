package slack

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

const testToken = "xoxb-1111-2222-test"

// t0 is the simulated time tests start at.
var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

type testBundle struct {
	t     *testing.T
	sim   *Server
	srv   *httptest.Server
	clock *simtest.Clock
}

// testChannels are the channels most tests use.
func testChannels() map[string]Channel {
	return map[string]Channel{
		"C0000ALERT": {Name: "alerts", Member: true},
		"C0000SALES": {Name: "sales", Member: true},
		"C0000RANDM": {Name: "random"},
		"C0000OLDIE": {Name: "old-news", Member: true, Archived: true},
		"G0000SECRT": {Name: "secret", Private: true},
		"G0000PRIVT": {Name: "private-ops", Private: true, Member: true},
	}
}

// setup starts a simulator on a fake clock (unless opts has one) behind a real
// HTTP server. Channels default to testChannels.
func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	clock := simtest.NewClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Channels == nil {
		opts.Channels = testChannels()
	}
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &testBundle{t: t, sim: sim, srv: srv, clock: clock}
}

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any // a JSON answer, decoded
}

// req is a request to send. The zero value is a POST with the test token.
type req struct {
	method string // default POST
	path   string
	ctype  string // default "application/json; charset=utf-8" when there is a body
	body   string
	token  string // default testToken; "-" sends no Authorization
}

func (b *testBundle) do(r req) answer {
	b.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequest(method, b.srv.URL+r.path, strings.NewReader(r.body))
	require.NoError(b.t, err)
	switch {
	case r.ctype == "-":
	case r.ctype != "":
		hr.Header.Set("Content-Type", r.ctype)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	switch r.token {
	case "-":
	case "":
		hr.Header.Set("Authorization", "Bearer "+testToken)
	default:
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := b.srv.Client().Do(hr)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(b.t, json.Unmarshal(raw, &a.body), "body: %s", raw)
	}
	return a
}

// call sends a Web API method a JSON body.
func (b *testBundle) call(method string, fields map[string]any) answer {
	b.t.Helper()
	raw, err := json.Marshal(fields)
	require.NoError(b.t, err)
	return b.do(req{path: "/api/" + method, body: string(raw)})
}

// post sends chat.postMessage to a channel with text.
func (b *testBundle) post(channel, text string) answer {
	b.t.Helper()
	return b.call("chat.postMessage", map[string]any{"channel": channel, "text": text})
}

// form sends a Web API method a form body of key-value pairs.
func (b *testBundle) form(method string, kv ...string) answer {
	b.t.Helper()
	vals := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		vals.Add(kv[i], kv[i+1])
	}
	return b.do(req{path: "/api/" + method, ctype: "application/x-www-form-urlencoded", body: vals.Encode()})
}

// hook posts a JSON body to an incoming webhook.
func (b *testBundle) hook(path, body string) answer {
	b.t.Helper()
	return b.do(req{path: path, body: body, ctype: "application/json", token: "-"})
}

// texts returns the texts of messages.
func texts(ms []Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// failed requires an ok:false Web API answer with this error.
func failed(t *testing.T, a answer, err string) {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, false, a.body["ok"], a.raw)
	require.Equal(t, err, a.body["error"], a.raw)
}
