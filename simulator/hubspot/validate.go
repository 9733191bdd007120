package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// invalid is one property value HubSpot refuses, with HubSpot's code and text.
type invalid struct {
	name, value, code, message string
	hasValue                   bool // the value is reported back (propertyValue)
}

var (
	// numberRE is what number properties accept since HubSpot's 2023 change:
	// digits, one optional leading "-" and one optional ".".
	numberRE = regexp.MustCompile(`^-?(\d+\.?\d*|\.\d+)$`)
	epochRE  = regexp.MustCompile(`^-?\d+$`)
	dateRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	// emailRE is a syntactic check; HubSpot also refuses unknown top-level
	// domains (e.g. ".con"), which this does not model.
	emailRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" +
		`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$`)
)

// normalize checks the properties an input writes and returns them in HubSpot's
// stored form. "" clears a value and passes for every writable property. The
// problems are in property-name order.
func (ot *objectType) normalize(in map[string]string) (map[string]string, []invalid) {
	out := make(map[string]string, len(in))
	var bad []invalid
	for _, name := range sortedKeys(in) {
		v := in[name]
		d, ok := ot.props[name]
		switch {
		case !ok:
			bad = append(bad, invalid{name: name, value: v, code: "PROPERTY_DOESNT_EXIST",
				message: fmt.Sprintf("Property %q does not exist", name)})
		case d.ReadOnly:
			bad = append(bad, invalid{name: name, value: v, code: "READ_ONLY_VALUE", hasValue: true,
				message: fmt.Sprintf("%q is a calculated property; its value cannot be set.", name)})
		case v == "":
			out[name] = ""
		default:
			norm, problem := ot.checkValue(d, v)
			if problem != nil {
				bad = append(bad, *problem)
				continue
			}
			out[name] = norm
		}
	}
	return out, bad
}

// checkValue validates one non-empty value and returns its stored form.
func (ot *objectType) checkValue(d *defined, v string) (string, *invalid) {
	refuse := func(code, message string) (string, *invalid) {
		return "", &invalid{name: d.Name, value: v, code: code, message: message, hasValue: true}
	}
	switch d.Type {
	case "number":
		if !numberRE.MatchString(v) {
			return refuse("INVALID_INTEGER", v+" was not a valid number.")
		}
	case "enumeration", "bool":
		if d.ExternalOptions {
			break
		}
		allowed := d.optionValues()
		values := []string{v}
		if d.FieldType == "checkbox" {
			values = strings.Split(v, ";")
		}
		for _, one := range values {
			if !slices.Contains(allowed, one) {
				return refuse("INVALID_OPTION", fmt.Sprintf("%s was not one of the allowed options: [%s]", v, strings.Join(allowed, ", ")))
			}
		}
	case "date":
		t, ok := parseTime(v)
		if !ok {
			return refuse("INVALID_LONG", v+" was not a valid long.")
		}
		if h, m, s := t.Clock(); h != 0 || m != 0 || s != 0 || t.Nanosecond() != 0 {
			ms := t.Nanosecond() / int(time.Millisecond)
			return refuse("INVALID_DATE", fmt.Sprintf("%s is at %d:%d:%d.%d UTC, not midnight!", v, h, m, s, ms))
		}
		return t.Format(time.DateOnly), nil
	case "datetime":
		t, ok := parseTime(v)
		if !ok {
			return refuse("INVALID_LONG", v+" was not a valid long.")
		}
		return instant(t), nil
	}
	if ot.name == "contacts" && d.Name == "email" {
		if !emailRE.MatchString(v) {
			return refuse("INVALID_EMAIL", "Email address "+v+" is invalid")
		}
		return strings.ToLower(v), nil
	}
	return v, nil
}

// parseTime reads a date or datetime value: epoch milliseconds, ISO 8601, or a
// bare date (midnight UTC).
func parseTime(v string) (time.Time, bool) {
	if epochRE.MatchString(v) {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(ms).UTC(), true
	}
	if dateRE.MatchString(v) {
		t, err := time.Parse(time.DateOnly, v)
		return t, err == nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// validationResult is one entry of the JSON list HubSpot embeds in the message
// of a validation error.
type validationResult struct {
	IsValid               bool    `json:"isValid"`
	Message               string  `json:"message"`
	Error                 string  `json:"error"`
	Name                  string  `json:"name"`
	LocalizedErrorMessage string  `json:"localizedErrorMessage"`
	PropertyValue         *string `json:"propertyValue,omitempty"`
	PortalID              int64   `json:"portalId"`
}

// propertyValuesMessage is the message of a validation error: "Property values
// were not valid: " followed by the problems as JSON.
func propertyValuesMessage(bad []invalid, portalID int64) string {
	results := make([]validationResult, len(bad))
	for i, b := range bad {
		results[i] = validationResult{Message: b.message, Error: b.code, Name: b.name,
			LocalizedErrorMessage: b.message, PortalID: portalID}
		if b.hasValue {
			results[i].PropertyValue = &bad[i].value
		}
	}
	return "Property values were not valid: " + string(marshal(results))
}

// details are the problems as the errors[] of a validation error.
func details(bad []invalid) []errorDetail {
	out := make([]errorDetail, len(bad))
	for i, b := range bad {
		out[i] = errorDetail{Message: b.message, Code: b.code, Context: map[string][]string{"propertyName": {b.name}}}
	}
	return out
}

// marshal encodes v as JSON without escaping <, > and &, as HubSpot's Java
// encoder does not.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every value encoded here is built by this package.
		panic(fmt.Sprintf("hubspot: encode answer: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
