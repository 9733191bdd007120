// Package template renders the Liquid templates users write in project files —
// a mapping's from_template, a Slack message — against a model's row, the way
// Hightouch and Census users already write them: {{ row.email }},
// {{ row.plan | upcase }}, {% if row.seats > 10 %}…{% endif %}.
package template

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/osteele/liquid"

	"github.com/sluicehq/sluice/record"
)

// outputFilter is appended to every {{ … }} of a template as its last filter:
// it writes what the expression gave the way users expect (numbers as written,
// not 2.5e+06; JSON objects as JSON) and escapes text for the destination. The
// library itself prints floats and maps with Go's %v.
const outputFilter = "sluice_output"

// A Dialect parses templates whose values are written through an escaping
// function: a destination whose text has markup of its own (Slack's mrkdwn)
// escapes the row's values so that they show as written. Make one per escaping
// and keep it: its Liquid engine is built once.
type Dialect struct {
	engine *liquid.Engine
}

// NewDialect returns the dialect whose templates pass the text of every value
// they write ({{ … }}, after its filters) through escape (nil: as is), and
// leave their own text as written. Parsing and rendering are safe for
// concurrent use. Null values render as nothing, as Liquid users expect.
func NewDialect(escape func(string) string) *Dialect {
	e := liquid.NewEngine()
	e.RegisterFilter(outputFilter, func(v any) any { return output(v, escape) })
	return &Dialect{engine: e}
}

var plain = sync.OnceValue(func() *Dialect { return NewDialect(nil) })

// Template is a parsed template.
type Template struct {
	src      string
	t        *liquid.Template
	columns  []string
	wholeRow bool
}

// Parse parses src for the plain dialect (values written as they are). Its
// error says what is wrong and where in the template: invalid syntax, or a
// filter Liquid does not have, wherever it is used.
func Parse(src string) (*Template, error) { return plain().Parse(src) }

// Parse parses src like the package's Parse, for this dialect.
func (d *Dialect) Parse(src string) (*Template, error) { return parse(src, d.engine) }

func parse(src string, e *liquid.Engine) (*Template, error) {
	segs := scan(src)
	t, err := e.ParseString(withOutputFilter(src, segs))
	if err != nil {
		return nil, fmt.Errorf("invalid Liquid template: %s", cleanError(err))
	}
	// Liquid looks filters up only when it applies them, so a misspelt one in a
	// branch no test row takes would fail every row that takes it: each filter
	// named anywhere is checked now.
	for _, name := range filters(src, segs) {
		if _, err := e.ParseAndRenderString("{{ nil | "+name+" }}", nil); err != nil && strings.Contains(err.Error(), "undefined filter") {
			return nil, fmt.Errorf("invalid Liquid template: line %d: undefined filter %q",
				lineOf(src, name, segs), name)
		}
	}
	cols, whole := columns(src, segs)
	return &Template{src: src, t: t, columns: cols, wholeRow: whole}, nil
}

// Source is the template as written.
func (t *Template) Source() string { return t.src }

// Columns returns the columns the template reads from the row (row.x and
// row["x"] inside {{ }} and {% %}), in order of first use.
func (t *Template) Columns() []string { return t.columns }

// UsesWholeRow says whether the template uses row itself rather than its
// columns ({{ row | json }}, {% for c in row %}): such a template needs every
// column of the model.
func (t *Template) UsesWholeRow() bool { return t.wholeRow }

// Render renders the template with row bound to the variable "row".
func (t *Template) Render(row map[string]any) (string, error) {
	out, err := t.t.RenderString(liquid.Bindings{"row": row})
	if err != nil {
		return "", fmt.Errorf("template %q: %s", short(t.src), cleanError(err))
	}
	return out, nil
}

// Row is a model row as templates see it: each column by name, with values that
// Liquid's filters understand (numbers as numbers, timestamps as times, dates as
// midnight UTC, bytes as text, JSON decoded). Exact decimals become floats, so
// that filters and comparisons work on them: they keep 15 significant digits.
func Row(names []string, values []record.Value) map[string]any {
	m := make(map[string]any, len(names))
	for i, n := range names {
		if i < len(values) {
			m[n] = liquidValue(values[i])
		}
	}
	return m
}

func liquidValue(v record.Value) any {
	switch v := v.(type) {
	case nil, bool, int64, float64, string:
		return v
	case record.Decimal:
		return v.Float64()
	case []byte:
		return string(v)
	case record.Date:
		return time.Date(v.Year, v.Month, v.Day, 0, 0, 0, 0, time.UTC)
	case time.Time:
		return v
	case record.JSON:
		d := json.NewDecoder(strings.NewReader(string(v)))
		d.UseNumber()
		var out any
		if err := d.Decode(&out); err == nil {
			return jsonNumbers(out)
		}
		return string(v)
	case []record.Value:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = liquidValue(x)
		}
		return out
	case record.Struct:
		m := make(map[string]any, len(v))
		for _, f := range v {
			m[f.Name] = liquidValue(f.Value)
		}
		return m
	}
	return fmt.Sprint(v)
}

// jsonNumbers turns a decoded JSON value's numbers into int64 when they are
// whole and fit (an id of 9007199254740993 stays exact), float64 otherwise.
func jsonNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i, x := range v {
			v[i] = jsonNumbers(x)
		}
	case map[string]any:
		for k, x := range v {
			v[k] = jsonNumbers(x)
		}
	}
	return v
}

