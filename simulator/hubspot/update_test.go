package hubspot

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts",
		props("email", "ann@example.com", "firstname", "Ann", "lastname", "Lee"),
		props("email", "bob@example.com", "firstname", "Bob"))
	b.clock.Advance(time.Minute)

	a := b.post("/crm/v3/objects/contacts/batch/update", inputs(
		with(props("firstname", "Annie", "lastname", ""), "id", ids[0]),
		with(with(props("jobtitle", "CTO"), "id", "BOB@example.com"), "idProperty", "email"),
	))
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	res := a.results()
	require.Len(t, res, 2)
	require.Equal(t, map[string]any{
		"firstname": "Annie", "lastname": "", "hs_object_id": ids[0],
		"createdate": "2026-03-10T15:00:00Z", "lastmodifieddate": "2026-03-10T15:01:00Z",
	}, propsOf(res[0]))
	require.Equal(t, "2026-03-10T15:01:00Z", res[0]["updatedAt"])

	recs := b.sim.Records("contacts")
	require.Equal(t, map[string]string{"email": "ann@example.com", "firstname": "Annie"}, recs[0].Properties, `"" clears`)
	require.Equal(t, t0.Add(time.Minute), recs[0].UpdatedAt)
	require.Equal(t, t0, recs[0].CreatedAt)
	require.Equal(t, "CTO", recs[1].Properties["jobtitle"])
}

// Unknown ids are a 207 even without trace ids; the rest is written.
func TestUpdateMissingRecords(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts", props("email", "ann@example.com"))

	a := b.post("/crm/v3/objects/contacts/batch/update", inputs(
		with(props("firstname", "Ann"), "id", ids[0]),
		with(props("firstname", "X"), "id", "999"),
		with(props("firstname", "Y"), "id", "998"),
	))
	require.Equal(t, http.StatusMultiStatus, a.status, "%s", a.raw)
	require.Len(t, a.results(), 1)
	require.EqualValues(t, 1, a.body["numErrors"])
	require.Equal(t, []map[string]any{{
		"status": "error", "category": "OBJECT_NOT_FOUND",
		"message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
		"context": map[string]any{"ids": []any{"999", "998"}},
	}}, a.errs())
	require.Equal(t, "Ann", b.sim.Records("contacts")[0].Properties["firstname"])

	// With trace ids, one error per input, naming both.
	a = b.post("/crm/v3/objects/contacts/batch/update", inputs(
		with(with(props("firstname", "X"), "id", "999"), "objectWriteTraceId", "r1"),
		with(with(props("firstname", "Y"), "id", "998"), "objectWriteTraceId", "r2"),
	))
	require.Equal(t, http.StatusMultiStatus, a.status)
	require.Empty(t, a.results())
	errs := a.errs()
	require.Len(t, errs, 2)
	require.Equal(t, map[string][]string{"ids": {"999"}, "objectWriteTraceId": {"r1"}}, contextOf(errs[0]))
	require.Equal(t, map[string][]string{"ids": {"998"}, "objectWriteTraceId": {"r2"}}, contextOf(errs[1]))
}

func TestUpdateValidation(t *testing.T) {
	t.Parallel()
	body := func() map[string]any {
		return inputs(
			with(props("firstname", "Fine"), "id", idN(1)),
			with(props("lifecyclestage", "bogus"), "id", idN(2)),
		)
	}

	// By default one bad input fails the batch (captured HubSpot answers).
	b := setup(t, Options{})
	b.seed("contacts", props("email", "ann@example.com"), props("email", "bob@example.com"))
	a := b.post("/crm/v3/objects/contacts/batch/update", body())
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	require.Equal(t, "INVALID_OPTION", validationList(t, a.body["message"].(string))[0]["error"])
	require.NotContains(t, b.sim.Records("contacts")[0].Properties, "firstname", "nothing is written")

	// The reference's shape: a 207 naming the id.
	m := setup(t, Options{ValidationMultiStatus: true})
	m.seed("contacts", props("email", "ann@example.com"), props("email", "bob@example.com"))
	a = m.post("/crm/v3/objects/contacts/batch/update", body())
	require.Equal(t, http.StatusMultiStatus, a.status, "%s", a.raw)
	require.Len(t, a.results(), 1)
	errs := a.errs()
	require.Len(t, errs, 1)
	require.Equal(t, "VALIDATION_ERROR", errs[0]["category"])
	require.Equal(t, map[string][]string{"ids": {idN(2)}}, contextOf(errs[0]))
	require.Equal(t, "Fine", m.sim.Records("contacts")[0].Properties["firstname"])

	// With trace ids, the same per input.
	tr := setup(t, Options{})
	tr.seed("contacts", props("email", "ann@example.com"), props("email", "bob@example.com"))
	traced := body()
	for i, in := range traced["inputs"].([]map[string]any) {
		in["objectWriteTraceId"] = idN(i)
	}
	a = tr.post("/crm/v3/objects/contacts/batch/update", traced)
	require.Equal(t, http.StatusMultiStatus, a.status)
	require.Equal(t, map[string][]string{"ids": {idN(2)}, "objectWriteTraceId": {idN(1)}}, contextOf(a.errs()[0]))
}

