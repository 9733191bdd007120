package postgres

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/record"
)

// convertFunc turns a non-null canonical value into the Go value pgx encodes for one
// PostgreSQL type. It returns errMismatch when the value plainly is not of the type (a
// list for an integer, "abc" for an integer), or another error saying why this value
// does not fit (out of range, too long, a date's expected format).
type convertFunc func(v record.Value) (any, error)

var errMismatch = errors.New("no conversion")

// convert converts v for the column, with an error that names the column, its type
// and the problem: `column age (integer): cannot store "abc" (string)`.
func (c *column) convert(v record.Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	out, err := c.conv(v)
	if err != nil {
		return nil, fmt.Errorf("column %s (%s): %s", c.name, c.typeName, problem(v, err))
	}
	return out, nil
}

// convertKey converts a batch key (record.KeyString's text) for the key column.
func (c *column) convertKey(key string) (any, error) {
	if c.isBytea {
		b, err := hex.DecodeString(key)
		if err != nil {
			return nil, fmt.Errorf("column %s (%s): key %q is not hex", c.name, c.typeName, key)
		}
		return b, nil
	}
	return c.convert(key)
}

func problem(v record.Value, err error) string {
	var ee elementError
	if errors.As(err, &ee) {
		return fmt.Sprintf("element %d: %s", ee.index+1, problem(ee.value, ee.err))
	}
	kind, _ := record.KindOf(v)
	if err == errMismatch {
		return fmt.Sprintf("cannot store %s (%s)", show(v), kind)
	}
	return fmt.Sprintf("cannot store %s (%s): %v", show(v), kind, err)
}

// show renders a value for a message, shortened.
func show(v record.Value) string {
	b := record.AppendJSON(nil, v)
	const max = 60
	if len(b) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		return string(b[:cut]) + "…"
	}
	return string(b)
}

// nativeType returns the conversion and the staging type for the types converted in Go.
func nativeType(oid uint32, typmod int32) (convertFunc, string, bool) {
	switch oid {
	case pgtype.BoolOID:
		return toBool, "boolean", true
	case pgtype.Int2OID:
		return toInt(math.MinInt16, math.MaxInt16, func(i int64) any { return int16(i) }), "smallint", true
	case pgtype.Int4OID:
		return toInt(math.MinInt32, math.MaxInt32, func(i int64) any { return int32(i) }), "integer", true
	case pgtype.Int8OID:
		return toInt(math.MinInt64, math.MaxInt64, func(i int64) any { return i }), "bigint", true
	case pgtype.NumericOID:
		return toNumeric(typmod), "numeric", true
	case pgtype.Float4OID:
		return toFloat4, "real", true
	case pgtype.Float8OID:
		return toFloat8, "double precision", true
	case pgtype.TextOID:
		return toText(-1), "text", true
	case pgtype.VarcharOID:
		return toText(charLimit(typmod)), "text", true
	case pgtype.BPCharOID:
		// Staged as bpchar rather than text so that comparisons with the key keep
		// using the column's index.
		return toText(charLimit(typmod)), "bpchar", true
	case pgtype.ByteaOID:
		return toBytea, "bytea", true
	case pgtype.DateOID:
		return toDate, "date", true
	case pgtype.TimestampOID:
		return toTimestampWithout, "timestamp without time zone", true
	case pgtype.TimestamptzOID:
		return toTimestamp, "timestamp with time zone", true
	case pgtype.TimeOID:
		return toTime, "time without time zone", true
	case pgtype.UUIDOID:
		return toUUID, "uuid", true
	case pgtype.JSONOID:
		return toJSON, "json", true
	case pgtype.JSONBOID:
		return toJSON, "jsonb", true
	}
	return nil, "", false
}

func charLimit(typmod int32) int {
	if typmod < 4 {
		return -1
	}
	return int(typmod - 4)
}

func toBool(v record.Value) (any, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "t", "true", "yes", "y", "on", "1":
			return true, nil
		case "f", "false", "no", "n", "off", "0":
			return false, nil
		}
		return nil, errMismatch
	}
	return nil, errMismatch
}

var errRange = errors.New("out of range")

func toInt(lo, hi int64, box func(int64) any) convertFunc {
	return func(v record.Value) (any, error) {
		var i int64
		switch v := v.(type) {
		case int64:
			i = v
		case float64:
			if v != math.Trunc(v) || math.IsInf(v, 0) {
				return nil, errors.New("not a whole number")
			}
			if v < -9223372036854775808 || v >= 9223372036854775808 {
				return nil, errRange
			}
			i = int64(v)
		case record.Decimal:
			whole, frac, _ := strings.Cut(v.String(), ".")
			if strings.Trim(frac, "0") != "" {
				return nil, errors.New("not a whole number")
			}
			var err error
			if i, err = strconv.ParseInt(whole, 10, 64); err != nil {
				return nil, errRange
			}
		case string:
			var err error
			i, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if errors.Is(err, strconv.ErrRange) {
				return nil, errRange
			}
			if err != nil {
				return nil, errMismatch
			}
		default:
			return nil, errMismatch
		}
		if i < lo || i > hi {
			return nil, errRange
		}
		return box(i), nil
	}
}

