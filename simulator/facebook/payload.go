package facebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// keyKind is how a schema key's values are checked.
type keyKind int

const (
	kindHashed   keyKind = iota // lower-case hex SHA-256 of the normalised value
	kindMADID                   // mobile advertiser id, lower case, not hashed
	kindExternID                // the advertiser's id, as is
	kindPageUID                 // page-scoped user id, digits
	kindValue                   // LOOKALIKE_VALUE: a number ≥ 0, not an identifier
	kindDPO                     // DATA_PROCESSING_OPTIONS: a list such as ["LDU"]
	kindDPOGeo                  // DATA_PROCESSING_OPTIONS_COUNTRY / _STATE: an integer
)

// schemaKeys are the keys a payload's schema may name.
var schemaKeys = map[string]keyKind{
	"EMAIL": kindHashed, "PHONE": kindHashed, "GEN": kindHashed,
	"DOBY": kindHashed, "DOBM": kindHashed, "DOBD": kindHashed,
	"LN": kindHashed, "FN": kindHashed, "FI": kindHashed,
	"CT": kindHashed, "ST": kindHashed, "ZIP": kindHashed, "COUNTRY": kindHashed,
	"MADID":                           kindMADID,
	"EXTERN_ID":                       kindExternID,
	"PAGEUID":                         kindPageUID,
	"LOOKALIKE_VALUE":                 kindValue,
	"DATA_PROCESSING_OPTIONS":         kindDPO,
	"DATA_PROCESSING_OPTIONS_COUNTRY": kindDPOGeo,
	"DATA_PROCESSING_OPTIONS_STATE":   kindDPOGeo,
}

// singleKeySchemas are the single-key names of the /users reference, and the key
// each stands for. A schema given as a string may also be any identifier key of
// the multi-key list but PAGEUID (the guide sends "EXTERN_ID" and "EMAIL").
var singleKeySchemas = map[string]string{
	"EMAIL_SHA256":         "EMAIL",
	"PHONE_SHA256":         "PHONE",
	"MOBILE_ADVERTISER_ID": "MADID",
}

// IdentifierKeys are the schema keys that identify a person, in the order of
// Meta's list.
var IdentifierKeys = []string{"EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD",
	"LN", "FN", "FI", "CT", "ST", "ZIP", "MADID", "COUNTRY", "PAGEUID"}

// payload is a decoded payload parameter. Rows are decoded as strings when they
// all are (the common case, and much cheaper), else as JSON values.
type payload struct {
	schema []string // canonical keys, in the request's order
	order  []int    // schema positions of the identifier keys, sorted by key name
	n      int      // rows
	str    [][]string
	flat   []string // single-key rows sent as plain strings
	values []any
}

// payloadError is a problem that fails the whole request.
type payloadError struct {
	tooMany bool
	message string // after "(#100) "
}

func (e *payloadError) Error() string { return e.message }

