package hubspot

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBatchRead(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts",
		props("email", "ann@example.com", "firstname", "Ann", "jobtitle", "CTO"),
		props("email", "bob@example.com", "firstname", "Bob"))

	a := b.post("/crm/v3/objects/contacts/batch/read", map[string]any{
		"properties": []string{"jobtitle", "nope"},
		"inputs":     []map[string]any{{"id": ids[0]}, {"id": "42"}, {"id": ids[1]}},
	})
	require.Equal(t, http.StatusMultiStatus, a.status, "%s", a.raw)
	res := a.results()
	require.Len(t, res, 2)
	require.Equal(t, map[string]any{
		"jobtitle": "CTO", "hs_object_id": ids[0],
		"createdate": "2026-03-10T15:00:00Z", "lastmodifieddate": "2026-03-10T15:00:00Z",
	}, propsOf(res[0]), "unknown and unset properties are left out")
	require.NotContains(t, propsOf(res[1]), "jobtitle")
	require.Equal(t, []map[string]any{{
		"status": "error", "category": "OBJECT_NOT_FOUND",
		"message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
		"context": map[string]any{"ids": []any{"42"}},
	}}, a.errs())

	// By email, with the default properties.
	a = b.post("/crm/v3/objects/contacts/batch/read", map[string]any{
		"idProperty": "email", "inputs": []map[string]any{{"id": "BOB@example.com"}},
	})
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, map[string]any{
		"email": "bob@example.com", "firstname": "Bob", "hs_object_id": ids[1],
		"createdate": "2026-03-10T15:00:00Z", "lastmodifieddate": "2026-03-10T15:00:00Z",
	}, propsOf(a.results()[0]))

	a = b.post("/crm/v3/objects/contacts/batch/read", map[string]any{
		"inputs": []map[string]any{{"id": ids[0]}, {"id": ids[0]}},
	})
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "Duplicate IDs found in batch input: ["+ids[0]+"]. IDs must be unique", a.body["message"])
}

func TestArchive(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts", props("email", "ann@example.com"), props("email", "bob@example.com"))

	for range 2 { // archiving again, or a record that never existed, is still 204
		a := b.post("/crm/v3/objects/contacts/batch/archive", inputs(map[string]any{"id": ids[0]}, map[string]any{"id": "77"}))
		require.Equal(t, http.StatusNoContent, a.status)
		require.Empty(t, a.raw)
		require.Empty(t, a.header.Get("Content-Type"))
	}

	require.Len(t, b.sim.Records("contacts"), 1)
	arch := b.sim.Archived("contacts")
	require.Len(t, arch, 1)
	require.True(t, arch[0].Archived)
	_, found := b.sim.Find("contacts", "email", "ann@example.com")
	require.False(t, found)

	require.Equal(t, http.StatusNotFound, b.get("/crm/v3/objects/contacts/"+ids[0]).status)
	require.Len(t, b.get("/crm/v3/objects/contacts").results(), 1)
	a := b.post("/crm/v3/objects/contacts/batch/read", inputs(map[string]any{"id": ids[0]}))
	require.Equal(t, http.StatusMultiStatus, a.status)
	a = b.post("/crm/v3/objects/contacts/batch/update", inputs(with(props("firstname", "x"), "id", ids[0])))
	require.Equal(t, http.StatusMultiStatus, a.status)

	archived := b.get("/crm/v3/objects/contacts?archived=true").results()
	require.Len(t, archived, 1)
	require.Equal(t, true, archived[0]["archived"])
	require.Equal(t, "2026-03-10T15:00:00Z", archived[0]["archivedAt"])
	require.Equal(t, http.StatusOK, b.get("/crm/v3/objects/contacts/"+ids[0]+"?archived=true").status)
}

func TestListAndGet(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var in []map[string]any
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		in = append(in, props("email", name+"@example.com", "firstname", name, "city", "Oslo"))
	}
	ids := b.seed("contacts", in...)

	var seen []string
	path := "/crm/v3/objects/contacts?limit=2&properties=city&properties=firstname,nope"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		a := b.get(path)
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		for _, r := range a.results() {
			seen = append(seen, r["id"].(string))
			require.Equal(t, "Oslo", propsOf(r)["city"])
			require.NotContains(t, propsOf(r), "email", "only the properties asked for")
		}
		paging, ok := a.body["paging"].(map[string]any)
		if !ok {
			break
		}
		next := paging["next"].(map[string]any)
		link, err := url.Parse(next["link"].(string))
		require.NoError(t, err)
		require.Equal(t, next["after"], link.Query().Get("after"))
		path = "/crm/v3/objects/contacts?limit=2&properties=city,firstname&after=" + next["after"].(string)
	}
	require.Equal(t, ids, seen)

	a := b.get("/crm/v3/objects/contacts/" + ids[2])
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, map[string]any{
		"id": ids[2],
		"properties": map[string]any{
			"email": "c@example.com", "firstname": "c", "hs_object_id": ids[2],
			"createdate": "2026-03-10T15:00:00Z", "lastmodifieddate": "2026-03-10T15:00:00Z",
		},
		"createdAt": "2026-03-10T15:00:00Z", "updatedAt": "2026-03-10T15:00:00Z", "archived": false,
	}, a.body)

	a = b.get("/crm/v3/objects/contacts/D@Example.com?idProperty=email&properties=city")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, ids[3], a.body["id"])
	require.Equal(t, "Oslo", propsOf(a.body)["city"])

	a = b.get("/crm/v3/objects/contacts/123")
	require.Equal(t, http.StatusNotFound, a.status)
	require.Equal(t, "resource not found", a.body["message"])
	require.Equal(t, http.StatusBadRequest, b.get("/crm/v3/objects/contacts/c?idProperty=firstname").status)
}

