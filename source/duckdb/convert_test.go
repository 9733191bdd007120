package duckdb

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

func TestBoolean(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	require.Equal(t, []record.Value{true, false, nil},
		values(t, b.src, "select * from (values (true), (false), (null::boolean)) v(x)"))
}

func TestSmallIntegers(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select
		'-128'::TINYINT, 127::TINYINT, '-32768'::SMALLINT, 32767::SMALLINT,
		'-2147483648'::INTEGER, 2147483647::INTEGER,
		'-9223372036854775808'::BIGINT, 9223372036854775807::BIGINT,
		255::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER,
		null::TINYINT, null::UINTEGER`)
	require.Equal(t, record.Row{
		int64(-128), int64(127), int64(-32768), int64(32767),
		int64(math.MinInt32), int64(math.MaxInt32),
		int64(math.MinInt64), int64(math.MaxInt64),
		int64(255), int64(65535), int64(math.MaxUint32),
		nil, nil,
	}, got)
}

func TestLargeIntegers(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select
		9223372036854775807::UBIGINT, 9223372036854775808::UBIGINT, 18446744073709551615::UBIGINT,
		'-42'::HUGEINT, '-9223372036854775808'::HUGEINT,
		170141183460469231731687303715884105727::HUGEINT, '-170141183460469231731687303715884105728'::HUGEINT,
		7::UHUGEINT, 340282366920938463463374607431768211455::UHUGEINT,
		12::BIGNUM, '-12'::BIGNUM, '123456789012345678901234567890123456789012345678901234567890'::BIGNUM,
		'-99999999999999999999'::BIGNUM,
		null::UBIGINT, null::HUGEINT`)
	require.Equal(t, record.Row{
		int64(math.MaxInt64), decimal(t, "9223372036854775808"), decimal(t, "18446744073709551615"),
		int64(-42), int64(math.MinInt64),
		decimal(t, "170141183460469231731687303715884105727"), decimal(t, "-170141183460469231731687303715884105728"),
		int64(7), decimal(t, "340282366920938463463374607431768211455"),
		int64(12), int64(-12), decimal(t, "123456789012345678901234567890123456789012345678901234567890"),
		decimal(t, "-99999999999999999999"),
		nil, nil,
	}, got)
}

func TestFloat(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select 1.1::FLOAT, -0.3::FLOAT, 3.4028235e38::FLOAT, 1e-45::FLOAT, 16777217::FLOAT,
		'NaN'::FLOAT, 'inf'::FLOAT, '-inf'::FLOAT, null::FLOAT`)
	require.Equal(t, 1.1, got[0])
	require.Equal(t, -0.3, got[1])
	require.Equal(t, 3.4028235e38, got[2])
	require.Equal(t, 1e-45, got[3])
	require.Equal(t, 16777216.0, got[4]) // the float32 nearest to 16777217
	require.True(t, math.IsNaN(got[5].(float64)))
	require.Equal(t, math.Inf(1), got[6])
	require.Equal(t, math.Inf(-1), got[7])
	require.Nil(t, got[8])
}

func TestDouble(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select 1.1::DOUBLE, -2.5e-300::DOUBLE, 1.7976931348623157e308::DOUBLE, 5e-324::DOUBLE,
		'NaN'::DOUBLE, 'inf'::DOUBLE, '-inf'::DOUBLE, -0.0::DOUBLE, null::DOUBLE`)
	require.Equal(t, 1.1, got[0])
	require.Equal(t, -2.5e-300, got[1])
	require.Equal(t, math.MaxFloat64, got[2])
	require.Equal(t, 5e-324, got[3])
	require.True(t, math.IsNaN(got[4].(float64)))
	require.Equal(t, math.Inf(1), got[5])
	require.Equal(t, math.Inf(-1), got[6])
	require.Equal(t, 0.0, got[7])
	require.Nil(t, got[8])
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select 12.5::DECIMAL(10,2), -0.05::DECIMAL(4,2), 0::DECIMAL(18,3), 42::DECIMAL(4,0),
		123456789012.345678::DECIMAL(18,6),
		'9999999999999999999999999999.9999999999'::DECIMAL(38,10),
		'-9999999999999999999999999999.9999999999'::DECIMAL(38,10),
		'-0.0000000001'::DECIMAL(38,10), 1.5, null::DECIMAL(38,10)`)
	want := []string{"12.50", "-0.05", "0.000", "42", "123456789012.345678",
		"9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
		"-0.0000000001", "1.5"}
	for i, w := range want {
		require.Equal(t, decimal(t, w), got[i], "column %d", i)
	}
	require.Equal(t, 2, got[0].(record.Decimal).Scale())
	require.Nil(t, got[len(want)])
}

func TestVarcharAndEnum(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select '', 'héllo ✓ 日本 🦆', 'tab' || chr(9) || 'new' || chr(10) || 'line' || chr(0), 'b c'::ENUM('a', 'b c', 'it''s'),
		'it''s'::ENUM('a', 'b c', 'it''s'), null::VARCHAR, null::ENUM('a')`)
	require.Equal(t, record.Row{"", "héllo ✓ 日本 🦆", "tab\tnew\nline\x00", "b c", "it's", nil, nil}, got)
}

