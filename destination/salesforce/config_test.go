package salesforce_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/salesforce"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

func validConfig() *salesforce.Config {
	cfg := salesforce.Spec.NewConfig().(*salesforce.Config)
	cfg.SetDefaults()
	cfg.AccessToken = testToken
	cfg.InstanceURL = "https://acme.my.salesforce.com"
	return cfg
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		mutate func(*salesforce.Config)
		field  string
		want   string
	}{
		"missing token":          {func(c *salesforce.Config) { c.AccessToken = " " }, "access_token", "is empty: set it to the integration user's OAuth access token"},
		"missing instance url":   {func(c *salesforce.Config) { c.InstanceURL = "" }, "instance_url", "is empty: set it to the org's My Domain URL"},
		"instance url no scheme": {func(c *salesforce.Config) { c.InstanceURL = "acme.my.salesforce.com" }, "instance_url", "must start with https://"},
		"instance url query":     {func(c *salesforce.Config) { c.InstanceURL = "https://acme.my.salesforce.com/?x=1" }, "instance_url", "must not have a query"},
		"unknown edition":        {func(c *salesforce.Config) { c.Edition = "enterprize" }, "edition", `unknown edition "enterprize" (did you mean "enterprise"?): use one of developer, professional, enterprise, unlimited, performance`},
		"negative licenses":      {func(c *salesforce.Config) { c.Edition, c.Licenses = "enterprise", -1 }, "licenses", "must not be negative"},
		"licenses alone":         {func(c *salesforce.Config) { c.Licenses = 50 }, "licenses", "needs edition"},
		"api version":            {func(c *salesforce.Config) { c.APIVersion = "62" }, "api_version", `"62" is not an API version: write it as a quoted string such as "62.0"`},
		"old api version":        {func(c *salesforce.Config) { c.APIVersion = "45.0" }, "api_version", "45.0 is too old: sObject Collections upsert needs 46.0 or later"},
		"batch above 200":        {func(c *salesforce.Config) { c.BatchSize = 500 }, "batch_size", "must be between 1 and 200"},
		"bulk batch too large":   {func(c *salesforce.Config) { c.BulkBatchSize = 200_000 }, "bulk_batch_size", "between 1 and 100000"},
		"in flight above 25":     {func(c *salesforce.Config) { c.MaxInFlight = 30 }, "max_in_flight", "between 1 and 25"},
		"daily above the edition": {func(c *salesforce.Config) {
			c.Edition, c.Licenses = "enterprise", 50
			c.RateLimit = saas.RateLimit{Daily: 200_000}
		}, "rate_limit.daily", "200000 is more than Salesforce (enterprise edition, 50 licenses) allows (150000 a day)"},
		"daily above developer": {func(c *salesforce.Config) { c.Edition, c.RateLimit.Daily = "developer", 20_000 }, "rate_limit.daily", "more than Salesforce (developer edition) allows (15000 a day)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			tc.mutate(cfg)
			got := conformance.FieldErrors(t, cfg.Validate())
			require.Contains(t, got, tc.field, "%v", got)
			require.Contains(t, got[tc.field], tc.want)
			_, err := salesforce.Spec.Open(context.Background(), connector.DestinationParams{
				Config: cfg, SyncConfig: &salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c"}, Sync: districtInfo(connector.ModeUpsert),
			})
			require.True(t, connector.IsPermanent(err), "open refuses the config too: %v", err)
		})
	}
	require.NoError(t, validConfig().Validate())
}

func TestDailyAllocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		edition  string
		licenses int
		want     int
	}{
		{"developer", 0, 15_000}, {"developer", 50, 15_000},
		{"professional", 10, 110_000}, {"enterprise", 50, 150_000},
		{"unlimited", 50, 350_000}, {"performance", 2, 110_000},
	} {
		got, ok := salesforce.DailyAllocation(tc.edition, tc.licenses)
		require.True(t, ok)
		require.Equal(t, tc.want, got, "%s with %d licenses", tc.edition, tc.licenses)
	}
	_, ok := salesforce.DailyAllocation("essentials", 1)
	require.False(t, ok)
}

