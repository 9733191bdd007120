package facebook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit"
)

func TestCheckFindsConfigurationProblems(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		opts   sim.Options
		setup  func(*testBundle)
		mutate func(*facebook.Config)
		sc     func(*facebook.SyncConfig)
		want   string
	}{
		"unknown audience": {
			opts: sim.Options{Audiences: map[string]string{"111": account}},
			want: "audience " + audienceID + " does not exist, was deleted, or the token cannot reach it: check audience_id",
		},
		"bad token": {
			opts: sim.Options{Tokens: []string{"another"}},
			want: "Invalid OAuth access token. [code 190",
		},
		"another ad account's audience": {
			mutate: func(c *facebook.Config) { c.AdAccountID = "act_7654321" },
			want:   "belongs to ad account act_1234567, not act_7654321: set ad_account_id to act_1234567",
		},
		"flagged audience": {
			setup: func(tb *testBundle) { require.NoError(t, tb.sim.SetFlagged(audienceID, true)) },
			want:  "is flagged (operation_status 471",
		},
		"a value where the audience takes none": {
			sc:   func(sc *facebook.SyncConfig) { sc.Identifiers["LOOKALIKE_VALUE"] = "country" },
			want: "is not value-based: Meta ignores LOOKALIKE_VALUE for it",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, tc.opts)
			if tc.setup != nil {
				tc.setup(tb)
			}
			sc := customerSync()
			if tc.sc != nil {
				tc.sc(sc)
			}
			d := tb.open(t, customerInfo(connector.ModeMirror), sc, tc.mutate)
			err := d.Check(context.Background())
			require.Error(t, err)
			require.True(t, connector.IsPermanent(err), "%v", err)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, int64(1), tb.sim.Counters().Requests.Load(), "one read, no write")
		})
	}
}

// A value-based audience needs the customer value of each row.
func TestCheckWantsTheValueOfAValueBasedAudience(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	resp, err := http.PostForm(tb.srv.URL+"/v21.0/act_"+account+"/customaudiences", url.Values{
		"access_token": {token}, "name": {"Value"}, "subtype": {"CUSTOM"},
		"customer_file_source": {"USER_PROVIDED_ONLY"}, "is_value_based": {"true"},
	})
	require.NoError(t, err)
	var created struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	sc := customerSync()
	sc.AudienceID = created.ID
	d := tb.open(t, customerInfo(connector.ModeMirror), sc, nil)
	require.ErrorContains(t, d.Check(context.Background()), "is value-based: each row needs its customer value: add LOOKALIKE_VALUE: <column> to identifiers")
}

// A throttled or failing check is retried; a good configuration passes.
func TestCheckRetriesThrottling(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 1, Force429: 1})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, d.Check(context.Background()))
	require.Equal(t, int64(3), tb.sim.Counters().Requests.Load())
}
