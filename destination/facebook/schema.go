package facebook

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// schema is a sync's customer-file schema: the keys every request names, in
// Meta's order, and where each row carries their values.
type schema struct {
	keys    []string // Meta's key names, the request's schema
	columns []string // the model column of each key, for messages
	fields  []int    // the index in the record's fields of each key's value
	value   int      // the index in keys of LOOKALIKE_VALUE; -1 when absent
	// zip and country are the indexes in keys of ZIP and COUNTRY; -1 when absent.
	zip, country int
	// strong marks the keys that name one person on their own; a removal names
	// a person by them alone when it has one (see removalCells).
	strong []bool
}

// strongKeys identify one person on their own. The others (names, gender,
// dates, places) narrow a match but are shared by many people: removing every
// member who shares a country is not what a removal means.
var strongKeys = []string{"EXTERN_ID", "EMAIL", "PHONE", "MADID"}

func newSchema(sc *SyncConfig, info connector.SyncInfo) (*schema, error) {
	s := &schema{value: -1, zip: -1, country: -1}
	for _, k := range sc.keys() {
		column := strings.TrimSpace(sc.Identifiers[k.written])
		field, ok := info.ColumnFields["identifiers."+k.written]
		if !ok {
			// A destination opened outside the engine (tests, tools) may name the
			// columns among its fields.
			field = slices.Index(info.Fields, column)
		}
		if field < 0 || field >= len(info.Fields) {
			return nil, fmt.Errorf("identifiers.%s: column %q is not among the fields the sync carries (%s)", k.written, column, strings.Join(info.Fields, ", "))
		}
		switch k.key {
		case ValueKey:
			s.value = len(s.keys)
		case "ZIP":
			s.zip = len(s.keys)
		case "COUNTRY":
			s.country = len(s.keys)
		}
		s.keys = append(s.keys, k.key)
		s.columns = append(s.columns, column)
		s.fields = append(s.fields, field)
		s.strong = append(s.strong, slices.Contains(strongKeys, k.key))
	}
	return s, nil
}

// errNoIdentifier is a row none of whose identifiers holds a usable value.
var errNoIdentifier = errors.New("no identifier")

// cells normalises a row's values into the cells Meta receives, one per key (""
// for an unknown cell), appended to dst. A value that cannot be an identifier
// fails the row with the reason; so does a row without any identifier.
func (s *schema) cells(dst []string, f record.Fields) ([]string, error) {
	values := f.Values()
	start := len(dst)
	found := false
	for i, key := range s.keys {
		var v record.Value
		if s.fields[i] < len(values) {
			v = values[s.fields[i]]
		}
		cell, err := s.cell(key, v)
		if err != nil {
			return dst, fmt.Errorf("%s (column %s): %w", key, s.columns[i], err)
		}
		if cell != "" && i != s.value {
			found = true
		}
		dst = append(dst, cell)
	}
	if !found {
		return dst, fmt.Errorf("%w to match on: %s are all empty; fill at least one in the model", errNoIdentifier, s.describe())
	}
	if s.zip >= 0 && s.country >= 0 && dst[start+s.country] == hashedUS && s.fields[s.zip] < len(values) {
		// A US ZIP held as a number lost its leading zeros (02134 is 2134):
		// put them back. Elsewhere a short number may be a whole postal code
		// (8001 in Zürich), so only a row in the US is padded.
		if text, ok := paddedZIP(values[s.fields[s.zip]]); ok {
			cell, err := Normalize("ZIP", text)
			if err != nil {
				return dst, fmt.Errorf("ZIP (column %s): %w", s.columns[s.zip], err)
			}
			dst[start+s.zip] = cell
		}
	}
	return dst, nil
}

// hashedUS is the COUNTRY cell of a row in the United States.
var hashedUS = func() string { h, _ := Normalize("COUNTRY", "us"); return h }()

