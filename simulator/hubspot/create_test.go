package hubspot

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(
		props("email", "Ann@Example.com", "firstname", "Ann"),
		props("email", "bob@example.com", "lifecyclestage", "customer"),
	))
	require.Equal(t, http.StatusCreated, a.status, "%s", a.raw)
	require.Equal(t, "COMPLETE", a.body["status"])
	require.Equal(t, "2026-03-10T15:00:00Z", a.body["startedAt"])
	require.Equal(t, "2026-03-10T15:00:00Z", a.body["completedAt"])
	require.NotContains(t, a.body, "errors")
	res := a.results()
	require.Len(t, res, 2)
	require.Equal(t, map[string]any{
		"id": idN(1),
		"properties": map[string]any{
			"email": "ann@example.com", "firstname": "Ann", "hs_object_id": idN(1),
			"createdate": "2026-03-10T15:00:00Z", "lastmodifieddate": "2026-03-10T15:00:00Z",
		},
		"createdAt": "2026-03-10T15:00:00Z", "updatedAt": "2026-03-10T15:00:00Z", "archived": false,
	}, res[0])
	require.Equal(t, idN(2), res[1]["id"])

	recs := b.sim.Records("contacts")
	require.Len(t, recs, 2)
	require.Equal(t, Record{ID: idN(1), Properties: map[string]string{"email": "ann@example.com", "firstname": "Ann"},
		CreatedAt: t0, UpdatedAt: t0}, recs[0])
	require.Equal(t, map[string]string{"email": "bob@example.com", "lifecyclestage": "customer"}, recs[1].Properties)
}

// Without objectWriteTraceId one bad input fails the batch and nothing is written.
func TestCreateConflictFailsWholeBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.seed("contacts", props("email", "ann@example.com"))

	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(
		props("email", "new@example.com"),
		props("email", "ANN@example.com"),
	))
	require.Equal(t, http.StatusConflict, a.status, "%s", a.raw)
	require.Equal(t, "error", a.body["status"])
	require.Equal(t, "CONFLICT", a.body["category"])
	require.Equal(t, "Contact already exists. Existing ID: "+idN(1), a.body["message"])
	require.Len(t, b.sim.Records("contacts"), 1, "nothing of a failed batch is written")

	ids := b.seed("contacts", props("email", "next@example.com"))
	require.Equal(t, []string{idN(2)}, ids, "the failed batch's ids are not used up")
}

