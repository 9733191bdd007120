// Package record defines the canonical values, rows and changes that flow from a
// source through the differ to a destination. It depends on nothing else in Sluice.
package record

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Value is one canonical value. Sources convert what they read into exactly one of
// these Go types, and everything downstream (hashing, diffing, JSON, PostgreSQL)
// understands only these:
//
//	nil        SQL NULL
//	bool
//	int64      every integer that fits; larger integers become Decimal
//	float64
//	Decimal    exact decimal numbers of any size and scale
//	string
//	[]byte     binary data
//	Date       a calendar date without a time zone
//	time.Time  an instant, always in UTC
//	JSON       a JSON document kept as text
//	[]Value    a list
//	Struct     named fields in declared order
type Value = any

// Kind names the canonical type of a Value.
type Kind uint8

const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindDecimal
	KindString
	KindBytes
	KindDate
	KindTimestamp
	KindJSON
	KindList
	KindStruct
	kindInvalid
)

var kindNames = [...]string{
	KindNull: "null", KindBool: "bool", KindInt: "integer", KindFloat: "float",
	KindDecimal: "decimal", KindString: "string", KindBytes: "bytes", KindDate: "date",
	KindTimestamp: "timestamp", KindJSON: "json", KindList: "list", KindStruct: "struct",
	kindInvalid: "invalid",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// KindOf reports the canonical kind of v, or an error naming the Go type when v is
// not one of the canonical types (a bug in a source).
func KindOf(v Value) (Kind, error) {
	switch v.(type) {
	case nil:
		return KindNull, nil
	case bool:
		return KindBool, nil
	case int64:
		return KindInt, nil
	case float64:
		return KindFloat, nil
	case Decimal:
		return KindDecimal, nil
	case string:
		return KindString, nil
	case []byte:
		return KindBytes, nil
	case Date:
		return KindDate, nil
	case time.Time:
		return KindTimestamp, nil
	case JSON:
		return KindJSON, nil
	case []Value:
		return KindList, nil
	case Struct:
		return KindStruct, nil
	}
	return kindInvalid, fmt.Errorf("record: %T is not a canonical value type", v)
}

// Struct is a value with named fields in declared order.
type Struct []Field

// Field is one named value of a Struct.
type Field struct {
	Name  string
	Value Value
}

// Get returns the value of the named field and whether it exists.
func (s Struct) Get(name string) (Value, bool) {
	for _, f := range s {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// JSON is a JSON document kept as its text, so that key order and number precision
// survive the trip from source to destination.
type JSON string

// Date is a calendar date with no time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date part of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// String formats the date as ISO 8601 (2006-01-02); years outside 0..9999 keep their sign and digits.
func (d Date) String() string {
	var b []byte
	return string(d.Append(b))
}

// Append appends the ISO 8601 form of d to b.
func (d Date) Append(b []byte) []byte {
	y := d.Year
	if y < 0 {
		b = append(b, '-')
		y = -y
	}
	if y < 1000 {
		b = append(b, "000"[:4-digits(y)]...)
	}
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, '-', byte('0'+d.Month/10), byte('0'+d.Month%10), '-', byte('0'+d.Day/10), byte('0'+d.Day%10))
	return b
}

func digits(n int) int {
	switch {
	case n < 10:
		return 1
	case n < 100:
		return 2
	case n < 1000:
		return 3
	}
	return 4
}

// In returns midnight of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// daysSinceEpoch is used by the binary encoding; it is exact for every representable date.
func (d Date) daysSinceEpoch() int64 {
	return d.In(time.UTC).Unix() / 86400
}

func dateFromDays(days int64) Date {
	return DateOf(time.Unix(days*86400, 0).UTC())
}

// Decimal is an exact decimal number: Unscaled × 10^-Scale. Its text form keeps the
// scale ("12.50" stays "12.50"), so no digit is lost between source and destination.
type Decimal struct {
	text string // canonical: optional '-', digits, optional '.' followed by exactly Scale digits
}

// NewDecimal returns unscaled × 10^-scale. A negative scale multiplies by a power of ten.
func NewDecimal(unscaled *big.Int, scale int) Decimal {
	if scale >= 0 && unscaled.IsInt64() {
		return NewDecimalInt64(unscaled.Int64(), scale)
	}
	if scale < 0 {
		m := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil)
		return NewDecimal(new(big.Int).Mul(unscaled, m), 0)
	}
	s := unscaled.String()
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return Decimal{text: s}
}

// NewDecimalInt64 returns unscaled × 10^-scale for scale ≥ 0 without big arithmetic.
func NewDecimalInt64(unscaled int64, scale int) Decimal {
	if scale < 0 {
		return NewDecimal(big.NewInt(unscaled), scale)
	}
	var buf [48]byte
	digits := strconv.AppendUint(buf[:0], absU64(unscaled), 10)
	if scale == 0 {
		if unscaled < 0 {
			return Decimal{text: "-" + string(digits)}
		}
		return Decimal{text: string(digits)}
	}
	out := make([]byte, 0, len(digits)+scale+3)
	if unscaled < 0 {
		out = append(out, '-')
	}
	if len(digits) <= scale {
		out = append(out, '0', '.')
		for range scale - len(digits) {
			out = append(out, '0')
		}
		out = append(out, digits...)
	} else {
		cut := len(digits) - scale
		out = append(out, digits[:cut]...)
		out = append(out, '.')
		out = append(out, digits[cut:]...)
	}
	return Decimal{text: string(out)}
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

// ParseDecimal parses a plain decimal literal such as "-12.340" (no exponent).
func ParseDecimal(s string) (Decimal, error) {
	body := strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(body, ".")
	if intPart == "" || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, fmt.Errorf("record: %q is not a decimal number", s)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasDot {
		out += "." + frac
	}
	if strings.HasPrefix(s, "-") && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return Decimal{text: out}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the exact decimal text, for example "-12.340".
func (d Decimal) String() string {
	if d.text == "" {
		return "0"
	}
	return d.text
}

// Scale is the number of digits after the decimal point.
func (d Decimal) Scale() int {
	if _, frac, ok := strings.Cut(d.text, "."); ok {
		return len(frac)
	}
	return 0
}

// Unscaled returns the integer n such that d = n × 10^-Scale.
func (d Decimal) Unscaled() *big.Int {
	n, _ := new(big.Int).SetString(strings.Replace(d.String(), ".", "", 1), 10)
	return n
}

// Float64 returns the nearest float64, for destinations that only take floats.
func (d Decimal) Float64() float64 {
	f, err := strconv.ParseFloat(d.String(), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}
