package hubspot_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
)

func validConfig() *hubspot.Config {
	cfg := hubspot.Spec.NewConfig().(*hubspot.Config)
	cfg.SetDefaults()
	cfg.AccessToken = testToken
	return cfg
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		mutate func(*hubspot.Config)
		field  string
		want   string
	}{
		"unknown tier":    {func(c *hubspot.Config) { c.Tier = "pro" }, "tier", `unknown tier "pro": use one of free, starter, professional, enterprise`},
		"batch too large": {func(c *hubspot.Config) { c.BatchSize = 500 }, "batch_size", "must be between 1 and 100"},
		"rate above the tier": {func(c *hubspot.Config) {
			c.Tier = "free"
			c.RateLimit = saas.RateLimit{Requests: 150, Per: 10 * time.Second}
		}, "rate_limit.requests", "150 per 10s is more than HubSpot (free tier) allows (100 per 10s)"},
		"daily above the tier":    {func(c *hubspot.Config) { c.Tier = "professional"; c.RateLimit.Daily = 700_000 }, "rate_limit.daily", "700000 is more than HubSpot (professional tier) allows (625000 a day)"},
		"rate above any account":  {func(c *hubspot.Config) { c.RateLimit = saas.RateLimit{Requests: 30, Per: time.Second} }, "rate_limit.requests", "more than HubSpot allows (190 per 10s)"},
		"too many packs":          {func(c *hubspot.Config) { c.LimitIncreasePacks = 3 }, "limit_increase_packs", "between 0 and 2"},
		"missing token":           {func(c *hubspot.Config) { c.AccessToken = "" }, "access_token", "is empty: set it to a private app's access token"},
		"base url without scheme": {func(c *hubspot.Config) { c.BaseURL = "api.hubapi.com" }, "base_url", "must start with https:// (or http:// for a local simulator)"},
		"base url with a query":   {func(c *hubspot.Config) { c.BaseURL = "https://api.hubapi.com/?portal=1" }, "base_url", "must not have a query or a fragment: give the API's host, e.g. https://api.hubapi.com"},
		"base url without host":   {func(c *hubspot.Config) { c.BaseURL = "https://" }, "base_url", "has no host"},
		"in flight above the max": {func(c *hubspot.Config) { c.MaxInFlight = 100 }, "max_in_flight", "between 1 and 32"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			tc.mutate(cfg)
			got := conformance.FieldErrors(t, cfg.Validate())
			require.Contains(t, got, tc.field, "%v", got)
			require.Contains(t, got[tc.field], tc.want)
			_, err := hubspot.Spec.Open(context.Background(), connector.DestinationParams{
				Config: cfg, SyncConfig: &hubspot.SyncConfig{Object: "contacts", IDProperty: "email"}, Sync: contactInfo(connector.ModeUpsert),
			})
			require.True(t, connector.IsPermanent(err), "open refuses the config too: %v", err)
		})
	}
	require.NoError(t, validConfig().Validate())
	require.NoError(t, (&hubspot.SyncConfig{Object: "2-1001", IDProperty: "external_id"}).Validate())
	require.Contains(t, conformance.FieldErrors(t, (&hubspot.SyncConfig{Object: "crm/contacts"}).Validate()), "object")
}

// Capabilities are the tier's limits, lowered by the user's keys.
func TestCapabilitiesFollowTheTier(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	cases := []struct {
		tier            string
		packs           int
		rate            saas.RateLimit
		requests, daily int
		window          time.Duration
	}{
		{tier: "free", requests: 100, daily: 250_000},
		{tier: "starter", requests: 100, daily: 250_000},
		{tier: "professional", requests: 190, daily: 625_000},
		{tier: "enterprise", requests: 190, daily: 1_000_000},
		{tier: "enterprise", packs: 2, requests: 250, daily: 3_000_000},
		{tier: "professional", rate: saas.RateLimit{Requests: 50, Daily: 100_000}, requests: 50, daily: 100_000},
		{tier: "professional", rate: saas.RateLimit{Requests: 5, Per: time.Second}, requests: 5, daily: 625_000, window: time.Second},
	}
	for i, tc := range cases {
		d := tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) {
			c.Tier, c.LimitIncreasePacks, c.RateLimit = tc.tier, tc.packs, tc.rate
			c.AccessToken = "token-" + strconv.Itoa(i) // an account (budget) of its own
		})
		c := d.Capabilities()
		window := tc.window
		if window == 0 {
			window = 10 * time.Second
		}
		require.Equal(t, connector.RateLimits{Requests: tc.requests, Window: window, Daily: tc.daily}, *c.Limits, "%+v", tc)
		require.Equal(t, 100, c.MaxBatchRecords)
		require.Equal(t, 8, c.MaxInFlight)
		require.Equal(t, 8, c.MaxAttempts)
		require.Zero(t, c.RequestsPerSecond, "the budget paces, not the engine")
	}
	d := tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) { c.BatchSize, c.MaxInFlight, c.MaxAttempts = 25, 2, 3 })
	c := d.Capabilities()
	require.Equal(t, [3]int{25, 2, 3}, [3]int{c.MaxBatchRecords, c.MaxInFlight, c.MaxAttempts})
}

