// Package template renders the Liquid templates users write in project files —
// a mapping's from_template, a Slack message — against a model's row, the way
// Hightouch and Census users already write them: {{ row.email }},
// {{ row.plan | upcase }}, {% if row.seats > 10 %}…{% endif %}.
package template

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/osteele/liquid"

	"github.com/sluicehq/sluice/record"
)

// engine is shared: parsing and rendering are safe for concurrent use. Null
// values render as nothing, as Liquid users expect; misspelt columns are found
// by Columns before any row is rendered.
var engine = sync.OnceValue(liquid.NewEngine)

// columnRef finds row.<column> and row["column"] in a template's source.
var columnRef = regexp.MustCompile(`\brow(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])`)

// Columns returns the columns the template reads from the row, in order of first use.
func (t *Template) Columns() []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range columnRef.FindAllStringSubmatch(t.src, -1) {
		name := m[1] + m[2]
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// Template is a parsed template.
type Template struct {
	src string
	t   *liquid.Template
}

// Parse parses src. Its error says what is wrong and where in the template.
func Parse(src string) (*Template, error) {
	t, err := engine().ParseString(src)
	if err != nil {
		return nil, fmt.Errorf("invalid Liquid template: %s", cleanError(err))
	}
	// Filters are looked up when a template renders: a trial render against a row
	// of nothing finds a misspelt one now rather than on every row.
	if _, err := t.RenderString(liquid.Bindings{"row": map[string]any{}}); err != nil && strings.Contains(err.Error(), "undefined filter") {
		return nil, fmt.Errorf("invalid Liquid template: %s", cleanError(err))
	}
	return &Template{src: src, t: t}, nil
}

// Source is the template as written.
func (t *Template) Source() string { return t.src }

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
// midnight UTC, exact decimals as floats, bytes as text, JSON decoded).
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
		var out any
		if err := json.Unmarshal([]byte(v), &out); err == nil {
			return out
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

// liquidLine is the 0-based line number osteele/liquid puts in its messages.
var liquidLine = regexp.MustCompile(`^Liquid error \(line (\d+)\): `)

// cleanError drops the library's prefix and numbers lines from 1, as editors do.
func cleanError(err error) string {
	msg := err.Error()
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
