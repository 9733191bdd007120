package mixpanel

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// A row's fields are written as one JSON object straight from their encoding
// (record.Fields.AppendJSONWith), then cut into each field's value: a property's
// JSON is copied into the request as it is, and the event, distinct_id and time
// columns are read from theirs. No row is decoded into Go values.

// role is what a field is to Mixpanel.
type role uint8

const (
	roleProperty role = iota // a mapped field: an event property or a profile property
	roleEvent                // the event's name
	roleDistinct             // distinct_id / $distinct_id
	roleTime                 // the event's time
	roleOmitted              // a column sent as one of the above, not again as a property
)

// layout is how a sync's fields become a Mixpanel record.
type layout struct {
	names []string
	qlen  []int // length of `"name":` as AppendJSONWith writes it
	roles []role
	// Indexes of the column fields, -1 when the object has none.
	event, distinct, time int
	// The model columns behind them, for messages.
	eventCol, distinctCol, timeCol string
}

// newLayout places the columns the sync configuration names (the engine carries
// them as extra fields, see connector.ColumnUser) among the sync's fields.
func newLayout(info connector.SyncInfo, sc *SyncConfig) (*layout, error) {
	l := &layout{names: info.Fields, event: -1, distinct: -1, time: -1,
		eventCol: sc.Event, distinctCol: sc.DistinctID, timeCol: sc.Time}
	l.roles = make([]role, len(info.Fields))
	for _, name := range info.Fields {
		l.qlen = append(l.qlen, len(record.AppendJSONString(nil, name))+1)
	}
	place := func(key, column string, r role, at *int) error {
		if column == "" {
			return nil
		}
		i, ok := info.ColumnFields[key]
		if !ok || i < 0 || i >= len(info.Fields) {
			// Without the engine's placement, the column travels under its own name.
			i = lastIndex(info.Fields, column)
		}
		if i < 0 {
			return &connector.FieldError{Field: key, Message: fmt.Sprintf("column %q is not among the fields the sync carries (%s)", column, strings.Join(info.Fields, ", "))}
		}
		*at = i
		l.roles[i] = r
		return nil
	}
	if err := errors.Join(
		place("event", sc.Event, roleEvent, &l.event),
		place("distinct_id", sc.DistinctID, roleDistinct, &l.distinct),
		place("time", sc.Time, roleTime, &l.time),
	); err != nil {
		return nil, err
	}
	if err := checkPropertyNames(l, sc.Object); err != nil {
		return nil, err
	}
	return l, nil
}

func lastIndex(names []string, name string) int {
	for i := len(names) - 1; i >= 0; i-- {
		if names[i] == name {
			return i
		}
	}
	return -1
}

// span is where one field's JSON value is in a row's object.
type span struct{ start, end int }

// split finds each field's value in obj, the JSON object AppendJSONWith wrote for
// a row of the layout's fields. It reports false when obj is not of that shape (a
// JSON value whose text is not valid JSON).
func (l *layout) split(obj []byte, spans []span) ([]span, bool) {
	spans = spans[:0]
	i := 1 // after '{'
	for f, q := range l.qlen {
		if f > 0 {
			if i >= len(obj) || obj[i] != ',' {
				return spans, false
			}
			i++
		}
		i += q
		start := i
		i = skipValue(obj, i)
		if i < 0 || i == start {
			return spans, false
		}
		spans = append(spans, span{start, i})
	}
	return spans, i == len(obj)-1 && obj[i] == '}'
}

// skipValue returns the end of the JSON value that starts at b[i], or -1.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			if i = skipString(b, i+1); i < 0 {
				return -1
			}
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // a number or literal ends at its object's close
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return -1
}

// skipString returns the index after the closing quote of a string whose content
// starts at b[i], or -1.
func skipString(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return -1
}

// isNull reports whether a field's JSON is null.
func isNull(v []byte) bool { return string(v) == "null" }

// appendText appends v, a field's JSON, as a JSON string: strings as they are,
// numbers and booleans as their text. Null, objects and lists are refused.
func appendText(dst, v []byte) ([]byte, error) {
	switch {
	case len(v) == 0 || isNull(v):
		return dst, errors.New("is null")
	case v[0] == '"':
		return append(dst, v...), nil
	case v[0] == '{' || v[0] == '[':
		return dst, fmt.Errorf("is %s, not text", describe(v))
	}
	dst = append(dst, '"')
	dst = append(dst, v...)
	return append(dst, '"'), nil
}

func describe(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	}
	return string(v)
}

// textOf returns the text of a JSON string value (v including its quotes).
func textOf(v []byte) string {
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(v, &s) == nil {
				return s
			}
			break
		}
	}
	return string(inner)
}

// msTimeLimit separates seconds from milliseconds the way Mixpanel reads a time:
// 1e11 seconds is in the year 5138, 1e11 milliseconds in 1973.
const msTimeLimit = 1e11

// eventTime reads an event's time from its field's JSON, in milliseconds since the
// epoch: timestamps (RFC 3339 text in UTC, as AppendJSON writes them, or any RFC
// 3339 text), dates (midnight UTC), and numbers of seconds or milliseconds.
func eventTime(v []byte) (int64, error) {
	switch {
	case len(v) == 0 || isNull(v):
		return 0, errors.New("is null")
	case v[0] == '"':
		if ms, ok := parseUTCTimestamp(v[1 : len(v)-1]); ok {
			return ms, nil
		}
		s := textOf(v)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixMilli(), nil
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t.UnixMilli(), nil
		}
		return 0, fmt.Errorf("%s is not a time: use a timestamp, a date, seconds or milliseconds since the epoch, or RFC 3339 text", v)
	case v[0] == '-' || ('0' <= v[0] && v[0] <= '9'):
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			if n > -msTimeLimit && n < msTimeLimit {
				return n * 1000, nil
			}
			return n, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
			return 0, fmt.Errorf("%s is not a time in seconds or milliseconds since the epoch", v)
		}
		if math.Abs(f) < msTimeLimit {
			f *= 1000
		}
		return int64(math.Round(f)), nil
	}
	return 0, fmt.Errorf("is %s, not a time", describe(v))
}

// parseUTCTimestamp reads 2006-01-02T15:04:05[.999999999]Z, the form AppendJSON
// gives every timestamp, without time.Parse's generality.
func parseUTCTimestamp[T string | []byte](s T) (int64, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	ms := 0
	if rest := s[19 : len(s)-1]; len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, false
		}
		frac, ok := num(20, len(s)-1)
		if !ok {
			return 0, false
		}
		for range 10 - len(rest) {
			frac *= 10
		}
		ms = frac / 1_000_000
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d {
		return 0, false // February 30th and the like
	}
	return t.Unix()*1000 + int64(ms), true
}
