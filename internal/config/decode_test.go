package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
)

// everything wraps the lines of a config block (indented by four spaces) in a
// destination of type "everything" named all; the block's first key is on line 4.
func everything(lines string) string {
	return "destinations:\n  all:\n    type: everything\n" + lines
}

func TestDecodeEveryFieldType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env["N"] = "12"
	b.env["ON"] = "true"
	p := b.mustParse(t, everything(`    region: eu
    str: hello
    password: hunter2222
    flag: ${env:ON}
    int: ${env:N}
    int8: -128
    int16: 32767
    int32: 0x7f
    int64: 9223372036854775807
    uint: 7
    uint8: 255
    uint16: "65535"
    uint32: 4294967295
    uint64: 18446744073709551615
    float: 1.5
    timeout: 1m30s
    wait: 45
    list: [a, 2, true, 1.50]
    keys: [key-one-1, key-two-2]
    labels: {team: data, tier: 1}
    nested: {user: bob, token: nested-token}
    opt:
      user: alice
    ptr_str: text
    ptr_wait: 2s
    untagged: yes
`))
	text := "text"
	wait := 2 * time.Second
	want := &everythingConfig{
		Common:   Common{Region: "eu"},
		Str:      "hello",
		Password: "hunter2222",
		Flag:     true,
		Int:      12,
		Int8:     -128,
		Int16:    32767,
		Int32:    127,
		Int64:    9223372036854775807,
		Uint:     7,
		Uint8:    255,
		Uint16:   65535,
		Uint32:   4294967295,
		Uint64:   18446744073709551615,
		Float:    1.5,
		Timeout:  90 * time.Second,
		Wait:     45 * time.Second,
		List:     []string{"a", "2", "true", "1.50"}, // scalars keep their written text
		Keys:     []string{"key-one-1", "key-two-2"},
		Labels:   map[string]string{"team": "data", "tier": "1"},
		Nested:   nestedConfig{User: "bob", Token: "nested-token"},
		Opt:      &nestedConfig{User: "alice"},
		PtrStr:   &text,
		PtrWait:  &wait,
		Skipped:  "kept", // yaml:"-": only SetDefaults sets it
		Untagged: "yes",
		Retries:  3, // SetDefaults, not in the file
	}
	require.Equal(t, want, p.Destinations["all"].Config)
	require.Equal(t, []string{"nested-token", "hunter2222", "key-one-1", "key-two-2", "true"}, p.Secrets,
		"secret fields and interpolated values of 4 bytes or more, longest first")
}