func TestUUID(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::UUID, '00000000-0000-0000-0000-000000000000'::UUID,
		'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID, null::UUID`)
	require.Equal(t, record.Row{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", nil}, got)
}

func TestBit(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select '101'::BIT, '0000000011'::BIT, ['1'::BIT, '01'::BIT], null::BIT`)
	require.Equal(t, record.Row{"101", "0000000011", []record.Value{"1", "01"}, nil}, got)
}

func TestBlob(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select '\x00\xFFab'::BLOB, ''::BLOB, null::BLOB`)
	require.Equal(t, []byte{0, 0xff, 'a', 'b'}, got[0])
	require.Equal(t, []byte{}, got[1])
	require.Nil(t, got[2])
}

func TestDate(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select '2024-02-29'::DATE, '1970-01-01'::DATE, '0001-01-01'::DATE, '0001-12-31 (BC)'::DATE,
		'0044-03-15 (BC)'::DATE, '5881580-07-10'::DATE, '5877642-06-25 (BC)'::DATE,
		'infinity'::DATE, '-infinity'::DATE, null::DATE`)
	require.Equal(t, record.Row{
		record.Date{Year: 2024, Month: 2, Day: 29}, record.Date{Year: 1970, Month: 1, Day: 1},
		record.Date{Year: 1, Month: 1, Day: 1},
		record.Date{Year: 0, Month: 12, Day: 31}, // 1 BC is year 0, as in ISO 8601
		record.Date{Year: -43, Month: 3, Day: 15},
		record.Date{Year: 5881580, Month: 7, Day: 10}, record.Date{Year: -5877641, Month: 6, Day: 25},
		"infinity", "-infinity", nil,
	}, got)
}

func TestTimestamps(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select
		'2020-01-02 03:04:05.123456'::TIMESTAMP, '2020-01-02 03:04:05'::TIMESTAMP_S,
		'2020-01-02 03:04:05.123'::TIMESTAMP_MS, '2020-01-02 03:04:05.123456789'::TIMESTAMP_NS,
		'2020-01-02 03:04:05.5+02:00'::TIMESTAMPTZ, '0044-03-15 (BC) 12:00:00'::TIMESTAMP,
		'1969-12-31 23:59:59.999999'::TIMESTAMP, null::TIMESTAMP, null::TIMESTAMPTZ`)
	require.Equal(t, record.Row{
		time.Date(2020, 1, 2, 3, 4, 5, 123456000, time.UTC),
		time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2020, 1, 2, 3, 4, 5, 123000000, time.UTC),
		time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC),
		time.Date(2020, 1, 2, 1, 4, 5, 500000000, time.UTC),
		time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		nil, nil,
	}, got)
	for _, v := range got[:7] {
		require.Same(t, time.UTC, v.(time.Time).Location())
	}
}

