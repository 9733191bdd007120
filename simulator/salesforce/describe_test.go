package salesforce

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// fieldOf finds a field in a describe answer.
func fieldOf(t *testing.T, describe map[string]any, name string) map[string]any {
	t.Helper()
	for _, f := range describe["fields"].([]any) {
		if f := f.(map[string]any); f["name"] == name {
			return f
		}
	}
	t.Fatalf("no field %s", name)
	return nil
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{
		CustomObjects: map[string][]Field{"Widget__c": {{Name: "Code__c", Type: TypeString, Length: 40, ExternalID: true, Unique: true}}},
		CustomFields:  map[string][]Field{"Account": {{Name: "District_Id__c", Type: TypeString, ExternalID: true}}},
	})

	d := b.get("sobjects/Account/describe").obj(t)
	require.Equal(t, "Account", d["name"])
	require.Equal(t, "001", d["keyPrefix"])
	require.Equal(t, false, d["custom"])
	require.Equal(t, "/services/data/v62.0/sobjects/Account/describe", d["urls"].(map[string]any)["describe"])

	name := fieldOf(t, d, "Name")
	require.Equal(t, map[string]any{"type": "string", "length": 255.0, "nillable": false, "createable": true, "updateable": true,
		"externalId": false, "label": "Account Name", "nameField": true, "soapType": "xsd:string"},
		pick(name, "type", "length", "nillable", "createable", "updateable", "externalId", "label", "nameField", "soapType"))
	id := fieldOf(t, d, "Id")
	require.Equal(t, map[string]any{"type": "id", "createable": false, "updateable": false, "nillable": false},
		pick(id, "type", "createable", "updateable", "nillable"))
	industry := fieldOf(t, d, "Industry")
	require.Equal(t, "picklist", industry["type"])
	require.Equal(t, map[string]any{"active": true, "defaultValue": false, "label": "Agriculture", "validFor": nil, "value": "Agriculture"},
		industry["picklistValues"].([]any)[0])
	require.Equal(t, false, industry["restrictedPicklist"])
	employees := fieldOf(t, d, "NumberOfEmployees")
	require.Equal(t, map[string]any{"type": "int", "digits": 8.0, "soapType": "xsd:int"}, pick(employees, "type", "digits", "soapType"))
	revenue := fieldOf(t, d, "AnnualRevenue")
	require.Equal(t, map[string]any{"type": "currency", "precision": 18.0, "scale": 0.0}, pick(revenue, "type", "precision", "scale"))
	parent := fieldOf(t, d, "ParentId")
	require.Equal(t, map[string]any{"type": "reference", "referenceTo": []any{"Account"}, "relationshipName": "Parent"},
		pick(parent, "type", "referenceTo", "relationshipName"))
	district := fieldOf(t, d, "District_Id__c")
	require.Equal(t, map[string]any{"externalId": true, "custom": true, "idLookup": true, "label": "District Id"},
		pick(district, "externalId", "custom", "idLookup", "label"))

	w := b.get("sobjects/widget__c/describe").obj(t)
	require.Equal(t, "Widget__c", w["name"], "object names are read without case")
	require.Equal(t, "a00", w["keyPrefix"])
	require.Equal(t, true, w["custom"])
	code := fieldOf(t, w, "Code__c")
	require.Equal(t, map[string]any{"externalId": true, "unique": true, "length": 40.0}, pick(code, "externalId", "unique", "length"))

	lead := b.get("sobjects/Lead/describe").obj(t)
	status := fieldOf(t, lead, "Status")
	require.Equal(t, map[string]any{"nillable": false, "defaultedOnCreate": true, "defaultValue": "Open - Not Contacted"},
		pick(status, "nillable", "defaultedOnCreate", "defaultValue"))

	a := b.get("sobjects/Widget/describe")
	require.Equal(t, http.StatusNotFound, a.status)
	require.Equal(t, "NOT_FOUND", a.errs(t)[0]["errorCode"])

	basic := b.get("sobjects/Contact").obj(t)
	require.Equal(t, "003", basic["objectDescribe"].(map[string]any)["keyPrefix"])
}

func TestSObjectsAndLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CustomObjects: map[string][]Field{"Widget__c": nil, "Gadget__c": nil}})
	list := b.get("sobjects").obj(t)
	require.Equal(t, 200.0, list["maxBatchSize"])
	var names, prefixes []string
	for _, o := range list["sobjects"].([]any) {
		names = append(names, o.(map[string]any)["name"].(string))
		prefixes = append(prefixes, o.(map[string]any)["keyPrefix"].(string))
	}
	require.Equal(t, []string{"Account", "Contact", "Lead", "Opportunity", "Gadget__c", "Widget__c"}, names)
	require.Equal(t, []string{"001", "003", "00Q", "006", "a00", "a01"}, prefixes)

	limits := b.get("limits").obj(t)
	require.Equal(t, map[string]any{"Max": 100000.0, "Remaining": 99998.0}, limits["DailyApiRequests"], "two requests so far")
	require.Equal(t, map[string]any{"Max": 15000.0, "Remaining": 15000.0}, limits["DailyBulkApiBatches"])
	require.Contains(t, limits, "DailyBulkV2QueryJobs")
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}
