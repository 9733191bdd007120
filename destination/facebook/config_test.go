package facebook_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/facebook"
	sim "github.com/sluicehq/sluice/simulator/facebook"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	valid := func() *facebook.Config {
		c := facebook.Spec.NewConfig().(*facebook.Config)
		c.SetDefaults()
		c.AccessToken = token
		c.AdAccountID = "act_" + account
		return c
	}
	require.NoError(t, valid().Validate())
	cases := map[string]struct {
		mutate func(*facebook.Config)
		field  string
		want   string
	}{
		"missing token":            {func(c *facebook.Config) { c.AccessToken = " " }, "access_token", "is empty: set it to a system user's access token with ads_management"},
		"missing ad account":       {func(c *facebook.Config) { c.AdAccountID = "" }, "ad_account_id", "is empty"},
		"ad account with letters":  {func(c *facebook.Config) { c.AdAccountID = "act_12ab" }, "ad_account_id", `"act_12ab" is not an ad account id: write act_ followed by the account's digits, e.g. act_1234567`},
		"ad account as a URL":      {func(c *facebook.Config) { c.AdAccountID = "https://business.facebook.com/act_1" }, "ad_account_id", "is not an ad account id"},
		"batch_size over 10,000":   {func(c *facebook.Config) { c.BatchSize = 20000 }, "batch_size", "between 1 and 10000"},
		"max_in_flight over 16":    {func(c *facebook.Config) { c.MaxInFlight = 64 }, "max_in_flight", "between 1 and 16"},
		"rate above the score's":   {func(c *facebook.Config) { c.RateLimit = saas.RateLimit{Requests: 100, Per: 5 * time.Second} }, "rate_limit.requests", "more than Meta's Marketing API (standard tier) allows (3000 per 5m0s)"},
		"base_url without scheme":  {func(c *facebook.Config) { c.BaseURL = "graph.facebook.com" }, "base_url", "must start with https://"},
		"base_url with a fragment": {func(c *facebook.Config) { c.BaseURL = "https://graph.facebook.com/v21.0#x" }, "base_url", "must not have a query or a fragment"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			errs := conformance.FieldErrors(t, c.Validate())
			require.Contains(t, errs, tc.field, "%v", errs)
			require.Contains(t, errs[tc.field], tc.want)
		})
	}
	// An ad account id without act_ is taken as it is shown in Ads Manager.
	c := valid()
	c.AdAccountID = account
	require.NoError(t, c.Validate())
}

func TestSyncConfigValidation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		sc    facebook.SyncConfig
		field string
		want  string
	}{
		"unknown key": {
			facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"EMAIL": "email", "EMAILS": "email2"}},
			"identifiers.EMAILS", `"EMAILS" is not one of Meta's schema keys (did you mean EMAIL?): use EXTERN_ID, EMAIL, PHONE, GEN, DOBY, DOBM, DOBD, LN, FN, FI, CT, ST, ZIP, MADID, COUNTRY, or LOOKALIKE_VALUE for a value-based audience`,
		},
		"a key twice": {
			facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"EMAIL": "email", "email": "email2"}},
			"identifiers.email", `names EMAIL again (as "EMAIL"): give each schema key once`,
		},
		"no column": {
			facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"EMAIL": "email", "PHONE": ""}},
			"identifiers.PHONE", "names no column: set it to the model column holding the phone number with its country code, or remove the key",
		},
		"only a value": {
			facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"LOOKALIKE_VALUE": "ltv"}},
			"identifiers", "names no identifier: LOOKALIKE_VALUE is a customer's value, not who they are",
		},
		"empty identifiers": {
			facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{}},
			"identifiers", "is empty: map at least one of Meta's schema keys to a model column",
		},
		"audience id not a number": {
			facebook.SyncConfig{AudienceID: "Big spenders", Identifiers: map[string]string{"EMAIL": "email"}},
			"audience_id", `"Big spenders" is not an audience id: use the audience's numeric id`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			errs := conformance.FieldErrors(t, tc.sc.Validate())
			require.Contains(t, errs, tc.field, "%v", errs)
			require.Contains(t, errs[tc.field], tc.want)
		})
	}
	// Keys may be written in any case; the columns go to the engine in Meta's order.
	sc := facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"country": "c", "Email": "e", "PHONE": "p", "EXTERN_ID": "id"}}
	require.NoError(t, sc.Validate())
	require.Equal(t, []connector.ColumnKey{
		{Key: "identifiers.EXTERN_ID", Column: "id"}, {Key: "identifiers.Email", Column: "e"},
		{Key: "identifiers.PHONE", Column: "p"}, {Key: "identifiers.country", Column: "c"},
	}, sc.ColumnKeys())
}

// Open refuses what the project loader would, and what only the sync's mode
// and fields tell.
func TestOpenRefusesBadSyncs(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	open := func(info connector.SyncInfo, sc *facebook.SyncConfig, mutate func(*facebook.Config)) error {
		_, err := facebook.Spec.Open(context.Background(), connector.DestinationParams{Name: "ads", Config: tb.config(mutate), SyncConfig: sc, Sync: info})
		return err
	}
	err := open(customerInfo(connector.ModeUpdate), customerSync(), nil)
	require.ErrorContains(t, err, "mode update cannot apply to an audience: Meta does not say who is in one")
	err = open(customerInfo(connector.ModeMirror), &facebook.SyncConfig{Identifiers: map[string]string{"EMAIL": "email"}}, nil)
	require.ErrorContains(t, err, "audience_id is required")
	err = open(customerInfo(connector.ModeMirror), &facebook.SyncConfig{AudienceID: audienceID}, nil)
	require.ErrorContains(t, err, "identifiers is required")
	info := customerInfo(connector.ModeMirror)
	info.ColumnFields = nil
	info.Fields = []string{"id", "mail"}
	err = open(info, customerSync(), nil)
	require.ErrorContains(t, err, `identifiers.EMAIL: column "email" is not among the fields the sync carries (id, mail)`)
	err = open(customerInfo(connector.ModeMirror), customerSync(), func(c *facebook.Config) { c.AccessToken = "" })
	require.ErrorContains(t, err, "access_token: is empty")
	require.True(t, connector.IsPermanent(err))
	require.Zero(t, tb.sim.Counters().Requests.Load(), "nothing reached Meta")
}

func TestSpec(t *testing.T) {
	t.Parallel()
	require.Equal(t, "facebook_audience", facebook.Spec.Type)
	require.False(t, facebook.Spec.SupportsMode(connector.ModeUpdate))
	limits, ok := facebook.TierLimits(facebook.TierStandard)
	require.True(t, ok)
	require.Equal(t, connector.RateLimits{Requests: 3000, Window: 5 * time.Minute}, limits)
	limits, _ = facebook.TierLimits(facebook.TierDevelopment)
	require.Equal(t, connector.RateLimits{Requests: 20, Window: 5 * time.Minute}, limits)
}
