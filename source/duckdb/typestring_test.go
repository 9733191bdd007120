package duckdb

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseType(t *testing.T) {
	t.Parallel()
	ty, err := parseType(`STRUCT(b INTEGER, "a b" VARCHAR, c STRUCT(d DATE)[])`)
	require.NoError(t, err)
	require.Equal(t, kindStruct, ty.Kind)
	require.Len(t, ty.Fields, 3)
	require.Equal(t, "b", ty.Fields[0].Name)
	require.Equal(t, kindInteger, ty.Fields[0].Type.Kind)
	require.Equal(t, "a b", ty.Fields[1].Name)
	require.Equal(t, kindVarchar, ty.Fields[1].Type.Kind)
	require.Equal(t, "c", ty.Fields[2].Name)
	require.Equal(t, kindList, ty.Fields[2].Type.Kind)
	require.Equal(t, kindStruct, ty.Fields[2].Type.Elem.Kind)
	require.Equal(t, "d", ty.Fields[2].Type.Elem.Fields[0].Name)
	require.Equal(t, kindDate, ty.Fields[2].Type.Elem.Fields[0].Type.Kind)
	require.Equal(t, `STRUCT("b" INTEGER, "a b" VARCHAR, "c" STRUCT("d" DATE)[])`, ty.String())

	for _, tc := range []struct {
		in, out string
		kind    typeKind
	}{
		{"INTEGER", "INTEGER", kindInteger},
		{"TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE", kindTimestampTZ},
		{"  time   with time zone ", "time with time zone", kindTimeTZ},
		{"DECIMAL(10,2)", "DECIMAL(10,2)", kindDecimal},
		{"numeric ( 38 , 10 )", "DECIMAL(38,10)", kindDecimal},
		{"DECIMAL", "DECIMAL(18,3)", kindDecimal},
		{"INTEGER[]", "INTEGER[]", kindList},
		{"INTEGER[3]", "INTEGER[3]", kindArray},
		{"INTEGER[][2][]", "INTEGER[][2][]", kindList},
		{"MAP(VARCHAR, INTEGER[])", "MAP(VARCHAR, INTEGER[])", kindMap},
		{"MAP(STRUCT(a INT), MAP(INT, DATE))[]", `MAP(STRUCT("a" INT), MAP(INT, DATE))[]`, kindList},
		{"UNION(num INTEGER, str VARCHAR)", `UNION("num" INTEGER, "str" VARCHAR)`, kindUnion},
		{"ENUM('a', 'b c', 'it''s')", "ENUM('a', 'b c', 'it''s')", kindEnum},
		{`STRUCT("""q""" INTEGER, Upper INTEGER, "select" INTEGER)`, `STRUCT("""q""" INTEGER, "Upper" INTEGER, "select" INTEGER)`, kindStruct},
		{`STRUCT("é ü" INTEGER, "a,b" JSON, "x(y)" TIME WITH TIME ZONE)`, `STRUCT("é ü" INTEGER, "a,b" JSON, "x(y)" TIME WITH TIME ZONE)`, kindStruct},
		{"GEOMETRY('OGC:CRS84')", "GEOMETRY('OGC:CRS84')", kindGeometry},
		{"VARCHAR(10)", "VARCHAR(10)", kindVarchar},
		{`"my type"`, `"my type"`, kindUnknown},
		{"mood", "mood", kindUnknown},
		{"BIGNUM", "BIGNUM", kindBignum},
		{"VARINT", "VARINT", kindBignum},
		{"STRUCT()", "STRUCT()", kindStruct},
	} {
		ty, err := parseType(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.out, ty.String(), tc.in)
		require.Equal(t, tc.kind, ty.Kind, tc.in)
	}

	ty, err = parseType("ENUM('a', 'b c', 'it''s')")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b c", "it's"}, ty.Labels)
	ty, err = parseType("DECIMAL(38,10)")
	require.NoError(t, err)
	require.Equal(t, 38, ty.Width)
	require.Equal(t, 10, ty.Scale)
	ty, err = parseType("INTEGER[2][3]")
	require.NoError(t, err)
	require.Equal(t, 3, ty.Size)
	require.Equal(t, 2, ty.Elem.Size)
}

func TestParseTypeErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "   ", "STRUCT", "STRUCT(a", "STRUCT(a INTEGER", "STRUCT(a INTEGER,)", "STRUCT(INTEGER)",
		"MAP(VARCHAR)", "MAP(VARCHAR, INTEGER", "INTEGER[", "INTEGER[x]", "INTEGER[]]", "DECIMAL(2,3)",
		"DECIMAL(a)", "ENUM()", "ENUM(a)", "ENUM('a'", `STRUCT("a INTEGER)`, "GEOMETRY('x)", "INTEGER)",
		"UNION(", "(", "[]", `"unterminated`, "INTEGER[99999999999999999999]",
	} {
		_, err := parseType(in)
		require.Error(t, err, "%q", in)
	}
}

func TestParseTypeDepthIsBounded(t *testing.T) {
	t.Parallel()
	deep := ""
	for range 200 {
		deep += "STRUCT(a "
	}
	_, err := parseType(deep + "INTEGER")
	require.ErrorContains(t, err, "nested more than")
	lists := "INTEGER"
	for range 200 {
		lists += "[]"
	}
	_, err = parseType(lists)
	require.ErrorContains(t, err, "nested more than")
}

func TestQuoteTable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"users":                 `"users"`,
		"crm.users":             `"crm"."users"`,
		"db.crm.users":          `"db"."crm"."users"`,
		`"my schema"."a.b"`:     `"my schema"."a.b"`,
		`crm."we""ird"`:         `"crm"."we""ird"`,
		`My Table`:              `"My Table"`,
		` crm . users `:         `"crm"."users"`,
		`"crm"   .   "x"`:       `"crm"."x"`,
		`users"; drop table x`:  `"users""; drop table x"`,
		`x" from y; select "z"`: `"x"" from y; select ""z"""`,
	} {
		got, err := quoteTable(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", ".", "a.", ".a", "a..b", "a.b.c.d", `"a"b`, `"a`} {
		_, err := quoteTable(in)
		require.Error(t, err, in)
	}
}

// FuzzParseType checks that the parser never panics and that what it parses renders
// to a string that parses back to the same type.
func FuzzParseType(f *testing.F) {
	for _, s := range []string{
		"INTEGER", "TIMESTAMP WITH TIME ZONE", "DECIMAL(38,10)", "INTEGER[][3]",
		`STRUCT(b INTEGER, "a b" VARCHAR, c STRUCT(d DATE)[])`, "MAP(VARCHAR, STRUCT(a JSON)[])",
		"UNION(num INTEGER, str VARCHAR)", "ENUM('a', 'b c', 'it''s')", `STRUCT("""q""" INT)`,
		"GEOMETRY('OGC:CRS84')", `"my type"[]`, "STRUCT()", "VARCHAR(10)", "x(('a)'))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ty, err := parseType(s)
		if err != nil {
			return
		}
		rendered := ty.String()
		again, err := parseType(rendered)
		if err != nil {
			t.Fatalf("%q rendered as %q, which does not parse: %v", s, rendered, err)
		}
		if got := again.String(); got != rendered {
			t.Fatalf("%q rendered as %q, then as %q", s, rendered, got)
		}
		if again.Kind != ty.Kind {
			t.Fatalf("%q: kind %d became %d", s, ty.Kind, again.Kind)
		}
		// Planning a column of any parsable type must not panic either.
		scan, _ := mapType(ty, scanReplacement)
		_, _ = newConverter(scan)
	})
}
