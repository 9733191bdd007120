package cli

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/destination/webhook/webhooktest"
	"github.com/sluicehq/sluice/internal/pgtest"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// The test binary doubles as the sluice command, for tests that need a separate
// process (killing a sync mid-run).
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_TEST_AS_CLI") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	pgtest.Main(m)
}

// project is a project directory with a DuckDB warehouse and a webhook receiver.
type project struct {
	t         *testing.T
	dir       string
	warehouse string
	recv      *webhooktest.Receiver
	secret    string
}

const hookSecret = "whsec_dGVzdC1zaWduaW5nLXNlY3JldC0xMjM0NTY3OA=="

// newProject writes sluice.yaml from tmpl, where {{URL}} is the receiver's address
// and {{SECRET_ENV}} names the variable holding the signing secret, and runs setup
// against the warehouse.
func newProject(t *testing.T, tmpl, setup string) *project {
	t.Helper()
	dir := t.TempDir()
	p := &project{t: t, dir: dir, warehouse: filepath.Join(dir, "warehouse.duckdb"), secret: hookSecret}
	key := []byte("test-signing-secret-12345678")
	r, err := webhooktest.Start("127.0.0.1:0", webhooktest.Options{Secret: key, KeepEvents: true})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	p.recv = r
	t.Setenv("TEST_HOOK_SECRET", hookSecret)
	t.Setenv("TEST_HOOK_TOKEN", "tok-abcdef-0123456789")
	yaml := strings.NewReplacer("{{URL}}", r.URL).Replace(tmpl)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte(yaml), 0o644))
	if setup == "" {
		setup = "select 1" // the warehouse file exists even when the model reads files
	}
	p.sql(setup)
	return p
}

func (p *project) sql(q string) {
	p.t.Helper()
	db, err := sql.Open("duckdb", p.warehouse)
	require.NoError(p.t, err)
	defer db.Close()
	_, err = db.Exec(q)
	require.NoError(p.t, err, q)
}

// projectAt writes a project in a fresh directory from tmpl, with the pairs of
// replace ({{URL}}, url, …) replaced, and builds its warehouse with setup.
func projectAt(t *testing.T, tmpl, setup string, replace ...string) *project {
	t.Helper()
	dir := t.TempDir()
	p := &project{t: t, dir: dir, warehouse: filepath.Join(dir, "warehouse.duckdb")}
	yaml := strings.NewReplacer(replace...).Replace(tmpl)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte(yaml), 0o644))
	if setup == "" {
		setup = "select 1"
	}
	p.sql(setup)
	return p
}

// sluice runs the command line in-process against the project.
func (p *project) sluice(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(append([]string{"--config", filepath.Join(p.dir, "sluice.yaml")}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// syncJSON runs `sluice sync --json` and decodes its output.
func (p *project) syncJSON(args ...string) (map[string]any, int) {
	p.t.Helper()
	out, errOut, code := p.sluice(append([]string{"sync", "--json"}, args...)...)
	var v map[string]any
	require.NoError(p.t, json.Unmarshal([]byte(out), &v), "stdout: %s\nstderr: %s", out, errOut)
	return v, code
}

func (p *project) planJSON(sync string) map[string]any {
	p.t.Helper()
	out, errOut, code := p.sluice("plan", "--json", sync)
	require.Equal(p.t, 0, code, "plan failed: %s %s", out, errOut)
	var v map[string]any
	require.NoError(p.t, json.Unmarshal([]byte(out), &v))
	return v
}

func counts(v map[string]any) [3]int {
	pl := v["planned"].(map[string]any)
	return [3]int{int(pl["added"].(float64)), int(pl["changed"].(float64)), int(pl["removed"].(float64))}
}

func num64(v map[string]any, k string) int {
	return int(v[k].(float64))
}

// contents is what the receiver holds: key → field → JSON text.
func (p *project) contents() map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, fields := range p.recv.Contents() {
		m := map[string]string{}
		for f, raw := range fields {
			m[f] = string(raw)
		}
		out[k] = m
	}
	return out
}

const usersProject = `
sources:
  warehouse:
    type: duckdb
    path: warehouse.duckdb
models:
  users:
    source: warehouse
    table: users
    primary_key: id
destinations:
  hook:
    type: webhook
    url: {{URL}}
    batch_size: 100
    max_in_flight: 4
    headers: {Authorization: "Bearer ${env:TEST_HOOK_TOKEN}"}
    signing_secret: ${env:TEST_HOOK_SECRET}
    max_attempts: 3
syncs:
  users_to_hook:
    model: users
    destination: hook
    mode: mirror
    mappings:
      - {from: email, to: email}
      - {from: plan, to: plan_tier}
`

const usersSetup = `
create table users as
select i as id, 'user' || i || '@example.com' as email,
       (['free','pro','team'])[1 + (i % 3)::int] as plan,
       i * 10 as unmapped_score
from range(1, 1001) t(i);
`

func decodeObject(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

// rejections are the rows a simulator is to refuse, by a key the test chooses
// (an email, an external ID), with the reason: tests change them while the
// simulator serves.
type rejections struct {
	mu      sync.Mutex
	reasons map[string]string
}

// set makes the simulator refuse key with reason; "" accepts it again.
func (r *rejections) set(key, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reason == "" {
		delete(r.reasons, key)
		return
	}
	if r.reasons == nil {
		r.reasons = map[string]string{}
	}
	r.reasons[key] = reason
}

// reason is why key is refused, "" when it is not.
func (r *rejections) reason(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reasons[key]
}

// serve runs h, wrapped by each of wrap in turn (the last outermost), behind a test
// server and returns its URL.
func serve(t *testing.T, h http.Handler, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	for _, w := range wrap {
		h = w(h)
	}
	srv := simtest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
