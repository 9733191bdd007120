package salesforce_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/salesforce"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

// Check reads the object's describe before anything is sent and refuses what
// Salesforce would refuse for every record, naming the sync and the field.
func TestCheckRefusesWhatSalesforceWouldRefuse(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	check := func(mode connector.Mode, sc salesforce.SyncConfig, fields ...string) error {
		t.Helper()
		d := tb.open(t, tb.config(nil), connector.SyncInfo{Name: "districts_to_salesforce", Mode: mode, KeyColumn: "district_id", KeyField: fields[0], Fields: fields}, sc)
		return d.Check(context.Background())
	}
	upsert := salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c"}

	require.NoError(t, check(connector.ModeUpsert, upsert, "District_Id__c", "Name", "Students_Online__c"))
	require.NoError(t, check(connector.ModeUpsert, upsert, "district_id__c", "name"), "field names are read without case, as Salesforce does")

	err := check(connector.ModeUpsert, upsert, "District_Id__c", "Students_Onlin__c")
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, `salesforce: sync districts_to_salesforce: maps a column to field "Students_Onlin__c", which Account does not have (did you mean "Students_Online__c"?)`)
	require.ErrorContains(t, err, "Setup > Object Manager > Account > Fields & Relationships")

	_, err = salesforce.Spec.Open(context.Background(), connector.DestinationParams{
		Config: tb.config(nil), SyncConfig: &upsert,
		Sync: connector.SyncInfo{Name: "districts_to_salesforce", Mode: connector.ModeUpsert, KeyField: "District_Id__c", Fields: []string{"District_Id__c", "Students Online"}},
	})
	require.ErrorContains(t, err, `maps a column to "Students Online", which is not a field API name`, "a label is not an API name")

	err = check(connector.ModeUpsert, upsert, "District_Id__c", "Health_Score__c")
	require.ErrorContains(t, err, "maps a column to field Health_Score__c of Account, which cannot be set when a record is created (createable is false")

	err = check(connector.ModeUpsert, upsert, "District_Id__c", "Region__c")
	require.ErrorContains(t, err, "maps a column to field Region__c of Account, which cannot be changed on existing records (updateable is false): upsert mode changes records")
	require.NoError(t, check(connector.ModeInsert, salesforce.SyncConfig{Object: "Account"}, "Name", "Region__c"), "insert only creates")

	err = check(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Plan__c"}, "Plan__c", "Name")
	require.ErrorContains(t, err, "external_id_field Plan__c is not an External ID field of Account: Salesforce matches records only by a field with the External ID attribute (externalId); the External ID fields of Account are District_Id__c, Legacy_Code__c")

	err = check(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Idd__c"}, "District_Idd__c", "Name")
	require.ErrorContains(t, err, `maps a column to field "District_Idd__c", which Account does not have (did you mean "District_Id__c"?)`)
	require.ErrorContains(t, err, `external_id_field "District_Idd__c" is not a field of Account (did you mean "District_Id__c"?)`)

	// Every problem at once.
	err = check(connector.ModeUpsert, salesforce.SyncConfig{Object: "Account", ExternalIDField: "Plan__c"}, "Plan__c", "Nme", "Health_Score__c")
	require.Equal(t, 3, strings.Count(err.Error(), "salesforce: sync districts_to_salesforce:"), err.Error())

	err = check(connector.ModeUpsert, salesforce.SyncConfig{Object: "Acount", ExternalIDField: "District_Id__c"}, "District_Id__c")
	require.ErrorContains(t, err, `Salesforce has no object "Acount" (did you mean "Account"?)`)
}

func TestCheckRefusesABadTokenAndAnUnservedVersion(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{APIVersions: []string{"60.0", "62.0"}})
	d := tb.districts(t, connector.ModeUpsert, "auto", func(c *salesforce.Config) { c.AccessToken = "00D-expired" })
	err := d.Check(context.Background())
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, "HTTP 401: INVALID_SESSION_ID: Session expired or invalid: check access_token")
	require.NotContains(t, err.Error(), "00D-expired")

	d = tb.districts(t, connector.ModeUpsert, "auto", func(c *salesforce.Config) { c.APIVersion = "64.0" })
	err = d.Check(context.Background())
	require.ErrorContains(t, err, "the org does not serve REST API version 64.0")
}

// Every object permission the sync's mode needs and the integration user lacks
// is reported, at once.
func TestCheckReportsEveryMissingObjectPermission(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/sobjects/Account/describe") {
			return false
		}
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for _, p := range []string{"createable", "updateable", "deletable"} {
			// The object's permissions come first, before its fields'.
			body = bytes.Replace(body, []byte(`"`+p+`":true`), []byte(`"`+p+`":false`), 1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return true
	})
	d := tb.districts(t, connector.ModeMirror, "auto", func(c *salesforce.Config) { c.InstanceURL = url })
	err := d.Check(context.Background())
	require.True(t, connector.IsPermanent(err))
	require.ErrorContains(t, err, "the integration user cannot create Account records, which mirror mode does: grant Create on Account")
	require.ErrorContains(t, err, "the integration user cannot edit Account records, which mirror mode does: grant Edit on Account")
	require.ErrorContains(t, err, "the integration user cannot delete Account records, which mirror mode does for rows removed from the model: grant Delete on Account")
}
