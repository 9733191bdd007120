package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// The binary encoding is canonical: equal values always encode to equal bytes, which
// is what lets a row hash stand for a row's content. Baselines store it as well, so the
// tags below are part of the on-disk format: never renumber them.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagDecimal
	tagString
	tagBytes
	tagDate
	tagTimestamp
	tagJSON
	tagList
	tagStruct
)

// ErrCorrupt reports bytes that are not a valid encoding.
var ErrCorrupt = errors.New("record: corrupt value encoding")

// AppendValue appends the canonical encoding of v to b. It panics only on a
// non-canonical Go type, which is a bug in a source: sources check with KindOf.
func AppendValue(b []byte, v Value) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, tagNull)
	case bool:
		if v {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case int64:
		b = append(b, tagInt)
		return binary.AppendVarint(b, v)
	case float64:
		b = append(b, tagFloat)
		switch {
		case v == 0:
			v = 0 // -0 and +0 are the same value
		case math.IsNaN(v):
			v = math.NaN()
		}
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	case Decimal:
		return appendBytes(append(b, tagDecimal), v.String())
	case string:
		return appendBytes(append(b, tagString), v)
	case []byte:
		return appendBytes(append(b, tagBytes), string(v))
	case Date:
		b = append(b, tagDate)
		return binary.AppendVarint(b, v.daysSinceEpoch())
	case time.Time:
		b = append(b, tagTimestamp)
		b = binary.AppendVarint(b, v.Unix())
		return binary.AppendUvarint(b, uint64(v.Nanosecond()))
	case JSON:
		return appendBytes(append(b, tagJSON), string(v))
	case []Value:
		b = append(b, tagList)
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, e := range v {
			b = AppendValue(b, e)
		}
		return b
	case Struct:
		b = append(b, tagStruct)
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, f := range v {
			b = appendBytes(b, f.Name)
			b = AppendValue(b, f.Value)
		}
		return b
	}
	panic(fmt.Sprintf("record: AppendValue of non-canonical type %T", v))
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendValues appends a count and then each value's encoding.
func AppendValues(b []byte, vs []Value) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = AppendValue(b, v)
	}
	return b
}

// DecodeValues decodes what AppendValues wrote, appending to dst.
func DecodeValues(dst []Value, b []byte) ([]Value, error) {
	return decodeValues(dst, b, false)
}

// DecodeValuesShared is DecodeValues without copying: strings, bytes and JSON alias
// b, which must not change for as long as the values are in use. The send path
// decodes every row this way from a buffer it owns for the life of a batch.
func DecodeValuesShared(dst []Value, b []byte) ([]Value, error) {
	return decodeValues(dst, b, true)
}

func decodeValues(dst []Value, b []byte, share bool) ([]Value, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return dst, ErrCorrupt
	}
	b = b[k:]
	for range n {
		var v Value
		var err error
		v, b, err = decodeValue(b, share, 0)
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	if len(b) != 0 {
		return dst, ErrCorrupt
	}
	return dst, nil
}

// DecodeValue decodes one value and returns the bytes after it.
func DecodeValue(b []byte) (Value, []byte, error) {
	return decodeValue(b, false, 0)
}

func decodeValue(b []byte, share bool, depth int) (Value, []byte, error) {
	if len(b) == 0 || depth > maxDepth {
		return nil, nil, ErrCorrupt
	}
	str := func(p []byte) string {
		if share && len(p) > 0 {
			return unsafe.String(&p[0], len(p))
		}
		return string(p)
	}
	tag, b := b[0], b[1:]
	switch tag {
	case tagNull:
		return nil, b, nil
	case tagFalse:
		return false, b, nil
	case tagTrue:
		return true, b, nil
	case tagInt:
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, ErrCorrupt
		}
		return v, b[k:], nil
	case tagFloat:
		if len(b) < 8 {
			return nil, nil, ErrCorrupt
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case tagDecimal, tagString, tagBytes, tagJSON:
		s, rest, err := decodeBytes(b)
		if err != nil {
			return nil, nil, err
		}
		switch tag {
		case tagDecimal:
			text := str(s)
			if canonicalDecimal(text) {
				return Decimal{text: text}, rest, nil
			}
			d, err := ParseDecimal(text)
			if err != nil {
				return nil, nil, ErrCorrupt
			}
			return d, rest, nil
		case tagString:
			return str(s), rest, nil
		case tagBytes:
			if share {
				return s[:len(s):len(s)], rest, nil
			}
			return append([]byte{}, s...), rest, nil
		default:
			return JSON(str(s)), rest, nil
		}
	case tagDate:
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, ErrCorrupt
		}
		return dateFromDays(v), b[k:], nil
	case tagTimestamp:
		sec, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, ErrCorrupt
		}
		b = b[k:]
		ns, k := binary.Uvarint(b)
		if k <= 0 || ns >= 1e9 {
			return nil, nil, ErrCorrupt
		}
		return time.Unix(sec, int64(ns)).UTC(), b[k:], nil
	case tagList:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, nil, ErrCorrupt
		}
		b = b[k:]
		list := make([]Value, 0, n)
		for range n {
			var v Value
			var err error
			if v, b, err = decodeValue(b, share, depth+1); err != nil {
				return nil, nil, err
			}
			list = append(list, v)
		}
		return list, b, nil
	case tagStruct:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, nil, ErrCorrupt
		}
		b = b[k:]
		s := make(Struct, 0, n)
		for range n {
			name, rest, err := decodeBytes(b)
			if err != nil {
				return nil, nil, err
			}
			var v Value
			if v, b, err = decodeValue(rest, share, depth+1); err != nil {
				return nil, nil, err
			}
			s = append(s, Field{Name: str(name), Value: v})
		}
		return s, b, nil
	}
	return nil, nil, ErrCorrupt
}

