package facebook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScanStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string
		ok   bool
		str  [][]string
		flat []string
	}{
		{`[]`, true, [][]string{}, nil},
		{` [ ["a", "b"] ,["",  "c"] ] `, true, [][]string{{"a", "b"}, {"", "c"}}, nil},
		{`["a","b"]`, true, nil, []string{"a", "b"}},
		{`[["a"],"b"]`, false, nil, nil},
		{`["a",["b"]]`, false, nil, nil},
		{`[["a\"b"]]`, false, nil, nil},
		{`[["a",1]]`, false, nil, nil},
		{`[["a",null]]`, false, nil, nil},
		{`[["a"]`, false, nil, nil},
		{`[["a"]]x`, false, nil, nil},
	}
	for _, tt := range tests {
		var p payload
		require.Equal(t, tt.ok, scanStrings([]byte(tt.data), &p), tt.data)
		if tt.ok {
			require.Equal(t, tt.str, p.str, tt.data)
			require.Equal(t, tt.flat, p.flat, tt.data)
		}
	}
}

// Whatever decoder reads a payload, the rows come out the same.
func FuzzParsePayload(f *testing.F) {
	f.Add(`{"schema":["EMAIL","PHONE"],"data":[["a","b"],["c",""]]}`)
	f.Add(`{"schema":"EMAIL_SHA256","data":["a","b"]}`)
	f.Add(`{"schema":["EMAIL","LOOKALIKE_VALUE"],"data":[["a",1.5],["b","2"]]}`)
	f.Add(`{"schema":["EMAIL"],"data":[["a\u0041"],[null]]}`)
	f.Fuzz(func(t *testing.T, text string) {
		p, err := parsePayload(text, 100)
		if err != nil {
			return
		}
		buf := make([]string, len(p.schema))
		for i := range p.n {
			texts, _, problem, _ := p.cells(i, buf)
			if problem == "" {
				require.Len(t, texts, len(p.schema))
			}
		}
	})
}
