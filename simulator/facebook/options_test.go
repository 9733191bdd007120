package facebook

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  Options
		field string // "" when valid
	}{
		{"defaults", Options{}, ""},
		{"tier", Options{Tier: "gold"}, "Tier"},
		{"version", Options{APIVersion: "21"}, "APIVersion"},
		{"auth status", Options{AuthErrorStatus: 200}, "AuthErrorStatus"},
		{"score code", Options{ScoreErrorCode: 4}, "ScoreErrorCode"},
		{"negative rows", Options{MaxRows: -1}, "MaxRows"},
		{"negative window", Options{Window: -time.Second}, "Window"},
		{"score below a call", Options{MaxScore: 2}, "MaxScore"},
		{"proof without secret", Options{RequireAppSecretProof: true}, "RequireAppSecretProof"},
		{"ad account", Options{AdAccounts: []string{"act_x"}}, "AdAccounts"},
		{"grant", Options{Grants: map[string][]string{"t": {"abc"}}}, "Grants"},
		{"audience id", Options{Audiences: map[string]string{"a1": "1"}}, "Audiences"},
		{"audience account unknown", Options{AdAccounts: []string{"1"}, Audiences: map[string]string{"5": "act_2"}}, "Audiences"},
		{"audience in a known account", Options{AdAccounts: []string{"1"}, Audiences: map[string]string{"5": "act_1"}}, ""},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if tt.field == "" {
			require.NoError(t, err, tt.name)
			continue
		}
		require.Error(t, err, tt.name)
		require.Contains(t, err.Error(), tt.field, tt.name)
	}
	require.Panics(t, func() { New(Options{Tier: "gold"}) })
}

func TestWriteRate(t *testing.T) {
	t.Parallel()
	require.Equal(t, 10.0, Options{}.WriteRate(1), "the score binds: 9000/3 per 300s")
	require.InDelta(t, 5080.0/3600, Options{Tier: TierDevelopment, MaxScore: -1}.WriteRate(2), 1e-9)
	require.Equal(t, 2.0, Options{CallsPerWindow: 120, Window: time.Minute, MaxScore: -1}.WriteRate(0))
	require.Equal(t, 0.5, Options{MaxScore: -1, CallsPerWindow: -1, AppCallsPerHour: 1800}.WriteRate(0))
	require.Zero(t, Options{MaxScore: -1, CallsPerWindow: -1}.WriteRate(0))
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d := Options{}.Describe()
	for _, want := range []string{"v21.0", "10000 rows/request", "standard tier", "190000 + 40 × audiences calls/1h0m0s",
		"score 9000 points/5m0s", "sustained ≤ 10 membership writes/s (1e+05 rows/s)", "any ad account", "any access token"} {
		require.Contains(t, d, want)
	}
	d = Options{CallsPerWindow: 600, Window: time.Minute, MaxScore: -1, Tokens: []string{"a"}, AdAccounts: []string{"1"}}.Describe()
	require.Contains(t, d, "custom_audience budget 600 calls/1m0s")
	require.Contains(t, d, "sustained ≤ 10 membership writes/s")
	require.NotContains(t, d, "score")
	require.Contains(t, Options{CallsPerWindow: -1, MaxScore: -1}.Describe(), "no limits")
	require.True(t, strings.HasSuffix(d, "1 ad account(s), 1 access token(s)"), d)
	require.Equal(t, New(Options{}).Describe(), Options{}.Describe())
}
