package template

import (
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