func toFloat8(v record.Value) (any, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case record.Decimal:
		return v.Float64(), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if errors.Is(err, strconv.ErrRange) {
			return nil, errRange
		}
		if err != nil {
			return nil, errMismatch
		}
		return f, nil
	}
	return nil, errMismatch
}

func toFloat4(v record.Value) (any, error) {
	f, err := toFloat8(v)
	if err != nil {
		return nil, err
	}
	f64 := f.(float64)
	if !math.IsInf(f64, 0) && math.Abs(f64) > math.MaxFloat32 {
		return nil, errRange
	}
	return float32(f64), nil
}

func toNumeric(typmod int32) convertFunc {
	precision, scale, limited := -1, 0, typmod >= 4
	if limited {
		m := typmod - 4
		precision = int(m>>16) & 0xffff
		scale = (int(m&0x7ff) ^ 1024) - 1024 // 11-bit signed: PostgreSQL 15 allows negative scales
	}
	return func(v record.Value) (any, error) {
		var d record.Decimal
		switch v := v.(type) {
		case record.Decimal:
			d = v
		case int64:
			return checkNumeric(big.NewInt(v), 0, precision, scale, limited)
		case float64:
			switch {
			case math.IsNaN(v):
				return pgtype.Numeric{NaN: true, Valid: true}, nil
			case math.IsInf(v, 0):
				if limited {
					return nil, errors.New("a numeric column with a precision cannot hold infinity")
				}
				inf := pgtype.Infinity
				if v < 0 {
					inf = pgtype.NegativeInfinity
				}
				return pgtype.Numeric{InfinityModifier: inf, Valid: true}, nil
			}
			d, _ = record.ParseDecimal(strconv.FormatFloat(v, 'f', -1, 64))
		case string:
			s := strings.TrimSpace(v)
			if strings.EqualFold(s, "NaN") {
				return pgtype.Numeric{NaN: true, Valid: true}, nil
			}
			var err error
			if d, err = parseDecimal(s); err != nil {
				return nil, errMismatch
			}
		default:
			return nil, errMismatch
		}
		return checkNumeric(d.Unscaled(), d.Scale(), precision, scale, limited)
	}
}

// parseDecimal accepts what record.ParseDecimal does plus a leading '+' and an
// exponent ("1.5e3").
func parseDecimal(s string) (record.Decimal, error) {
	s = strings.TrimPrefix(s, "+")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	d, err := record.ParseDecimal(mant)
	if err != nil || !hasExp {
		return d, err
	}
	e, err := strconv.Atoi(strings.TrimPrefix(exp, "+"))
	if err != nil || e > 1000 || e < -1000 {
		return d, errors.New("bad exponent")
	}
	return record.NewDecimal(d.Unscaled(), d.Scale()-e), nil
}

// checkNumeric returns unscaled × 10^-exp as a pgtype.Numeric, after checking that a
// numeric(precision, scale) column can hold it once PostgreSQL rounds it to scale.
func checkNumeric(unscaled *big.Int, exp int, precision, scale int, limited bool) (any, error) {
	if limited {
		u := new(big.Int).Set(unscaled)
		switch {
		case exp > scale:
			div := pow10(exp - scale)
			q, r := new(big.Int).QuoRem(u, div, new(big.Int))
			if r.Abs(r).Lsh(r, 1).Cmp(div) >= 0 { // round half away from zero, as PostgreSQL does
				q.Add(q, big.NewInt(int64(u.Sign())))
			}
			u = q
		case exp < scale:
			u.Mul(u, pow10(scale-exp))
		}
		if u.CmpAbs(pow10(precision)) >= 0 {
			return nil, fmt.Errorf("too many digits: numeric(%d,%d) holds at most %d before the decimal point", precision, scale, precision-scale)
		}
	}
	return pgtype.Numeric{Int: unscaled, Exp: int32(-exp), Valid: true}, nil
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// toText stores strings as they are and other values in their text form (see
// textForm). limit is the column's length in characters, or -1; trailing spaces do not
// count, as PostgreSQL drops them rather than fail for both char(n) and varchar(n).
func toText(limit int) convertFunc {
	return func(v record.Value) (any, error) {
		s := textForm(v)
		if !utf8.ValidString(s) {
			return nil, errors.New("not valid UTF-8")
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, errors.New("contains a NUL character, which PostgreSQL text cannot hold")
		}
		if limit >= 0 {
			if n := utf8.RuneCountInString(strings.TrimRight(s, " ")); n > limit {
				return nil, fmt.Errorf("%d characters is longer than %d", n, limit)
			}
		}
		return s, nil
	}
}

// textForm is a value's text: strings and JSON documents as they are, other values as
// their JSON form without the quotes of a JSON string (2024-01-31, base64 for bytes).
func textForm(v record.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case record.JSON:
		return string(v)
	case []record.Value, record.Struct:
		return string(record.AppendJSON(nil, v))
	}
	b := record.AppendJSON(nil, v)
	if len(b) >= 2 && b[0] == '"' {
		// Dates, timestamps, base64 and NaN/Infinity need no escaping.
		b = b[1 : len(b)-1]
	}
	return string(b)
}

