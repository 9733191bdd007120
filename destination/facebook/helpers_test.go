package facebook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

const (
	token      = "EAAB-test-token-0123456789"
	account    = "1234567"
	audienceID = "23851234567890123"
)

// testBundle is a simulator behind a real HTTP server.
type testBundle struct {
	sim *sim.Server
	srv *httptest.Server

	mu        sync.Mutex
	intercept func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

// interceptWith makes f see each request before the simulator, with its body;
// a request f answers (returning true) never reaches the simulator.
func (tb *testBundle) interceptWith(f func(w http.ResponseWriter, r *http.Request, body []byte) bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.intercept = f
}

func (tb *testBundle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tb.mu.Lock()
	f := tb.intercept
	tb.mu.Unlock()
	if f != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if f(w, r, body) {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	tb.sim.ServeHTTP(w, r)
}

// sessionOf reads the session parameter of a usersreplace request's body.
func sessionOf(body []byte) (seq int64, last bool) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return 0, false
	}
	var sp struct {
		Seq  int64 `json:"batch_seq"`
		Last bool  `json:"last_batch_flag"`
	}
	_ = json.Unmarshal([]byte(form.Get("session")), &sp)
	return sp.Seq, sp.Last
}

// fakeTime is a hand-moved clock for a destination's waits: a wait moves it
// on at once, and ends the pause a throttling answer put on the destination's
// budget (which runs on the real clock).
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeTime(d *facebook.Destination) *fakeTime {
	ft := &fakeTime{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	d.SetClock(ft.Now, func(ctx context.Context, wait time.Duration) error {
		ft.mu.Lock()
		ft.now = ft.now.Add(wait)
		ft.waits = append(ft.waits, wait)
		ft.mu.Unlock()
		d.SetBudget(saas.NewBudget(connector.RateLimits{}, 8))
		return ctx.Err()
	})
	return ft
}

func (ft *fakeTime) Now() time.Time {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.now
}

func (ft *fakeTime) Advance(d time.Duration) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.now = ft.now.Add(d)
}

// longest is the longest wait so far.
func (ft *fakeTime) longest() time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return slices.Max(append([]time.Duration{0}, ft.waits...))
}

// setup starts a simulator that keeps request bodies, accepts the test token and
// holds the test audience in the test ad account; opts may set anything else.
func setup(t testing.TB, opts sim.Options) *testBundle {
	t.Helper()
	opts.KeepBodies = true
	if opts.Tokens == nil {
		opts.Tokens = []string{token}
	}
	if opts.Audiences == nil {
		opts.Audiences = map[string]string{audienceID: account}
	}
	tb := &testBundle{sim: sim.New(opts)}
	tb.srv = simtest.NewServer(tb)
	t.Cleanup(tb.srv.Close)
	return tb
}

// post sends a form request to the simulator as another app would.
func (tb *testBundle) post(t testing.TB, path string, form url.Values) {
	t.Helper()
	form.Set("access_token", token)
	resp, err := http.PostForm(tb.srv.URL+"/v21.0"+path, form)
	require.NoError(t, err)
	resp.Body.Close()
}

// config is a destination configuration for the bundle's simulator.
func (tb *testBundle) config(mutate func(*facebook.Config)) *facebook.Config {
	cfg := facebook.Spec.NewConfig().(*facebook.Config)
	cfg.SetDefaults()
	cfg.AccessToken = token
	cfg.AdAccountID = "act_" + account
	cfg.BaseURL = tb.srv.URL + "/v21.0"
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// open opens a destination for info and sc against the simulator.
func (tb *testBundle) open(t testing.TB, info connector.SyncInfo, sc *facebook.SyncConfig, mutate func(*facebook.Config)) *facebook.Destination {
	t.Helper()
	cfg := tb.config(mutate)
	require.NoError(t, cfg.Validate())
	require.NoError(t, sc.Validate())
	d, err := facebook.Spec.Open(context.Background(), connector.DestinationParams{Name: "ads", Config: cfg, SyncConfig: sc, Sync: info})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d.(*facebook.Destination)
}

// The customers sync of the tests: the model's columns, with the identifiers
// carried as the engine carries them (after the mapped fields).
var customerFields = []string{"id", "email", "phone", "first_name", "last_name", "country"}

func customerInfo(mode connector.Mode) connector.SyncInfo {
	return connector.SyncInfo{
		Name: "big_spenders_audience", Mode: mode, KeyColumn: "id", KeyField: "id", Fields: customerFields,
		ColumnFields: map[string]int{"identifiers.EMAIL": 1, "identifiers.PHONE": 2, "identifiers.FN": 3, "identifiers.LN": 4, "identifiers.COUNTRY": 5},
	}
}

func customerSync() *facebook.SyncConfig {
	return &facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{
		"EMAIL": "email", "PHONE": "phone", "FN": "first_name", "LN": "last_name", "COUNTRY": "country",
	}}
}

