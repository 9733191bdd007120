package duckdb

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	duckdbgo "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/record"
)

// converter turns one non-nil value the driver returned into its canonical value.
type converter func(v any) (record.Value, error)

// DuckDB stores ±infinity dates and timestamps as the extreme values of their integer
// representation. They have no time.Time or record.Date equivalent, so they become these
// strings, as PostgreSQL prints them.
const (
	infinity         = "infinity"
	negativeInfinity = "-infinity"
)

// newConverter returns the converter for values of type t, where t is the type the
// query actually returns (see scanType): a JSON node named VARCHAR delivers JSON text.
func newConverter(t *sqlType) (converter, error) {
	switch t.Kind {
	case kindNull:
		return func(any) (record.Value, error) { return nil, nil }, nil
	case kindBoolean:
		return same[bool](t), nil
	case kindTinyint:
		return widen[int8](t), nil
	case kindSmallint:
		return widen[int16](t), nil
	case kindInteger:
		return widen[int32](t), nil
	case kindBigint:
		return same[int64](t), nil
	case kindUtinyint:
		return widen[uint8](t), nil
	case kindUsmallint:
		return widen[uint16](t), nil
	case kindUinteger:
		return widen[uint32](t), nil
	case kindUbigint:
		return func(v any) (record.Value, error) {
			x, ok := v.(uint64)
			if !ok {
				return nil, unexpected(t, v)
			}
			if x <= math.MaxInt64 {
				return int64(x), nil
			}
			return record.NewDecimal(new(big.Int).SetUint64(x), 0), nil
		}, nil
	case kindHugeint, kindUhugeint, kindBignum:
		return func(v any) (record.Value, error) {
			x, ok := v.(*big.Int)
			if !ok || x == nil {
				return nil, unexpected(t, v)
			}
			return bigInteger(x), nil
		}, nil
	case kindFloat:
		return func(v any) (record.Value, error) {
			x, ok := v.(float32)
			if !ok {
				return nil, unexpected(t, v)
			}
			return float32To64(x), nil
		}, nil
	case kindDouble:
		return same[float64](t), nil
	case kindDecimal:
		return func(v any) (record.Value, error) {
			x, ok := v.(duckdbgo.Decimal)
			if !ok || x.Value == nil {
				return nil, unexpected(t, v)
			}
			return record.NewDecimal(x.Value, int(x.Scale)), nil
		}, nil
	case kindVarchar, kindEnum, kindGeometry, kindTime, kindTimeNS:
		// GEOMETRY and TIME arrive as DuckDB's text (see scanType), which for TIME is
		// already "15:04:05" with a fraction only when it is not zero.
		return same[string](t), nil
	case kindUUID:
		return func(v any) (record.Value, error) {
			x, ok := v.([]byte)
			if !ok || len(x) != 16 {
				return nil, unexpected(t, v)
			}
			return formatUUID(x), nil
		}, nil
	case kindBit:
		return func(v any) (record.Value, error) {
			switch x := v.(type) {
			case string: // top-level columns: the driver's rows already format BIT
				return x, nil
			case duckdbgo.Bit:
				return x.String(), nil
			}
			return nil, unexpected(t, v)
		}, nil
	case kindBlob:
		return same[[]byte](t), nil
	case kindDate:
		return func(v any) (record.Value, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, unexpected(t, v)
			}
			return convertDate(x), nil
		}, nil
	case kindTimestamp, kindTimestampTZ, kindTimestampS, kindTimestampMS, kindTimestampNS:
		ticks := ticksFor(t.Kind)
		return func(v any) (record.Value, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, unexpected(t, v)
			}
			switch ticks(x) {
			case math.MaxInt64:
				return infinity, nil
			case -math.MaxInt64:
				return negativeInfinity, nil
			}
			if x.Location() != time.UTC {
				return x.UTC(), nil
			}
			return v, nil // already canonical: no need to box it again
		}, nil
	case kindTimeTZ:
		return func(v any) (record.Value, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, unexpected(t, v)
			}
			return formatTimeTZ(x), nil
		}, nil
	case kindInterval:
		return func(v any) (record.Value, error) {
			x, ok := v.(duckdbgo.Interval)
			if !ok {
				return nil, unexpected(t, v)
			}
			return formatInterval(x.Months, x.Days, x.Micros), nil
		}, nil
	case kindJSON, kindVariant:
		return convertJSON, nil
	case kindList, kindArray:
		return newListConverter(t)
	case kindStruct:
		return newStructConverter(t)
	case kindMap:
		return newMapConverter(t)
	case kindUnion:
		return newUnionConverter(t)
	}
	return nil, fmt.Errorf("DuckDB type %s is not supported: cast it in the model's SQL, for example to VARCHAR", t)
}