func TestDecodeNullKeepsDefault(t *testing.T) {
	t.Parallel()
	p := setup(t).mustParse(t, everything("    str: x\n    timeout:\n    retries: ~\n"))
	cfg := p.Destinations["all"].Config.(*everythingConfig)
	require.Equal(t, 10*time.Second, cfg.Timeout)
	require.Equal(t, 3, cfg.Retries)
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		src  string
		want []string
	}{
		{
			name: "string given a mapping",
			src:  "    str: {a: 1}\n",
			want: []string{`sluice.yaml:4:10: destinations.all.str: expected a string, got a mapping`},
		},
		{
			name: "boolean",
			src:  "    str: x\n    flag: maybe\n",
			want: []string{`sluice.yaml:5:11: destinations.all.flag: expected a boolean (true or false), got string "maybe"`},
		},
		{
			name: "integers",
			src:  "    str: x\n    int: 1.5\n    int8: 300\n    uint8: -1\n    uint: \"-3\"\n    uint16: 70000\n    int64: 9223372036854775808\n",
			want: []string{
				`sluice.yaml:5:10: destinations.all.int: expected an integer, got number 1.5`,
				`sluice.yaml:6:11: destinations.all.int8: integer out of range: use a value from -128 to 127`,
				`sluice.yaml:7:12: destinations.all.uint8: must not be negative`,
				`sluice.yaml:8:11: destinations.all.uint: must not be negative`,
				`sluice.yaml:9:13: destinations.all.uint16: integer out of range: use a value from 0 to 65535`,
				`sluice.yaml:10:12: destinations.all.int64: integer out of range: use a value from -9223372036854775808 to 9223372036854775807`,
			},
		},
		{
			name: "number",
			src:  "    str: x\n    float: abc\n",
			want: []string{`sluice.yaml:5:12: destinations.all.float: expected a number, got string "abc"`},
		},
		{
			name: "durations",
			src:  "    str: x\n    timeout: 1.5\n    wait: soon\n    ptr_wait: [1]\n",
			want: []string{
				`sluice.yaml:5:14: destinations.all.timeout: expected a duration like "30s" or "1m30s", or a whole number of seconds, got number 1.5`,
				`sluice.yaml:6:11: destinations.all.wait: expected a duration like "30s" or "1m30s", or a whole number of seconds, got string "soon"`,
				`sluice.yaml:7:15: destinations.all.ptr_wait: expected a duration like "30s" or "1m30s", or a whole number of seconds, got a list`,
			},
		},
		{
			name: "lists and maps",
			src:  "    str: x\n    list: [a, {b: c}]\n    labels: [a]\n    keys: not-a-list-secret\n",
			want: []string{
				`sluice.yaml:5:15: destinations.all.list[1]: expected a string, got a mapping`,
				`sluice.yaml:6:13: destinations.all.labels: expected a mapping of strings, got a list`,
				// keys is secret: its value is not shown.
				`sluice.yaml:7:11: destinations.all.keys: expected a list of strings, got a string`,
			},
		},
		{
			name: "map value that is not a string",
			src:  "    str: x\n    labels: {a: [b]}\n",
			want: []string{`sluice.yaml:5:17: destinations.all.labels.a: expected a string, got a list`},
		},
		{
			name: "nested structs",
			src:  "    str: x\n    nested: plain\n    opt:\n      usr: bob\n",
			want: []string{
				`sluice.yaml:5:13: destinations.all.nested: expected a mapping, got string "plain"`,
				`sluice.yaml:6:5: destinations.all.opt.user: required key is missing: add it`,
				`sluice.yaml:7:7: destinations.all.opt.usr: unknown key "usr": did you mean "user"? (use one of user, token)`,
			},
		},
		{
			name: "required nested key missing and empty",
			src:  "    str: x\n    nested: {token: t}\n    opt: {user: ''}\n",
			want: []string{
				`sluice.yaml:5:5: destinations.all.nested.user: required key is missing: add it`,
				`sluice.yaml:6:17: destinations.all.opt.user: must not be empty`,
			},
		},
		{
			name: "missing required key with its doc",
			src:  "    flag: false\n",
			want: []string{`sluice.yaml:2:3: destinations.all.str: required key is missing: add it (a required string)`},
		},
		{
			name: "skipped field is an unknown key",
			src:  "    str: x\n    skipped: y\n",
			want: []string{`sluice.yaml:5:5: destinations.all.skipped: unknown key "skipped": use one of type, region, str, password, flag, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float, timeout, wait, list, keys, labels, nested, opt, ptr_str, ptr_wait, untagged, retries`},
		},
		{
			name: "Validate: field errors, nested and inlined keys, and other errors",
			src:  "    str: forbidden\n    int: -1\n    nested:\n      user: root\n    region: mars\n",
			want: []string{
				`sluice.yaml:2:3: destinations.all: str and flag conflict: unset one`,
				`sluice.yaml:5:5: destinations.all.int: must not be negative: use 0 for no limit`,
				`sluice.yaml:7:7: destinations.all.nested.user: must not be root`,
				`sluice.yaml:8:5: destinations.all.region: is not served: use eu or us`,
			},
		},
		{
			name: "Validate: a field error about a key that is not written is at the block",
			src:  "    str: x\n    flag: true\n",
			want: []string{`sluice.yaml:2:3: destinations.all.password: is required when flag is set`},
		},
		{
			name: "Validate runs after a decoding error, for the keys that decoded",
			src:  "    str: x\n    int: -1\n    flag: maybe\n",
			want: []string{
				`sluice.yaml:5:5: destinations.all.int: must not be negative: use 0 for no limit`,
				`sluice.yaml:6:11: destinations.all.flag: expected a boolean (true or false), got string "maybe"`,
			},
		},
		{
			name: "interpolated values are named by their reference",
			env:  map[string]string{"N": "many-many", "TOKEN": "tok-0123456789"},
			src:  "    str: x\n    int: ${env:N}\n    uint: \"n=${env:N}\"\n    nested: {user: u, token: [\"${env:TOKEN}\"]}\n",
			want: []string{
				`sluice.yaml:5:10: destinations.all.int: expected an integer, got the value of ${env:N}`,
				`sluice.yaml:6:11: destinations.all.uint: expected an integer, got the value of "n=${env:N}"`,
				`sluice.yaml:7:30: destinations.all.nested.token: expected a string, got a list`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for k, v := range tt.env {
				b.env[k] = v
			}
			require.Equal(t, tt.want, b.parseErrors(t, everything(tt.src)))
		})
	}
}

