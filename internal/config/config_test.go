package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
)

const fullProject = `state:
  dir: .sluice
sources:
  warehouse:
    type: duckdb
    path: warehouse.duckdb
  scratch:
    type: duckdb
models:
  users:
    source: warehouse
    query: select * from read_csv('users.csv')
    primary_key: id
  accounts:
    source: scratch
    table: accounts
    primary_key: account_id
destinations:
  hook:
    type: webhook
    url: http://127.0.0.1:9000/events
    batch_size: 500
    max_in_flight: 4
    headers: {Authorization: "Bearer ${env:HOOK_TOKEN}"}
    signing_secret: ${env:HOOK_SECRET}
  copy:
    type: postgres
    url: ${env:DATABASE_URL}
    table: public.users_copy
  crm:
    type: crm
    token: ${file:crm.token}
syncs:
  users_to_hook:
    model: users
    destination: hook
    mode: mirror
    mappings:
      - {from: email, to: email}
      - from: plan
        to: plan_tier
  users_to_copy:
    model: users
    destination: copy
    mode: upsert
  accounts_to_crm:
    model: accounts
    destination: crm
    mode: update
    object: companies
`

func fullBundle(t *testing.T) *testBundle {
	b := setup(t)
	b.env["HOOK_TOKEN"] = "tok-123456"
	b.env["HOOK_SECRET"] = "whsec-abcdef"
	b.env["DATABASE_URL"] = "postgres://app:pw@db/app"
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "crm.token"), []byte("crm-secret-token\n"), 0o600))
	return b
}

func TestParseFullProject(t *testing.T) {
	t.Parallel()
	b := fullBundle(t)
	p := b.mustParse(t, fullProject)

	at := func(line, col int) Pos { return Pos{File: "sluice.yaml", Line: line, Col: col} }
	want := &Project{
		File:     "sluice.yaml",
		Dir:      b.dir,
		StateDir: filepath.Join(b.dir, ".sluice"),
		Sources: map[string]*Source{
			"warehouse": {Name: "warehouse", Type: "duckdb", Config: &duckdbConfig{Path: "warehouse.duckdb"}, Pos: at(4, 3)},
			"scratch":   {Name: "scratch", Type: "duckdb", Config: &duckdbConfig{}, Pos: at(7, 3)},
		},
		Models: map[string]*Model{
			"users": {
				Name: "users", Source: "warehouse", Query: "select * from read_csv('users.csv')", PrimaryKey: "id",
				Pos: at(10, 3), PrimaryKeyPos: at(13, 18),
			},
			"accounts": {
				Name: "accounts", Source: "scratch", Table: "accounts", PrimaryKey: "account_id",
				Pos: at(14, 3), PrimaryKeyPos: at(17, 18),
			},
		},
		Destinations: map[string]*Destination{
			"hook": {Name: "hook", Type: "webhook", Pos: at(19, 3), Config: &webhookConfig{
				URL:           "http://127.0.0.1:9000/events",
				BatchSize:     500,
				MaxInFlight:   4,
				Headers:       map[string]string{"Authorization": "Bearer tok-123456"},
				SigningSecret: "whsec-abcdef",
				Timeout:       30 * time.Second, // from SetDefaults
			}},
			"copy": {Name: "copy", Type: "postgres", Pos: at(26, 3), Config: &postgresConfig{
				URL: "postgres://app:pw@db/app", Table: "public.users_copy",
			}},
			"crm": {Name: "crm", Type: "crm", Pos: at(30, 3), Config: &crmConfig{Token: "crm-secret-token"}},
		},
		Syncs: map[string]*Sync{
			"users_to_hook": {
				Name: "users_to_hook", Model: "users", Destination: "hook", Mode: connector.ModeMirror,
				Mappings: []Mapping{
					{From: "email", To: "email", Pos: at(39, 9)},
					{From: "plan", To: "plan_tier", Pos: at(40, 9)},
				},
				Pos: at(34, 3),
			},
			"users_to_copy": {
				Name: "users_to_copy", Model: "users", Destination: "copy", Mode: connector.ModeUpsert,
				Pos: at(42, 3),
			},
			"accounts_to_crm": {
				Name: "accounts_to_crm", Model: "accounts", Destination: "crm", Mode: connector.ModeUpdate,
				SyncConfig: &crmSyncConfig{Object: "companies", IDProperty: "id"},
				Pos:        at(46, 3),
			},
		},
		Secrets: []string{
			"postgres://app:pw@db/app", // longest first
			"crm-secret-token",
			"whsec-abcdef",
			"tok-123456",
		},
	}
	require.Equal(t, want, p)
	require.Nil(t, p.Syncs["users_to_copy"].Mappings, "omitted mappings mean every column")
	require.Equal(t, []string{"accounts_to_crm", "users_to_copy", "users_to_hook"}, p.SyncNames())
}