func unexpected(t *sqlType, v any) error {
	return fmt.Errorf("the DuckDB driver returned a %T for a %s value", v, t)
}

// same accepts values the driver already returns in canonical form.
func same[T any](t *sqlType) converter {
	return func(v any) (record.Value, error) {
		if _, ok := v.(T); !ok {
			return nil, unexpected(t, v)
		}
		return v, nil
	}
}

func widen[T int8 | int16 | int32 | uint8 | uint16 | uint32](t *sqlType) converter {
	return func(v any) (record.Value, error) {
		x, ok := v.(T)
		if !ok {
			return nil, unexpected(t, v)
		}
		return int64(x), nil
	}
}

// bigInteger returns x as an int64 when it fits, else as a Decimal of scale 0.
func bigInteger(x *big.Int) record.Value {
	if x.IsInt64() {
		return x.Int64()
	}
	return record.NewDecimal(x, 0)
}

// float32To64 returns the float64 whose shortest text is the float32's shortest text,
// so that a FLOAT 1.1 reads as 1.1 and not as 1.100000023841858.
func float32To64(f float32) float64 {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	var buf [32]byte
	y, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], x, 'g', -1, 32)), 64)
	if err != nil {
		return x
	}
	return y
}

func formatUUID(b []byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], b[10:16])
	return string(buf[:])
}

// convertDate turns the driver's midnight-UTC time into a Date. DuckDB's ±infinity
// dates are ±(2^31-1) days from the epoch.
func convertDate(t time.Time) record.Value {
	switch t.Unix() / 86400 {
	case math.MaxInt32:
		return infinity
	case -math.MaxInt32:
		return negativeInfinity
	}
	return record.DateOf(t)
}

// ticksFor returns how to recover the stored integer of a timestamp kind, which is
// ±(2^63-1) for ±infinity whatever the unit.
func ticksFor(k typeKind) func(time.Time) int64 {
	switch k {
	case kindTimestampS:
		return time.Time.Unix
	case kindTimestampMS:
		return time.Time.UnixMilli
	case kindTimestampNS:
		return time.Time.UnixNano
	}
	return time.Time.UnixMicro
}

// formatTimeTZ formats a TIMETZ as "15:04:05.999999+02:00"; the fraction appears only
// when it is not zero, and seconds of the offset only when they are not zero.
func formatTimeTZ(t time.Time) string {
	b := t.AppendFormat(make([]byte, 0, 32), "15:04:05.999999999")
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = append(b, sign)
	b = appendTwo(b, off/3600)
	b = append(b, ':')
	b = appendTwo(b, off/60%60)
	if off%60 != 0 {
		b = append(b, ':')
		b = appendTwo(b, off%60)
	}
	return string(b)
}

