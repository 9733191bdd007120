package record

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// AppendJSON appends v as JSON the way a consumer of a webhook expects it:
// integers and decimals as exact numbers, dates as "2006-01-02", timestamps as
// RFC 3339 in UTC, bytes as base64, JSON documents inline, structs as objects in
// declared order. Floats that JSON cannot hold (NaN, ±Inf) become the strings
// "NaN", "Infinity" and "-Infinity".
func AppendJSON(b []byte, v Value) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		switch {
		case math.IsNaN(v):
			return append(b, `"NaN"`...)
		case math.IsInf(v, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(v, -1):
			return append(b, `"-Infinity"`...)
		}
		return appendJSONFloat(b, v)
	case Decimal:
		return append(b, v.String()...)
	case string:
		return AppendJSONString(b, v)
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"')
	case Date:
		b = append(b, '"')
		b = v.Append(b)
		return append(b, '"')
	case time.Time:
		return appendTimestamp(b, v.Unix(), v.Nanosecond())
	case JSON:
		if v == "" {
			return append(b, "null"...)
		}
		return append(b, v...)
	case []Value:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	case Struct:
		b = append(b, '{')
		for i, f := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, f.Name)
			b = append(b, ':')
			b = AppendJSON(b, f.Value)
		}
		return append(b, '}')
	}
	// Not reachable for canonical values; keep the output valid JSON regardless.
	return append(b, "null"...)
}

// appendJSONFloat formats like encoding/json: the shortest representation that
// round-trips, switching to exponent form for very large and very small numbers.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// safeASCII marks the bytes a JSON string holds as they are.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as in encoding/json.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most text is plain ASCII: skip over it eight bytes at a time when none of
		// them is a control character, a quote, a backslash or non-ASCII.
		for i+8 <= len(s) && safeASCII[s[i]] && safeASCII[s[i+1]] && safeASCII[s[i+2]] && safeASCII[s[i+3]] &&
			safeASCII[s[i+4]] && safeASCII[s[i+5]] && safeASCII[s[i+6]] && safeASCII[s[i+7]] {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEncodedJSON writes the JSON of the first encoded value of b (valid, see
// ValidEncoding) and returns the bytes after it, without decoding into Go values.
func appendEncodedJSON(b, enc []byte) ([]byte, []byte) {
	tag, enc := enc[0], enc[1:]
	switch tag {
	case tagNull:
		return append(b, "null"...), enc
	case tagFalse:
		return append(b, "false"...), enc
	case tagTrue:
		return append(b, "true"...), enc
	case tagInt:
		v, k := binary.Varint(enc)
		return strconv.AppendInt(b, v, 10), enc[k:]
	case tagFloat:
		v := math.Float64frombits(binary.LittleEndian.Uint64(enc))
		return AppendJSON(b, v), enc[8:]
	case tagDecimal:
		s, rest, _ := decodeBytes(enc)
		text := unsafe.String(unsafe.SliceData(s), len(s))
		if canonicalDecimal(text) {
			return append(b, s...), rest
		}
		d, _ := ParseDecimal(text)
		return append(b, d.String()...), rest
	case tagString:
		s, rest, _ := decodeBytes(enc)
		return AppendJSONString(b, unsafe.String(unsafe.SliceData(s), len(s))), rest
	case tagBytes:
		s, rest, _ := decodeBytes(enc)
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, s)
		return append(b, '"'), rest
	case tagJSON:
		s, rest, _ := decodeBytes(enc)
		if len(s) == 0 {
			return append(b, "null"...), rest
		}
		return append(b, s...), rest
	case tagDate:
		v, k := binary.Varint(enc)
		b = append(b, '"')
		b = dateFromDays(v).Append(b)
		return append(b, '"'), enc[k:]
	case tagTimestamp:
		sec, k := binary.Varint(enc)
		enc = enc[k:]
		ns, k := binary.Uvarint(enc)
		return appendTimestamp(b, sec, int(ns)), enc[k:]
	case tagList:
		n, k := binary.Uvarint(enc)
		enc = enc[k:]
		b = append(b, '[')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b, enc = appendEncodedJSON(b, enc)
		}
		return append(b, ']'), enc
	case tagStruct:
		n, k := binary.Uvarint(enc)
		enc = enc[k:]
		b = append(b, '{')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			name, rest, _ := decodeBytes(enc)
			b = AppendJSONString(b, unsafe.String(unsafe.SliceData(name), len(name)))
			b = append(b, ':')
			b, enc = appendEncodedJSON(b, rest)
		}
		return append(b, '}'), enc
	}
	return append(b, "null"...), nil
}

// appendTimestamp writes a quoted RFC 3339 UTC timestamp with the fraction trimmed,
// exactly as time.RFC3339Nano does, without parsing a layout for every value.
func appendTimestamp(b []byte, sec int64, nsec int) []byte {
	t := time.Unix(sec, int64(nsec)).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	h, mi, s := t.Clock()
	b = append(b, '"',
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10))
	if nsec != 0 {
		var frac [10]byte
		frac[0] = '.'
		n := nsec
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + n%10)
			n /= 10
		}
		end := 10
		for frac[end-1] == '0' {
			end--
		}
		b = append(b, frac[:end]...)
	}
	return append(b, 'Z', '"')
}
