package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hookWithURL is a project whose only interpolated value is the webhook's url.
func hookWithURL(url string) string {
	return "destinations:\n  hook:\n    type: webhook\n    url: " + url + "\n"
}

func TestInterpolation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		env         map[string]string
		files       map[string]string
		url         string
		want        string
		wantSecrets []string
	}{
		{
			name:        "env",
			env:         map[string]string{"HOOK_URL": "https://hooks.example/abc"},
			url:         "${env:HOOK_URL}",
			want:        "https://hooks.example/abc",
			wantSecrets: []string{"https://hooks.example/abc"},
		},
		{
			name:        "several references inside a string",
			env:         map[string]string{"HOST": "hooks.example", "KEY": "k-98765"},
			url:         `"https://${env:HOST}/in?key=${env:KEY}"`,
			want:        "https://hooks.example/in?key=k-98765",
			wantSecrets: []string{"hooks.example", "k-98765"},
		},
		{
			name:        "file relative to the project directory, one trailing newline trimmed",
			files:       map[string]string{"secrets/url": "https://from.file/x\n\n"},
			url:         "${file:secrets/url}",
			want:        "https://from.file/x\n",
			wantSecrets: []string{"https://from.file/x\n", "https://from.file/x"}, // and trimmed, as destinations use it
		},
		{
			name:        "file with a CRLF ending",
			files:       map[string]string{"url.txt": "https://crlf.example\r\n"},
			url:         "${file:url.txt}",
			want:        "https://crlf.example",
			wantSecrets: []string{"https://crlf.example"},
		},
		{
			name: "escaped reference is literal and resolves nothing",
			url:  `"https://x/$${env:NOT_SET}/$$/$5"`,
			want: "https://x/${env:NOT_SET}/$$/$5",
		},
		{
			name: "values shorter than 4 bytes are not secrets",
			env:  map[string]string{"PORT": "80"},
			url:  "http://127.0.0.1:${env:PORT}/",
			want: "http://127.0.0.1:80/",
		},
		{
			name:        "an empty variable is set",
			env:         map[string]string{"SUFFIX": ""},
			url:         "http://x/${env:SUFFIX}",
			want:        "http://x/",
			wantSecrets: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for k, v := range tt.env {
				b.env[k] = v
			}
			for name, content := range tt.files {
				path := filepath.Join(b.dir, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
				require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			}
			p := b.mustParse(t, hookWithURL(tt.url))
			require.Equal(t, tt.want, p.Destinations["hook"].Config.(*webhookConfig).URL)
			require.Equal(t, tt.wantSecrets, p.Secrets)
		})
	}
}

func TestInterpolationErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs := filepath.Join(dir, "missing.txt")
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"unset variable", "${env:HOOK_TOKEN}", `environment variable HOOK_TOKEN is not set: export it or remove the reference`},
		{"no scheme", "${HOOK_TOKEN}", `unsupported reference ${HOOK_TOKEN}: use ${env:NAME} or ${file:path}, or write $${ for a literal ${`},
		{"unknown scheme", "${vault:kv/hook}", `unsupported reference ${vault:kv/hook}: use ${env:NAME} or ${file:path}, or write $${ for a literal ${`},
		{"empty variable name", "${env:}", `invalid environment variable name in ${env:}: use letters, digits and _, not starting with a digit`},
		{"bad variable name", `"${env:HOOK TOKEN}"`, `invalid environment variable name in ${env:HOOK TOKEN}: use letters, digits and _, not starting with a digit`},
		{"unterminated", `"http://x/${env:HOOK"`, `unterminated reference "${env:HOOK": close it with } or write $${ for a literal ${`},
		{"empty file name", "${file:}", `empty file name in ${file:}: write ${file:path}, relative to the project directory`},
		{"missing file", "${file:" + abs + "}", `cannot read ${file:` + abs + `} (` + abs + `): no such file or directory: create the file or fix the path`},
		{"directory", "${file:" + dir + "}", `cannot read ${file:` + dir + `} (` + dir + `): not a regular file: create the file or fix the path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The error is at the value, and the required url counts as written.
			require.Equal(t, []string{"sluice.yaml:4:10: destinations.hook.url: " + tt.want}, setup(t).parseErrors(t, hookWithURL(tt.url)))
		})
	}

	t.Run("every bad reference in one value is reported", func(t *testing.T) {
		t.Parallel()
		got := setup(t).parseErrors(t, hookWithURL(`"${env:A}/${env:B}"`))
		require.Equal(t, []string{
			`sluice.yaml:4:10: destinations.hook.url: environment variable A is not set: export it or remove the reference`,
			`sluice.yaml:4:10: destinations.hook.url: environment variable B is not set: export it or remove the reference`,
		}, got)
	})

	t.Run("references are resolved everywhere, also in unknown keys", func(t *testing.T) {
		t.Parallel()
		got := setup(t).parseErrors(t, "sources:\n  wh:\n    type: ${env:SRC_TYPE}\n    path: ${env:DB_PATH}\n")
		require.Equal(t, []string{
			`sluice.yaml:3:11: sources.wh.type: environment variable SRC_TYPE is not set: export it or remove the reference`,
			`sluice.yaml:4:11: sources.wh.path: environment variable DB_PATH is not set: export it or remove the reference`,
		}, got)
	})
}

// No message may carry a secret: not an interpolated value quoted by config, not a
// secret field's value quoted by a connector's Validate.
func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secrets := map[string]string{
		"SRC_TYPE": "duckdb-secret-type",
		"MODE":     "mirror-secret-mode",
		"TARGET":   "target-secret-field",
		"BATCH":    "batch-secret-size",
		"HOOK_URL": "ftp://user:env-secret-password@host",
	}
	for k, v := range secrets {
		b.env[k] = v
	}
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "token"), []byte("file-secret-token\n"), 0o600))
	src := `sources:
  wh: {type: "${env:SRC_TYPE}"}
  ok: {type: duckdb}
models:
  users: {source: ok, table: users, primary_key: id}
destinations:
  hook:
    type: webhook
    url: ${env:HOOK_URL}
    batch_size: ${env:BATCH}
  crm:
    type: crm
    token: literal-secret-token
  leak:
    type: webhook
    url: ftp://literal-secret-token/${file:token}
syncs:
  s:
    model: users
    destination: hook
    mode: ${env:MODE}
    mappings:
      - {from: a, to: "${env:TARGET}"}
      - {from: b, to: "${env:TARGET}"}
`
	_, err := b.parse(src)
	require.Error(t, err)
	msg := err.Error()
	for _, secret := range []string{
		"duckdb-secret-type", "mirror-secret-mode", "target-secret-field", "batch-secret-size",
		"env-secret-password", "literal-secret-token", "file-secret-token",
	} {
		require.NotContains(t, msg, secret)
	}
	require.Equal(t, strings.Join([]string{
		`sluice.yaml:2:14: sources.wh.type: unknown source type (the value of ${env:SRC_TYPE}): use one of bare, duckdb`,
		`sluice.yaml:9:5: destinations.hook.url: must start with http:// or https://, got [REDACTED]`,
		`sluice.yaml:10:17: destinations.hook.batch_size: expected an integer, got the value of ${env:BATCH}`,
		`sluice.yaml:16:5: destinations.leak.url: must start with http:// or https://, got ftp://[REDACTED]/[REDACTED]`,
		`sluice.yaml:21:11: syncs.s.mode: unknown mode (the value of ${env:MODE}): use one of insert, update, upsert, mirror`,
		`sluice.yaml:24:23: syncs.s.mappings[1].to: duplicate target (the value of ${env:TARGET}): mappings[0] already maps to it`,
	}, "\n"), msg)
}

