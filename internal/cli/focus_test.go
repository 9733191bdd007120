package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFocusBody(t *testing.T) {
	for _, tc := range []struct {
		name, body, key, want string
		focused               bool
	}{
		{"webhook events", `{"events":[{"key":"1","fields":{}},{"key":"2","fields":{}}],"sync":"s"}`, "2",
			`{"events":[{"key":"2","fields":{}},"… 1 other entries of this batch not shown"],"sync":"s"}`, true},
		{"hubspot inputs", `{"inputs":[{"objectWriteTraceId":"41","id":"a@x"},{"objectWriteTraceId":"42","id":"b@x"}]}`, "42",
			`{"inputs":[{"objectWriteTraceId":"42","id":"b@x"},"… 1 other entries of this batch not shown"]}`, true},
		{"mixpanel profile updates, a top-level array", `[{"$distinct_id":"7","$set":{}},{"$distinct_id":"8","$set":{}},{"$distinct_id":"7","$unset":["a"]}]`, "7",
			`[{"$distinct_id":"7","$set":{}},{"$distinct_id":"7","$unset":["a"]},"… 1 other entries of this batch not shown"]`, true},
		{"no element names the key", `{"inputs":[{"objectWriteTraceId":"1"}]}`, "9", `{"inputs":[{"objectWriteTraceId":"1"}]}`, false},
		{"elements that do not name rows", `[{"event":"a"},{"event":"b"}]`, "a", `[{"event":"a"},{"event":"b"}]`, false},
		{"not JSON", `nope`, "1", `nope`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := focusBody([]byte(tc.body), tc.key)
			require.Equal(t, tc.focused, ok)
			require.Equal(t, tc.want, string(got))
		})
	}
}
