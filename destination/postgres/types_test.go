package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/postgres"
	"github.com/sluicehq/sluice/record"
)

// typeCase is one column: values it stores (and their text in PostgreSQL) and values
// that fail only their own row (and the message, or a part of it for the messages
// PostgreSQL writes).
type typeCase struct {
	col, sqlType string
	stores       []stored
	refuses      []refused
}

type stored struct {
	v    record.Value
	text string // col::text
}

type refused struct {
	v   record.Value
	msg string
}

func dec(s string) record.Decimal {
	d, err := record.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

var (
	instant = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	bigDec  = record.NewDecimal(func() *big.Int {
		n, _ := new(big.Int).SetString("1234567890123456789012345678900123456789", 10)
		return n
	}(), 10)
)

var typeCases = []typeCase{
	{col: "b", sqlType: "boolean",
		stores:  []stored{{true, "true"}, {"yes", "true"}, {"F", "false"}},
		refuses: []refused{{"maybe", `column b (boolean): cannot store "maybe" (string)`}, {int64(1), `column b (boolean): cannot store 1 (integer)`}}},
	{col: "i2", sqlType: "smallint",
		stores:  []stored{{int64(-32768), "-32768"}, {" 42 ", "42"}, {3.0, "3"}, {dec("7.00"), "7"}},
		refuses: []refused{{int64(70000), `column i2 (smallint): cannot store 70000 (integer): out of range`}, {1.5, `column i2 (smallint): cannot store 1.5 (float): not a whole number`}}},
	{col: "age", sqlType: "integer",
		stores:  []stored{{int64(math.MaxInt32), "2147483647"}},
		refuses: []refused{{"abc", `column age (integer): cannot store "abc" (string)`}, {"99999999999", `column age (integer): cannot store "99999999999" (string): out of range`}}},
	{col: "i8", sqlType: "bigint",
		stores:  []stored{{int64(math.MinInt64), "-9223372036854775808"}, {dec("9007199254740993"), "9007199254740993"}},
		refuses: []refused{{dec("9223372036854775808"), `column i8 (bigint): cannot store 9223372036854775808 (decimal): out of range`}, {[]record.Value{}, `column i8 (bigint): cannot store [] (list)`}}},
	{col: "n", sqlType: "numeric",
		stores: []stored{{bigDec, "123456789012345678901234567890.0123456789"}, {int64(5), "5"}, {0.1, "0.1"},
			{"1.5e3", "1500"}, {"NaN", "NaN"}, {math.Inf(1), "Infinity"}, {dec("-0.000"), "0.000"}},
		refuses: []refused{{"x", `column n (numeric): cannot store "x" (string)`}, {true, `column n (numeric): cannot store true (bool)`}}},
	{col: "price", sqlType: "numeric(5,2)",
		stores: []stored{{dec("123.456"), "123.46"}, {dec("999.994"), "999.99"}, {int64(-999), "-999.00"}},
		refuses: []refused{
			{dec("999.995"), `column price (numeric(5,2)): cannot store 999.995 (decimal): too many digits: numeric(5,2) holds at most 3 before the decimal point`},
			{int64(1000), `column price (numeric(5,2)): cannot store 1000 (integer): too many digits`},
			{math.Inf(-1), `column price (numeric(5,2)): cannot store "-Infinity" (float): a numeric column with a precision cannot hold infinity`}}},
	{col: "r", sqlType: "real",
		stores:  []stored{{1.5, "1.5"}, {int64(-3), "-3"}},
		refuses: []refused{{1e39, `column r (real): cannot store 1e+39 (float): out of range`}}},
	{col: "d8", sqlType: "double precision",
		stores:  []stored{{dec("0.25"), "0.25"}, {"-Infinity", "-Infinity"}, {int64(3), "3"}, {math.NaN(), "NaN"}},
		refuses: []refused{{record.Date{Year: 2024, Month: 1, Day: 1}, `column d8 (double precision): cannot store "2024-01-01" (date)`}}},
	{col: "t", sqlType: "text",
		stores: []stored{{"héllo \"w\"\n", "héllo \"w\"\n"}, {int64(42), "42"}, {record.Date{Year: 2024, Month: 1, Day: 31}, "2024-01-31"},
			{record.Struct{{Name: "z", Value: int64(1)}, {Name: "a", Value: nil}}, `{"z":1,"a":null}`}, {[]byte{1, 2}, "AQI="},
			{instant, "2024-05-06T07:08:09.123456Z"}, {false, "false"}, {bigDec, "123456789012345678901234567890.0123456789"}, {"", ""}},
		refuses: []refused{{"a\x00b", `column t (text): cannot store "a\u0000b" (string): contains a NUL character, which PostgreSQL text cannot hold`},
			{"\xff", `column t (text): cannot store "\ufffd" (string): not valid UTF-8`}}},
	{col: "vc", sqlType: "varchar(5)",
		stores:  []stored{{"ééééé", "ééééé"}, {"abc  ", "abc  "}, {int64(12345), "12345"}},
		refuses: []refused{{"abcdef", `column vc (character varying(5)): cannot store "abcdef" (string): 6 characters is longer than 5`}}},
	{col: "ch", sqlType: "char(3)",
		stores:  []stored{{"ab", "ab"}, {"abc", "abc"}},
		refuses: []refused{{"abcd", `column ch (character(3)): cannot store "abcd" (string): 4 characters is longer than 3`}}},
	{col: "by", sqlType: "bytea",
		stores:  []stored{{[]byte{0, 1, 255}, `\x0001ff`}, {"hi", `\x6869`}, {[]byte{}, `\x`}},
		refuses: []refused{{int64(1), `column by (bytea): cannot store 1 (integer)`}}},
	{col: "dt", sqlType: "date",
		stores: []stored{{record.Date{Year: 2024, Month: 2, Day: 29}, "2024-02-29"}, {"2024-01-31", "2024-01-31"},
			{time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), "2024-03-01"}, {record.Date{Year: 1, Month: 1, Day: 1}, "0001-01-01"}},
		refuses: []refused{{record.Date{Year: 2023, Month: 2, Day: 29}, `column dt (date): cannot store "2023-02-29" (date): not a valid date`},
			{"31/01/2024", `column dt (date): cannot store "31/01/2024" (string): not a date (want YYYY-MM-DD)`},
			{instant, `column dt (date): cannot store "2024-05-06T07:08:09.123456Z" (timestamp): has a time of day; a date column takes timestamps at midnight UTC only`}}},
	{col: "ts", sqlType: "timestamp",
		stores: []stored{{instant, "2024-05-06 07:08:09.123456"}, {"2024-05-06T07:08:09+02:00", "2024-05-06 05:08:09"},
			{"2024-05-06 07:08:09.5", "2024-05-06 07:08:09.5"}, {record.Date{Year: 2024, Month: 1, Day: 31}, "2024-01-31 00:00:00"}},
		refuses: []refused{{"yesterday", `column ts (timestamp without time zone): cannot store "yesterday" (string): not a timestamp (want RFC 3339, e.g. 2024-01-31T12:00:00Z)`}}},
	{col: "tstz", sqlType: "timestamptz",
		stores: []stored{{instant, "2024-05-06 07:08:09.123456+00"}, {"2024-05-06 07:08:09-05", "2024-05-06 12:08:09+00"},
			{time.Unix(0, 0).UTC(), "1970-01-01 00:00:00+00"}},
		refuses: []refused{{1.5, `column tstz (timestamp with time zone): cannot store 1.5 (float)`}}},
	{col: "tm", sqlType: "time",
		stores:  []stored{{"13:45:00.5", "13:45:00.5"}, {"07:30", "07:30:00"}},
		refuses: []refused{{"25:00", `column tm (time without time zone): cannot store "25:00" (string): not a time of day (want HH:MM:SS)`}, {instant, `column tm (time without time zone): cannot store "2024-05-06T07:08:09.123456Z" (timestamp)`}}},
	{col: "u", sqlType: "uuid",
		stores: []stored{{"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
			{"{a0eebc999c0b4ef8bb6d6bb9bd380a12}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"},
			{[]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x13}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13"}},
		refuses: []refused{{"nope", `column u (uuid): cannot store "nope" (string): not a UUID`}}},
	{col: "j", sqlType: "json",
		stores: []stored{{record.Struct{{Name: "z", Value: int64(1)}, {Name: "a", Value: "x"}}, `{"z":1,"a":"x"}`},
			{record.JSON(`{"b": 1, "a": 2}`), `{"b": 1, "a": 2}`}, {[]record.Value{int64(1), "x", nil}, `[1,"x",null]`},
			{"hi", `"hi"`}, {int64(5), `5`}, {bigDec, "123456789012345678901234567890.0123456789"}, {record.Date{Year: 2024, Month: 1, Day: 31}, `"2024-01-31"`}},
		refuses: []refused{{record.JSON(`{bad`), `column j (json): cannot store {bad (json): not valid JSON`}}},
	{col: "jb", sqlType: "jsonb",
		stores:  []stored{{record.Struct{{Name: "z", Value: int64(1)}, {Name: "a", Value: "x"}}, `{"a": "x", "z": 1}`}, {true, "true"}},
		refuses: []refused{{record.JSON(`{"a":"\u0000"}`), `unsupported Unicode escape sequence`}}},
	{col: "ai", sqlType: "bigint[]",
		stores: []stored{{[]record.Value{int64(1), nil, "3"}, "{1,NULL,3}"}, {[]record.Value{}, "{}"}},
		refuses: []refused{{[]record.Value{int64(1), "x"}, `column ai (bigint[]): element 2: cannot store "x" (string)`},
			{"{1,2}", `column ai (bigint[]): cannot store "{1,2}" (string)`}}},
	{col: "at", sqlType: "text[]",
		stores: []stored{{[]record.Value{"a", int64(5), nil, "b c"}, `{a,5,NULL,"b c"}`}}},
	{col: "m", sqlType: "mood",
		stores:  []stored{{"happy", "happy"}},
		refuses: []refused{{"angry", `postgres: invalid input value for enum mood: "angry" (SQLSTATE 22P02)`}}},
	{col: "moods", sqlType: "mood[]",
		stores:  []stored{{[]record.Value{"happy", "sad"}, "{happy,sad}"}},
		refuses: []refused{{[]record.Value{"meh"}, `invalid input value for enum mood: "meh"`}}},
	{col: "iv", sqlType: "interval",
		stores:  []stored{{"1 day 02:00", "1 day 02:00:00"}},
		refuses: []refused{{"soon", `postgres: invalid input syntax for type interval: "soon" (SQLSTATE 22007)`}}},
	{col: "pos", sqlType: "positive",
		stores:  []stored{{int64(5), "5"}, {"6", "6"}},
		refuses: []refused{{int64(-1), `postgres: value for domain positive violates check constraint "positive_check" (SQLSTATE 23514)`}, {"x", `column pos (positive): cannot store "x" (string)`}}},
}

func TestTypeConversions(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TYPE mood AS ENUM ('happy', 'sad')`)
	db.exec(t, `CREATE DOMAIN positive AS integer CHECK (VALUE > 0)`)
	defs := []string{"id text PRIMARY KEY"}
	info := connector.SyncInfo{Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id", Fields: []string{"id"}}
	for _, tc := range typeCases {
		defs = append(defs, tc.col+" "+tc.sqlType)
		info.Fields = append(info.Fields, tc.col)
	}
	db.exec(t, fmt.Sprintf("CREATE TABLE typed (%s)", strings.Join(defs, ", ")))
	d := db.open(t, postgres.Config{Table: "typed"}, info)

	// One row per value, every other column null; then one row of nulls.
	var batch []record.Change
	wantText := map[string]string{}   // id → col::text
	wantFailed := map[string]string{} // id → message or part of it
	row := func(id string, col int, v record.Value) {
		values := make([]record.Value, len(info.Fields))
		values[0] = id
		if col > 0 {
			values[col] = v
		}
		f := record.MakeFields(info.Fields, values)
		batch = append(batch, add(id, f))
	}
	for i, tc := range typeCases {
		for j, s := range tc.stores {
			id := fmt.Sprintf("%s-ok-%d", tc.col, j)
			row(id, i+1, s.v)
			wantText[id] = s.text
		}
		for j, r := range tc.refuses {
			id := fmt.Sprintf("%s-bad-%d", tc.col, j)
			row(id, i+1, r.v)
			wantFailed[id] = r.msg
		}
	}
	row("nulls", 0, nil)

	err := d.Write(context.Background(), connector.NewBatch("test", "run", "b", batch, nil))
	got := conformance.FailedRows(t, err)
	for i, msg := range got {
		id := batch[i].Key
		want, ok := wantFailed[id]
		if !ok {
			t.Errorf("row %s failed: %s", id, msg)
			continue
		}
		if strings.HasPrefix(want, "column ") || strings.HasPrefix(want, "postgres: ") {
			require.Truef(t, msg == want || strings.HasPrefix(msg, want), "row %s:\n got %s\nwant %s", id, msg, want)
		} else {
			require.Contains(t, msg, want, "row %s", id)
		}
	}
	for id := range wantFailed {
		found := false
		for i := range got {
			found = found || batch[i].Key == id
		}
		require.True(t, found, "row %s should have failed", id)
	}

	db.exec(t, "SET TimeZone = 'UTC'")
	for _, tc := range typeCases {
		for j, s := range tc.stores {
			id := fmt.Sprintf("%s-ok-%d", tc.col, j)
			text := db.queryStrings(t, fmt.Sprintf("SELECT %s::text FROM typed WHERE id = $1", tc.col), id)
			require.Equal(t, []string{s.text}, text, "column %s (%s), value %#v", tc.col, tc.sqlType, s.v)
		}
	}
	var allNull []string
	for _, tc := range typeCases {
		allNull = append(allNull, tc.col+" IS NULL")
	}
	require.Equal(t, []string{"true"}, db.queryStrings(t, "SELECT "+strings.Join(allNull, " AND ")+" FROM typed WHERE id = 'nulls'"))
}

// Infinite dates and timestamps (DuckDB gives them as the strings "infinity" and
// "-infinity") and a time of 24:00:00 are values PostgreSQL holds: they are stored.
func TestInfinityAndEndOfDay(t *testing.T) {
	db := setup(t)
	db.exec(t, `CREATE TABLE inf (id text PRIMARY KEY, d date, ts timestamp, tstz timestamptz, tm time)`)
	info := connector.SyncInfo{Name: "inf", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id", Fields: []string{"id", "d", "ts", "tstz", "tm"}}
	d := db.open(t, postgres.Config{Table: "inf"}, info)
	rows := []record.Change{
		add("a", record.MakeFields(info.Fields, []record.Value{"a", "infinity", "infinity", "infinity", "24:00:00"})),
		add("b", record.MakeFields(info.Fields, []record.Value{"b", "-infinity", "-infinity", "-infinity", "00:00:00"})),
	}
	var r recorder
	require.NoError(t, d.Write(context.Background(), r.batch(rows)))
	var dd, ts, tstz, tm string
	require.NoError(t, db.conn.QueryRow(context.Background(), `SELECT d::text, ts::text, tstz::text, tm::text FROM inf WHERE id = 'a'`).Scan(&dd, &ts, &tstz, &tm))
	require.Equal(t, []string{"infinity", "infinity", "infinity", "24:00:00"}, []string{dd, ts, tstz, tm})
	require.NoError(t, db.conn.QueryRow(context.Background(), `SELECT d::text, ts::text, tstz::text FROM inf WHERE id = 'b'`).Scan(&dd, &ts, &tstz))
	require.Equal(t, []string{"-infinity", "-infinity", "-infinity"}, []string{dd, ts, tstz})
}