func toBytea(v record.Value) (any, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, errMismatch
}

func toDate(v record.Value) (any, error) {
	var t time.Time
	switch v := v.(type) {
	case record.Date:
		t = v.In(time.UTC)
		if record.DateOf(t) != v {
			return nil, errors.New("not a valid date")
		}
	case time.Time:
		t = v.UTC()
		if h, m, s := t.Clock(); h != 0 || m != 0 || s != 0 || t.Nanosecond() != 0 {
			return nil, errors.New("has a time of day; a date column takes timestamps at midnight UTC only")
		}
	case string:
		if inf, ok := infinity(v); ok {
			return pgtype.Date{InfinityModifier: inf, Valid: true}, nil
		}
		var err error
		if t, err = time.Parse(time.DateOnly, strings.TrimSpace(v)); err != nil {
			return nil, errors.New("not a date (want YYYY-MM-DD)")
		}
	default:
		return nil, errMismatch
	}
	return pgtype.Date{Time: t, Valid: true}, nil
}

// infinity recognises the "infinity" and "-infinity" that sources (DuckDB) give for
// infinite dates and timestamps, which PostgreSQL's date and timestamp types hold too.
func infinity(s string) (pgtype.InfinityModifier, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "infinity", "+infinity":
		return pgtype.Infinity, true
	case "-infinity":
		return pgtype.NegativeInfinity, true
	}
	return 0, false
}

// timestampLayouts are the timestamp strings accepted; those without an offset are UTC.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	time.DateOnly,
}

func toTimestamp(v record.Value) (any, error) {
	if s, ok := v.(string); ok {
		if inf, ok := infinity(s); ok {
			return pgtype.Timestamptz{InfinityModifier: inf, Valid: true}, nil
		}
	}
	return toInstant(v)
}

func toTimestampWithout(v record.Value) (any, error) {
	if s, ok := v.(string); ok {
		if inf, ok := infinity(s); ok {
			return pgtype.Timestamp{InfinityModifier: inf, Valid: true}, nil
		}
	}
	t, err := toInstant(v)
	if err != nil {
		return nil, err
	}
	return pgtype.Timestamp{Time: t.(time.Time), Valid: true}, nil
}

func toInstant(v record.Value) (any, error) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case record.Date:
		return v.In(time.UTC), nil
	case string:
		s := strings.TrimSpace(v)
		for _, layout := range timestampLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, errors.New("not a timestamp (want RFC 3339, e.g. 2024-01-31T12:00:00Z)")
	}
	return nil, errMismatch
}

func toTime(v record.Value) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, errMismatch
	}
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "24:00"); ok && strings.Trim(rest, ":.0") == "" {
		return pgtype.Time{Microseconds: 24 * 3600e6, Valid: true}, nil // PostgreSQL's time allows 24:00:00
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			us := int64(t.Hour())*3600e6 + int64(t.Minute())*60e6 + int64(t.Second())*1e6 + int64(t.Nanosecond())/1e3
			return pgtype.Time{Microseconds: us, Valid: true}, nil
		}
	}
	return nil, errors.New("not a time of day (want HH:MM:SS)")
}

func toUUID(v record.Value) (any, error) {
	var u [16]byte
	switch v := v.(type) {
	case []byte:
		if len(v) != 16 {
			return nil, errors.New("a UUID has 16 bytes")
		}
		copy(u[:], v)
		return u, nil
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			s = s[1 : len(s)-1]
		}
		s = strings.ReplaceAll(s, "-", "")
		if len(s) != 32 {
			return nil, errors.New("not a UUID")
		}
		if _, err := hex.Decode(u[:], []byte(s)); err != nil {
			return nil, errors.New("not a UUID")
		}
		return u, nil
	}
	return nil, errMismatch
}

// toJSON stores any value as the JSON text record.AppendJSON gives it, which keeps a
// JSON document's text and a struct's field order (a json column keeps both; jsonb
// normalises them).
func toJSON(v record.Value) (any, error) {
	if j, ok := v.(record.JSON); ok && j != "" && !json.Valid([]byte(j)) {
		return nil, errors.New("not valid JSON")
	}
	return string(record.AppendJSON(nil, v)), nil
}

// elementError is a problem with one element of a list.
type elementError struct {
	index int
	value record.Value
	err   error
}

func (e elementError) Error() string { return fmt.Sprintf("element %d: %v", e.index+1, e.err) }

// arrayOf converts lists element by element for an array column.
func arrayOf(elem convertFunc) convertFunc {
	return func(v record.Value) (any, error) {
		list, ok := v.([]record.Value)
		if !ok {
			return nil, errMismatch
		}
		out := make([]any, len(list))
		for i, e := range list {
			if e == nil {
				continue
			}
			c, err := elem(e)
			if err != nil {
				return nil, elementError{i, e, err}
			}
			out[i] = c
		}
		return out, nil
	}
}