func TestTimestampInfinity(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	for _, typ := range []string{"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ"} {
		got := row(t, b.src, "select 'infinity'::"+typ+", '-infinity'::"+typ)
		require.Equal(t, record.Row{"infinity", "-infinity"}, got, typ)
	}
}

func TestTime(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select '15:04:05'::TIME, '15:04:05.5'::TIME, '00:00:00.000001'::TIME, '24:00:00'::TIME,
		['01:02:03.25'::TIME], '12:00:00.123456789'::TIME_NS, '12:00:00'::TIME_NS, null::TIME`)
	require.Equal(t, record.Row{"15:04:05", "15:04:05.5", "00:00:00.000001", "24:00:00",
		[]record.Value{"01:02:03.25"}, "12:00:00.123456789", "12:00:00", nil}, got)
}

func TestTimeTZ(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select '15:04:05+02'::TIMETZ, '15:04:05.25-05:30'::TIMETZ, '00:00:00+00'::TIMETZ,
		'12:00:00.000001+05:30:15'::TIMETZ, null::TIMETZ`)
	require.Equal(t, record.Row{"15:04:05+02:00", "15:04:05.25-05:30", "00:00:00+00:00",
		"12:00:00.000001+05:30:15", nil}, got)
}

func TestInterval(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select
		interval '1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds',
		interval '0 seconds', interval '14 months', interval '40 days', interval '90 minutes',
		interval '0.000001 seconds', -interval '1 day 2 hours', interval '-0.5 seconds',
		interval '1 month -1 day', interval '36 hours', null::INTERVAL`)
	require.Equal(t, record.Row{
		"P1Y2M3DT4H5M6.5S", "PT0S", "P1Y2M", "P40D", "PT1H30M",
		"PT0.000001S", "P-1DT-2H", "PT-0.5S", "P1M-1D", "PT36H", nil,
	}, got)
}

func TestJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	doc := `{"z": 1, "a": [1.0, 12345678901234567890123456789, 1e400], "m": {"y": null, "b": "é"}}`
	got := row(t, b.src, `select '`+doc+`'::JSON as j, 'null'::JSON, '"text"'::JSON, '[]'::JSON, null::JSON,
		{'k': 1, 'j': '`+doc+`'::JSON} as s, ['{"b":2,"a":1}'::JSON, null] as l,
		map {'x': '{"b":2,"a":1}'::JSON} as m, map {'{"b":2}'::JSON: 1} as mk,
		union_value(j := '{"b":2,"a":1}'::JSON)::UNION(j JSON, i INT) as u`)
	require.Equal(t, record.Row{
		record.JSON(doc), record.JSON("null"), record.JSON(`"text"`), record.JSON("[]"), nil,
		record.Struct{{Name: "k", Value: int64(1)}, {Name: "j", Value: record.JSON(doc)}},
		[]record.Value{record.JSON(`{"b":2,"a":1}`), nil},
		record.Struct{{Name: "x", Value: record.JSON(`{"b":2,"a":1}`)}},
		record.Struct{{Name: `{"b":2}`, Value: int64(1)}},
		record.JSON(`{"b":2,"a":1}`),
	}, got)
}

func TestJSONColumnsKeepTheirNamesAndOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	cols, rows, err := readAll(t, b.src, connector.Model{Name: "m",
		SQL: `select 1 as "first", '{"b":1}'::JSON as "the ""doc""", 'x' as last -- trailing comment`})
	require.NoError(t, err)
	require.Equal(t, []connector.Column{{Name: "first", Type: "INTEGER"}, {Name: `the "doc"`, Type: "JSON"},
		{Name: "last", Type: "VARCHAR"}}, cols)
	require.Equal(t, []record.Row{{int64(1), record.JSON(`{"b":1}`), "x"}}, rows)
}

func TestList(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select [1, 2, null], []::INTEGER[], [[1], [], [2, 3]], ['a', ''], [1.1::FLOAT],
		[['2020-01-01'::DATE]], null::INTEGER[]`)
	require.Equal(t, record.Row{
		[]record.Value{int64(1), int64(2), nil},
		[]record.Value{},
		[]record.Value{[]record.Value{int64(1)}, []record.Value{}, []record.Value{int64(2), int64(3)}},
		[]record.Value{"a", ""},
		[]record.Value{1.1},
		[]record.Value{[]record.Value{record.Date{Year: 2020, Month: 1, Day: 1}}},
		nil,
	}, got)
}

