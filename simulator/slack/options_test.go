package slack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	o := Options{}.WithDefaults()
	require.Equal(t, map[string]Channel{DefaultChannelID: {Name: "general", Member: true}}, o.Channels)
	require.Equal(t, 1.0, o.PerChannelPerSecond)
	require.Equal(t, 2, o.Burst)
	require.Equal(t, 600, o.WorkspacePerMinute)
	require.Equal(t, 50, o.InfoPerMinute)
	require.Equal(t, 40_000, o.MaxTextChars)
	require.Equal(t, int64(4<<20), o.MaxBodyBytes)
	require.Equal(t, "T0SIM0001", o.TeamID)
	require.Equal(t, "/slack", Options{Prefix: "slack/"}.WithDefaults().Prefix)
	require.Empty(t, Options{Channels: map[string]Channel{}}.WithDefaults().Channels, "an empty map is no channels")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string // "" is valid
	}{
		{"defaults", Options{}, ""},
		{"channels", Options{Channels: testChannels()}, ""},
		{"bad channel ID", Options{Channels: map[string]Channel{"general": {Name: "general"}}}, `Channels "general": an ID is C, G or D`},
		{"bad channel name", Options{Channels: map[string]Channel{"C0000ALERT": {Name: "#Alerts"}}}, `name "#Alerts"`},
		{"duplicate name", Options{Channels: map[string]Channel{"C0000AAAA1": {Name: "a"}, "C0000AAAA2": {Name: "a"}}}, `Channels "C0000AAAA2": name "a" is also C0000AAAA1's`},
		{"bad webhook path", Options{Webhooks: map[string]string{"https://hooks.slack.com/x": "C0123ABCD"}}, `Webhooks "https://hooks.slack.com/x"`},
		{"webhook to a name", Options{Webhooks: map[string]string{"T1/B2/x": "#general"}}, `channel "#general" is not a channel ID`},
		{"negative burst", Options{Burst: -1}, "Burst -1"},
		{"negative sizes", Options{MaxTextChars: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if tt.want == "" {
			require.NoError(t, err, tt.name)
			continue
		}
		require.ErrorContains(t, err, tt.want, tt.name)
	}
	require.Panics(t, func() { New(Options{Burst: -1}) })
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	require.Equal(t, "Slack: chat.postMessage, auth.test, conversations.info and 0 incoming webhook(s); workspace Sluice Simulator (T0SIM0001); #general C0123ABCD; 1/s per channel (burst 2), 600/min per workspace; any xox… token",
		Options{}.Describe())
	require.Equal(t, "Slack: chat.postMessage, auth.test, conversations.info and any incoming webhook; workspace Sluice Simulator (T0SIM0001); any channel; no per-channel limit; 1 token(s)",
		Options{AnyChannel: true, AnyWebhook: true, PerChannelPerSecond: -1, WorkspacePerMinute: -1, Tokens: []string{"xoxb-1"}}.Describe())
}
