package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// focusBody narrows a JSON request body to the parts about one key: arrays of
// objects that name a row (the webhook's events, HubSpot's inputs, Mixpanel's
// profile updates) keep only the matching elements, with a note of how many were
// left out. An element names its row by one of rowFields. Bodies that are not
// JSON, or that do not name rows that way, come back unchanged.
func focusBody(body []byte, key string) ([]byte, bool) {
	if key == "" {
		return body, false
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return focusArray(trimmed, key)
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body, false
	}
	focused := false
	for name, raw := range top {
		if b, ok := focusArray(bytes.TrimSpace(raw), key); ok {
			top[name] = b
			focused = true
		}
	}
	if !focused {
		return body, false
	}
	names := make([]string, 0, len(top))
	for n := range top {
		names = append(names, n)
	}
	sort.Strings(names)
	var out bytes.Buffer
	out.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			out.WriteByte(',')
		}
		nb, _ := json.Marshal(n)
		out.Write(nb)
		out.WriteByte(':')
		out.Write(top[n])
	}
	out.WriteByte('}')
	return out.Bytes(), true
}

// rowFields are the members by which an element of a batch names its row: the
// webhook's key, HubSpot's objectWriteTraceId, Mixpanel's $distinct_id.
var rowFields = []string{"key", "objectWriteTraceId", "$distinct_id"}

// focusArray narrows a JSON array whose every element names its row.
func focusArray(raw []byte, key string) ([]byte, bool) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return raw, false
	}
	for _, field := range rowFields {
		var keep []json.RawMessage
		named := 0
		for _, it := range items {
			var probe map[string]json.RawMessage
			if json.Unmarshal(it, &probe) != nil || probe[field] == nil {
				break
			}
			named++
			if jsonKey(probe[field]) == key {
				keep = append(keep, it)
			}
		}
		if named != len(items) || len(keep) == 0 {
			continue
		}
		if others := len(items) - len(keep); others > 0 {
			keep = append(keep, json.RawMessage(fmt.Sprintf(`"… %d other entries of this batch not shown"`, others)))
		}
		b, _ := json.Marshal(keep)
		return b, true
	}
	return raw, false
}

func jsonKey(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}