func TestProperties(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.get("/crm/v3/properties/contacts")
	require.Equal(t, http.StatusOK, a.status)
	byName := map[string]map[string]any{}
	for _, p := range a.results() {
		byName[p["name"].(string)] = p
	}
	for _, name := range []string{"email", "firstname", "lastname", "phone", "company", "website", "jobtitle",
		"lifecyclestage", "city", "state", "country", "zip", "address", "hs_lead_status", "hs_object_id", "createdate"} {
		require.Contains(t, byName, name)
	}
	email := byName["email"]
	require.Equal(t, "string", email["type"])
	require.Equal(t, "text", email["fieldType"])
	require.Equal(t, "contactinformation", email["groupName"])
	require.Equal(t, false, email["hasUniqueValue"], "email is unique by its own rule, not by this flag")
	require.Equal(t, map[string]any{"archivable": false, "readOnlyDefinition": true, "readOnlyValue": false},
		email["modificationMetadata"])
	require.Equal(t, true, byName["hs_object_id"]["modificationMetadata"].(map[string]any)["readOnlyValue"])

	a = b.get("/crm/v3/properties/deals/dealstage")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "enumeration", a.body["type"])
	require.Len(t, a.body["options"], 7)
	require.Equal(t, map[string]any{"label": "Closed Won", "value": "closedwon", "displayOrder": 5.0, "hidden": false},
		a.body["options"].([]any)[5])

	a = b.get("/crm/v3/properties/companies/nope")
	require.Equal(t, http.StatusNotFound, a.status)
	require.Equal(t, "OBJECT_NOT_FOUND", a.body["category"])
	require.Equal(t, "PROPERTY_DOESNT_EXIST", a.body["subCategory"])

	create := map[string]any{"name": "loyalty_id", "label": "Loyalty ID", "type": "string", "fieldType": "text",
		"groupName": "contactinformation", "hasUniqueValue": true}
	a = b.post("/crm/v3/properties/contacts", create)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.raw)
	require.Equal(t, true, a.body["hasUniqueValue"])
	require.Equal(t, false, a.body["hubspotDefined"])
	require.Equal(t, "2026-03-10T15:00:00Z", a.body["createdAt"])
	require.Equal(t, http.StatusConflict, b.post("/crm/v3/properties/contacts", create).status)
	require.Equal(t, "Loyalty ID", b.get("/crm/v3/properties/contacts/loyalty_id").body["label"])

	for _, bad := range []map[string]any{
		{"name": "x", "label": "X", "type": "number", "fieldType": "text", "groupName": "g"},
		{"name": "Bad Name", "label": "X", "type": "string", "fieldType": "text", "groupName": "g"},
		{"name": "x", "label": "X", "type": "bool", "fieldType": "booleancheckbox", "groupName": "g", "hasUniqueValue": true},
		{"name": "x", "type": "string", "fieldType": "text", "groupName": "g"},
	} {
		require.Equal(t, http.StatusBadRequest, b.post("/crm/v3/properties/contacts", bad).status, "%v", bad)
	}

	require.Error(t, b.sim.AddProperty("contacts", Property{Name: "city", Type: "string"}), "exists")
	require.Error(t, b.sim.AddProperty("nope", Property{Name: "x", Type: "string"}))
	require.Error(t, b.sim.AddProperty("contacts", Property{Name: "x", Type: "strange"}))
}

func TestAccountInfo(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PortalID: 777, Currency: "EUR", Daily: 1000})
	a := b.get("/account-info/v3/details")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, map[string]any{
		"portalId": 777.0, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "EUR",
		"additionalCurrencies": []any{}, "utcOffset": "-04:00", "utcOffsetMilliseconds": -14400000.0,
		"uiDomain": "app.hubspot.com", "dataHostingLocation": "na1",
	}, a.body)

	a = b.get("/account-info/v3/api-usage/daily/private-apps")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, map[string]any{"results": []any{map[string]any{
		"name": "private-apps-api-calls-daily", "usageLimit": 1000.0, "currentUsage": 2.0,
		"collectedAt": "2026-03-10T15:00:00Z", "fetchStatus": "SUCCESS", "resetsAt": "2026-03-11T04:00:00Z",
	}}}, a.body)
}
