package facebook

import (
	"bytes"
	"encoding/json"
	"fmt"
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

const (
	testToken   = "EAAtest"
	testAccount = "542676646349772"
	testAud     = "23847289886190582" // pre-created in testAccount by setup
)

// t0 is the simulated time tests start at.
var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

type testBundle struct {
	t     *testing.T
	sim   *Server
	srv   *httptest.Server
	clock *simtest.Clock
}

// setup starts a simulator behind a real HTTP server, on a fake clock unless opts
// has one, with audience testAud in ad account testAccount unless opts names
// audiences.
func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	clock := simtest.NewClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Audiences == nil {
		opts.Audiences = map[string]string{testAud: testAccount}
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

// errorOf is the answer's error object (nil when there is none).
func (a answer) errorOf() map[string]any {
	e, _ := a.body["error"].(map[string]any)
	return e
}

// code is the answer's error code (0 when there is none).
func (a answer) code() int {
	e := a.errorOf()
	if e == nil {
		return 0
	}
	return int(e["code"].(float64))
}

func (a answer) subcode() int {
	e := a.errorOf()
	if v, ok := e["error_subcode"].(float64); ok {
		return int(v)
	}
	return 0
}

// usage decodes a usage header.
func (a answer) usage(t *testing.T, name string) map[string]any {
	t.Helper()
	v := a.header.Get(name)
	require.NotEmpty(t, v, "header %s", name)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(v), &out), "%s: %s", name, v)
	return out
}

// buc is the custom_audience entry of X-Business-Use-Case-Usage for an account.
func (a answer) buc(t *testing.T, account string) map[string]any {
	t.Helper()
	u := a.usage(t, headerBUC)
	list, ok := u[account].([]any)
	require.True(t, ok, "no %s in %v", account, u)
	require.Len(t, list, 1)
	return list[0].(map[string]any)
}

// req is a request to send. form is sent form-encoded, json as a JSON body; the
// token goes in the query unless noToken or form/json carry one.
type req struct {
	method  string
	path    string
	form    url.Values
	json    map[string]any
	header  map[string]string
	noToken bool
	token   string
}

func (b *testBundle) do(r req) answer {
	b.t.Helper()
	u, err := url.Parse(b.srv.URL + r.path)
	require.NoError(b.t, err)
	if !r.noToken {
		q := u.Query()
		token := r.token
		if token == "" {
			token = testToken
		}
		q.Set("access_token", token)
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	ctype := ""
	switch {
	case r.json != nil:
		raw, err := json.Marshal(r.json)
		require.NoError(b.t, err)
		body, ctype = bytes.NewReader(raw), "application/json"
	case r.form != nil:
		body, ctype = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	}
	hr, err := http.NewRequest(r.method, u.String(), body)
	require.NoError(b.t, err)
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := b.srv.Client().Do(hr)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	require.NoError(b.t, json.Unmarshal(raw, &a.body), "body: %s", raw)
	return a
}

func (b *testBundle) get(path string) answer {
	b.t.Helper()
	return b.do(req{method: http.MethodGet, path: path})
}

// upload sends payload (and session, when not nil) form-encoded as JSON strings,
// the way the docs' curl examples do.
func (b *testBundle) upload(method, path string, payload, session any) answer {
	b.t.Helper()
	form := url.Values{"payload": {mustJSON(b.t, payload)}}
	if session != nil {
		form.Set("session", mustJSON(b.t, session))
	}
	return b.do(req{method: method, path: path, form: form})
}

func (b *testBundle) add(audience string, payload any) answer {
	b.t.Helper()
	return b.upload(http.MethodPost, "/v21.0/"+audience+"/users", payload, nil)
}

func (b *testBundle) remove(audience string, payload any) answer {
	b.t.Helper()
	return b.upload(http.MethodDelete, "/v21.0/"+audience+"/users", payload, nil)
}

func (b *testBundle) replaceBatch(audience string, sessionID int64, seq int, last bool, payload any) answer {
	b.t.Helper()
	return b.upload(http.MethodPost, "/v21.0/"+audience+"/usersreplace", payload,
		map[string]any{"session_id": sessionID, "batch_seq": seq, "last_batch_flag": last, "estimated_num_total": 100})
}

// createAudience creates an audience in the account and returns its id.
func (b *testBundle) createAudience(account, name string) string {
	b.t.Helper()
	a := b.do(req{method: http.MethodPost, path: "/v21.0/act_" + account + "/customaudiences", form: url.Values{
		"name": {name}, "subtype": {"CUSTOM"}, "customer_file_source": {"USER_PROVIDED_ONLY"},
	}})
	require.Equal(b.t, http.StatusOK, a.status, "%s", a.raw)
	return a.body["id"].(string)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// h is the hashed value of a raw identifier.
func h(key, raw string) string { return HashValue(key, raw) }

// person is a row of schema EMAIL, PHONE, FN.
func person(email, phone, fn string) []any {
	return []any{h("EMAIL", email), h("PHONE", phone), h("FN", fn)}
}

// multi is a payload of schema EMAIL, PHONE, FN.
func multi(rows ...[]any) map[string]any {
	return map[string]any{"schema": []string{"EMAIL", "PHONE", "FN"}, "data": rows}
}

// emails is a single-key EMAIL_SHA256 payload with flat data.
func emails(raw ...string) map[string]any {
	data := make([]any, len(raw))
	for i, e := range raw {
		data[i] = h("EMAIL", e)
	}
	return map[string]any{"schema": "EMAIL_SHA256", "data": data}
}

// emailSet is the set of hashed EMAILs of an audience's members.
func emailSet(sim *Server, audience string) []string {
	var out []string
	for _, m := range sim.Members(audience) {
		if e, ok := m.Identifiers["EMAIL"]; ok {
			out = append(out, e)
		}
	}
	return out
}

func hashes(key string, raw ...string) []string {
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = h(key, r)
	}
	return out
}

// manyEmails is a single-key payload of n distinct emails.
func manyEmails(n int) map[string]any {
	raw := make([]string, n)
	for i := range raw {
		raw[i] = fmt.Sprintf("user%d@example.com", i)
	}
	return emails(raw...)
}

// usersOK asserts a 200 /users answer with these counts and returns it.
func usersOK(t *testing.T, a answer, received, invalid int) answer {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, float64(received), a.body["num_received"], "%s", a.raw)
	require.Equal(t, float64(invalid), a.body["num_invalid_entries"], "%s", a.raw)
	return a
}