// output is what a {{ … }} writes for v.
func output(v any, escape func(string) string) any {
	switch v := v.(type) {
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case string:
		if escape != nil {
			return escape(v)
		}
		return v
	case []any:
		// Liquid writes a list's items one after the other.
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = output(x, escape)
		}
		return out
	case map[string]any:
		raw, err := json.Marshal(v)
		if err != nil {
			return output(fmt.Sprint(v), escape)
		}
		return output(string(raw), escape)
	}
	return v
}

// formatFloat writes a number as a person would: 2500000, 1234567.5, never in
// exponent form.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// segment is the inside of one {{ … }} (output) or {% … %} of a template,
// without its delimiters and whitespace-control dashes.
type segment struct {
	start, end int
	output     bool
}

// blockEnd finds the end tag of a raw or comment block, whose inside is text.
var blockEnd = map[string]*regexp.Regexp{
	"raw":     regexp.MustCompile(`\{%-?\s*endraw\s*-?%\}`),
	"comment": regexp.MustCompile(`\{%-?\s*endcomment\s*-?%\}`),
}

// scan finds the template's Liquid segments, skipping the inside of raw and
// comment blocks. An unterminated one ends the scan (the parser reports it).
func scan(src string) []segment {
	var out []segment
	for i := 0; i < len(src); {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			break
		}
		i += j
		var closer string
		switch src[i+1] {
		case '{':
			closer = "}}"
		case '%':
			closer = "%}"
		default:
			i++
			continue
		}
		start := i + 2
		if start < len(src) && src[start] == '-' {
			start++
		}
		end := closing(src, start, closer)
		if end < 0 {
			break
		}
		next := end + 2
		inner := end
		if inner > start && src[inner-1] == '-' {
			inner--
		}
		s := segment{start: start, end: inner, output: closer == "}}"}
		if !s.output {
			name, _, _ := strings.Cut(strings.TrimSpace(src[start:inner]), " ")
			if re := blockEnd[name]; re != nil {
				loc := re.FindStringIndex(src[next:])
				if loc == nil {
					break
				}
				i = next + loc[1]
				continue
			}
		}
		out = append(out, s)
		i = next
	}
	return out
}

// closing finds closer after start, outside quoted strings; -1 when there is none.
func closing(src string, start int, closer string) int {
	var quote byte
	for k := start; k < len(src); k++ {
		c := src[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case strings.HasPrefix(src[k:], closer):
			return k
		}
	}
	return -1
}

// withOutputFilter appends the output filter to every non-empty {{ … }}. It
// adds text within lines only, so the parser's line numbers stay the user's.
func withOutputFilter(src string, segs []segment) string {
	var b strings.Builder
	last := 0
	for _, s := range segs {
		if !s.output || strings.TrimSpace(src[s.start:s.end]) == "" {
			continue
		}
		b.WriteString(src[last:s.end])
		b.WriteString(" | " + outputFilter + " ")
		last = s.end
	}
	b.WriteString(src[last:])
	return b.String()
}

var (
	quoted    = regexp.MustCompile(`"[^"]*"|'[^']*'`)
	filterRef = regexp.MustCompile(`\|\s*([A-Za-z_][A-Za-z0-9_]*)`)
	// columnRef finds row.<column> and row["column"].
	columnRef = regexp.MustCompile(`\brow(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])`)
	rowRef    = regexp.MustCompile(`\brow\b`)
)

// filters are the names of the filters the segments apply, in order.
func filters(src string, segs []segment) []string {
	var out []string
	for _, s := range segs {
		code := quoted.ReplaceAllString(src[s.start:s.end], `""`)
		for _, m := range filterRef.FindAllStringSubmatch(code, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// lineOf is the 1-based line of the first segment applying filter name.
func lineOf(src, name string, segs []segment) int {
	re := regexp.MustCompile(`\|\s*` + regexp.QuoteMeta(name) + `\b`)
	for _, s := range segs {
		if re.MatchString(quoted.ReplaceAllString(src[s.start:s.end], `""`)) {
			return 1 + strings.Count(src[:s.start], "\n")
		}
	}
	return 1
}

// columns finds the columns the segments read, and whether one uses row whole.
func columns(src string, segs []segment) (cols []string, whole bool) {
	for _, s := range segs {
		code := src[s.start:s.end]
		for _, m := range columnRef.FindAllStringSubmatch(code, -1) {
			if name := m[1] + m[2]; !slices.Contains(cols, name) {
				cols = append(cols, name)
			}
		}
		for _, loc := range rowRef.FindAllStringIndex(code, -1) {
			rest := strings.TrimLeft(code[loc[1]:], " \t")
			if !strings.HasPrefix(rest, ".") && !strings.HasPrefix(rest, "[") {
				whole = true
			}
		}
	}
	return cols, whole
}

// liquidLine is the 0-based line number osteele/liquid puts in its messages.
var liquidLine = regexp.MustCompile(`^Liquid error \(line (\d+)\): `)

// cleanError drops the library's prefix and the output filter, and numbers
// lines from 1, as editors do.
func cleanError(err error) string {
	msg := strings.ReplaceAll(err.Error(), " | "+outputFilter+" ", "")
	if m := liquidLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return fmt.Sprintf("line %d: %s", n+1, msg[len(m[0]):])
	}
	return strings.TrimPrefix(msg, "Liquid error: ")
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
