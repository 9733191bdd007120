package mixpanel

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

var fuzzLimits = limits{maxEventBytes: 1 << 20, maxProps: 254, maxKeys: 254, maxList: 254, maxDepth: 3, maxString: 255}

// FuzzScanBody checks that the hand-written scanner agrees with encoding/json on
// what is valid JSON, and never panics.
func FuzzScanBody(f *testing.F) {
	for _, seed := range []string{
		`[{"event":"E","properties":{"time":1700000000,"distinct_id":"u","$insert_id":"a"}}]`,
		`{"event":"E","properties":{"time":1.5e9,"distinct_id":12,"$insert_id":"a","x":[1,{"y":null}]}}`,
		`[1, "a", true, false, null, {}, []]`,
		`[{"event":"\u00e9\n","properties":{"k\"":"\ud83d\ude00"}}]`,
		`[{"a":[[[[[[]]]]]]}]`,
		`[-0.5e+3, 01]`,
		"[\"\xff\"]",
		`[{"event":"E",}]`,
		` [ ] `,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, tooMany, err := scanBody(body, &fuzzLimits, 1<<20, nil)
		require.False(t, tooMany)
		first := firstByte(body)
		if first == '[' {
			require.Equal(t, json.Valid(body), err == nil, "array %q: %v", body, err)
			return
		}
		require.NoError(t, err)
		// ndjson: without newlines, a body is one record, valid when json.Valid says so.
		if len(events) == 1 && !containsNewline(body) {
			require.Equal(t, json.Valid(body), events[0].syntax == "", "line %q: %s", body, events[0].syntax)
		}
	})
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

func containsNewline(b []byte) bool {
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		ms   int64
		fail bool
	}{
		{raw: "1618716477", ms: 1618716477000},
		{raw: "1618716477000", ms: 1618716477000},
		{raw: "1618716477.25", ms: 1618716477250},
		{raw: "1.618716477e9", ms: 1618716477000},
		{raw: "99999999999", ms: 99999999999000},
		{raw: "100000000000", ms: 100000000000},
		{raw: "-5", ms: -5000},
		{raw: "1e400", fail: true},
	}
	for _, tc := range tests {
		ms, ok := parseTime([]byte(tc.raw))
		require.Equal(t, !tc.fail, ok, tc.raw)
		if ok {
			require.Equal(t, tc.ms, ms, tc.raw)
		}
	}
}