// A valid project keeps secrets only in Secrets and the decoded connector configs.
func TestSecretsOnlyInConfigs(t *testing.T) {
	t.Parallel()
	p := fullBundle(t).mustParse(t, fullProject)
	for _, d := range p.Destinations {
		d.Config = nil
	}
	for _, s := range p.Syncs {
		s.SyncConfig = nil
	}
	secrets := p.Secrets
	p.Secrets = nil
	var dump strings.Builder
	for _, m := range []any{p.Sources, p.Models, p.Destinations, p.Syncs} {
		fmt.Fprintf(&dump, "%+v\n", m)
	}
	fmt.Fprintf(&dump, "%+v\n", *p)
	for _, secret := range secrets {
		require.NotContains(t, dump.String(), secret)
	}
}

// References may stand unquoted inside flow mappings, as users write them
// ({username: bot, secret: ${env:SECRET}}), although YAML reads braces there as the
// mapping's own.
func TestReferencesInFlowMappings(t *testing.T) {
	t.Setenv("FLOW_SECRET", "s3cret-value")
	dir := t.TempDir()
	src := "sources:\n  wh: {type: duckdb, path: ${env:FLOW_SECRET}}\n"
	p, err := Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{})
	require.NoError(t, err)
	require.Equal(t, "s3cret-value", p.Sources["wh"].Config.(*duckdbConfig).Path)

	// A value that happens to contain $( is kept as written.
	src = "sources:\n  wh: {type: duckdb, path: \"$(echo) ${env:FLOW_SECRET}\"}\n"
	p, err = Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{})
	require.NoError(t, err)
	require.Equal(t, "$(echo) s3cret-value", p.Sources["wh"].Config.(*duckdbConfig).Path)

	// Quoted, in a block scalar, and an escape that spells "$(" on a line without
	// a reference, which stays as written.
	src = "sources:\n  wh:\n    type: duckdb\n    path: |\n      first\n      ${env:FLOW_SECRET}\n  other: {type: duckdb, path: \"\\x24(env:FLOW_SECRET)\"}\n  third: {type: duckdb, path: \"a ${env:FLOW_SECRET}\"}\n"
	p, err = Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{})
	require.NoError(t, err)
	require.Equal(t, "first\ns3cret-value\n", p.Sources["wh"].Config.(*duckdbConfig).Path)
	require.Equal(t, "$(env:FLOW_SECRET)", p.Sources["other"].Config.(*duckdbConfig).Path)
	require.Equal(t, "a s3cret-value", p.Sources["third"].Config.(*duckdbConfig).Path)

	// Positions of problems stay right.
	src = "sources:\n  wh: {type: duckdb, path: ${env:FLOW_UNSET_VAR}}\n"
	_, err = Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{})
	require.ErrorContains(t, err, "sluice.yaml:2:")
	require.ErrorContains(t, err, "FLOW_UNSET_VAR")
}

func TestAllowUnresolved(t *testing.T) {
	dir := t.TempDir()
	src := "sources:\n  wh: {type: duckdb, path: ${env:SURELY_UNSET_A}}\n"
	_, err := Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{})
	require.ErrorContains(t, err, "SURELY_UNSET_A is not set")
	p, err := Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{AllowUnresolved: true})
	require.NoError(t, err)
	require.Empty(t, p.Sources["wh"].Config.(*duckdbConfig).Path)

	// Not the state directory: another one would be the wrong run log.
	src = "state: {dir: ${env:SURELY_UNSET_B}}\n" + src
	_, err = Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{AllowUnresolved: true})
	require.ErrorContains(t, err, "SURELY_UNSET_B is not set")

	// Nor any other problem.
	src = "sources:\n  wh: {type: duckdb, path: ${env:SURELY_UNSET_A}, nope: 1}\n"
	_, err = Parse("sluice.yaml", dir, []byte(src), testCatalog, Options{AllowUnresolved: true})
	require.ErrorContains(t, err, `unknown key "nope"`)
}