func TestUpdateIdentifiers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts", props("email", "ann@example.com"), props("email", "bob@example.com"))

	a := b.post("/crm/v3/objects/contacts/batch/update", inputs(
		with(props("firstname", "A"), "id", ids[0]),
		with(props("firstname", "B"), "id", ids[1]),
		with(props("firstname", "C"), "id", ids[0]),
	))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, map[string]any{
		"status": "error", "correlationId": a.body["correlationId"], "category": "VALIDATION_ERROR",
		"message": "Duplicate IDs found in batch input: [" + ids[0] + "]. IDs must be unique",
		"context": map[string]any{"ids": []any{ids[0]}},
	}, a.body)

	a = b.post("/crm/v3/objects/contacts/batch/update", inputs(
		with(with(props("jobtitle", "x"), "id", "Ann"), "idProperty", "firstname"),
	))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "Unable to perform update/upsert by non-unique 0-1 property firstname in portal ID 12345678", a.body["message"])

	// Taking another contact's email conflicts.
	a = b.post("/crm/v3/objects/contacts/batch/update", inputs(with(props("email", "Bob@Example.com"), "id", ids[0])))
	require.Equal(t, http.StatusConflict, a.status)
	require.Equal(t, "Contact already exists. Existing ID: "+ids[1], a.body["message"])

	// Changing one's own email frees the old one.
	a = b.post("/crm/v3/objects/contacts/batch/update", inputs(with(props("email", "ann@new.example"), "id", ids[0])))
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, http.StatusCreated, b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "ann@example.com"))).status)
	got, ok := b.sim.Find("contacts", "email", "ANN@NEW.example")
	require.True(t, ok)
	require.Equal(t, ids[0], got.ID)
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts", props("email", "ann@example.com", "firstname", "Ann"))
	b.clock.Advance(time.Second)

	a := b.post("/crm/v3/objects/contacts/batch/upsert", inputs(
		with(with(props("firstname", "Annie"), "id", "ANN@example.com"), "idProperty", "email"),
		with(with(props("firstname", "Cat"), "id", "Cat@Example.com"), "idProperty", "email"),
	))
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	res := a.results()
	require.Len(t, res, 2)
	require.Equal(t, false, res[0]["new"])
	require.Equal(t, ids[0], res[0]["id"])
	require.Equal(t, true, res[1]["new"])
	require.Equal(t, "cat@example.com", propsOf(res[1])["email"], "the id becomes the email, lower-cased")
	require.Equal(t, "2026-03-10T15:00:01Z", res[1]["createdAt"])

	recs := b.sim.Records("contacts")
	require.Equal(t, map[string]string{"email": "ann@example.com", "firstname": "Annie"}, recs[0].Properties)
	require.Equal(t, map[string]string{"email": "cat@example.com", "firstname": "Cat"}, recs[1].Properties)

	tests := []struct {
		name    string
		input   map[string]any
		message string
	}{
		{"non-unique idProperty", with(with(props("jobtitle", "x"), "id", "Ann"), "idProperty", "firstname"),
			"Unable to perform update/upsert by non-unique 0-1 property firstname in portal ID 12345678"},
		{"record id as idProperty", with(with(props("jobtitle", "x"), "id", ids[0]), "idProperty", "hs_object_id"),
			"Unable to perform update/upsert by non-unique 0-1 property hs_object_id in portal ID 12345678"},
		{"no idProperty", with(props("jobtitle", "x"), "id", ids[0]),
			"Unable to perform update/upsert by non-unique 0-1 property hs_object_id in portal ID 12345678"},
		{"unknown idProperty", with(with(props("jobtitle", "x"), "id", "1"), "idProperty", "nope"),
			"Unable to perform update/upsert by non-unique 0-1 property nope in portal ID 12345678"},
	}
	for _, tt := range tests {
		a := b.post("/crm/v3/objects/contacts/batch/upsert", inputs(tt.input))
		require.Equal(t, http.StatusBadRequest, a.status, tt.name)
		require.Equal(t, tt.message, a.body["message"], tt.name)
	}

	a = b.post("/crm/v3/objects/contacts/batch/upsert", inputs(
		with(with(props("firstname", "x"), "id", "dan@example.com"), "idProperty", "email"),
		with(with(props("firstname", "y"), "id", "DAN@example.com"), "idProperty", "email"),
	))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "Duplicate IDs found in batch input: [DAN@example.com]. IDs must be unique", a.body["message"])

	a = b.post("/crm/v3/objects/contacts/batch/upsert", inputs(
		with(with(props("firstname", "x"), "id", "not-an-email"), "idProperty", "email"),
	))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "Email address not-an-email is invalid", validationList(t, a.body["message"].(string))[0]["message"])
	require.Len(t, b.sim.Records("contacts"), 2)
}

