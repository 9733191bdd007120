package hubspot_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/hubspot"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/simkit"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{CustomObjects: map[string][]sim.Property{
		"pets": {{Name: "pet_id", Type: "string", HasUniqueValue: true}, {Name: "name", Type: "string"}},
	}})
	require.NoError(t, tb.sim.AddProperty("contacts", sim.Property{Name: "plan_tier", Label: "Plan tier", Type: "string"}))
	check := func(mode connector.Mode, sc hubspot.SyncConfig, fields ...string) error {
		d := tb.open(t, tb.config(nil), connector.SyncInfo{Name: "users_to_hubspot", Mode: mode, KeyColumn: "id", KeyField: "id", Fields: fields}, sc)
		return d.Check(context.Background())
	}
	contacts := hubspot.SyncConfig{Object: "contacts", IDProperty: "email"}

	require.NoError(t, check(connector.ModeMirror, contacts, "email", "firstname", "plan_tier"))
	require.NoError(t, check(connector.ModeUpsert, hubspot.SyncConfig{Object: "pets", IDProperty: "pet_id"}, "pet_id", "name"))
	require.NoError(t, check(connector.ModeUpsert, hubspot.SyncConfig{Object: "2-1001", IDProperty: "pet_id"}, "pet_id", "name"))
	require.NoError(t, check(connector.ModeUpdate, hubspot.SyncConfig{Object: "contacts", IDProperty: "hs_object_id"}, "hs_object_id", "firstname"))

	err := check(connector.ModeUpsert, contacts, "email", "plan_teir", "first_name")
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, `hubspot: sync users_to_hubspot: maps a column to property "plan_teir", which contacts does not have in HubSpot (did you mean "plan_tier"?)`)
	require.ErrorContains(t, err, "create the property in HubSpot")
	require.ErrorContains(t, err, `property "first_name", which contacts does not have in HubSpot (did you mean "firstname"?)`)

	err = check(connector.ModeUpsert, contacts, "email", "hs_email_domain", "createdate")
	require.ErrorContains(t, err, `maps a column to property "hs_email_domain" of contacts, which is read-only in HubSpot`)
	require.ErrorContains(t, err, `"createdate" of contacts, which is read-only`)

	err = check(connector.ModeUpsert, hubspot.SyncConfig{Object: "contacts", IDProperty: "firstname"}, "firstname", "email")
	require.ErrorContains(t, err, `id_property "firstname" is not a unique property of contacts: upsert mode finds records by it, so it must be a property with unique values (hasUniqueValue), or email for contacts; the unique properties of contacts are email`)

	err = check(connector.ModeUpsert, hubspot.SyncConfig{Object: "pets", IDProperty: "name"}, "name")
	require.ErrorContains(t, err, `the unique properties of pets are pet_id`)

	err = check(connector.ModeUpsert, hubspot.SyncConfig{Object: "pets", IDProperty: "petid"}, "petid", "name")
	require.ErrorContains(t, err, `id_property "petid" is not a property of pets in HubSpot (did you mean "pet_id"?): the unique properties of pets are pet_id`)

	err = check(connector.ModeUpsert, hubspot.SyncConfig{Object: "pet", IDProperty: "pet_id"}, "pet_id")
	require.ErrorContains(t, err, `HubSpot has no object "pet"`)

	// Check reads; it never writes.
	for _, r := range tb.sim.Log().Requests() {
		require.Equal(t, http.MethodGet, r.Method, r.Path)
	}
}

// Check's reads are retried through throttling and server errors, as writes are.
func TestCheckRetriesTransientAnswers(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.contacts(t, connector.ModeUpsert, nil)
	tb.sim.SetFaults(simkit.Faults{Force429: 1, Fail5xx: 2})
	require.NoError(t, d.Check(context.Background()))
	require.Equal(t, int64(1), tb.sim.Counters().Throttled.Load())
	require.Equal(t, int64(2), tb.sim.Counters().ServerErrors.Load())
}