func TestArray(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select [1, null, 3]::INTEGER[3], [[1, 2], [3, 4]]::BIGINT[2][2], [['a'], ['b', 'c']]::VARCHAR[][2],
		null::INTEGER[3]`)
	require.Equal(t, record.Row{
		[]record.Value{int64(1), nil, int64(3)},
		[]record.Value{[]record.Value{int64(1), int64(2)}, []record.Value{int64(3), int64(4)}},
		[]record.Value{[]record.Value{"a"}, []record.Value{"b", "c"}},
		nil,
	}, got)
}

func TestStruct(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select
		{'b': 1, 'a b': 'x', 'c': [{'d': '2020-01-01'::DATE, 'e': {'z': 1.5, 'y': null::VARCHAR}}]} as s,
		{'"q"': 1, 'select': 2, 'Ünï': 3, 'a,b': 4, 'x(y)': 5} as odd,
		{'k': null::INTEGER} as n,
		null::STRUCT(a INTEGER) as null_struct`)
	require.Equal(t, record.Struct{
		{Name: "b", Value: int64(1)},
		{Name: "a b", Value: "x"},
		{Name: "c", Value: []record.Value{record.Struct{
			{Name: "d", Value: record.Date{Year: 2020, Month: 1, Day: 1}},
			{Name: "e", Value: record.Struct{{Name: "z", Value: decimal(t, "1.5")}, {Name: "y", Value: nil}}},
		}}},
	}, got[0])
	require.Equal(t, record.Struct{{Name: `"q"`, Value: int64(1)}, {Name: "select", Value: int64(2)},
		{Name: "Ünï", Value: int64(3)}, {Name: "a,b", Value: int64(4)}, {Name: "x(y)", Value: int64(5)}}, got[1])
	require.Equal(t, record.Struct{{Name: "k", Value: nil}}, got[2])
	require.Nil(t, got[3])
	requireCanonical(t, got[0])
}

// Field order must come from the declared type, never from Go's map order.
func TestStructOrderIsStable(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	names := []string{"zeta", "alpha", "mid", "beta", "omega", "gamma", "a", "z"}
	sql := "select {"
	for i, n := range names {
		if i > 0 {
			sql += ", "
		}
		sql += "'" + n + "': " + string(rune('0'+i))
	}
	sql += "} from range(50)"
	for _, v := range values(t, b.src, sql) {
		s := v.(record.Struct)
		require.Len(t, s, len(names))
		for i, f := range s {
			require.Equal(t, names[i], f.Name)
			require.Equal(t, int64(i), f.Value)
		}
	}
}