func appendTwo(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// formatInterval formats an interval as an ISO 8601 duration ("P1Y2M3DT4H5M6.5S",
// "PT0S"). DuckDB keeps months, days and microseconds apart and each may be negative,
// so each component carries its own sign, as PostgreSQL's iso_8601 style does.
func formatInterval(months, days int32, micros int64) string {
	if months == 0 && days == 0 && micros == 0 {
		return "PT0S"
	}
	b := make([]byte, 0, 32)
	b = append(b, 'P')
	if y := months / 12; y != 0 {
		b = append(strconv.AppendInt(b, int64(y), 10), 'Y')
	}
	if m := months % 12; m != 0 {
		b = append(strconv.AppendInt(b, int64(m), 10), 'M')
	}
	if days != 0 {
		b = append(strconv.AppendInt(b, int64(days), 10), 'D')
	}
	if micros == 0 {
		return string(b)
	}
	b = append(b, 'T')
	const microsPerMinute, microsPerHour = 60_000_000, 3_600_000_000
	if h := micros / microsPerHour; h != 0 {
		b = append(strconv.AppendInt(b, h, 10), 'H')
	}
	if m := micros % microsPerHour / microsPerMinute; m != 0 {
		b = append(strconv.AppendInt(b, m, 10), 'M')
	}
	if s := micros % microsPerMinute; s != 0 {
		if s < 0 {
			b = append(b, '-')
			s = -s
		}
		b = strconv.AppendInt(b, s/1_000_000, 10)
		if frac := s % 1_000_000; frac != 0 {
			digits := []byte(fmt.Sprintf("%06d", frac))
			b = append(b, '.')
			b = append(b, bytes.TrimRight(digits, "0")...)
		}
		b = append(b, 'S')
	}
	return string(b)
}

// convertJSON takes JSON as its text. The query casts every JSON value to VARCHAR so
// that key order and number precision survive; should the driver still hand over a
// decoded document, it is encoded again with sorted keys, which is canonical but has
// lost the original order and the precision of large numbers.
func convertJSON(v any) (record.Value, error) {
	if s, ok := v.(string); ok {
		return record.JSON(s), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode a decoded JSON value again: %w", err)
	}
	return record.JSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

func newListConverter(t *sqlType) (converter, error) {
	elem, err := newConverter(t.Elem)
	if err != nil {
		return nil, err
	}
	return func(v any) (record.Value, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, unexpected(t, v)
		}
		// The driver made this slice for this value alone, so it can be converted in place.
		for i, e := range list {
			if e == nil {
				continue
			}
			var err error
			if list[i], err = elem(e); err != nil {
				return nil, fmt.Errorf("element %d: %w", i+1, err)
			}
		}
		return []record.Value(list), nil
	}, nil
}

// newStructConverter recovers the declared field order, which the driver's
// map[string]any has lost, from the type.
func newStructConverter(t *sqlType) (converter, error) {
	fields := make([]converter, len(t.Fields))
	for i, f := range t.Fields {
		c, err := newConverter(f.Type)
		if err != nil {
			return nil, err
		}
		fields[i] = c
	}
	return func(v any) (record.Value, error) {
		m, ok := v.(map[string]any)
		if !ok || len(m) != len(fields) {
			return nil, unexpected(t, v)
		}
		s := make(record.Struct, len(fields))
		for i, f := range t.Fields {
			x, ok := m[f.Name]
			if !ok {
				return nil, fmt.Errorf("field %q is missing from the driver's value", f.Name)
			}
			s[i].Name = f.Name
			if x == nil {
				continue
			}
			var err error
			if s[i].Value, err = fields[i](x); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return s, nil
	}, nil
}

// newMapConverter returns a map as a Struct of its entries in order, each named by the
// canonical text of its key.
func newMapConverter(t *sqlType) (converter, error) {
	key, err := newConverter(t.Key)
	if err != nil {
		return nil, err
	}
	value, err := newConverter(t.Value)
	if err != nil {
		return nil, err
	}
	return func(v any) (record.Value, error) {
		m, ok := v.(duckdbgo.OrderedMap)
		if !ok {
			return nil, unexpected(t, v)
		}
		keys, values := m.Keys(), m.Values()
		s := make(record.Struct, len(keys))
		for i, k := range keys {
			if k == nil {
				return nil, fmt.Errorf("entry %d has a null key", i+1)
			}
			kv, err := key(k)
			if err != nil {
				return nil, fmt.Errorf("key of entry %d: %w", i+1, err)
			}
			s[i].Name = keyText(kv)
			if values[i] == nil {
				continue
			}
			if s[i].Value, err = value(values[i]); err != nil {
				return nil, fmt.Errorf("value of key %q: %w", s[i].Name, err)
			}
		}
		return s, nil
	}, nil
}

// keyText is the text a map key becomes as a field name: record.KeyString's form for
// the kinds a primary key can have, and the JSON encoding for the others.
func keyText(v record.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []byte:
		return hex.EncodeToString(v)
	case record.JSON:
		return string(v)
	}
	if s, err := record.KeyString(v); err == nil {
		return s
	}
	return string(record.AppendJSON(nil, v))
}

func newUnionConverter(t *sqlType) (converter, error) {
	members := make(map[string]converter, len(t.Fields))
	for _, f := range t.Fields {
		c, err := newConverter(f.Type)
		if err != nil {
			return nil, err
		}
		members[f.Name] = c
	}
	return func(v any) (record.Value, error) {
		u, ok := v.(duckdbgo.Union)
		if !ok {
			return nil, unexpected(t, v)
		}
		c, ok := members[u.Tag]
		if !ok {
			return nil, fmt.Errorf("union member %q is not in %s", u.Tag, t)
		}
		if u.Value == nil {
			return nil, nil
		}
		x, err := c(u.Value)
		if err != nil {
			return nil, fmt.Errorf("union member %q: %w", u.Tag, err)
		}
		return x, nil
	}, nil
}