// Without a tier the limits start at the free tier's and are learned from
// HubSpot's headers on the first answer (here Check's).
func TestLimitsAreLearnedWithoutATier(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Tier: sim.TierEnterprise})
	d := tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) { c.Tier = "" })
	require.Equal(t, connector.RateLimits{Requests: 100, Window: 10 * time.Second, Daily: 250_000}, *d.Capabilities().Limits)
	require.NoError(t, d.Check(context.Background()))
	require.Equal(t, connector.RateLimits{Requests: 190, Window: 10 * time.Second, Daily: 1_000_000}, *d.Capabilities().Limits)

	// The user's rate_limit still lowers what is learned.
	d = tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) {
		c.Tier, c.AccessToken = "", "another-token"
		c.RateLimit = saas.RateLimit{Requests: 150, Per: 10 * time.Second, Daily: 500_000}
	})
	err, _ := write(d, people(record.OpAdd, 1)...)
	require.NoError(t, err)
	require.Equal(t, connector.RateLimits{Requests: 150, Window: 10 * time.Second, Daily: 500_000}, *d.Capabilities().Limits)
}

// What a sync's keys must say for its mode is refused when it opens.
func TestSyncKeysPerMode(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	open := func(mode connector.Mode, sc hubspot.SyncConfig, fields ...string) error {
		if fields == nil {
			fields = contactFields
		}
		_, err := hubspot.Spec.Open(context.Background(), connector.DestinationParams{
			Config: tb.config(nil), SyncConfig: &sc,
			Sync: connector.SyncInfo{Name: "users_to_hubspot", Mode: mode, KeyColumn: "id", KeyField: "id", Fields: fields},
		})
		return err
	}
	require.NoError(t, open(connector.ModeInsert, hubspot.SyncConfig{Object: "contacts"}))
	for _, mode := range []connector.Mode{connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror} {
		err := open(mode, hubspot.SyncConfig{Object: "contacts"})
		require.ErrorContains(t, err, "id_property is required in "+string(mode)+" mode")
		require.ErrorContains(t, err, "email, for contacts")
	}
	require.ErrorContains(t, open(connector.ModeUpsert, hubspot.SyncConfig{Object: "contacts", IDProperty: "hs_object_id"}, "hs_object_id", "email"),
		"works in update mode only")
	require.ErrorContains(t, open(connector.ModeUpsert, hubspot.SyncConfig{Object: "contacts", IDProperty: "external_id"}),
		`id_property "external_id" is not among the fields the sync writes (email, firstname, lifecyclestage): map the model column that holds it`)
	require.ErrorContains(t, open(connector.ModeUpsert, hubspot.SyncConfig{Object: "contacts", IDProperty: "email"}, "email", "hs_object_id"),
		"HubSpot sets itself")
	require.ErrorContains(t, open(connector.ModeUpsert, hubspot.SyncConfig{}), "object is required")
	// The model's key may be the id property itself, unmapped.
	_, err := hubspot.Spec.Open(context.Background(), connector.DestinationParams{
		Config: tb.config(nil), SyncConfig: &hubspot.SyncConfig{Object: "contacts", IDProperty: "email"},
		Sync: connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "email", KeyField: "email", Fields: []string{"firstname"}},
	})
	require.NoError(t, err)
}
