package salesforce

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A sequence of Collections and Bulk writes leaves the org in a known state,
// which the accessors report.
func TestFinalState(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{KeepBodies: true})
	require.NoError(t, b.sim.AddField("Account", Field{Name: "District_Id__c", Type: TypeString, ExternalID: true, Unique: true}))
	require.NoError(t, b.sim.AddField("Contact", Field{Name: "Ext_Id__c", Type: TypeString, ExternalID: true}))

	// Upsert districts, then upsert contacts in bulk naming them.
	b.do(http.MethodPatch, "composite/sobjects/Account/District_Id__c", records(false,
		rec("Account", "District_Id__c", "D-1", "Name", "North", "NumberOfEmployees", 10),
		rec("Account", "District_Id__c", "D-2", "Name", "South"))).results(t)
	b.clock.Advance(time.Minute)
	job := b.runJob(map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Ext_Id__c"},
		"Ext_Id__c,LastName,Email,Account.District_Id__c\nu-1,Ng,ng@example.com,D-1\nu-2,Ode,ode@example.com,D-2\nu-3,Park,,D-2\n")
	b.clock.Advance(time.Second)
	// A rename, a delete and a contact moved.
	b.do(http.MethodPatch, "composite/sobjects/Account/District_Id__c", records(false,
		rec("Account", "District_Id__c", "D-2", "Name", "South West"))).results(t)
	parkRec, _ := b.sim.Find("Contact", "Ext_Id__c", "u-3")
	b.do(http.MethodDelete, "composite/sobjects?ids="+parkRec.ID, nil).results(t)
	b.do(http.MethodPatch, "composite/sobjects/Contact/Ext_Id__c", records(false,
		rec("Contact", "Ext_Id__c", "u-2", "Account", map[string]any{"District_Id__c": "D-1"}))).results(t)

	north, ok := b.sim.Find("Account", "District_Id__c", "d-1")
	require.True(t, ok)
	south, _ := b.sim.Find("Account", "District_Id__c", "D-2")
	require.Equal(t, []Record{
		{ID: north.ID, Fields: map[string]any{"District_Id__c": "D-1", "Name": "North", "NumberOfEmployees": int64(10)}, Created: t0, Modified: t0},
		{ID: south.ID, Fields: map[string]any{"District_Id__c": "D-2", "Name": "South West"}, Created: t0, Modified: t0.Add(time.Minute + time.Second)},
	}, b.sim.Records("Account"))

	contacts := b.sim.Records("Contact")
	require.Len(t, contacts, 2)
	processed := t0.Add(time.Minute + 600*time.Microsecond) // 3 records at 5,000/s
	require.Equal(t, map[string]any{"Ext_Id__c": "u-1", "LastName": "Ng", "Email": "ng@example.com", "AccountId": north.ID,
		"HasOptedOutOfEmail": false, "DoNotCall": false}, contacts[0].Fields)
	require.Equal(t, processed, contacts[0].Created)
	require.Equal(t, north.ID, contacts[1].Fields["AccountId"])
	require.Equal(t, []string{parkRec.ID}, []string{b.sim.Deleted("Contact")[0].ID})

	info, ok := b.sim.Job(job)
	require.True(t, ok)
	require.Equal(t, StateJobComplete, info.State)
	require.Equal(t, "Ext_Id__c", info.ExternalIDField)

	// The log has every request with its status and (KeepBodies) body.
	reqs := b.sim.Log().Requests()
	require.Len(t, reqs, 7)
	require.Equal(t, http.MethodPut, reqs[2].Method)
	require.Equal(t, base+"/jobs/ingest/"+job+"/batches", reqs[2].Path)
	require.Contains(t, string(reqs[2].Body), "u-1,Ng")
	require.Equal(t, http.StatusCreated, reqs[2].Status)
	require.Equal(t, "ids="+parkRec.ID, reqs[5].RawQuery)
	require.Equal(t, int64(7), b.sim.Counters().Requests.Load())
}

func TestAddFieldAndObject(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	require.NoError(t, b.sim.AddField("Widget__c", Field{Name: "Code__c", Type: TypeString, ExternalID: true}))
	require.NoError(t, b.sim.AddObject("Gadget__c", Field{Name: "Size__c", Type: TypeInt}))
	require.ErrorContains(t, b.sim.AddObject("Gadget__c"), "already exists")
	require.ErrorContains(t, b.sim.AddObject("Gadget"), "ending in __c")
	require.ErrorContains(t, b.sim.AddField("Widget", Field{Name: "X__c", Type: TypeString}), `no object "Widget"`)
	require.ErrorContains(t, b.sim.AddField("Account", Field{Name: "Name", Type: TypeString}), "already exists")
	require.ErrorContains(t, b.sim.AddField("Account", Field{Name: "Bad Name", Type: TypeString}), "a name is letters")

	ids := b.create(rec("Widget__c", "Name", "W", "Code__c", "w-1"), rec("Gadget__c", "Size__c", 3))
	require.Equal(t, "a00", ids[0][:3])
	require.Equal(t, "a01", ids[1][:3])
	w, ok := b.sim.Find("widget__c", "code__c", "W-1")
	require.True(t, ok)
	require.Equal(t, map[string]any{"Name": "W", "Code__c": "w-1"}, w.Fields)
	require.Equal(t, http.StatusOK, b.get("sobjects/Gadget__c/describe").status)
	require.Nil(t, b.sim.Records("Nothing"))
	_, ok = b.sim.Find("Account", "Nothing", "x")
	require.False(t, ok)
}

func TestValues(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CustomFields: map[string][]Field{"Opportunity": {
		{Name: "Closed_At__c", Type: TypeDateTime},
		{Name: "Flag__c", Type: TypeBoolean},
	}}})
	acct := b.create(rec("Account", "Name", "A"))[0]
	ids := b.create(rec("Opportunity", "Name", "O", "StageName", "Prospecting", "CloseDate", "2026-04-30",
		"Amount", 1234.567, "Probability", "10", "AccountId", acct[:15],
		"Closed_At__c", "2026-04-30T10:11:12+02:00", "Flag__c", "true"))
	o := b.sim.Records("Opportunity")[0]
	require.Equal(t, ids[0], o.ID)
	require.Equal(t, map[string]any{"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-04-30",
		"Amount": 1234.57, "Probability": 10.0, "AccountId": acct,
		"Closed_At__c": "2026-04-30T08:11:12.000+0000", "Flag__c": true}, o.Fields)

	lead := b.create(rec("Lead", "LastName", "L", "Company", "C"))[0]
	l, _ := b.sim.Find("Lead", "Id", lead)
	require.Equal(t, "Open - Not Contacted", l.Fields["Status"], "a default on create")
	res := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Lead", "LastName", "L", "Company", "C", "Status", nil))).results(t)
	require.Equal(t, failure("REQUIRED_FIELD_MISSING", "Required fields are missing: [Status]", "Status"), res[0])
}