// parsePayload decodes a payload parameter (a JSON object, or a string holding one).
func parsePayload(text string, maxRows int) (payload, error) {
	if strings.TrimSpace(text) == "" {
		return payload{}, &payloadError{message: "The parameter payload is required"}
	}
	var raw struct {
		Schema json.RawMessage `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return payload{}, &payloadError{message: "param payload must be a JSON object with schema and data: " + err.Error()}
	}
	if len(raw.Schema) == 0 || string(raw.Schema) == "null" {
		return payload{}, &payloadError{message: "The parameter payload[schema] is required"}
	}
	if len(raw.Data) == 0 || string(raw.Data) == "null" {
		return payload{}, &payloadError{message: "The parameter payload[data] is required"}
	}
	var p payload
	switch {
	case scanStrings(raw.Data, &p):
	case json.Unmarshal(raw.Data, &p.str) == nil:
		p.n = len(p.str)
	case json.Unmarshal(raw.Data, &p.flat) == nil:
		p.str, p.n = nil, len(p.flat)
	default:
		p.str, p.flat = nil, nil
		dec := json.NewDecoder(bytes.NewReader(raw.Data))
		dec.UseNumber()
		if err := dec.Decode(&p.values); err != nil {
			return payload{}, &payloadError{message: "param payload[data] must be a list of rows: " + err.Error()}
		}
		p.n = len(p.values)
	}
	if p.n > maxRows {
		return payload{}, &payloadError{tooMany: true}
	}
	schema, err := parseSchema(raw.Schema)
	if err != nil {
		return payload{}, &payloadError{message: err.Error()}
	}
	p.schema = schema
	for i, k := range schema {
		if k := schemaKeys[k]; k <= kindPageUID {
			p.order = append(p.order, i)
		}
	}
	slices.SortFunc(p.order, func(a, b int) int { return strings.Compare(schema[a], schema[b]) })
	return p, nil
}

// scanStrings decodes data that is a list of lists of plain strings, or a list
// of plain strings, without encoding/json: a 10,000-row payload is most of a
// request's work. Cells are substrings of one copy of data. Anything else (an
// escape, a number, null, nesting) reports false, for encoding/json to decode.
func scanStrings(data []byte, p *payload) bool {
	text := string(data)
	i := 0
	ws := func() {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(text) || text[i] != '"' {
			return "", false
		}
		start := i + 1
		for j := start; j < len(text); j++ {
			switch c := text[j]; {
			case c == '"':
				i = j + 1
				return text[start:j], true
			case c == '\\' || c < 0x20:
				return "", false
			}
		}
		return "", false
	}
	// list reads [ item, … ] calling item for each element.
	list := func(item func() bool) bool {
		if i >= len(text) || text[i] != '[' {
			return false
		}
		i++
		ws()
		if i < len(text) && text[i] == ']' {
			i++
			return true
		}
		for {
			ws()
			if !item() {
				return false
			}
			ws()
			if i >= len(text) {
				return false
			}
			switch text[i] {
			case ',':
				i++
			case ']':
				i++
				return true
			default:
				return false
			}
		}
	}
	ws()
	var rows [][]string
	var flat []string
	ok := list(func() bool {
		if i < len(text) && text[i] == '"' && rows == nil {
			v, ok := str()
			flat = append(flat, v)
			return ok
		}
		if flat != nil {
			return false
		}
		var r []string
		ok := list(func() bool {
			v, ok := str()
			r = append(r, v)
			return ok
		})
		rows = append(rows, r)
		return ok
	})
	ws()
	if !ok || i != len(text) {
		return false
	}
	switch {
	case flat != nil:
		p.flat, p.n = flat, len(flat)
	case rows != nil:
		p.str, p.n = rows, len(rows)
	default:
		p.str, p.n = [][]string{}, 0
	}
	return true
}

// cells returns row i's cells as text (into buf), its DATA_PROCESSING_OPTIONS,
// or what is wrong with the row as a whole and the sample to report.
func (p *payload) cells(i int, buf []string) (texts, dpo []string, problem, sample string) {
	width := len(p.schema)
	switch {
	case p.str != nil:
		if r := p.str[i]; len(r) != width {
			return nil, nil, fmt.Sprintf("row has %d values, schema has %d", len(r), width), rowText(r)
		}
		return p.str[i], nil, "", ""
	case p.flat != nil:
		if width != 1 {
			return nil, nil, fmt.Sprintf("row is not a list of %d values", width), rowText(p.flat[i])
		}
		buf[0] = p.flat[i]
		return buf[:1], nil, "", ""
	}
	r := p.values[i]
	values, ok := r.([]any)
	if !ok {
		if width != 1 {
			return nil, nil, fmt.Sprintf("row is not a list of %d values", width), rowText(r)
		}
		values = []any{r}
	}
	if len(values) != width {
		return nil, nil, fmt.Sprintf("row has %d values, schema has %d", len(values), width), rowText(r)
	}
	for j, v := range values {
		if schemaKeys[p.schema[j]] == kindDPO {
			opts, ok := dpoList(v)
			if !ok {
				return nil, nil, p.schema[j] + ": not a list of LDU", rowText(v)
			}
			dpo, buf[j] = opts, ""
			continue
		}
		text, ok := cellText(v)
		if !ok {
			return nil, nil, p.schema[j] + ": not a string", rowText(v)
		}
		buf[j] = text
	}
	return buf[:width], dpo, "", ""
}

func parseSchema(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if key, ok := singleKeySchemas[one]; ok {
			return []string{key}, nil
		}
		if kind, ok := schemaKeys[one]; ok && kind <= kindExternID {
			return []string{one}, nil
		}
		return nil, fmt.Errorf("Invalid schema %q: a single schema is EMAIL_SHA256, PHONE_SHA256, MOBILE_ADVERTISER_ID or one identifier key (EXTERN_ID, EMAIL, PHONE, GEN, DOBY, DOBM, DOBD, LN, FN, FI, CT, ST, ZIP, MADID, COUNTRY); pass several keys as a list", one)
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("param payload[schema] must be a string or a list of strings")
	}
	if len(list) == 0 {
		return nil, errors.New("param payload[schema] must not be empty")
	}
	seen := map[string]bool{}
	identifiers := 0
	out := make([]string, len(list))
	for i, k := range list {
		if alias, ok := singleKeySchemas[k]; ok {
			k = alias
		}
		kind, ok := schemaKeys[k]
		if !ok {
			return nil, fmt.Errorf("Invalid schema field %q: supported keys are %s, LOOKALIKE_VALUE and DATA_PROCESSING_OPTIONS", list[i], strings.Join(IdentifierKeys, ", "))
		}
		if seen[k] {
			return nil, fmt.Errorf("Invalid schema: field %s appears twice", k)
		}
		seen[k] = true
		if kind <= kindPageUID {
			identifiers++
		}
		out[i] = k
	}
	if identifiers == 0 {
		return nil, errors.New("Invalid schema: it names no identifier key")
	}
	return out, nil
}

// row is one valid row of a payload.
type row struct {
	ids   []ident // sorted by key
	value *float64
	dpo   []string
}

// ident is one identifier of a person.
type ident struct{ key, value string }

// checked is the outcome of validating a payload's rows.
type checked struct {
	rows     []row
	received int
	invalid  int
	samples  map[string]string
}

func (c *checked) reject(sample, reason string, limit int) {
	c.invalid++
	if len(c.samples) < limit {
		c.samples[sample] = reason
	}
}

// check validates every row of a payload. reject is Options.Reject (or nil).
func (s *Server) check(audienceID string, p payload, reject func(string, map[string]string) string) checked {
	out := checked{received: p.n, samples: map[string]string{}, rows: make([]row, 0, p.n)}
	limit := s.opts.MaxInvalidSamples
	buf := make([]string, len(p.schema))
	norm := make([]string, len(p.schema))
rows:
	for i := range p.n {
		texts, dpo, problem, sample := p.cells(i, buf)
		if problem != "" {
			out.reject(sample, problem, limit)
			continue
		}
		res := row{dpo: dpo}
		for j, text := range texts {
			norm[j] = ""
			kind := schemaKeys[p.schema[j]]
			if text == "" || kind == kindDPO && p.values != nil {
				continue
			}
			if kind == kindDPO {
				out.reject(text, p.schema[j]+": not a list of LDU", limit)
				continue rows
			}
			v, reason := s.checkCell(kind, text)
			if reason != "" {
				out.reject(text, p.schema[j]+": "+reason, limit)
				continue rows
			}
			if kind == kindValue {
				f, _ := strconv.ParseFloat(v, 64)
				res.value = &f
			}
			norm[j] = v
		}
		res.ids = make([]ident, 0, len(p.order))
		for _, j := range p.order {
			if norm[j] != "" {
				res.ids = append(res.ids, ident{p.schema[j], norm[j]})
			}
		}
		if len(res.ids) == 0 {
			out.reject(p.rowSample(i), "row has no identifier", limit)
			continue
		}
		if reject != nil {
			m := make(map[string]string, len(res.ids))
			for _, id := range res.ids {
				m[id.key] = id.value
			}
			if reason := reject(audienceID, m); reason != "" {
				out.reject(p.rowSample(i), reason, limit)
				continue
			}
		}
		out.rows = append(out.rows, res)
	}
	return out
}

// rowSample is row i as JSON, for invalid_entry_samples.
func (p *payload) rowSample(i int) string {
	switch {
	case p.str != nil:
		return rowText(p.str[i])
	case p.flat != nil:
		return rowText(p.flat[i])
	}
	return rowText(p.values[i])
}

// checkCell validates one non-empty value and returns it as stored, or why it is
// invalid.
func (s *Server) checkCell(kind keyKind, v string) (string, string) {
	switch kind {
	case kindHashed:
		if !isHex(v, 64, s.opts.AcceptUppercase) {
			return "", "not a lower-case hex SHA-256 digest"
		}
		return strings.ToLower(v), ""
	case kindMADID:
		if !isUUID(v, s.opts.AcceptUppercase) {
			return "", "not a lower-case mobile advertiser id (IDFA or AAID)"
		}
		return strings.ToLower(v), ""
	case kindPageUID:
		if !digitsRE.MatchString(v) {
			return "", "not a page-scoped user id"
		}
	case kindValue:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return "", "not a number ≥ 0"
		}
	case kindDPOGeo:
		if _, err := strconv.Atoi(v); err != nil {
			return "", "not an integer"
		}
	}
	return v, ""
}

// cellText is a cell as text: strings as they are, numbers as written, null as "".
func cellText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case nil:
		return "", true
	}
	return "", false
}

func dpoList(v any) ([]string, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		return nil, v == ""
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok || s != "LDU" {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// rowText is a row (or value) as JSON, for invalid_entry_samples.
func rowText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func isHex(s string, n int, upper bool) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case upper && 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// isUUID reports whether s is 8-4-4-4-12 hex digits, the form of an IDFA or AAID.
func isUUID(s string, upper bool) bool {
	parts := strings.Split(s, "-")
	if len(parts) != 5 {
		return false
	}
	for i, n := range []int{8, 4, 4, 4, 12} {
		if !isHex(parts[i], n, upper) {
			return false
		}
	}
	return true
}