// With a unique objectWriteTraceId per input, each input succeeds or fails alone.
func TestCreateMultiStatus(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.seed("contacts", props("email", "ann@example.com"))

	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(
		with(props("email", "new@example.com"), "objectWriteTraceId", "row-1"),
		with(props("email", "ann@example.com"), "objectWriteTraceId", "row-2"),
		with(props("email", "bad-address"), "objectWriteTraceId", "row-3"),
		with(props("email", "twice@example.com"), "objectWriteTraceId", "row-4"),
		with(props("email", "Twice@example.com"), "objectWriteTraceId", "row-5"),
	))
	require.Equal(t, http.StatusMultiStatus, a.status, "%s", a.raw)
	require.Equal(t, "COMPLETE", a.body["status"])
	res := a.results()
	require.Len(t, res, 2)
	require.Equal(t, "row-1", res[0]["objectWriteTraceId"])
	require.Equal(t, "row-4", res[1]["objectWriteTraceId"])
	require.EqualValues(t, 3, a.body["numErrors"])

	errs := a.errs()
	require.Len(t, errs, 3)
	require.Equal(t, "CONFLICT", errs[0]["category"])
	require.Equal(t, "Contact already exists. Existing ID: "+idN(1), errs[0]["message"])
	require.Equal(t, map[string][]string{"objectWriteTraceId": {"row-2"}}, contextOf(errs[0]))
	require.Equal(t, "VALIDATION_ERROR", errs[1]["category"])
	require.Equal(t, map[string][]string{"objectWriteTraceId": {"row-3"}}, contextOf(errs[1]))
	require.Equal(t, "INVALID_EMAIL", validationList(t, errs[1]["message"].(string))[0]["error"])
	require.Equal(t, "Contact already exists. Existing ID: "+res[1]["id"].(string), errs[2]["message"],
		"a value taken earlier in the same batch conflicts too")
	require.Len(t, b.sim.Records("contacts"), 3)

	// Trace ids that repeat do not turn multi-status on.
	a = b.post("/crm/v3/objects/contacts/batch/create", inputs(
		with(props("email", "x@example.com"), "objectWriteTraceId", "same"),
		with(props("email", "ann@example.com"), "objectWriteTraceId", "same"),
	))
	require.Equal(t, http.StatusConflict, a.status)

	// All failed: still 207, with no results.
	a = b.post("/crm/v3/objects/contacts/batch/create", inputs(
		with(props("email", "ann@example.com"), "objectWriteTraceId", "a"),
	))
	require.Equal(t, http.StatusMultiStatus, a.status)
	require.Empty(t, a.results())
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, object, property, value string
		code, message                 string
	}{
		{"unknown property", "contacts", "favorite_food", "pizza", "PROPERTY_DOESNT_EXIST", `Property "favorite_food" does not exist`},
		{"read-only property", "contacts", "hs_object_id", "5", "READ_ONLY_VALUE", `"hs_object_id" is a calculated property; its value cannot be set.`},
		{"read-only date", "deals", "createdate", "2026-01-01", "READ_ONLY_VALUE", `"createdate" is a calculated property; its value cannot be set.`},
		{"comma in number", "deals", "amount", "1,500", "INVALID_INTEGER", "1,500 was not a valid number."},
		{"exponent in number", "deals", "amount", "1.4e-14", "INVALID_INTEGER", "1.4e-14 was not a valid number."},
		{"text in number", "companies", "numberofemployees", "many", "INVALID_INTEGER", "many was not a valid number."},
		{"malformed email", "contacts", "email", "ann@", "INVALID_EMAIL", "Email address ann@ is invalid"},
		{"email without domain dot", "contacts", "email", "ann@example", "INVALID_EMAIL", "Email address ann@example is invalid"},
		{"unknown option", "contacts", "lifecyclestage", "Customer", "INVALID_OPTION",
			"Customer was not one of the allowed options: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]"},
		{"bool", "contacts", "vip", "yes", "INVALID_OPTION", "yes was not one of the allowed options: [true, false]"},
		{"checkbox", "contacts", "interests", "golf;chess", "INVALID_OPTION", "golf;chess was not one of the allowed options: [golf, tennis]"},
		{"date not at midnight", "contacts", "renewal_date", "1786334400000", "INVALID_DATE", "1786334400000 is at 4:0:0.0 UTC, not midnight!"},
		{"date with time", "contacts", "renewal_date", "2026-08-10T18:31:29.103Z", "INVALID_DATE", "2026-08-10T18:31:29.103Z is at 18:31:29.103 UTC, not midnight!"},
		{"date garbage", "contacts", "renewal_date", "next week", "INVALID_LONG", "next week was not a valid long."},
		{"datetime garbage", "deals", "closedate", "tomorrow", "INVALID_LONG", "tomorrow was not a valid long."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			require.NoError(t, b.sim.AddProperty("contacts", Property{Name: "vip", Type: "bool"}))
			require.NoError(t, b.sim.AddProperty("contacts", Property{Name: "renewal_date", Type: "date"}))
			require.NoError(t, b.sim.AddProperty("contacts", Property{Name: "interests", Type: "enumeration", FieldType: "checkbox",
				Options: []Option{{Label: "Golf", Value: "golf"}, {Label: "Tennis", Value: "tennis"}}}))

			fine := map[string]map[string]any{
				"contacts": props("email", "fine@example.com"), "companies": props("name", "Fine"), "deals": props("dealname", "Fine"),
			}[tt.object]
			a := b.post("/crm/v3/objects/"+tt.object+"/batch/create", inputs(fine, props(tt.property, tt.value)))
			require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
			require.Equal(t, "VALIDATION_ERROR", a.body["category"])
			require.Regexp(t, uuidRE, a.body["correlationId"])
			list := validationList(t, a.body["message"].(string))
			require.Len(t, list, 1)
			require.Equal(t, false, list[0]["isValid"])
			require.Equal(t, tt.code, list[0]["error"])
			require.Equal(t, tt.property, list[0]["name"])
			require.Equal(t, tt.message, list[0]["message"])
			require.Equal(t, tt.message, list[0]["localizedErrorMessage"])
			require.EqualValues(t, 12345678, list[0]["portalId"])
			require.Equal(t, []any{map[string]any{
				"message": tt.message, "code": tt.code,
				"context": map[string]any{"propertyName": []any{tt.property}},
			}}, a.body["errors"])
			require.Empty(t, b.sim.Records(tt.object), "nothing of a failed batch is written")
		})
	}
}