// A connector whose spec or config struct is wrong is reported as the
// connector's bug, at the key or block concerned, rather than panicking.
func TestDecodeConnectorBugs(t *testing.T) {
	t.Parallel()
	type odd struct {
		Ports []int          `yaml:"ports"`
		Quota map[string]int `yaml:"quota"`
		Any   any            `yaml:"any"`
	}
	cat := fakeCatalog{destinations: map[string]connector.DestinationSpec{
		"value": {Type: "value", NewConfig: func() any { return webhookConfig{} }, Modes: allModes},
		"odd":   {Type: "odd", NewConfig: func() any { return &odd{} }, Modes: allModes},
	}}
	src := "destinations:\n  a: {type: value}\n  b:\n    type: odd\n    ports: [1]\n    quota: {x: 1}\n    any: 1\n"
	_, err := Parse("sluice.yaml", t.TempDir(), []byte(src), cat, Options{LookupEnv: env(nil)})
	require.EqualError(t, err, `sluice.yaml:2:3: destinations.a: the connector's config is config.webhookConfig, not a pointer to a struct: this is a bug in the connector
sluice.yaml:5:12: destinations.b.ports: the connector's config field for this key has the unsupported type []int: this is a bug in the connector
sluice.yaml:6:12: destinations.b.quota: the connector's config field for this key has the unsupported type map[string]int: this is a bug in the connector
sluice.yaml:7:10: destinations.b.any: the connector's config field for this key has the unsupported type interface {}: this is a bug in the connector`)
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	require.Equal(t, []FieldDoc{
		{Key: "url", Type: "string", Required: true, Doc: "where events are POSTed"},
		{Key: "batch_size", Type: "integer", Doc: "events per request", Default: "100"},
		{Key: "max_in_flight", Type: "integer", Default: "1"},
		{Key: "headers", Type: "map of strings"},
		{Key: "signing_secret", Type: "string", Secret: true},
		{Key: "timeout", Type: "duration", Default: "30s"},
	}, Describe(&webhookConfig{}))

	docs := Describe(&everythingConfig{})
	keys := make([]string, len(docs))
	for i, d := range docs {
		keys[i] = d.Key + ":" + d.Type
	}
	require.Equal(t, []string{
		"region:string", "str:string", "password:string", "flag:boolean",
		"int:integer", "int8:integer", "int16:integer", "int32:integer", "int64:integer",
		"uint:integer", "uint8:integer", "uint16:integer", "uint32:integer", "uint64:integer",
		"float:number", "timeout:duration", "wait:duration", "list:list of strings", "keys:list of strings",
		"labels:map of strings", "nested:mapping", "nested.user:string", "nested.token:string",
		"opt:mapping", "opt.user:string", "opt.token:string", "ptr_str:string", "ptr_wait:duration",
		"untagged:string", "retries:integer",
	}, keys)
	require.Equal(t, FieldDoc{Key: "nested.token", Type: "string", Secret: true}, docs[22])
	require.Equal(t, FieldDoc{Key: "opt.user", Type: "string", Required: true}, docs[24])

	require.Nil(t, Describe(nil))
	require.Nil(t, Describe(42))
}
