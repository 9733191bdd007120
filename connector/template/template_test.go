package template

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/record"
)

func TestRender(t *testing.T) {
	row := Row([]string{"name", "plan", "seats", "mrr", "signed_up", "seen", "tags", "meta"}, []record.Value{
		"Ada", "pro", int64(12), record.NewDecimalInt64(123450, 2), record.Date{Year: 2026, Month: 3, Day: 1},
		time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC), []record.Value{"a", "b"}, record.JSON(`{"tier":"gold"}`),
	})
	for _, tc := range []struct{ src, want string }{
		{"{{ row.name }} is on {{ row.plan | upcase }}", "Ada is on PRO"},
		{"{% if row.seats > 10 %}big{% else %}small{% endif %}", "big"},
		{"{{ row.mrr | times: 2 }}", "2469"},
		{"{{ row.signed_up | date: '%Y-%m-%d' }}", "2026-03-01"},
		{"{{ row.seen | date: '%H:%M' }}", "09:30"},
		{"{{ row.tags | join: ', ' }}", "a, b"},
		{"{{ row.meta.tier }}", "gold"},
	} {
		tpl, err := Parse(tc.src)
		require.NoError(t, err, tc.src)
		got, err := tpl.Render(row)
		require.NoError(t, err, tc.src)
		require.Equal(t, tc.want, got, tc.src)
	}
}

func TestErrors(t *testing.T) {
	_, err := Parse("first line\n{% if row.x %}never closed")
	require.ErrorContains(t, err, "invalid Liquid template: line 2: unterminated \"if\" block")
	_, err = Parse("{{ row.plan | upcsae }}")
	require.ErrorContains(t, err, `undefined filter "upcsae"`, "a misspelt filter is found when the template is parsed")
	tpl, err := Parse("Hi {{ row.nmae }} {% if row['plan'] %}{{ row.nmae | upcase }}{% endif %}")
	require.NoError(t, err)
	require.Equal(t, []string{"nmae", "plan"}, tpl.Columns(), "the columns it reads, to check against the model")
	tpl, err = Parse("{{ row.a | divided_by: row.b }}")
	require.NoError(t, err)
	_, err = tpl.Render(Row([]string{"a", "b"}, []record.Value{int64(4), int64(0)}))
	require.ErrorContains(t, err, "division by zero")
}

func TestNullsRenderAsNothing(t *testing.T) {
	for src, want := range map[string]string{
		"[{{ row.email }}]":                         "[]",
		"{{ row.email | default: 'none' }}":         "none",
		"{% if row.email %}y{% else %}n{% endif %}": "n",
	} {
		tpl, err := Parse(src)
		require.NoError(t, err)
		got, err := tpl.Render(Row([]string{"email"}, []record.Value{nil}))
		require.NoError(t, err, src)
		require.Equal(t, want, got, src)
	}
}

// Numbers render as written, never in exponent form, whatever filters made them;
// JSON integers stay exact past 2^53. Exact decimals keep 15 significant digits.
func TestNumbersRenderAsWritten(t *testing.T) {
	row := Row([]string{"mrr", "revenue", "precise", "meta", "seats", "tiny"}, []record.Value{
		record.NewDecimalInt64(123456750, 2), float64(2_500_000), record.NewDecimalInt64(123456789012345, 2),
		record.JSON(`{"id": 9007199254740993, "ratio": 0.25}`), int64(12), float64(0.00001),
	})
	for src, want := range map[string]string{
		"{{ row.mrr }}":                    "1234567.5",
		"{{ row.mrr | round: 2 }}":         "1234567.5",
		"{{ row.revenue }}":                "2500000",
		"{{ row.precise }}":                "1234567890123.45",
		"{{ row.meta.id }}":                "9007199254740993",
		"{{ row.meta.ratio | times: 4 }}":  "1",
		"{{ row.seats | times: 1000000 }}": "12000000",
		"{{ row.tiny }}":                   "0.00001",
		"{{ row.meta }}":                   `{"id":9007199254740993,"ratio":0.25}`,
	} {
		tpl, err := Parse(src)
		require.NoError(t, err, src)
		got, err := tpl.Render(row)
		require.NoError(t, err, src)
		require.Equal(t, want, got, src)
	}
}

// Every filter the template names is checked when it is parsed, including in a
// branch that no trial row would take; filter names inside strings are text.
func TestMisspeltFilterAnywhereIsFound(t *testing.T) {
	_, err := Parse("Hello\n{% if row.vip %}{{ row.name | upcsae }}{% endif %}")
	require.ErrorContains(t, err, `line 2: undefined filter "upcsae"`)
	_, err = Parse("{% assign x = row.name | dwoncase %}{{ x }}")
	require.ErrorContains(t, err, `undefined filter "dwoncase"`)
	tpl, err := Parse(`{{ "a|b" | split: "|" | join: ", " }}`)
	require.NoError(t, err)
	got, err := tpl.Render(nil)
	require.NoError(t, err)
	require.Equal(t, "a, b", got)
}

// Columns are read from Liquid's {{ }} and {% %} only: a URL in the text or a
// commented-out reference is not a column.
func TestColumnsComeFromLiquidOnly(t *testing.T) {
	tpl, err := Parse("See https://wiki.example/row.html {% comment %}{{ row.old }}{% endcomment %}{% raw %}{{ row.raw }}{% endraw %} {{ row.name }} {% if row['plan'] %}x{% endif %}")
	require.NoError(t, err)
	require.Equal(t, []string{"name", "plan"}, tpl.Columns())
	require.False(t, tpl.UsesWholeRow())
	got, err := tpl.Render(Row([]string{"name", "plan"}, []record.Value{"Ada", "pro"}))
	require.NoError(t, err)
	require.Equal(t, "See https://wiki.example/row.html {{ row.raw }} Ada x", got, "raw blocks stay as written")

	for _, src := range []string{"{{ row | json }}", "{% for c in row %}{{ c }}{% endfor %}", "{% assign r = row %}{{ r.name }}"} {
		tpl, err := Parse(src)
		require.NoError(t, err, src)
		require.True(t, tpl.UsesWholeRow(), src)
	}
}

// An escaped template escapes each value it writes after its filters ran, and
// leaves its own text alone.
func TestEscapedTemplate(t *testing.T) {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	row := Row([]string{"name", "encoded", "tags"}, []record.Value{"AT&T <ops>", "%3C%21channel%3E", []record.Value{"a<b", "c"}})
	for src, want := range map[string]string{
		"<https://x.example|{{ row.name }}>":     "<https://x.example|AT&amp;T &lt;ops&gt;>",
		"{{ row.name | upcase }}":                "AT&amp;T &lt;OPS&gt;",
		"{{ row.name | truncate: 6 }}":           "AT&amp;...",
		"{{ row.encoded | url_decode }}":         "&lt;!channel&gt;",
		"{{ row.tags | join: ' & ' }}":           "a&lt;b &amp; c",
		"{% assign n = row.name %}*{{ n }}*":     "*AT&amp;T &lt;ops&gt;*",
		"{{ row.name | size }} chars in {{ 2 }}": "10 chars in 2",
	} {
		tpl, err := NewDialect(esc).Parse(src)
		require.NoError(t, err, src)
		got, err := tpl.Render(row)
		require.NoError(t, err, src)
		require.Equal(t, want, got, src)
	}
}