func TestMap(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select
		map {'b': 1, 'a': 2, '': null::INTEGER},
		map {10: 'x', -2: 'y'},
		map {'2020-01-01'::DATE: true},
		map {'2020-01-02 03:04:05'::TIMESTAMP: 1},
		map {1.5::DOUBLE: 1},
		map {12.50::DECIMAL(4,2): 1},
		map {'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::UUID: 1},
		map {[1, 2]: 'list key'},
		map {'k': [map {'n': 1}]},
		map {'12:00:00'::TIME: 1},
		map {}::MAP(VARCHAR, INTEGER),
		null::MAP(VARCHAR, INTEGER)`)
	require.Equal(t, record.Row{
		record.Struct{{Name: "b", Value: int64(1)}, {Name: "a", Value: int64(2)}, {Name: "", Value: nil}},
		record.Struct{{Name: "10", Value: "x"}, {Name: "-2", Value: "y"}},
		record.Struct{{Name: "2020-01-01", Value: true}},
		record.Struct{{Name: "2020-01-02T03:04:05Z", Value: int64(1)}},
		record.Struct{{Name: "1.5", Value: int64(1)}},
		record.Struct{{Name: "12.50", Value: int64(1)}},
		record.Struct{{Name: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", Value: int64(1)}},
		record.Struct{{Name: "[1, 2]", Value: "list key"}},
		record.Struct{{Name: "k", Value: []record.Value{record.Struct{{Name: "n", Value: int64(1)}}}}},
		record.Struct{{Name: "12:00:00", Value: int64(1)}},
		record.Struct{},
		nil,
	}, got)
}

func TestUnion(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := values(t, b.src, `select u from (values
		(union_value(num := 2)::UNION(num INTEGER, str VARCHAR, d DATE)),
		(union_value(str := 'two')::UNION(num INTEGER, str VARCHAR, d DATE)),
		(union_value(d := '2020-01-01'::DATE)::UNION(num INTEGER, str VARCHAR, d DATE)),
		(union_value(str := null::VARCHAR)::UNION(num INTEGER, str VARCHAR, d DATE)),
		(null::UNION(num INTEGER, str VARCHAR, d DATE))
	) v(u)`)
	require.Equal(t, []record.Value{int64(2), "two", record.Date{Year: 2020, Month: 1, Day: 1}, nil, nil}, got)
	nested := row(t, b.src, `select [union_value(a := {'x': 1})::UNION(a STRUCT(x INT), b VARCHAR)]`)
	require.Equal(t, record.Row{[]record.Value{record.Struct{{Name: "x", Value: int64(1)}}}}, nested)
}

func TestNulls(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select null, null::VARCHAR, null::JSON, null::STRUCT(a INT), null::INT[], null::MAP(INT, INT),
		null::UUID, null::INTERVAL, null::TIMETZ, null::DECIMAL(10,2), null::BIGNUM, [null], {'a': null}`)
	require.Equal(t, record.Row{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil,
		[]record.Value{nil}, record.Struct{{Name: "a", Value: nil}}}, got)
}

func TestGeometryAndVariant(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select 'POINT(1 2)'::GEOMETRY, {'a': [1, 2], 'b': 'x'}::VARIANT, 42::VARIANT, null::VARIANT`)
	require.Equal(t, record.Row{"POINT (1 2)", record.JSON(`{"a":[1,2],"b":"x"}`), record.JSON("42"), nil}, got)
}

// Every supported type in one wide row gives only canonical values.
func TestAllValuesAreCanonical(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	got := row(t, b.src, `select true, 1::TINYINT, 1::UBIGINT, 1::HUGEINT, 1.5::FLOAT, 1.5::DOUBLE, 1.5::DECIMAL(3,1),
		'x', gen_random_uuid(), '1'::BIT, 'x'::BLOB, current_date, now(), now()::TIMESTAMP, '01:00:00'::TIME,
		'01:00:00+01'::TIMETZ, interval 1 day, '{}'::JSON, [1], [1]::INT[1], {'a': 1}, map {1: 2},
		union_value(a := 1)`)
	for _, v := range got {
		requireCanonical(t, v)
	}
}

func TestUnsupportedTypeIsAClearError(t *testing.T) {
	t.Parallel()
	_, err := newPlan("select 1", []connector.Column{{Name: "ok", Type: "INTEGER"}, {Name: "odd", Type: "STRUCT(a POINTER)"}})
	require.EqualError(t, err, `column "odd" (STRUCT(a POINTER)): DuckDB type POINTER is not supported: cast it in the model's SQL, for example to VARCHAR`)
	_, err = newPlan("select 1", []connector.Column{{Name: "bad", Type: "STRUCT(a"}})
	require.ErrorContains(t, err, `column "bad": type "STRUCT(a"`)
}