// canonicalDecimal reports whether s is already in Decimal's canonical text form.
func canonicalDecimal(s string) bool {
	body := s
	neg := len(body) > 0 && body[0] == '-'
	if neg {
		body = body[1:]
	}
	intPart, frac, hasDot := body, "", false
	for i := 0; i < len(body); i++ {
		if body[i] == '.' {
			intPart, frac, hasDot = body[:i], body[i+1:], true
			break
		}
	}
	if intPart == "" || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return false
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return false
	}
	if neg {
		// no negative zero
		nonZero := false
		for i := 0; i < len(body); i++ {
			if body[i] != '0' && body[i] != '.' {
				nonZero = true
				break
			}
		}
		return nonZero
	}
	return true
}

func decodeBytes(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, ErrCorrupt
	}
	end := k + int(n)
	return b[k:end], b[end:], nil
}

// ValidEncoding reports whether b is a valid AppendValues encoding of n values,
// without allocating: the engine checks what it reads back from disk once, so that
// Fields can decode it later without an error path.
func ValidEncoding(b []byte, n int) bool {
	count, k := binary.Uvarint(b)
	if k <= 0 || count != uint64(n) {
		return false
	}
	b = b[k:]
	for range count {
		var ok bool
		if b, ok = skipValue(b, 0); !ok {
			return false
		}
	}
	return len(b) == 0
}

// maxDepth bounds how deeply lists and structs nest in an encoding; decoding and
// validating agree on it (DuckDB's own types nest far less).
const maxDepth = 1000

// skipValue returns the bytes after one valid value.
func skipValue(b []byte, depth int) ([]byte, bool) {
	if len(b) == 0 || depth > maxDepth {
		return nil, false
	}
	tag, b := b[0], b[1:]
	switch tag {
	case tagNull, tagFalse, tagTrue:
		return b, true
	case tagInt, tagDate:
		_, k := binary.Varint(b)
		return b[max(k, 0):], k > 0
	case tagFloat:
		if len(b) < 8 {
			return nil, false
		}
		return b[8:], true
	case tagString, tagBytes, tagJSON:
		_, rest, err := decodeBytes(b)
		return rest, err == nil
	case tagDecimal:
		s, rest, err := decodeBytes(b)
		if err != nil {
			return nil, false
		}
		if !canonicalDecimal(unsafe.String(unsafe.SliceData(s), len(s))) {
			if _, err := ParseDecimal(string(s)); err != nil {
				return nil, false
			}
		}
		return rest, true
	case tagTimestamp:
		_, k := binary.Varint(b)
		if k <= 0 {
			return nil, false
		}
		b = b[k:]
		ns, k := binary.Uvarint(b)
		return b[max(k, 0):], k > 0 && ns < 1e9
	case tagList:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, false
		}
		b = b[k:]
		for range n {
			var ok bool
			if b, ok = skipValue(b, depth+1); !ok {
				return nil, false
			}
		}
		return b, true
	case tagStruct:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, false
		}
		b = b[k:]
		for range n {
			_, rest, err := decodeBytes(b)
			if err != nil {
				return nil, false
			}
			var ok bool
			if b, ok = skipValue(rest, depth+1); !ok {
				return nil, false
			}
		}
		return b, true
	}
	return nil, false
}
