package mixpanel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/mixpanel"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	valid := func() *mixpanel.Config {
		c := mixpanel.Spec.NewConfig().(*mixpanel.Config)
		c.SetDefaults()
		c.ProjectID = projectID
		c.ServiceAccount = mixpanel.ServiceAccount{Username: saUser, Secret: saSecret}
		return c
	}
	require.NoError(t, valid().Validate())
	cases := map[string]struct {
		mutate func(*mixpanel.Config)
		field  string
		want   string
	}{
		"no credentials":          {func(c *mixpanel.Config) { c.ServiceAccount = mixpanel.ServiceAccount{} }, "service_account", "or project_token"},
		"secret missing":          {func(c *mixpanel.Config) { c.ServiceAccount.Secret = "" }, "service_account.secret", "is missing"},
		"username missing":        {func(c *mixpanel.Config) { c.ServiceAccount.Username = "" }, "service_account.username", "is missing"},
		"project_id missing":      {func(c *mixpanel.Config) { c.ProjectID = "" }, "project_id", "required with service_account"},
		"project_id not a number": {func(c *mixpanel.Config) { c.ProjectID = "my-project" }, "project_id", "numeric"},
		"batch_size over 2000":    {func(c *mixpanel.Config) { c.BatchSize = 5000 }, "batch_size", "between 1 and 2000"},
		"max_in_flight over 20":   {func(c *mixpanel.Config) { c.MaxInFlight = 50 }, "max_in_flight", "between 1 and 20"},
		"rate above Mixpanel's":   {func(c *mixpanel.Config) { c.RateLimit = saas.RateLimit{Bytes: 4 << 30, Per: time.Minute} }, "rate_limit.bytes", "more than Mixpanel allows"},
		"base_url not a URL":      {func(c *mixpanel.Config) { c.BaseURL = "api.mixpanel.com" }, "base_url", "must start with https:// (or http:// for a local simulator)"},
		"base_url with a query":   {func(c *mixpanel.Config) { c.BaseURL = "https://api-eu.mixpanel.com?strict=1" }, "base_url", "must not have a query or a fragment: give the API's host, e.g. https://api.mixpanel.com"},
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
	// A project token alone is enough.
	c := valid()
	c.ServiceAccount, c.ProjectID, c.ProjectToken = mixpanel.ServiceAccount{}, "", token
	require.NoError(t, c.Validate())
}

func TestSyncConfigValidation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		sc     mixpanel.SyncConfig
		fields []string
	}{
		"events without event":           {mixpanel.SyncConfig{Object: "events", DistinctID: "u", Time: "t"}, []string{"event"}},
		"events without any column":      {mixpanel.SyncConfig{Object: "events"}, []string{"event", "distinct_id", "time"}},
		"profiles without distinct_id":   {mixpanel.SyncConfig{Object: "profiles"}, []string{"distinct_id"}},
		"profiles with event and time":   {mixpanel.SyncConfig{Object: "profiles", DistinctID: "id", Event: "e", Time: "t"}, []string{"event", "time"}},
		"unknown object":                 {mixpanel.SyncConfig{Object: "groups", DistinctID: "id"}, []string{"object"}},
		"events with every column":       {mixpanel.SyncConfig{Object: "events", Event: "e", DistinctID: "u", Time: "t"}, nil},
		"profiles with their one column": {mixpanel.SyncConfig{Object: "profiles", DistinctID: "id"}, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			errs := conformance.FieldErrors(t, tc.sc.Validate())
			require.Len(t, errs, len(tc.fields), "%v", errs)
			for _, f := range tc.fields {
				require.Contains(t, errs, f)
			}
		})
	}
	require.Equal(t, "unknown object \"groups\": use events or profiles", conformance.FieldErrors(t, (&mixpanel.SyncConfig{Object: "groups"}).Validate())["object"])
	cols := (&mixpanel.SyncConfig{Object: "events", Event: "name", DistinctID: "user", Time: "at"}).ColumnKeys()
	require.Equal(t, []connector.ColumnKey{{Key: "event", Column: "name"}, {Key: "distinct_id", Column: "user"}, {Key: "time", Column: "at"}}, cols)
}

func TestOpenRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	cases := map[string]struct {
		sc    *mixpanel.SyncConfig
		info  func() connector.SyncInfo
		field string
		want  string
	}{
		"event column the sync lacks": {
			sc:    &mixpanel.SyncConfig{Object: "events", Event: "kind", DistinctID: "user_id", Time: "occurred_at"},
			info:  func() connector.SyncInfo { i := eventInfo; i.ColumnFields = nil; return i },
			field: "event", want: `column "kind" is not among the fields`,
		},
		"property named like Sluice's": {
			sc: eventSync,
			info: func() connector.SyncInfo {
				i := eventInfo
				i.Fields = []string{"time", "event_name", "user_id", "occurred_at"}
				return i
			},
			field: "mappings", want: `property "time" is set by Sluice`,
		},
		"no sync keys": {
			sc: nil, info: func() connector.SyncInfo { return eventInfo },
			field: "object", want: "is required",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := connector.DestinationParams{Name: "product", Config: tb.config(nil), Sync: tc.info()}
			if tc.sc != nil {
				p.SyncConfig = tc.sc
			}
			_, err := mixpanel.Spec.Open(context.Background(), p)
			errs := conformance.FieldErrors(t, err)
			require.Contains(t, errs, tc.field, "%v", err)
			require.Contains(t, errs[tc.field], tc.want)
		})
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	caps := tb.open(t, eventInfo, eventSync, nil).Capabilities()
	require.Equal(t, 2000, caps.MaxBatchRecords)
	require.Equal(t, 10_000_000, caps.MaxBatchBytes)
	require.Equal(t, mixpanel.API.DefaultInFlight, caps.MaxInFlight)
	require.Equal(t, 8, caps.MaxAttempts)
	require.Zero(t, caps.RequestsPerSecond, "the shared budget paces, not the engine")
	require.Equal(t, &connector.RateLimits{Bytes: 2 << 30, Window: time.Minute}, caps.Limits)

	caps = tb.open(t, eventInfo, eventSync, func(c *mixpanel.Config) {
		c.BatchSize, c.MaxInFlight, c.MaxAttempts = 500, 4, 3
		c.RateLimit = saas.RateLimit{Bytes: 1 << 30, Per: time.Minute}
	}).Capabilities()
	require.Equal(t, 500, caps.MaxBatchRecords)
	require.Equal(t, 4, caps.MaxInFlight)
	require.Equal(t, 3, caps.MaxAttempts)
	require.Equal(t, &connector.RateLimits{Bytes: 1 << 30, Window: time.Minute}, caps.Limits)
}
