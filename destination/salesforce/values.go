package salesforce

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/record"
)

// appendJSONValue appends v as sObject Collections takes it, in Salesforce's
// JSON types:
//
//	null                   null (clears the field)
//	bool                   true / false
//	integer, decimal       an exact JSON number: -12.50
//	float                  a JSON number, never an exponent: 0.000001
//	                       (NaN and ±Inf as strings, which Salesforce refuses per record)
//	string                 a JSON string
//	bytes                  base64 (what base64 fields take)
//	date                   "2024-02-29"
//	timestamp              ISO 8601 in UTC with milliseconds: "2024-02-29T12:00:00.123Z"
//	JSON, list, struct     their JSON text, as a string (for text area fields)
//
// scratch is reused for values whose text is built before it is quoted.
func appendJSONValue(b []byte, v record.Value, scratch *[]byte) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return record.AppendJSONString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return record.AppendJSON(b, v) // "NaN", "Infinity": Salesforce refuses the record
		}
		return appendFloat(b, v)
	case record.Decimal:
		return append(b, v.String()...)
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

// appendFloat writes f in plain decimal notation, which every number field
// takes (-0 is 0).
func appendFloat(b []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendTimestamp writes t in UTC as ISO 8601 with exactly three fraction
// digits and Z, the precision Salesforce datetime fields keep.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	return t.AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// csvNull is what a Bulk API 2.0 CSV cell holds to set a field to null: an empty
// cell leaves the field as it is on update.
const csvNull = "#N/A"

// appendCSVValue appends v as one cell of a Bulk API 2.0 CSV upload: the same
// text as appendJSONValue without JSON's quoting, quoted for CSV where needed.
// null and the empty string are #N/A (Salesforce holds an empty text as null).
func appendCSVValue(b []byte, v record.Value, scratch *[]byte) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, csvNull...)
	case string:
		return appendCSVText(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendCSVText(b, valueText(v))
		}
		return appendFloat(b, v)
	case record.Decimal:
		return append(b, v.String()...)
	case []byte:
		return base64.StdEncoding.AppendEncode(b, v)
	case record.Date:
		return v.Append(b)
	case time.Time:
		return appendTimestamp(b, v)
	case record.JSON:
		return appendCSVText(b, string(v))
	default: // lists and structs
		*scratch = record.AppendJSON((*scratch)[:0], v)
		return appendCSVText(b, unsafe.String(unsafe.SliceData(*scratch), len(*scratch)))
	}
}

// appendCSVText appends s as a CSV cell: quoted when it holds a comma, a quote or
// a line break, with quotes inside doubled; spaces need no quoting (Salesforce
// keeps them). An empty string is #N/A.
func appendCSVText(b []byte, s string) []byte {
	if s == "" {
		return append(b, csvNull...)
	}
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

// valueText is v's text as Salesforce holds it in a text or External ID field
// (what a lookup compares and what Bulk results echo), "" for null.
func valueText(v record.Value) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case record.JSON:
		return string(v)
	case float64:
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "Infinity"
		case math.IsInf(v, -1):
			return "-Infinity"
		}
	}
	return csvCell(v)
}

// csvCell is the text of v's cell in a Bulk API 2.0 CSV upload, as Salesforce
// reads it (unquoted): "#N/A" for null and the empty string.
func csvCell(v record.Value) string {
	var scratch []byte
	b := appendCSVValue(nil, v, &scratch)
	if len(b) > 1 && b[0] == '"' {
		// Unquote what appendCSVText quoted.
		return strings.ReplaceAll(string(b[1:len(b)-1]), `""`, `"`)
	}
	return string(b)
}
