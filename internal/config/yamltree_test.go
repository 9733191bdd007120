package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Anchors, aliases, merge keys and core tags work as YAML defines them, so a
// project can share settings between blocks.
func TestYAMLFeatures(t *testing.T) {
	t.Parallel()
	hook := func(url string, batch, inFlight int) *webhookConfig {
		return &webhookConfig{URL: url, BatchSize: batch, MaxInFlight: inFlight, Timeout: 30 * time.Second}
	}
	tests := []struct {
		name string
		src  string
		want map[string]any
	}{
		{
			name: "alias of a whole block",
			src:  "destinations:\n  a: &hook {type: webhook, url: http://x, batch_size: 5}\n  b: *hook\n",
			want: map[string]any{"a": hook("http://x", 5, 1), "b": hook("http://x", 5, 1)},
		},
		{
			name: "merge keys never override the block's own keys; earlier merges win",
			src: "destinations:\n  a: &base {type: webhook, url: http://a, batch_size: 7}\n" +
				"  b:\n    <<: [*base, {batch_size: 9, max_in_flight: 3}]\n    url: http://b\n",
			want: map[string]any{"a": hook("http://a", 7, 1), "b": hook("http://b", 7, 3)},
		},
		{
			name: "core tags and a directive",
			src:  "%YAML 1.2\n---\ndestinations:\n  a: {type: !!str everything, str: !!str 12345, int: !!int 2}\n",
			want: map[string]any{"a": &everythingConfig{Str: "12345", Int: 2, Retries: 3, Timeout: 10 * time.Second, Skipped: "kept"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t).mustParse(t, tt.src)
			got := map[string]any{}
			for name, d := range p.Destinations {
				got[name] = d.Config
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestYAMLLimits(t *testing.T) {
	t.Parallel()

	t.Run("alias expansion is bounded", func(t *testing.T) {
		t.Parallel()
		var src strings.Builder
		src.WriteString("a: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
		for i := 1; i <= 6; i++ {
			prev := "*l" + string(rune('0'+i-1))
			src.WriteString("a" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n")
		}
		require.Equal(t, []string{
			`sluice.yaml:1:1: the document has more than 100000 values once aliases are expanded: use fewer aliases`,
		}, setup(t).parseErrors(t, src.String()))
	})

	t.Run("merge key of a scalar", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []string{
			`sluice.yaml:2:41: destinations.a: a merge key (<<) takes a mapping or a list of mappings, got an integer`,
		}, setup(t).parseErrors(t, "destinations:\n  a: {type: webhook, url: http://x, <<: 5}\n"))
	})

	t.Run("tabs", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []string{
			"sluice.yaml:2:1: invalid YAML: found character '\t' that cannot start any token",
		}, setup(t).parseErrors(t, "sources:\n\twh: {}\n"))
	})
}
