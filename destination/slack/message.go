package slack

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/template"
	"github.com/sluicehq/sluice/record"
)

// renderer turns a change into its message's text.
type renderer struct {
	byOp map[record.Op]*template.Template
	// columns are the model columns the templates read, each with the index of
	// the field carrying it in the sync's records (-1 when none does).
	columns []string
	fields  []int
}

// newRenderer parses the sync's templates and finds, among the fields the
// engine carries (info.Fields), the columns they read.
func newRenderer(info connector.SyncInfo, sc *SyncConfig) (*renderer, error) {
	r := &renderer{byOp: map[record.Op]*template.Template{}}
	parsed := map[string]*template.Template{}
	for _, k := range sc.keys() {
		t, err := parseTemplate(k.src)
		if err != nil {
			return nil, &connector.FieldError{Field: k.key, Message: err.Error()}
		}
		parsed[k.key] = t
	}
	for _, op := range []record.Op{record.OpAdd, record.OpChange, record.OpRemove} {
		if t := parsed["templates."+opNames[op]]; t != nil {
			r.byOp[op] = t
		} else if t := parsed["template"]; t != nil && op != record.OpRemove {
			r.byOp[op] = t
		}
	}
	// A full resync sends rows the mode would not (an insert sync's changed and
	// unchanged rows, an update sync's new ones): they are posted again with the
	// mode's own message, as the resync asks.
	if r.byOp[record.OpAdd] == nil {
		r.byOp[record.OpAdd] = r.byOp[record.OpChange]
	}
	if r.byOp[record.OpChange] == nil {
		r.byOp[record.OpChange] = r.byOp[record.OpAdd]
	}
	var errs []error
	for _, ck := range sc.ColumnKeys() {
		i, ok := info.ColumnFields[ck.Key]
		if !ok || i < 0 || i >= len(info.Fields) || info.Fields[i] != ck.Column {
			// Without the engine's placement, the column travels under its own name.
			i = lastIndex(info.Fields, ck.Column)
		}
		if i < 0 {
			key, _, _ := strings.Cut(ck.Key, " ")
			errs = append(errs, &connector.FieldError{Field: key, Message: fmt.Sprintf("reads row.%s, which is not among the columns the sync carries (%s)", ck.Column, strings.Join(info.Fields, ", "))})
			continue
		}
		r.columns = append(r.columns, ck.Column)
		r.fields = append(r.fields, i)
	}
	return r, errors.Join(errs...)
}

func lastIndex(names []string, name string) int {
	for i := len(names) - 1; i >= 0; i-- {
		if names[i] == name {
			return i
		}
	}
	return -1
}

// errNoTemplate is a change of a type the sync has no message for; ValidateMode
// keeps it from happening in a run.
var errNoTemplate = errors.New("the sync has no message for this type of change")

// text renders c's message. A removed row's fields are those last sent. Its
// errors are the row's: a filter that fails on its values, an empty message.
func (r *renderer) text(c record.Change) (string, error) {
	t := r.byOp[c.Op]
	if t == nil {
		return "", errNoTemplate
	}
	names, values := c.Fields.Names, c.Fields.Values()
	row := make([]record.Value, len(r.columns))
	for k, col := range r.columns {
		i := r.fields[k]
		if i >= len(names) || names[i] != col {
			// Fields stored by an earlier run (a removed row's) may be laid out
			// as the sync's fields were then.
			i = lastIndex(names, col)
		}
		if i >= 0 && i < len(values) {
			row[k] = values[i]
		}
	}
	text, err := t.Render(template.Row(r.columns, row))
	if err != nil {
		return "", fmt.Errorf("render the message: %w", err)
	}
	// A template written as a YAML block ends with a newline, which Slack would
	// show as an empty line.
	text = strings.TrimSpace(text)
	if text == "" {
		return "", errors.New("the template rendered an empty message for this row (the columns it reads are null or empty?), which Slack refuses (no_text): give such rows a text, e.g. {{ row.name | default: 'unnamed account' }}")
	}
	if n := utf8.RuneCountInString(text); n > maxTextChars {
		return "", fmt.Errorf("the message is %d characters, and Slack cuts a text after %d: shorten the values the template writes, e.g. {{ row.notes | truncate: 2000 }}", n, maxTextChars)
	}
	return text, nil
}

// mrkdwnEscaper escapes the three characters Slack reads as markup in a
// message's text (https://docs.slack.dev/messaging/formatting-message-text#escaping).
// Every value a template writes passes through it after its filters ran, so
// that the row's data shows as written (a name "A <B>" is not taken for a link,
// a value "<!channel>" notifies nobody); the template's own markup
// (<https://…|label>, *bold*) is left as written.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mrkdwn parses Slack's message templates, which escape every value they write.
var mrkdwn = template.NewDialect(mrkdwnEscaper.Replace)

// maxTextChars is the longest text chat.postMessage keeps: Slack truncates a
// longer one (https://docs.slack.dev/reference/methods/chat.postMessage).
const maxTextChars = 40_000