// A value the driver returns in an unexpected Go type is an error, never a panic.
func TestConverterRejectsUnexpectedGoTypes(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"BOOLEAN", "TINYINT", "BIGINT", "UBIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL(4,2)",
		"VARCHAR", "UUID", "BIT", "BLOB", "DATE", "TIMESTAMP", "TIMETZ", "INTERVAL", "INTEGER[]", "STRUCT(a INT)",
		"MAP(INT, INT)", "UNION(a INT)"} {
		ty, err := parseType(typ)
		require.NoError(t, err)
		c, err := newConverter(ty)
		require.NoError(t, err)
		_, err = c(struct{}{})
		require.ErrorContains(t, err, "the DuckDB driver returned a struct {}", typ)
	}
}

func TestFormatInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		months, days int32
		micros       int64
		want         string
	}{
		{0, 0, 0, "PT0S"},
		{14, 3, 4*3600e6 + 5*60e6 + 6.5e6, "P1Y2M3DT4H5M6.5S"},
		{-14, 0, 0, "P-1Y-2M"},
		{0, 0, -1, "PT-0.000001S"},
		{0, 0, -(3600e6 + 1.25e6), "PT-1H-1.25S"},
		{0, 0, 60e6, "PT1M"},
		{0, 0, math.MaxInt64, "PT2562047788H54.775807S"},
	} {
		require.Equal(t, tc.want, formatInterval(tc.months, tc.days, tc.micros))
	}
}

// A column holding JSON or TIME deep inside is cast as a whole, so the cast must render
// every other type around it exactly as DuckDB declared it.
func TestNestedCastKeepsEveryOtherType(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	cols, rows, err := readAll(t, b.src, connector.Model{Name: "m", SQL: `select {
		'j': '{"b": 1, "a": 2}'::JSON,
		'e': 'b c'::ENUM('a', 'b c', 'it''s'),
		'd': 12.5::DECIMAL(10,2),
		'ts': '2020-01-02 03:04:05+00'::TIMESTAMPTZ,
		't': '24:00:00'::TIME,
		'tz': '01:02:03+04'::TIMETZ,
		'u': union_value(s := 'x')::UNION(n INTEGER, s VARCHAR),
		'a': [1, 2]::INTEGER[2],
		'we"ird name': 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::UUID,
		'bn': 99999999999999999999::BIGNUM,
		'bits': '101'::BIT,
		'm': map {'k': ['{"x": [1]}'::JSON]},
		'g': 'POINT(1 2)'::GEOMETRY,
		'i': interval 1 day
	} as s`})
	require.NoError(t, err)
	require.Len(t, cols, 1)
	require.Equal(t, []record.Row{{record.Struct{
		{Name: "j", Value: record.JSON(`{"b": 1, "a": 2}`)},
		{Name: "e", Value: "b c"},
		{Name: "d", Value: decimal(t, "12.50")},
		{Name: "ts", Value: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)},
		{Name: "t", Value: "24:00:00"},
		{Name: "tz", Value: "01:02:03+04:00"},
		{Name: "u", Value: "x"},
		{Name: "a", Value: []record.Value{int64(1), int64(2)}},
		{Name: `we"ird name`, Value: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{Name: "bn", Value: decimal(t, "99999999999999999999")},
		{Name: "bits", Value: "101"},
		{Name: "m", Value: record.Struct{{Name: "k", Value: []record.Value{record.JSON(`{"x": [1]}`)}}}},
		{Name: "g", Value: "POINT (1 2)"},
		{Name: "i", Value: "P1D"},
	}}}, rows)
}
