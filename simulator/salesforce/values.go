package salesforce

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Stored values have one Go type per field type: string for text, picklists,
// ids and references; int64 for int; float64 for double, currency and percent
// (rounded to the field's scale); bool for boolean; "2006-01-02" strings for
// dates and "2006-01-02T15:04:05.000+0000" strings (UTC) for datetimes, as
// Salesforce writes them. A field set to null is absent from a record's map.

// sfDateTime is how Salesforce writes a datetime.
const sfDateTime = "2006-01-02T15:04:05.000-0700"

func formatDateTime(t time.Time) string { return t.UTC().Format(sfDateTime) }

// formatValue is a stored value as text: how Bulk results, Find and indexes see it.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return formatDateTime(v)
	}
	return fmt.Sprint(v)
}

// typeError is a value that is not of its field's type; token names what was
// found, as Salesforce's JSON reader does (VALUE_STRING, START_OBJECT…).
type typeError struct {
	token string
	text  string
}

// javaTypes name field types in JSON parser errors.
func (t FieldType) javaType() string {
	switch t {
	case TypeInt:
		return "int"
	case TypeDouble, TypeCurrency, TypePercent:
		return "double"
	case TypeBoolean:
		return "boolean"
	case TypeDate:
		return "date"
	case TypeDateTime:
		return "datetime"
	}
	return "string"
}

var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
}

// convertText reads a value written as text (a CSV cell, a JSON string) for f.
func convertText(f *Field, s string) (any, *typeError) {
	bad := &typeError{token: "VALUE_STRING", text: s}
	switch f.Type {
	case TypeInt:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || n != math.Trunc(n) || math.IsInf(n, 0) {
			return nil, bad
		}
		if math.Abs(n) >= 1<<62 {
			return n, nil // out of range: validate reports it
		}
		return int64(n), nil
	case TypeDouble, TypeCurrency, TypePercent:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, bad
		}
		p := math.Pow10(f.Scale)
		return math.Round(n*p) / p, nil
	case TypeBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, bad
	case TypeDate:
		s = strings.TrimSpace(s)
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return d.Format(time.DateOnly), nil
		}
		for _, layout := range dateTimeLayouts[:3] {
			if t, err := time.Parse(layout, s); err == nil {
				return t.Format(time.DateOnly), nil
			}
		}
		return nil, bad
	case TypeDateTime:
		s = strings.TrimSpace(s)
		for _, layout := range dateTimeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return formatDateTime(t), nil
			}
		}
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return formatDateTime(d), nil
		}
		return nil, bad
	case TypeID, TypeReference:
		if id := canonicalID(strings.TrimSpace(s)); id != "" {
			return id, nil
		}
		return s, nil // validate reports a malformed id
	}
	return s, nil
}

// convertJSON reads a decoded JSON value (numbers as json.Number) for f. A
// JSON null, and "" as Salesforce reads it, are nil: the field is cleared.
func convertJSON(f *Field, raw any) (any, *typeError) {
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return convertText(f, v)
	case json.Number:
		switch {
		case f.Type.isText():
			return v.String(), nil
		case f.Type.isNumber():
			return convertText(f, v.String())
		}
		token := "VALUE_NUMBER_INT"
		if strings.ContainsAny(v.String(), ".eE") {
			token = "VALUE_NUMBER_FLOAT"
		}
		return nil, &typeError{token: token, text: v.String()}
	case bool:
		switch {
		case f.Type == TypeBoolean:
			return v, nil
		case f.Type.isText():
			return strconv.FormatBool(v), nil
		}
		if v {
			return nil, &typeError{token: "VALUE_TRUE", text: "true"}
		}
		return nil, &typeError{token: "VALUE_FALSE", text: "false"}
	case map[string]any:
		return nil, &typeError{token: "START_OBJECT", text: "{"}
	case []any:
		return nil, &typeError{token: "START_ARRAY", text: "["}
	}
	return nil, &typeError{token: "VALUE_EMBEDDED_OBJECT", text: fmt.Sprint(raw)}
}

// emailRE is the shape of an address Salesforce accepts: something, @, a domain
// with a dot.
var emailRE = regexp.MustCompile(`^[^\s@"(),:;<>\[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

// validate reports what is wrong with a converted, non-null value of f.
func validate(f *Field, v any) *recordError {
	fields := []string{f.Name}
	switch {
	case f.Type.isText():
		s := v.(string)
		if utf8.RuneCountInString(s) > f.Length {
			return &recordError{"STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, s, f.Length), fields}
		}
		if f.Type == TypeEmail && !emailRE.MatchString(s) {
			return &recordError{"INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Label, s), fields}
		}
		if f.Type == TypePicklist && f.Restricted && !slices.Contains(f.Values, s) {
			return &recordError{"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, s), fields}
		}
	case f.Type.isNumber():
		var n float64
		switch v := v.(type) {
		case int64:
			n = float64(v)
		case float64:
			n = v
		}
		if math.Abs(n) >= math.Pow10(f.Precision-f.Scale) {
			return &recordError{"NUMBER_OUTSIDE_VALID_RANGE", fmt.Sprintf("%s: value outside of valid range on numeric field: %s", f.Label, formatValue(v)), fields}
		}
	case f.Type == TypeID || f.Type == TypeReference:
		if s := v.(string); !validID(s) {
			return &recordError{"MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, s), fields}
		}
	}
	return nil
}
