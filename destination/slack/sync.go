package slack

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/template"
	"github.com/sluicehq/sluice/record"
)

// SyncConfig is the keys a sync writing to Slack adds: where the messages go and
// what they say. The columns its templates read are carried by the engine
// beside the mapped fields (connector.ColumnUser).
type SyncConfig struct {
	Channel   string    `yaml:"channel" doc:"The ID of the channel the messages go to (C0123ABCD; in Slack, the channel's details › About). Required with bot_token; not allowed with webhook_url, whose channel is fixed when the webhook is created."`
	Template  string    `yaml:"template" doc:"The message for each row sent, a Liquid template reading the model's columns, e.g. \"{{ row.name }} has {{ row.unused_seats }} unused seats\"; see docs/configuration.md#templates."`
	Templates Templates `yaml:"templates" doc:"A message per change type, each overriding template: {added: …, changed: …, removed: …}."`
}

// Templates are the messages for each type of change; an empty one falls back
// to SyncConfig.Template.
type Templates struct {
	Added   string `yaml:"added" doc:"The message for a row new in the model (insert, upsert, mirror)."`
	Changed string `yaml:"changed" doc:"The message for a row whose fields changed (update, upsert, mirror)."`
	Removed string `yaml:"removed" doc:"The message for a row that left the model (mirror), rendered from the row as last sent; required in mirror mode."`
}

var (
	_ connector.ColumnUser    = (*SyncConfig)(nil)
	_ connector.ModeValidator = (*SyncConfig)(nil)
)

// channelID is what Slack's conversation IDs look like: C (channels), G (older
// private channels), D (direct messages), then upper-case letters and digits.
var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{8,}$`)

// templateKey is one template key of the sync, as written in the project file.
type templateKey struct {
	key string // "template", "templates.added"…
	op  record.Op
	src string
}

// keys lists the template keys that are set, template first.
func (s *SyncConfig) keys() []templateKey {
	all := []templateKey{
		{"template", 0, s.Template},
		{"templates.added", record.OpAdd, s.Templates.Added},
		{"templates.changed", record.OpChange, s.Templates.Changed},
		{"templates.removed", record.OpRemove, s.Templates.Removed},
	}
	out := all[:0]
	for _, k := range all {
		if k.src != "" {
			out = append(out, k)
		}
	}
	return out
}

// Validate checks the keys that do not depend on the mode or the destination's
// credential: the channel's form and every template's syntax and filters.
func (s *SyncConfig) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, &connector.FieldError{Field: field, Message: msg}) }
	if s.Channel != "" && !channelID.MatchString(s.Channel) {
		hint := "use the channel's ID, e.g. C0123ABCD"
		if strings.HasPrefix(s.Channel, "#") || strings.ToLower(s.Channel) == s.Channel {
			hint = "use the channel's ID, e.g. C0123ABCD, not its name: a name changes when the channel is renamed"
		}
		bad("channel", fmt.Sprintf("%q is not a channel ID: %s (in Slack, open the channel's details: the ID is at the bottom of About)", s.Channel, hint))
	}
	keys := s.keys()
	if len(keys) == 0 {
		bad("template", "is required: add template: with the message for each row, e.g. \"{{ row.name }} has {{ row.unused_seats }} unused seats\" (see docs/configuration.md#templates)")
	}
	for _, k := range keys {
		if _, err := parseTemplate(k.src); err != nil {
			bad(k.key, err.Error())
		}
	}
	return errors.Join(errs...)
}

// parseTemplate parses a message template: its syntax and every filter it
// names are checked here, so that a mistake is a configuration problem rather
// than every row's. Values it writes are escaped for Slack.
func parseTemplate(src string) (*template.Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("is empty: write the message, e.g. \"{{ row.name }} has {{ row.unused_seats }} unused seats\"")
	}
	t, err := mrkdwn.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%v: see docs/configuration.md#templates", err)
	}
	if t.UsesWholeRow() {
		return nil, errors.New("uses row as a whole (row | json, for … in row): a Slack message carries only the columns it names, so name each one, e.g. {{ row.name }} ({{ row.plan }})")
	}
	return t, nil
}

var opNames = map[record.Op]string{record.OpAdd: "added", record.OpChange: "changed", record.OpRemove: "removed"}

// ValidateMode checks that the mode has a message for each type of change it
// sends, and no message it would never send.
func (s *SyncConfig) ValidateMode(m connector.Mode) error {
	var errs []error
	for _, op := range []record.Op{record.OpAdd, record.OpChange, record.OpRemove} {
		name := opNames[op]
		key := "templates." + name
		own := s.own(op)
		switch sends := m.Sends(op); {
		case own != "" && !sends:
			errs = append(errs, &connector.FieldError{Field: key, Message: fmt.Sprintf("mode %s sends no %s rows, so this message would never be posted: remove it, or use a mode that sends them (%s)", m, name, modesSending(op))})
		case sends && op == record.OpRemove && own == "":
			errs = append(errs, &connector.FieldError{Field: key, Message: fmt.Sprintf("mode %s posts a message for each row that leaves the model: add templates.removed saying so, e.g. \"{{ row.name }} no longer needs attention\" (the row is the one last sent)", m)})
		case sends && own == "" && s.Template == "":
			errs = append(errs, &connector.FieldError{Field: key, Message: fmt.Sprintf("mode %s sends %s rows: add templates.%s, or template (used for every type of change without its own)", m, name, name)})
		}
	}
	return errors.Join(errs...)
}

// own is the template set for op itself.
func (s *SyncConfig) own(op record.Op) string {
	switch op {
	case record.OpAdd:
		return s.Templates.Added
	case record.OpChange:
		return s.Templates.Changed
	case record.OpRemove:
		return s.Templates.Removed
	}
	return ""
}

func modesSending(op record.Op) string {
	var out []string
	for _, m := range connector.Modes {
		if m.Sends(op) {
			out = append(out, string(m))
		}
	}
	return strings.Join(out, ", ")
}

// ColumnKeys names each model column the templates read, so that the engine
// checks it exists and carries it in every record. A column is named once, by
// the first template that reads it; the key says which ("template (row.name)").
func (s *SyncConfig) ColumnKeys() []connector.ColumnKey {
	var out []connector.ColumnKey
	seen := map[string]bool{}
	for _, k := range s.keys() {
		t, err := parseTemplate(k.src)
		if err != nil {
			continue // Validate reports it
		}
		for _, c := range t.Columns() {
			if !seen[c] {
				seen[c] = true
				out = append(out, connector.ColumnKey{Key: columnKey(k.key, c), Column: c})
			}
		}
	}
	return out
}

func columnKey(key, column string) string {
	return key + " (row." + column + ")"
}
