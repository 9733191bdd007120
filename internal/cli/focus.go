package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// focusBody narrows a JSON request body to the parts about one key: arrays of
// objects that carry a "key" (the webhook's events, most batch APIs' inputs) keep
// only the matching elements, with a note of how many were left out. Bodies that are
// not JSON, or that do not mention the key that way, come back unchanged.
func focusBody(body []byte, key string) ([]byte, bool) {
	var top map[string]json.RawMessage
	if key == "" || json.Unmarshal(body, &top) != nil {
		return body, false
	}
	focused := false
	for name, raw := range top {
		var items []json.RawMessage
		if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '[' || json.Unmarshal(raw, &items) != nil {
			continue
		}
		var keep []json.RawMessage
		keyed := 0
		for _, it := range items {
			var probe struct {
				Key json.RawMessage `json:"key"`
			}
			if json.Unmarshal(it, &probe) != nil || probe.Key == nil {
				continue
			}
			keyed++
			if jsonKey(probe.Key) == key {
				keep = append(keep, it)
			}
		}
		if keyed == 0 || keyed != len(items) {
			continue
		}
		focused = true
		if others := len(items) - len(keep); others > 0 {
			keep = append(keep, json.RawMessage(fmt.Sprintf(`"… %d other entries of this batch not shown"`, others)))
		}
		b, _ := json.Marshal(keep)
		top[name] = b
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

func jsonKey(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}
