package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits of a message: https://docs.slack.dev/reference/block-kit/blocks
const (
	maxBlocks         = 50
	maxSectionText    = 3000
	maxSectionFields  = 10
	maxFieldText      = 2000
	maxHeaderText     = 150
	maxBlockIDChars   = 255
	maxAttachments    = 100
	maxMarkdownBlock  = 12_000
	blockErrorPointer = "[json-pointer:%s]"
)

// messageBlockTypes are the block types a message may carry.
var messageBlockTypes = map[string]bool{
	"actions": true, "context": true, "context_actions": true, "divider": true, "file": true,
	"header": true, "image": true, "input": true, "markdown": true, "rich_text": true,
	"section": true, "table": true, "video": true,
}

// jsonArray reads a blocks or attachments argument: a JSON array, or (form
// bodies, and clients that encode it twice) a string holding one. It returns
// the array compacted, nil when the argument is absent or empty, and ok=false
// when it is not an array.
func jsonArray(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 {
			return nil, true
		}
	}
	if raw[0] != '[' || !json.Valid(raw) {
		return nil, false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, false
	}
	if buf.String() == "[]" {
		return nil, true
	}
	return buf.Bytes(), true
}

// blockProblems checks blocks against the Block Kit rules modelled here and
// returns the problems as Slack words them: "<what> [json-pointer:/blocks/0/text]".
func blockProblems(blocks json.RawMessage) []string {
	var list []json.RawMessage
	if err := json.Unmarshal(blocks, &list); err != nil {
		return []string{"must be an array " + pointer("/blocks")}
	}
	if len(list) > maxBlocks {
		return []string{fmt.Sprintf("no more than %d items allowed %s", maxBlocks, pointer("/blocks"))}
	}
	var out []string
	ids := map[string]bool{}
	for i, raw := range list {
		at := fmt.Sprintf("/blocks/%d", i)
		var b map[string]json.RawMessage
		if err := json.Unmarshal(raw, &b); err != nil || b == nil {
			out = append(out, "must be an object "+pointer(at))
			continue
		}
		typ, ok := stringField(b, "type")
		switch {
		case !ok:
			out = append(out, "missing required field: type "+pointer(at))
			continue
		case !messageBlockTypes[typ]:
			out = append(out, fmt.Sprintf("unsupported type: %s %s", typ, pointer(at+"/type")))
			continue
		}
		if id, ok := stringField(b, "block_id"); ok {
			if utf8.RuneCountInString(id) > maxBlockIDChars {
				out = append(out, fmt.Sprintf("must be less than %d characters %s", maxBlockIDChars+1, pointer(at+"/block_id")))
			}
			if ids[id] {
				out = append(out, "duplicate block_id "+pointer(at+"/block_id"))
			}
			ids[id] = true
		}
		switch typ {
		case "section":
			out = append(out, sectionProblems(b, at)...)
		case "header":
			out = append(out, textProblems(b["text"], at+"/text", maxHeaderText, true)...)
		case "markdown":
			if text, ok := stringField(b, "text"); !ok {
				out = append(out, "missing required field: text "+pointer(at))
			} else if utf8.RuneCountInString(text) > maxMarkdownBlock {
				out = append(out, fmt.Sprintf("must be less than %d characters %s", maxMarkdownBlock+1, pointer(at+"/text")))
			}
		}
	}
	return out
}

func sectionProblems(b map[string]json.RawMessage, at string) []string {
	text, hasText := b["text"]
	fields, hasFields := b["fields"]
	if !hasText && !hasFields {
		return []string{"must provide either text or fields " + pointer(at)}
	}
	var out []string
	if hasText {
		if p := textProblems(text, at+"/text", maxSectionText, false); p != nil {
			out = append(out, "failed to match all allowed schemas "+pointer(at+"/text"))
			out = append(out, p...)
		}
	}
	if hasFields {
		var list []json.RawMessage
		if err := json.Unmarshal(fields, &list); err != nil {
			return append(out, "must be an array "+pointer(at+"/fields"))
		}
		if len(list) > maxSectionFields {
			out = append(out, fmt.Sprintf("no more than %d items allowed %s", maxSectionFields, pointer(at+"/fields")))
		}
		for i, f := range list {
			out = append(out, textProblems(f, fmt.Sprintf("%s/fields/%d", at, i), maxFieldText, false)...)
		}
	}
	return out
}

// textProblems checks a text composition object: a type of plain_text (or
// mrkdwn unless plainOnly) and a non-empty text of at most limit characters.
func textProblems(raw json.RawMessage, at string, limit int, plainOnly bool) []string {
	var t map[string]json.RawMessage
	if err := json.Unmarshal(raw, &t); err != nil || t == nil {
		return []string{"must be an object " + pointer(at)}
	}
	var out []string
	switch typ, _ := stringField(t, "type"); {
	case typ == "plain_text":
	case typ == "mrkdwn" && !plainOnly:
	case plainOnly:
		out = append(out, "must be plain_text "+pointer(at+"/type"))
	default:
		out = append(out, "must be one of plain_text, mrkdwn "+pointer(at+"/type"))
	}
	text, ok := stringField(t, "text")
	switch n := utf8.RuneCountInString(text); {
	case !ok:
		out = append(out, "missing required field: text "+pointer(at))
	case n == 0:
		out = append(out, "must be more than 0 characters "+pointer(at+"/text"))
	case n > limit:
		out = append(out, fmt.Sprintf("must be less than %d characters %s", limit+1, pointer(at+"/text")))
	}
	return out
}

func stringField(m map[string]json.RawMessage, key string) (string, bool) {
	raw, ok := m[key]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func pointer(p string) string { return fmt.Sprintf(blockErrorPointer, p) }

// attachmentCount returns how many attachments an array holds.
func attachmentCount(raw json.RawMessage) int {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return 0
	}
	return len(list)
}
