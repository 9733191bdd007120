package hubspot

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/record"
)

// HubSpot takes every property value as a string. appendValue appends v's text
// as a JSON string:
//
//	null                   ""  (clears the property)
//	bool                   "true" / "false"
//	integer, decimal       exact decimal text: "-12.50"
//	float                  plain decimal text, never an exponent: "0.000001"
//	string                 as it is
//	bytes                  base64
//	date                   "2024-02-29"
//	timestamp              RFC 3339 in UTC with milliseconds: "2024-02-29T12:00:00.123Z"
//	JSON, list, struct     their JSON text
//
// scratch is reused for values whose text is built before it is quoted.
func appendValue(b []byte, v record.Value, scratch *[]byte) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, `""`...)
	case string:
		return record.AppendJSONString(b, v)
	case bool:
		if v {
			return append(b, `"true"`...)
		}
		return append(b, `"false"`...)
	case int64:
		b = append(b, '"')
		b = strconv.AppendInt(b, v, 10)
		return append(b, '"')
	case float64:
		switch {
		case math.IsNaN(v):
			return append(b, `"NaN"`...)
		case math.IsInf(v, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(v, -1):
			return append(b, `"-Infinity"`...)
		}
		if v == 0 {
			v = 0 // -0 is 0 to HubSpot
		}
		b = append(b, '"')
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
		return append(b, '"')
	case record.Decimal:
		b = append(b, '"')
		b = append(b, v.String()...)
		return append(b, '"')
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"')
	case record.Date:
		b = append(b, '"')
		b = v.Append(b)
		return append(b, '"')
	case time.Time:
		b = append(b, '"')
		b = appendTimestamp(b, v)
		return append(b, '"')
	case record.JSON:
		return record.AppendJSONString(b, string(v))
	default: // lists and structs
		*scratch = record.AppendJSON((*scratch)[:0], v)
		return record.AppendJSONString(b, unsafe.String(unsafe.SliceData(*scratch), len(*scratch)))
	}
}

// appendTimestamp writes t in UTC as RFC 3339 with exactly three fraction digits,
// the precision HubSpot keeps (datetime properties hold milliseconds).
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	return t.AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// valueText is v's text as HubSpot holds it (what appendValue quotes), for ids.
func valueText(v record.Value) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case record.JSON:
		return string(v)
	}
	var scratch []byte
	quoted := appendValue(nil, v, &scratch)
	// Every other kind's text needs no escaping but may hold a quote or a
	// backslash inside JSON text (lists, structs): unquote properly.
	if s, err := strconv.Unquote(string(quoted)); err == nil {
		return s
	}
	return string(quoted[1 : len(quoted)-1])
}