func TestSyncConfigValidation(t *testing.T) {
	t.Parallel()
	sc := func(mutate func(*salesforce.SyncConfig)) *salesforce.SyncConfig {
		s := salesforce.Spec.NewSyncConfig().(*salesforce.SyncConfig)
		s.SetDefaults()
		s.Object, s.ExternalIDField = "Account", "District_Id__c"
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	require.NoError(t, sc(nil).Validate())
	require.Equal(t, "auto", sc(nil).API)
	require.Contains(t, conformance.FieldErrors(t, sc(func(s *salesforce.SyncConfig) { s.API = "rest" }).Validate())["api"], `unknown api "rest": use auto, collections or bulk`)
	require.Contains(t, conformance.FieldErrors(t, sc(func(s *salesforce.SyncConfig) { s.Object = "Account/1" }).Validate())["object"], "is not an sObject API name")
	require.Contains(t, conformance.FieldErrors(t, sc(func(s *salesforce.SyncConfig) { s.ExternalIDField = "District Id" }).Validate())["external_id_field"], "is not a field API name")

	noExt := sc(func(s *salesforce.SyncConfig) { s.ExternalIDField = "" })
	for _, mode := range []connector.Mode{connector.ModeUpsert, connector.ModeMirror} {
		require.Contains(t, conformance.FieldErrors(t, noExt.ValidateMode(mode))["external_id_field"], "is required in "+string(mode)+" mode: set it to an External ID field of Account")
	}
	require.NoError(t, noExt.ValidateMode(connector.ModeInsert))
	require.NoError(t, noExt.ValidateMode(connector.ModeUpdate), "update may find records by a column mapped to Id")
	bulkInsert := sc(func(s *salesforce.SyncConfig) { s.ExternalIDField, s.API = "", "bulk" })
	require.Contains(t, conformance.FieldErrors(t, bulkInsert.ValidateMode(connector.ModeInsert))["api"], "bulk inserts need external_id_field")
}

// What the sync's mappings must say for its mode is refused when it opens.
func TestSyncFieldsPerMode(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	open := func(mode connector.Mode, sc salesforce.SyncConfig, fields ...string) error {
		if fields == nil {
			fields = districtFields
		}
		_, err := salesforce.Spec.Open(context.Background(), connector.DestinationParams{
			Config: tb.config(nil), SyncConfig: &sc,
			Sync: connector.SyncInfo{Name: "districts_to_salesforce", Mode: mode, KeyColumn: "district_id", KeyField: fields[0], Fields: fields},
		})
		return err
	}
	require.NoError(t, open(connector.ModeInsert, salesforce.SyncConfig{Object: "Account"}))
	require.NoError(t, open(connector.ModeUpdate, salesforce.SyncConfig{Object: "Account"}, "Id", "Students_Online__c"))
	require.ErrorContains(t, open(connector.ModeUpdate, salesforce.SyncConfig{Object: "Account"}),
		"update mode needs a way to find each record: set external_id_field to an External ID field a mapping writes, or map a column holding the record Id to Id")
	require.ErrorContains(t, open(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c"}, "Id", "District_Id__c"),
		"maps a column to Id, Salesforce's record id, which it sets itself: upsert mode finds records by external_id_field")
	require.ErrorContains(t, open(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Legacy_Code__c"}),
		"external_id_field Legacy_Code__c is not among the fields the sync writes (District_Id__c, Name, Students_Online__c): map the model column that holds it")
	require.ErrorContains(t, open(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c"}, "District_Id__c", "name", "Name"),
		"maps two columns to field Name")
	require.ErrorContains(t, open(connector.ModeUpsert, salesforce.SyncConfig{ExternalIDField: "District_Id__c"}), "object is required")
	require.ErrorContains(t, open(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account"}), "external_id_field: is required in upsert mode")
	// The model's key may be the external ID itself, unmapped: it is written from the key.
	_, err := salesforce.Spec.Open(context.Background(), connector.DestinationParams{
		Config: tb.config(nil), SyncConfig: &salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c"},
		Sync: connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "District_Id__c", KeyField: "District_Id__c", Fields: []string{"Name"}},
	})
	require.NoError(t, err)
}

// Capabilities are the API's limits lowered by the user's keys: 200 records a
// request with sObject Collections; the edition's daily allocation.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.districts(t, connector.ModeUpsert, "collections", nil)
	c := d.Capabilities()
	require.Equal(t, 200, c.MaxBatchRecords)
	require.Equal(t, 4, c.MaxInFlight)
	require.Equal(t, 8, c.MaxAttempts)
	require.Zero(t, c.RequestsPerSecond, "the budget paces, not the engine")
	require.Equal(t, connector.RateLimits{Daily: 110_000}, *c.Limits, "enterprise with 10 licenses")

	tb2 := setup(t, sim.Options{})
	d = tb2.districts(t, connector.ModeUpsert, "bulk", func(c *salesforce.Config) {
		c.BatchSize, c.MaxInFlight, c.MaxAttempts, c.BulkBatchSize = 50, 2, 3, 25_000
		c.RateLimit.Daily = 5_000
	})
	c = d.Capabilities()
	require.Equal(t, [3]int{25_000, 2, 3}, [3]int{c.MaxBatchRecords, c.MaxInFlight, c.MaxAttempts}, "a bulk job per batch")
	require.Equal(t, 5_000, c.Limits.Daily)
	require.Positive(t, c.MaxBatchBytes, "a job's upload is bounded")

	tb3 := setup(t, sim.Options{})
	d = tb3.districts(t, connector.ModeUpsert, "auto", func(c *salesforce.Config) { c.Edition, c.Licenses = "", 0 })
	require.Zero(t, d.Capabilities().Limits.Daily, "unknown until Salesforce's header says")
	require.NoError(t, d.Check(context.Background()))
	require.Equal(t, 100_000, d.Capabilities().Limits.Daily, "learned from Sforce-Limit-Info")
}
