package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// prelude declares one of everything, for cases that need a valid context; it
// is 8 lines long, so a case's own lines start at 9.
const prelude = `sources:
  wh: {type: duckdb}
models:
  users: {source: wh, table: users, primary_key: id}
destinations:
  hook: {type: webhook, url: "http://x"}
  crm: {type: crm, token: abcdefgh}
syncs:
`

func TestProjectErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "YAML syntax error",
			src:  "sources:\n  wh: [\n",
			want: []string{`sluice.yaml:2:7: invalid YAML: sequence end token ']' not found`},
		},
		{
			name: "empty file",
			src:  "",
			want: []string{`sluice.yaml:1:1: the project file is empty: declare sources, models, destinations and syncs`},
		},
		{
			name: "only comments",
			src:  "# nothing yet\n",
			want: []string{`sluice.yaml:1:1: the project file is empty: declare sources, models, destinations and syncs`},
		},
		{
			name: "root is not a mapping",
			src:  "- sources\n",
			want: []string{`sluice.yaml:1:1: the project file must be a mapping with the keys state, sources, models, destinations, syncs, got a list`},
		},
		{
			name: "two documents",
			src:  "sources: {}\n---\nmodels: {}\n",
			want: []string{`sluice.yaml:3:7: only one YAML document is allowed: remove the --- separator and what follows`},
		},
		{
			name: "duplicate key",
			src:  "sources:\n  wh:\n    type: duckdb\n    type: duckdb\n",
			want: []string{`sluice.yaml:4:5: sources.wh.type: duplicate key "type": it is already set at line 3: remove one of them`},
		},
		{
			name: "duplicate top-level key",
			src:  "sources: {}\nsources: {}\n",
			want: []string{`sluice.yaml:2:1: sources: duplicate key "sources": it is already set at line 1: remove one of them`},
		},
		{
			name: "duplicate name in a flow mapping",
			src:  "sources: {wh: {type: duckdb}, wh: {type: duckdb}}\n",
			want: []string{`sluice.yaml:1:31: sources.wh: duplicate key "wh": it is already set at line 1: remove one of them`},
		},
		{
			name: "unknown top-level key with a suggestion",
			src:  "destination: {}\n",
			want: []string{`sluice.yaml:1:1: destination: unknown key "destination": did you mean "destinations"? (use one of state, sources, models, destinations, syncs)`},
		},
		{
			name: "unknown top-level key without a suggestion",
			src:  "extras: 1\n",
			want: []string{`sluice.yaml:1:1: extras: unknown key "extras": use one of state, sources, models, destinations, syncs`},
		},
		{
			name: "unknown state key",
			src:  "state:\n  dri: x\n",
			want: []string{`sluice.yaml:2:3: state.dri: unknown key "dri": did you mean "dir"? (use one of dir)`},
		},
		{
			name: "empty state dir",
			src:  "state: {dir: ''}\n",
			want: []string{`sluice.yaml:1:14: state.dir: must not be empty: remove the key for the default, .sluice beside the project file`},
		},
		{
			name: "section is not a mapping",
			src:  "sources: [wh]\n",
			want: []string{`sluice.yaml:1:10: sources: expected a mapping of source names to their settings, got a list`},
		},
		{
			name: "entry without settings",
			src:  "sources:\n  wh:\n",
			want: []string{`sluice.yaml:2:3: sources.wh: the source has no settings: add them as an indented mapping below its name`},
		},
		{
			name: "a model naming a source without settings gets no second error",
			src:  "sources:\n  wh:\nmodels:\n  users: {source: wh, table: users, primary_key: id}\n",
			want: []string{`sluice.yaml:2:3: sources.wh: the source has no settings: add them as an indented mapping below its name`},
		},
		{
			name: "entry is not a mapping",
			src:  "sources:\n  wh: duckdb\n",
			want: []string{`sluice.yaml:2:7: sources.wh: expected a mapping with the source's settings, got a string`},
		},
		{
			name: "invalid names",
			src:  "sources:\n  \"my warehouse\": {type: duckdb}\n  _hidden: {type: duckdb}\n  ok.name-2_x: {type: duckdb}\n",
			want: []string{
				`sluice.yaml:2:3: sources.my warehouse: invalid source name "my warehouse": use letters, digits, _, . and -, starting with a letter or digit (names become directory names)`,
				`sluice.yaml:3:3: sources._hidden: invalid source name "_hidden": use letters, digits, _, . and -, starting with a letter or digit (names become directory names)`,
			},
		},
		{
			name: "source without type",
			src:  "sources:\n  wh:\n    path: x.duckdb\n",
			want: []string{`sluice.yaml:2:3: sources.wh.type: required key is missing: add type: with one of bare, duckdb`},
		},
		{
			name: "unknown source type",
			src:  "sources:\n  wh: {type: dukdb}\n",
			want: []string{`sluice.yaml:2:14: sources.wh.type: unknown source type "dukdb": did you mean "duckdb"? (use one of bare, duckdb)`},
		},
		{
			name: "type is not a string",
			src:  "sources:\n  wh: {type: [duckdb]}\n",
			want: []string{`sluice.yaml:2:14: sources.wh.type: expected a string, got a list`},
		},
		{
			name: "unknown key of a source type with no settings",
			src:  "sources:\n  b:\n    type: bare\n    path: x\n",
			want: []string{`sluice.yaml:4:5: sources.b.path: unknown key "path": use one of type`},
		},
		{
			name: "unknown destination type",
			src:  "destinations:\n  hook:\n    type: webhok\n",
			want: []string{`sluice.yaml:3:11: destinations.hook.type: unknown destination type "webhok": did you mean "webhook"? (use one of crm, everything, postgres, webhook)`},
		},
		{
			name: "unknown connector key with a suggestion",
			src:  "destinations:\n  hook:\n    type: webhook\n    url: http://x\n    batch_sise: 5\n",
			want: []string{`sluice.yaml:5:5: destinations.hook.batch_sise: unknown key "batch_sise": did you mean "batch_size"? (use one of type, url, batch_size, max_in_flight, headers, signing_secret, timeout)`},
		},
		{
			name: "missing required connector key",
			src:  "destinations:\n  hook:\n    type: webhook\n",
			want: []string{`sluice.yaml:2:3: destinations.hook.url: required key is missing: add it (where events are POSTed)`},
		},
		{
			name: "empty required connector key",
			src:  "destinations:\n  hook:\n    type: webhook\n    url: \"\"\n",
			want: []string{`sluice.yaml:4:10: destinations.hook.url: must not be empty`},
		},
		{
			name: "Validate errors at their keys",
			src:  "destinations:\n  hook:\n    type: webhook\n    url: http://x\n    batch_size: 0\n    max_in_flight: 0\n",
			want: []string{
				`sluice.yaml:5:5: destinations.hook.batch_size: must be from 1 to 1000`,
				`sluice.yaml:6:5: destinations.hook.max_in_flight: must be at least 1`,
			},
		},
		{
			name: "Validate errors may quote the value",
			src:  "destinations:\n  hook:\n    type: webhook\n    url: ftp://x\n    max_in_flight: 0\n",
			want: []string{
				`sluice.yaml:4:5: destinations.hook.url: must start with http:// or https://, got ftp://x`,
				`sluice.yaml:5:5: destinations.hook.max_in_flight: must be at least 1`,
			},
		},
		{
			name: "model without source, query, table or primary key",
			src:  "models:\n  users: {}\n",
			want: []string{
				`sluice.yaml:2:3: models.users.source: required key is missing: add source: with the name of a declared source`,
				`sluice.yaml:2:3: models.users: the model has neither query nor table: add query: with a SQL query, or table: with a table name`,
				`sluice.yaml:2:3: models.users.primary_key: required key is missing: add primary_key: with the column that identifies a row`,
			},
		},
		{
			name: "unknown model key with a suggestion",
			src:  "sources:\n  wh: {type: duckdb}\nmodels:\n  users:\n    source: wh\n    table: users\n    primay_key: id\n",
			want: []string{
				`sluice.yaml:4:3: models.users.primary_key: required key is missing: add primary_key: with the column that identifies a row`,
				`sluice.yaml:7:5: models.users.primay_key: unknown key "primay_key": did you mean "primary_key"? (use one of source, query, table, primary_key)`,
			},
		},
		{
			name: "model names an unknown source",
			src:  "sources:\n  warehouse: {type: duckdb}\nmodels:\n  users:\n    source: warehuse\n    table: users\n    primary_key: id\n",
			want: []string{`sluice.yaml:5:13: models.users.source: unknown source "warehuse": did you mean "warehouse"? (use one of warehouse)`},
		},
		{
			name: "model names a source when none is declared",
			src:  "models:\n  users:\n    source: wh\n    table: users\n    primary_key: id\n",
			want: []string{`sluice.yaml:3:13: models.users.source: unknown source "wh": no sources are declared: add one under sources`},
		},
		{
			name: "model with both query and table",
			src:  "sources:\n  wh: {type: duckdb}\nmodels:\n  users:\n    source: wh\n    query: select 1\n    table: users\n    primary_key: id\n",
			want: []string{`sluice.yaml:7:5: models.users.table: a model reads either a query or a table, not both: remove one of them`},
		},
		{
			name: "model with an empty query",
			src:  "sources:\n  wh: {type: duckdb}\nmodels:\n  users:\n    source: wh\n    query: ''\n    primary_key: id\n",
			want: []string{`sluice.yaml:6:12: models.users.query: must not be empty`},
		},
		{
			name: "primary key as a list",
			src:  "sources:\n  wh: {type: duckdb}\nmodels:\n  users:\n    source: wh\n    table: users\n    primary_key: [org, id]\n",
			want: []string{`sluice.yaml:7:18: models.users.primary_key: only one column is supported as the primary key: concatenate the columns into one in the query (e.g. a || '-' || b AS id) and name that column`},
		},
		{
			name: "sync without model, destination or mode",
			src:  "syncs:\n  s: {}\n",
			want: []string{
				`sluice.yaml:2:3: syncs.s.model: required key is missing: add model: with the name of a declared model`,
				`sluice.yaml:2:3: syncs.s.destination: required key is missing: add destination: with the name of a declared destination`,
				`sluice.yaml:2:3: syncs.s.mode: required key is missing: add mode: with one of insert, update, upsert, mirror`,
			},
		},
		{
			name: "sync names an unknown model and destination",
			src:  prelude + "  s:\n    model: user\n    destination: hoook\n    mode: insert\n",
			want: []string{
				`sluice.yaml:10:12: syncs.s.model: unknown model "user": did you mean "users"? (use one of users)`,
				`sluice.yaml:11:18: syncs.s.destination: unknown destination "hoook": did you mean "hook"? (use one of crm, hook)`,
			},
		},
		{
			name: "unknown mode",
			src:  prelude + "  users_to_hook:\n    model: users\n    destination: hook\n    mode: mirorr\n",
			want: []string{`sluice.yaml:12:11: syncs.users_to_hook.mode: unknown mode "mirorr": use one of insert, update, upsert, mirror`},
		},
		{
			name: "mode the destination does not support",
			src:  prelude + "  s:\n    model: users\n    destination: crm\n    mode: mirror\n    object: contacts\n",
			want: []string{`sluice.yaml:12:11: syncs.s.mode: mode "mirror" is not supported by destination type "crm": use one of update, upsert`},
		},
		{
			name: "sync settings that depend on the mode",
			src:  prelude + "  s:\n    model: users\n    destination: crm\n    mode: update\n    object: companies\n    id_property: none\n",
			want: []string{`sluice.yaml:14:5: syncs.s.id_property: mode update needs an id property`},
		},
		{
			name: "sync key unknown to a destination without sync settings",
			src:  prelude + "  s:\n    model: users\n    destination: hook\n    mode: insert\n    mapping: []\n",
			want: []string{`sluice.yaml:13:5: syncs.s.mapping: unknown key "mapping": did you mean "mappings"? (use one of model, destination, mode, mappings)`},
		},
		{
			name: "sync settings of the destination: missing, unknown and invalid",
			src: prelude + "  a:\n    model: users\n    destination: crm\n    mode: upsert\n    objet: contacts\n" +
				"  b:\n    model: users\n    destination: crm\n    mode: upsert\n    object: deals\n",
			want: []string{
				`sluice.yaml:9:3: syncs.a.object: required key is missing: add it (contacts or companies)`,
				`sluice.yaml:13:5: syncs.a.objet: unknown key "objet": did you mean "object"? (use one of model, destination, mode, mappings, object, id_property)`,
				`sluice.yaml:18:5: syncs.b.object: use contacts or companies`,
			},
		},
		{
			name: "mappings problems",
			src: prelude + "  s:\n    model: users\n    destination: hook\n    mode: insert\n    mappings:\n" +
				"      - {from: a, to: x}\n" +
				"      - {from: b}\n" +
				"      - {from: c, to: x, as: y}\n" +
				"      - just_a_column\n" +
				"      - {from: '', to: z}\n",
			want: []string{
				`sluice.yaml:15:9: syncs.s.mappings[1].to: required key is missing: add to: with the destination field`,
				`sluice.yaml:16:23: syncs.s.mappings[2].to: duplicate target "x": mappings[0] already maps to it`,
				`sluice.yaml:16:26: syncs.s.mappings[2].as: unknown key "as": use one of from, from_template, to`,
				`sluice.yaml:17:9: syncs.s.mappings[3]: expected a mapping {from: column, to: field}, got a string`,
				`sluice.yaml:18:16: syncs.s.mappings[4].from: must not be empty`,
			},
		},
		{
			name: "mappings is not a list",
			src:  prelude + "  s:\n    model: users\n    destination: hook\n    mode: insert\n    mappings: {from: a, to: b}\n",
			want: []string{`sluice.yaml:13:15: syncs.s.mappings: expected a list of {from: column, to: field} items, got a mapping`},
		},
		{
			name: "mappings is an empty list",
			src:  prelude + "  s:\n    model: users\n    destination: hook\n    mode: insert\n    mappings: []\n",
			want: []string{`sluice.yaml:13:15: syncs.s.mappings: the list is empty: remove mappings to send every column under its own name, or add {from: column, to: field} items`},
		},
		{
			name: "unknown alias",
			src:  "sources:\n  wh: *nope\n",
			want: []string{`sluice.yaml:2:7: sources.wh: unknown alias *nope: define the anchor &nope before using it`},
		},
		{
			name: "custom tag",
			src:  "sources:\n  wh: !secret {type: duckdb}\n",
			want: []string{`sluice.yaml:2:7: sources.wh: unsupported YAML tag !secret: remove it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, setup(t).parseErrors(t, tt.src))
		})
	}
}

// A file with problems everywhere gets them all, in file order, although the
// sections are checked in another order (destinations before models).
func TestEveryErrorInFileOrder(t *testing.T) {
	t.Parallel()
	src := `sources:
  wh:
    type: dukdb
models:
  users:
    source: wh
    table: users
    primary_key: [a, b]
destinations:
  hook:
    type: webhook
    batch_size: lots
    timeout: soon
syncs:
  users_to_hook:
    model: users
    destination: hook
    mode: mirorr
    mappings:
      - {from: email}
extra: true
`
	got := setup(t).parseErrors(t, src)
	require.Equal(t, []string{
		`sluice.yaml:3:11: sources.wh.type: unknown source type "dukdb": did you mean "duckdb"? (use one of bare, duckdb)`,
		`sluice.yaml:8:18: models.users.primary_key: only one column is supported as the primary key: concatenate the columns into one in the query (e.g. a || '-' || b AS id) and name that column`,
		`sluice.yaml:10:3: destinations.hook.url: required key is missing: add it (where events are POSTed)`,
		`sluice.yaml:12:17: destinations.hook.batch_size: expected an integer, got string "lots"`,
		`sluice.yaml:13:14: destinations.hook.timeout: expected a duration like "30s" or "1m30s", or a whole number of seconds, got string "soon"`,
		`sluice.yaml:18:11: syncs.users_to_hook.mode: unknown mode "mirorr": use one of insert, update, upsert, mirror`,
		`sluice.yaml:20:9: syncs.users_to_hook.mappings[0].to: required key is missing: add to: with the destination field`,
		`sluice.yaml:21:1: extra: unknown key "extra": use one of state, sources, models, destinations, syncs`,
	}, got)
}