// Values are stored in HubSpot's string form.
func TestCreateNormalizesValues(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	require.NoError(t, b.sim.AddProperty("deals", Property{Name: "signed_on", Type: "date"}))
	require.NoError(t, b.sim.AddProperty("deals", Property{Name: "priority_account", Type: "bool"}))
	b.seed("deals", map[string]any{"properties": map[string]any{
		"dealname":         "Big",
		"amount":           1500.5, // a JSON number is read as its text
		"priority_account": true,
		"closedate":        "2026-03-01T10:00:00+01:00",
		"signed_on":        "1772323200000", // 2026-03-01 00:00 UTC
		"dealstage":        "closedwon",
		"pipeline":         "default",
	}})
	b.seed("deals", props("dealname", "Epoch", "closedate", "1772359200123", "signed_on", "2026-03-02"))

	recs := b.sim.Records("deals")
	require.Equal(t, map[string]string{
		"dealname": "Big", "amount": "1500.5", "priority_account": "true",
		"closedate": "2026-03-01T09:00:00Z", "signed_on": "2026-03-01",
		"dealstage": "closedwon", "pipeline": "default",
	}, recs[0].Properties)
	require.Equal(t, map[string]string{
		"dealname": "Epoch", "closedate": "2026-03-01T10:00:00.123Z", "signed_on": "2026-03-02",
	}, recs[1].Properties)
}

func TestBatchLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = props("firstname", "n")
	}
	tests := []struct {
		name    string
		path    string
		body    any
		message string
	}{
		{"101 inputs", "/crm/v3/objects/contacts/batch/create", inputs(many...),
			"The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again"},
		{"101 reads", "/crm/v3/objects/contacts/batch/read", inputs(many...),
			"The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again"},
		{"51 reads with history", "/crm/v3/objects/contacts/batch/read",
			map[string]any{"propertiesWithHistory": []string{"email"}, "inputs": many[:51]},
			"The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again"},
	}
	for _, tt := range tests {
		a := b.post(tt.path, tt.body)
		require.Equal(t, http.StatusBadRequest, a.status, tt.name)
		require.Equal(t, tt.message, a.body["message"], tt.name)
		require.Equal(t, "VALIDATION_ERROR", a.body["category"], tt.name)
	}
	require.Equal(t, http.StatusCreated, b.post("/crm/v3/objects/contacts/batch/create", inputs(many[:100]...)).status)

	a := b.post("/crm/v3/objects/contacts/batch/create", "{\n  \"inputs\": [oops]}")
	require.Equal(t, http.StatusBadRequest, a.status)
	require.True(t, strings.HasPrefix(a.body["message"].(string), "Invalid input JSON on line 2, column 14: "), a.body["message"])
	a = b.post("/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":{"nested":1}}}]}`)
	require.Equal(t, http.StatusBadRequest, a.status)
	a = b.post("/crm/v3/objects/contacts/batch/create", `{}`)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Len(t, b.sim.Records("contacts"), 100)
}