// An archived record's email is free: an upsert creates a new record.
func TestUpsertAfterArchive(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts", props("email", "ann@example.com"))
	require.Equal(t, http.StatusNoContent, b.post("/crm/v3/objects/contacts/batch/archive", inputs(map[string]any{"id": ids[0]})).status)

	a := b.post("/crm/v3/objects/contacts/batch/upsert", inputs(
		with(with(props("firstname", "Again"), "id", "ann@example.com"), "idProperty", "email")))
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, true, a.results()[0]["new"])
	require.NotEqual(t, ids[0], a.results()[0]["id"])
	require.Len(t, b.sim.Records("contacts"), 1)
	require.Len(t, b.sim.Archived("contacts"), 1)
}

// A custom unique property is an idProperty for upserts, updates and reads.
func TestUpsertByCustomUniqueProperty(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.post("/crm/v3/properties/deals", map[string]any{
		"name": "external_id", "label": "External ID", "type": "string", "fieldType": "text",
		"groupName": "dealinformation", "hasUniqueValue": true,
	})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.raw)

	upsert := func(ext, name string) answer {
		return b.post("/crm/v3/objects/deals/batch/upsert", inputs(
			with(with(props("dealname", name), "id", ext), "idProperty", "external_id")))
	}
	require.Equal(t, true, upsert("d-1", "First").results()[0]["new"])
	require.Equal(t, false, upsert("d-1", "Renamed").results()[0]["new"])
	require.Equal(t, true, upsert("D-1", "Case matters").results()[0]["new"], "only emails compare without case")

	a = b.post("/crm/v3/objects/deals/batch/read", map[string]any{
		"idProperty": "external_id", "properties": []string{"dealname"},
		"inputs": []map[string]any{{"id": "d-1"}},
	})
	require.Equal(t, "Renamed", propsOf(a.results()[0])["dealname"])

	a = b.post("/crm/v3/objects/deals/batch/create", inputs(props("dealname", "Dup", "external_id", "d-1")))
	require.Equal(t, http.StatusConflict, a.status)
	require.Equal(t, "Deal already exists. Existing ID: "+idN(1), a.body["message"])
}

// A failed batch leaves no trace, in the records or in the email index.
func TestFailedBatchRollsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ids := b.seed("contacts", props("email", "ann@example.com", "firstname", "Ann"))
	b.clock.Advance(time.Minute)
	a := b.post("/crm/v3/objects/contacts/batch/update", `{"inputs":[
		{"id":`+ids[0]+`,"properties":{"email":"ann@new.example","firstname":""}},
		{"id":"`+ids[0]+`0","properties":{"firstname":"x"}},
		{"id":"`+ids[0]+`","idProperty":"hs_object_id","properties":{"lifecyclestage":"nope"}}]}`)
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	require.Equal(t, []Record{{ID: ids[0], Properties: map[string]string{"email": "ann@example.com", "firstname": "Ann"},
		CreatedAt: t0, UpdatedAt: t0}}, b.sim.Records("contacts"))
	_, ok := b.sim.Find("contacts", "email", "ann@new.example")
	require.False(t, ok)
	_, ok = b.sim.Find("contacts", "email", "ann@example.com")
	require.True(t, ok)
}

func TestResultOptions(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{OmitResultTraceIDs: true, ShuffleResults: true})
	var in []map[string]any
	for i := range 30 {
		in = append(in, with(props("email", idN(i)+"@example.com"), "objectWriteTraceId", idN(i)))
	}
	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(in...))
	require.Equal(t, http.StatusCreated, a.status)
	var got []string
	for _, r := range a.results() {
		require.NotContains(t, r, "objectWriteTraceId")
		got = append(got, r["id"].(string))
	}
	var want []string
	for _, r := range b.sim.Records("contacts") {
		want = append(want, r.ID)
	}
	require.ElementsMatch(t, want, got)
	require.NotEqual(t, want, got, "30 results in input order by chance is unlikely")
}