func TestStateDir(t *testing.T) {
	t.Parallel()
	abs := filepath.Join(t.TempDir(), "state")
	tests := []struct {
		name string
		src  string
		want func(dir string) string
	}{
		{"default", "sources: {}\n", func(dir string) string { return filepath.Join(dir, ".sluice") }},
		{"relative", "state: {dir: ../run/state}\n", func(dir string) string { return filepath.Join(filepath.Dir(dir), "run", "state") }},
		{"absolute", "state:\n  dir: " + abs + "\n", func(string) string { return abs }},
		{"empty state", "state:\n", func(dir string) string { return filepath.Join(dir, ".sluice") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := b.mustParse(t, tt.src)
			require.Equal(t, tt.want(b.dir), p.StateDir)
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()

	t.Run("reads the file and resolves its directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "sluice.yaml")
		require.NoError(t, os.WriteFile(path, []byte("sources:\n  wh: {type: duckdb}\n"), 0o600))
		p, err := Load(path, testCatalog, Options{LookupEnv: env(nil)})
		require.NoError(t, err)
		require.Equal(t, path, p.File)
		require.Equal(t, dir, p.Dir)
		require.Equal(t, filepath.Join(dir, ".sluice"), p.StateDir)
		require.Equal(t, "duckdb", p.Sources["wh"].Type)
	})

	t.Run("a missing file is one error naming it", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "nope.yaml")
		p, err := Load(path, testCatalog, Options{})
		require.Nil(t, p)
		var errs *Errors
		require.ErrorAs(t, err, &errs)
		require.Len(t, *errs, 1)
		require.Equal(t, path+": cannot read the project file: no such file or directory: check the path", err.Error())
	})

	t.Run("messages use the path as given", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "p.yaml")
		require.NoError(t, os.WriteFile(path, []byte("sourcs: {}\n"), 0o600))
		_, err := Load(path, testCatalog, Options{})
		require.EqualError(t, err, path+`:1:1: sourcs: unknown key "sourcs": did you mean "sources"? (use one of state, sources, models, destinations, syncs)`)
	})
}

func TestErrorsWithErrorsAs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.parse("syncs: {s: {model: m}}\n")

	var asValue Errors
	require.ErrorAs(t, err, &asValue, "Errors works as a target as well as *Errors")
	require.NotEmpty(t, asValue)

	var one *Error
	require.True(t, errors.As(err, &one), "a single *Error is reachable")
	require.Equal(t, asValue[0], one)
}

func TestPosString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "sluice.yaml:12:5", Pos{File: "sluice.yaml", Line: 12, Col: 5}.String())
	require.Equal(t, "sluice.yaml", Pos{File: "sluice.yaml"}.String())
	require.Equal(t, "3:4", Pos{Line: 3, Col: 4}.String())
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	e := &Error{Pos: Pos{File: "sluice.yaml", Line: 12, Col: 5}, Path: "syncs.users_to_hook.mode", Message: `unknown mode "mirorr": use one of insert, update, upsert, mirror`}
	require.Equal(t, `sluice.yaml:12:5: syncs.users_to_hook.mode: unknown mode "mirorr": use one of insert, update, upsert, mirror`, e.Error())

	errs := Errors{
		{Pos: Pos{File: "f", Line: 9, Col: 1}, Message: "third"},
		{Pos: Pos{File: "f", Line: 2, Col: 7}, Message: "second"},
		{Pos: Pos{File: "f", Line: 2, Col: 3}, Path: "a.b", Message: "first"},
	}
	require.Equal(t, "f:2:3: a.b: first\nf:2:7: second\nf:9:1: third", errs.Error())
	require.Equal(t, "third", errs[0].Message, "Error does not reorder the slice")
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"nothing to redact", []string{"hunter22"}, "all clear", "all clear"},
		{"every occurrence", []string{"hunter22"}, "pw=hunter22&again=hunter22", "pw=[REDACTED]&again=[REDACTED]"},
		{"longest first", []string{"abcd-efgh-ijkl", "abcd"}, "key abcd-efgh-ijkl and abcd", "key [REDACTED] and [REDACTED]"},
		{"no secrets", nil, "as is", "as is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Project{Secrets: tt.secrets}
			require.Equal(t, tt.want, p.Redact(tt.in))
		})
	}

	t.Run("a loaded project redacts its interpolated and secret values", func(t *testing.T) {
		t.Parallel()
		p := fullBundle(t).mustParse(t, fullProject)
		got := p.Redact("POST with Bearer tok-123456, signed whsec-abcdef, to postgres://app:pw@db/app using crm-secret-token")
		require.Equal(t, "POST with Bearer [REDACTED], signed [REDACTED], to [REDACTED] using [REDACTED]", got)
	})

	t.Run("a secret read with a trailing newline is redacted trimmed too", func(t *testing.T) {
		t.Parallel()
		b := fullBundle(t)
		b.env["HOOK_SECRET"] = "whsec-abcdef\n"
		p := b.mustParse(t, fullProject)
		require.Equal(t, "signed [REDACTED].", p.Redact("signed whsec-abcdef."), "destinations trim what they read")
	})

	t.Run("nil project", func(t *testing.T) {
		t.Parallel()
		var p *Project
		require.Equal(t, "x", p.Redact("x"))
	})
}
