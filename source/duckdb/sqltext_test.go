package duckdb

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" ; ;\n", nil},
		{"-- only a comment", nil},
		{"/* only */ ; -- comments", nil},
		{"select 1", []string{"select 1"}},
		{"select 1;", []string{"select 1"}},
		{"select 1 ; -- done\n", []string{"select 1"}},
		{"select 1 -- trailing; not a split", []string{"select 1 -- trailing; not a split"}},
		{"SET threads = 1; select 2", []string{"SET threads = 1", "select 2"}},
		{"select ';' as a; select 'it''s;' as b", []string{"select ';' as a", "select 'it''s;' as b"}},
		{`select 1 as "a;b"; select 2`, []string{`select 1 as "a;b"`, "select 2"}},
		{`select 1 as "a"";b"`, []string{`select 1 as "a"";b"`}},
		{`select e'\';' as x; select 2`, []string{`select e'\';' as x`, "select 2"}},
		{`select '\'; select 2`, []string{`select '\'`, "select 2"}},
		{"select $$a;b$$; select $x$ $$; $x$", []string{"select $$a;b$$", "select $x$ $$; $x$"}},
		{"select $1; select 2", []string{"select $1", "select 2"}},
		{"select a$b; select 2", []string{"select a$b", "select 2"}},
		{"select /* a; /* nested; */ still; */ 1; select 2", []string{"select /* a; /* nested; */ still; */ 1", "select 2"}},
		{"/* lead */ select 1", []string{"/* lead */ select 1"}},
		{"select 'unterminated; select 2", []string{"select 'unterminated; select 2"}},
		{"select /* unterminated; select 2", []string{"select /* unterminated; select 2"}},
	} {
		require.Equal(t, tc.want, splitStatements(tc.in), "%q", tc.in)
	}
}

func FuzzSplitStatements(f *testing.F) {
	for _, s := range []string{"select 1; select 2", "select ';'", `select "a;b"`, "select $$;$$", "/* ; */ -- ;\n", "e'\\';'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, stmt := range splitStatements(s) {
			if stmt == "" || !strings.Contains(s, stmt) {
				t.Fatalf("%q gave the statement %q", s, stmt)
			}
		}
	})
}