// paddedZIP is a ZIP held as an integer of fewer than five digits, written with
// the leading zeros a US ZIP has.
func paddedZIP(v record.Value) (string, bool) {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case float64:
		if v != math.Trunc(v) {
			return "", false
		}
		n = int64(v)
	case record.Decimal:
		i, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return "", false
		}
		n = i
	default:
		return "", false
	}
	if n <= 0 || n > 9999 {
		return "", false
	}
	return fmt.Sprintf("%05d", n), true
}

// describe lists the identifier keys with their columns, for messages.
func (s *schema) describe() string {
	var parts []string
	for i, k := range s.keys {
		if i != s.value {
			parts = append(parts, k+" ("+s.columns[i]+")")
		}
	}
	return strings.Join(parts, ", ")
}

// cell turns one value into its cell: normalised and hashed for an identifier,
// a number for the customer value.
func (s *schema) cell(key string, v record.Value) (string, error) {
	if key == ValueKey {
		return customerValue(v)
	}
	raw, err := identifierText(key, v)
	if err != nil || raw == "" {
		return "", err
	}
	return Normalize(key, raw)
}

// identifierText is a warehouse value as the text Meta's rules apply to. A date
// or a timestamp gives its year, month or day to DOBY, DOBM and DOBD, so that
// one birth-date column can serve all three; a timestamp is an instant (in UTC,
// as record.Value holds it) and gives its UTC day.
func identifierText(key string, v record.Value) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10), nil
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case record.Decimal:
		return v.String(), nil
	case record.Date:
		return datePart(key, v.Year, int(v.Month), v.Day, v.String())
	case time.Time:
		t := v.UTC()
		return datePart(key, t.Year(), int(t.Month()), t.Day(), t.Format(time.RFC3339Nano))
	}
	kind, _ := record.KindOf(v)
	return "", fmt.Errorf("is a %s value, which cannot be an identifier: select it as text in the model", kind)
}

func datePart(key string, y, m, d int, whole string) (string, error) {
	switch key {
	case "DOBY":
		return fmt.Sprintf("%04d", y), nil
	case "DOBM":
		return fmt.Sprintf("%02d", m), nil
	case "DOBD":
		return fmt.Sprintf("%02d", d), nil
	}
	return "", fmt.Errorf("is a date (%s), which is not a %s: map a text column to it", whole, describeKey(key))
}

// customerValue is a LOOKALIKE_VALUE cell: a number of at least 0 as JSON
// writes it; "" when the value is null.
func customerValue(v record.Value) (string, error) {
	var f float64
	var text string
	switch v := v.(type) {
	case nil:
		return "", nil
	case int64:
		f, text = float64(v), strconv.FormatInt(v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("%v is not a customer value", v)
		}
		f, text = v, strconv.FormatFloat(v, 'f', -1, 64)
	case record.Decimal:
		f, text = v.Float64(), v.String()
	case string:
		r, ok := new(big.Rat).SetString(strings.TrimSpace(v))
		if !ok {
			return "", fmt.Errorf("%q is not a number", v)
		}
		f, _ = r.Float64()
		text = strconv.FormatFloat(f, 'f', -1, 64)
	default:
		kind, _ := record.KindOf(v)
		return "", fmt.Errorf("is a %s value, not a number", kind)
	}
	if f < 0 {
		return "", fmt.Errorf("%s is negative: Meta takes customer values of 0 or more", text)
	}
	return text, nil
}

// removalCells are the cells that name a row's person in a removal: its strong
// identifiers alone when it has one, else all of them (Meta removes every
// member a removal's identifiers match). The customer value is left out.
func (s *schema) removalCells(cells []string) []string {
	out := slices.Clone(cells)
	hasStrong := false
	for i, c := range cells {
		if s.strong[i] && c != "" {
			hasStrong = true
		}
	}
	for i := range out {
		if i == s.value || (hasStrong && !s.strong[i]) {
			out[i] = ""
		}
	}
	return out
}

// sameIdentifiers reports whether two rows name the same person: equal cells
// but for the customer value.
func (s *schema) sameIdentifiers(a, b []string) bool {
	for i := range a {
		if i != s.value && a[i] != b[i] {
			return false
		}
	}
	return true
}