// customer is a row of the customers model.
type customer struct {
	id                        string
	email, phone, first, last record.Value
	country                   record.Value
}

func (c customer) fields() record.Fields {
	return record.MakeFields(customerFields, []record.Value{c.id, c.email, c.phone, c.first, c.last, c.country})
}

func (c customer) add() record.Change {
	return record.Change{Op: record.OpAdd, Key: c.id, Fields: c.fields()}
}

func (c customer) remove() record.Change {
	return record.Change{Op: record.OpRemove, Key: c.id, Fields: c.fields()}
}

// changeTo is the change from c to next.
func (c customer) changeTo(next customer) record.Change {
	return record.Change{Op: record.OpChange, Key: c.id, Fields: next.fields(), Previous: c.fields()}
}

// person is customer n: ada0@example.com, +1 650 555 0000+n, …
func person(n int) customer {
	return customer{
		id: "c" + itoa(n), email: "Ada" + itoa(n) + "@Example.com", phone: "+1 (650) 555-" + pad4(n),
		first: "Ada", last: "Lovelace-" + itoa(n), country: "GB",
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func pad4(n int) string {
	s := itoa(n % 10000)
	return strings.Repeat("0", 4-len(s)) + s
}

// tuple is a member's identifiers as the simulator holds them.
type tuple map[string]string

// tupleOf is what Meta should hold for a customer: its identifiers normalised
// and hashed by the destination's rules.
func tupleOf(t testing.TB, c customer) tuple {
	t.Helper()
	out := tuple{}
	for key, v := range map[string]record.Value{"EMAIL": c.email, "PHONE": c.phone, "FN": c.first, "LN": c.last, "COUNTRY": c.country} {
		s, _ := v.(string)
		h, err := facebook.Normalize(key, s)
		require.NoError(t, err)
		if h != "" {
			out[key] = h
		}
	}
	return out
}

// members is the audience's members, each as its identifiers.
func (tb *testBundle) members() []tuple {
	var out []tuple
	for _, m := range tb.sim.Members(audienceID) {
		out = append(out, tuple(m.Identifiers))
	}
	return out
}

// requireMembers checks that the audience holds exactly the customers given.
func (tb *testBundle) requireMembers(t testing.TB, want ...customer) {
	t.Helper()
	var wantTuples []tuple
	for _, c := range want {
		wantTuples = append(wantTuples, tupleOf(t, c))
	}
	got := tb.members()
	key := func(tp tuple) string {
		var parts []string
		for k, v := range tp {
			parts = append(parts, k+"="+v)
		}
		slices.Sort(parts)
		return strings.Join(parts, ",")
	}
	var g, w []string
	for _, tp := range got {
		g = append(g, key(tp))
	}
	for _, tp := range wantTuples {
		w = append(w, key(tp))
	}
	slices.Sort(g)
	slices.Sort(w)
	require.Equal(t, w, g, "the audience's members")
}

// write sends changes as one batch and returns Write's error, the exchanges
// traced and the counters the destination reported.
func write(d connector.Destination, changes []record.Change) (error, []connector.Exchange, map[string]int64) {
	var exchanges []connector.Exchange
	counts := map[string]int64{}
	b := connector.NewBatch("big_spenders_audience", "run-1", "batch-1", changes, func(ex connector.Exchange) {
		exchanges = append(exchanges, ex)
	}).OnCount(func(name string, n int64) { counts[name] += n })
	return d.Write(context.Background(), b), exchanges, counts
}

// optedOut is a simulator's Reject refusing the person with that hashed email,
// as Meta refuses one who opted out.
func optedOut(email string) func(string, map[string]string) string {
	return func(_ string, ids map[string]string) string {
		if ids["EMAIL"] == email {
			return "the person opted out"
		}
		return ""
	}
}
