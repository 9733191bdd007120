package salesforce

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var extOptions = Options{
	CustomFields: map[string][]Field{
		"Account": {{Name: "District_Id__c", Type: TypeString, ExternalID: true, Unique: true}},
		"Contact": {
			{Name: "Ext_Id__c", Type: TypeString, ExternalID: true},
			{Name: "Score__c", Type: TypeDouble, Precision: 5, Scale: 1},
			{Name: "Tier__c", Type: TypePicklist, Values: []string{"Gold", "Silver"}, Restricted: true},
		},
	},
}

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	res := b.do(http.MethodPost, "composite/sobjects", records(false,
		rec("Account", "Name", "Acme", "NumberOfEmployees", 120, "AnnualRevenue", "1500000", "Website", "acme.example"),
		rec("Contact", "LastName", "Lovelace", "FirstName", "Ada", "Email", "ada@example.com", "Birthdate", "1815-12-10"),
		rec("Account", "Name", "Globex", "Industry", "Not a listed industry"),
	)).results(t)
	require.Len(t, res, 3)
	for i, prefix := range []string{"001", "003", "001"} {
		require.Equal(t, true, res[i]["success"])
		require.Equal(t, []any{}, res[i]["errors"])
		require.NotContains(t, res[i], "created", "create results carry no created flag")
		require.Regexp(t, idRE, res[i]["id"])
		require.True(t, strings.HasPrefix(res[i]["id"].(string), prefix))
	}

	accounts := b.sim.Records("Account")
	require.Len(t, accounts, 2)
	require.Equal(t, Record{ID: res[0]["id"].(string), Created: t0, Modified: t0, Fields: map[string]any{
		"Name": "Acme", "NumberOfEmployees": int64(120), "AnnualRevenue": 1500000.0, "Website": "acme.example",
	}}, accounts[0])
	require.Equal(t, "Not a listed industry", accounts[1].Fields["Industry"], "standard picklists are unrestricted")
	contact, ok := b.sim.Find("Contact", "email", "ADA@example.com")
	require.True(t, ok)
	require.Equal(t, map[string]any{"LastName": "Lovelace", "FirstName": "Ada", "Email": "ada@example.com",
		"Birthdate": "1815-12-10", "HasOptedOutOfEmail": false, "DoNotCall": false}, contact.Fields)
}

// Each problem of a record fails that record only, with Salesforce's statusCode.
func TestCreateValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 81)
	tests := []struct {
		name string
		rec  map[string]any
		want map[string]any
	}{
		{"required field missing", rec("Contact", "FirstName", "Ada"),
			failure("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName")},
		{"required fields of an opportunity", rec("Opportunity", "Amount", 10),
			failure("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name, StageName, CloseDate]", "Name", "StageName", "CloseDate")},
		{"required field set to null", rec("Contact", "LastName", nil),
			failure("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName")},
		{"string too long", rec("Contact", "LastName", long),
			failure("STRING_TOO_LONG", "Last Name: data value too large: "+long+" (max length=80)", "LastName")},
		{"invalid email", rec("Contact", "LastName", "L", "Email", "ada@"),
			failure("INVALID_EMAIL_ADDRESS", "Email: invalid email address: ada@", "Email")},
		{"restricted picklist", rec("Contact", "LastName", "L", "Tier__c", "Bronze"),
			failure("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Tier: bad value for restricted picklist field: Bronze", "Tier__c")},
		{"number out of range", rec("Contact", "LastName", "L", "Score__c", 12345.6),
			failure("NUMBER_OUTSIDE_VALID_RANGE", "Score: value outside of valid range on numeric field: 12345.6", "Score__c")},
		{"read-only field", rec("Contact", "LastName", "L", "CreatedDate", "2026-01-01T00:00:00Z"),
			failure("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: CreatedDate. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", "CreatedDate")},
		{"id on insert", rec("Contact", "LastName", "L", "Id", "003D000000IqhSLIAZ"),
			failure("INVALID_FIELD", "cannot specify Id in an insert call")},
		{"malformed reference", rec("Contact", "LastName", "L", "AccountId", "nope"),
			failure("MALFORMED_ID", "Account ID: id value of incorrect type: nope", "AccountId")},
		{"reference of another object", rec("Contact", "LastName", "L", "AccountId", "003D000000IqhSLIAZ"),
			failure("FIELD_INTEGRITY_EXCEPTION", "Account ID: id value of incorrect type: 003D000000IqhSLIAZ", "AccountId")},
		{"reference to nothing", rec("Contact", "LastName", "L", "AccountId", "001D000000IqhSLIAZ"),
			failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "AccountId")},
		{"parent external id not found", rec("Contact", "LastName", "L", "Account", map[string]any{"District_Id__c": "D-9"}),
			failure("INVALID_FIELD", "Foreign key external ID: D-9 not found for field District_Id__c in entity Account")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, extOptions)
			res := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Contact", "LastName", "Good"), tt.rec)).results(t)
			require.Equal(t, true, res[0]["success"])
			require.Equal(t, tt.want, res[1])
			require.Len(t, b.sim.Records(tt.rec["attributes"].(map[string]any)["type"].(string)), map[bool]int{true: 1, false: 0}[tt.rec["attributes"].(map[string]any)["type"] == "Contact"])
		})
	}
}

// An unknown field or a value of the wrong type fails the request as
// Salesforce's JSON reader does, unless FieldErrorsPerRecord.
func TestCreateRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      any
		status    int
		want      map[string]any
		perRecord map[string]any
	}{
		{"unknown field", records(false, rec("Account", "Name", "A"), rec("Account", "Name", "B", "Colour__c", "red")),
			http.StatusBadRequest, map[string]any{"errorCode": "INVALID_FIELD", "message": "No such column 'Colour__c' on sobject of type Account"},
			failure("INVALID_FIELD", "No such column 'Colour__c' on sobject of type Account", "Colour__c")},
		{"text in a number", records(false, rec("Account", "Name", "A"), rec("Account", "Name", "B", "NumberOfEmployees", "many")),
			http.StatusBadRequest, map[string]any{"errorCode": "JSON_PARSER_ERROR", "message": "Cannot deserialize instance of int from VALUE_STRING value many or request may be missing a required field"},
			failure("INVALID_TYPE_ON_FIELD_IN_RECORD", "Employees: value not of required type: many", "NumberOfEmployees")},
		{"bad date", records(false, rec("Account", "Name", "A"), rec("Contact", "LastName", "B", "Birthdate", "10/12/1815")),
			http.StatusBadRequest, map[string]any{"errorCode": "JSON_PARSER_ERROR", "message": "Cannot deserialize instance of date from VALUE_STRING value 10/12/1815 or request may be missing a required field"},
			failure("INVALID_TYPE_ON_FIELD_IN_RECORD", "Birthdate: value not of required type: 10/12/1815", "Birthdate")},
		{"object in a text field", records(false, rec("Account", "Name", "A"), rec("Account", "Name", map[string]any{"x": 1})),
			http.StatusBadRequest, map[string]any{"errorCode": "JSON_PARSER_ERROR", "message": "Cannot deserialize instance of string from START_OBJECT value { or request may be missing a required field"},
			failure("INVALID_TYPE_ON_FIELD_IN_RECORD", "Account Name: value not of required type: {", "Name")},
		{"unknown type", records(false, rec("Account", "Name", "A"), rec("Widget", "Name", "B")),
			http.StatusBadRequest, map[string]any{"errorCode": "INVALID_TYPE", "message": fmt.Sprintf(unsupportedType, "Widget")}, nil},
		{"no attributes", map[string]any{"records": []any{map[string]any{"Name": "A"}}},
			http.StatusBadRequest, map[string]any{"errorCode": "INVALID_TYPE", "message": "Record 0 has no attributes with a type"}, nil},
		{"malformed JSON", `{"records": [`, http.StatusBadRequest, nil, nil},
	}
	for _, tt := range tests {
		for _, perRecord := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/perRecord=%v", tt.name, perRecord), func(t *testing.T) {
				t.Parallel()
				b := setup(t, Options{FieldErrorsPerRecord: perRecord})
				a := b.do(http.MethodPost, "composite/sobjects", tt.body, "Content-Type", "application/json")
				if perRecord && tt.perRecord != nil {
					res := a.results(t)
					require.Equal(t, true, res[0]["success"])
					require.Equal(t, tt.perRecord, res[1])
					require.Len(t, b.sim.Records("Account"), 1)
					return
				}
				require.Equal(t, tt.status, a.status, "%s", a.raw)
				errs := a.errs(t)
				require.Len(t, errs, 1)
				if tt.want != nil {
					require.Equal(t, tt.want, errs[0])
				} else {
					require.Equal(t, "JSON_PARSER_ERROR", errs[0]["errorCode"])
				}
				require.Empty(t, b.sim.Records("Account"), "nothing of a refused request is saved")
			})
		}
	}
}

func TestRecordLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	var recs []map[string]any
	for i := range 201 {
		recs = append(recs, rec("Account", "Name", fmt.Sprint("A", i)))
	}
	want := []map[string]any{{"errorCode": "EXCEEDED_ID_LIMIT", "message": "record limit reached. cannot submit more than 200 records into this call"}}
	for _, a := range []answer{
		b.do(http.MethodPost, "composite/sobjects", records(false, recs...)),
		b.do(http.MethodPatch, "composite/sobjects", records(false, recs...)),
		b.do(http.MethodPatch, "composite/sobjects/Account/District_Id__c", records(false, recs...)),
		b.do(http.MethodDelete, "composite/sobjects?ids="+strings.Repeat("001D000000IqhSLIAZ,", 201), nil),
	} {
		require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
		require.Equal(t, want, a.errs(t))
	}
	require.Empty(t, b.sim.Records("Account"))
	require.Len(t, b.create(recs[:200]...), 200)
}

func TestAllOrNone(t *testing.T) {
	t.Parallel()
	rolledBack := func(id string) map[string]any {
		r := failure("ALL_OR_NONE_OPERATION_ROLLED_BACK", rolledBackMessage)
		if id != "" {
			r["id"] = id
		}
		return r
	}
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		res := b.do(http.MethodPost, "composite/sobjects", records(true,
			rec("Account", "Name", "A"), rec("Contact", "FirstName", "no last name"), rec("Account", "Name", "B"))).results(t)
		require.Equal(t, []map[string]any{rolledBack(""),
			failure("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName"), rolledBack("")}, res)
		require.Empty(t, b.sim.Records("Account"))
		ids := b.create(rec("Account", "Name", "C"))
		require.Equal(t, newID("001", firstSequence), ids[0], "ids of a rolled-back request are not used up")
	})
	t.Run("update", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		ids := b.create(rec("Account", "Name", "A"), rec("Account", "Name", "B"))
		b.clock.Advance(1)
		res := b.do(http.MethodPatch, "composite/sobjects", records(true,
			rec("Account", "id", ids[0], "Name", "A2"), rec("Account", "id", ids[1], "Name", nil))).results(t)
		require.Equal(t, []map[string]any{rolledBack(ids[0]),
			failure("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", "Name")}, res)
		recs := b.sim.Records("Account")
		require.Equal(t, "A", recs[0].Fields["Name"])
		require.Equal(t, t0, recs[0].Modified)
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		ids := b.create(rec("Account", "Name", "A"))
		res := b.do(http.MethodDelete, "composite/sobjects?allOrNone=true&ids="+ids[0]+",001RM000003oLrB000", nil).results(t)
		require.Equal(t, []map[string]any{rolledBack(ids[0]), failure("MALFORMED_ID", "malformed id 001RM000003oLrB000")}, res)
		require.Len(t, b.sim.Records("Account"), 1)
	})
	t.Run("without allOrNone the good records are saved", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		res := b.do(http.MethodPost, "composite/sobjects", records(false,
			rec("Account", "Name", "A"), rec("Contact", "FirstName", "no last name"))).results(t)
		require.Equal(t, true, res[0]["success"])
		require.Equal(t, false, res[1]["success"])
		require.NotContains(t, res[1], "id")
		require.Len(t, b.sim.Records("Account"), 1)
	})
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(rec("Account", "Name", "A", "Phone", "123"), rec("Account", "Name", "Gone"))
	contact := b.create(rec("Contact", "LastName", "L"))[0]
	b.do(http.MethodDelete, "composite/sobjects?ids="+ids[1], nil).results(t)
	b.clock.Advance(60e9)

	res := b.do(http.MethodPatch, "composite/sobjects", records(false,
		rec("Account", "id", ids[0], "Name", "A2", "Phone", nil),
		rec("Account", "Name", "no id"),
		rec("Account", "Id", "bogus", "Name", "x"),
		rec("Account", "id", contact, "Name", "x"),
		rec("Account", "id", ids[1], "Name", "x"),
		rec("Account", "id", "001D000000IqhSLIAZ", "Name", "x"),
		rec("Contact", "Id", contact[:15], "Email", "l@example.com"),
	)).results(t)
	require.Equal(t, []map[string]any{
		success(ids[0]),
		failure("MISSING_ARGUMENT", "Id not specified in an update call"),
		failure("MALFORMED_ID", "Account ID: id value of incorrect type: bogus", "Id"),
		failure("MALFORMED_ID", "Account ID: id value of incorrect type: "+contact, "Id"),
		failure("ENTITY_IS_DELETED", "entity is deleted"),
		failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
		success(contact),
	}, res)
	recs := b.sim.Records("Account")
	require.Equal(t, map[string]any{"Name": "A2"}, recs[0].Fields, "null clears a field")
	require.Equal(t, t0.Add(60e9), recs[0].Modified)
	require.Equal(t, t0, recs[0].Created)
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	up := func(allOrNone bool, recs ...map[string]any) []map[string]any {
		return b.do(http.MethodPatch, "composite/sobjects/Contact/Ext_Id__c", records(allOrNone, recs...)).results(t)
	}
	created := up(false,
		rec("Contact", "Ext_Id__c", "u-1", "LastName", "One"),
		rec("Contact", "Ext_Id__c", "u-2", "LastName", "Two"))
	require.Equal(t, true, created[0]["created"])
	require.Equal(t, true, created[1]["created"])

	res := up(false,
		rec("Contact", "Ext_Id__c", "U-1", "Email", "one@example.com"), // external ids match without case
		rec("Contact", "Ext_Id__c", "u-3", "LastName", "Three"),
		rec("Contact", "LastName", "no external id"),
		rec("Contact", "Ext_Id__c", "u-4"),
	)
	require.Equal(t, map[string]any{"id": created[0]["id"], "success": true, "errors": []any{}, "created": false}, res[0])
	require.Equal(t, true, res[1]["created"])
	require.Equal(t, map[string]any{"success": false, "created": false, "errors": []any{map[string]any{
		"statusCode": "MISSING_ARGUMENT", "message": "Ext_Id__c not specified", "fields": []any{}}}}, res[2])
	require.Equal(t, "REQUIRED_FIELD_MISSING", res[3]["errors"].([]any)[0].(map[string]any)["statusCode"])

	one, ok := b.sim.Find("Contact", "Ext_Id__c", "u-1")
	require.True(t, ok)
	require.Equal(t, map[string]any{"Ext_Id__c": "U-1", "LastName": "One", "Email": "one@example.com",
		"HasOptedOutOfEmail": false, "DoNotCall": false}, one.Fields, "the value sent is written")

	// The same external id twice in one request fails both.
	res = up(false, rec("Contact", "Ext_Id__c", "u-9", "LastName", "A"), rec("Contact", "Ext_Id__c", "U-9", "LastName", "B"))
	for i, v := range []string{"u-9", "U-9"} {
		require.Equal(t, []any{map[string]any{"statusCode": "DUPLICATE_VALUE", "message": "Duplicate external id specified: " + v, "fields": []any{}}},
			res[i]["errors"])
	}
	_, ok = b.sim.Find("Contact", "Ext_Id__c", "u-9")
	require.False(t, ok)

	// A non-unique external id held by two records matches neither.
	b.create(rec("Contact", "LastName", "Dup A", "Ext_Id__c", "dup"), rec("Contact", "LastName", "Dup B", "Ext_Id__c", "dup"))
	res = up(false, rec("Contact", "Ext_Id__c", "dup", "LastName", "C"))
	require.Equal(t, "DUPLICATE_EXTERNAL_ID", res[0]["errors"].([]any)[0].(map[string]any)["statusCode"])
	require.Contains(t, res[0]["errors"].([]any)[0].(map[string]any)["message"], "Ext Id: more than one record found for external id field: [003")

	// Upsert by a parent's external id.
	acct := b.do(http.MethodPatch, "composite/sobjects/Account/District_Id__c", records(false,
		rec("Account", "District_Id__c", "D-1", "Name", "District One"))).results(t)[0]
	res = up(false, rec("Contact", "Ext_Id__c", "u-2", "Account", map[string]any{"District_Id__c": "d-1"}))
	require.Equal(t, false, res[0]["created"])
	two, _ := b.sim.Find("Contact", "Ext_Id__c", "u-2")
	require.Equal(t, acct["id"], two.Fields["AccountId"])

	// All or none.
	res = up(true, rec("Contact", "Ext_Id__c", "u-5", "LastName", "Five"), rec("Contact", "Ext_Id__c", "u-6"))
	require.Equal(t, "ALL_OR_NONE_OPERATION_ROLLED_BACK", res[0]["errors"].([]any)[0].(map[string]any)["statusCode"])
	require.Equal(t, false, res[0]["created"])
	_, ok = b.sim.Find("Contact", "Ext_Id__c", "u-5")
	require.False(t, ok)
}

func TestUpsertFieldErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	tests := []struct {
		path   string
		status int
		want   map[string]any
	}{
		{"composite/sobjects/Contact/Email", http.StatusBadRequest,
			map[string]any{"errorCode": "INVALID_FIELD", "message": "Field name provided, Email is not an External ID or indexed field for Contact"}},
		{"composite/sobjects/Contact/Id", http.StatusBadRequest,
			map[string]any{"errorCode": "INVALID_FIELD", "message": "Field name provided, Id is not an External ID or indexed field for Contact"}},
		{"composite/sobjects/Contact/Nope__c", http.StatusNotFound,
			map[string]any{"errorCode": "NOT_FOUND", "message": "Provided external ID field does not exist or is not accessible: Nope__c"}},
		{"composite/sobjects/Widget__c/Ext_Id__c", http.StatusNotFound,
			map[string]any{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}},
	}
	for _, tt := range tests {
		a := b.do(http.MethodPatch, tt.path, records(false, rec("Contact", "LastName", "L")))
		require.Equal(t, tt.status, a.status, tt.path)
		require.Equal(t, []map[string]any{tt.want}, a.errs(t), tt.path)
	}
	a := b.do(http.MethodPatch, "composite/sobjects/Contact/Ext_Id__c", records(false, rec("Account", "Name", "A", "Ext_Id__c", "x")))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "INVALID_TYPE", a.errs(t)[0]["errorCode"])
}

func TestUnique(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(rec("Account", "Name", "A", "District_Id__c", "D-1"), rec("Account", "Name", "B"))
	res := b.do(http.MethodPost, "composite/sobjects", records(false, rec("Account", "Name", "C", "District_Id__c", "d-1"))).results(t)
	require.Equal(t, failure("DUPLICATE_VALUE", "duplicate value found: District_Id__c duplicates value on record with id: "+ids[0], "District_Id__c"), res[0])
	res = b.do(http.MethodPatch, "composite/sobjects", records(false, rec("Account", "id", ids[1], "District_Id__c", "D-1"))).results(t)
	require.Equal(t, "DUPLICATE_VALUE", res[0]["errors"].([]any)[0].(map[string]any)["statusCode"])
	// Rewriting a record's own value is no duplicate; a deleted record frees its value.
	require.Equal(t, true, b.do(http.MethodPatch, "composite/sobjects", records(false, rec("Account", "id", ids[0], "District_Id__c", "D-1"))).results(t)[0]["success"])
	b.do(http.MethodDelete, "composite/sobjects?ids="+ids[0], nil).results(t)
	require.Equal(t, true, b.do(http.MethodPatch, "composite/sobjects", records(false, rec("Account", "id", ids[1], "District_Id__c", "D-1"))).results(t)[0]["success"])
}

func TestDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	acct := b.create(rec("Account", "Name", "A"), rec("Account", "Name", "B"))
	contact := b.create(rec("Contact", "LastName", "L"))[0]
	res := b.do(http.MethodDelete, "composite/sobjects?ids="+acct[0]+","+contact[:15]+",001D000000IqhSLIAZ,xyz,"+acct[0]+"&allOrNone=false", nil).results(t)
	require.Equal(t, []map[string]any{
		success(acct[0]),
		success(contact),
		failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
		failure("MALFORMED_ID", "malformed id xyz"),
		failure("ENTITY_IS_DELETED", "entity is deleted"),
	}, res)
	require.Len(t, b.sim.Records("Account"), 1)
	require.Equal(t, acct[0], b.sim.Deleted("Account")[0].ID)
	require.Len(t, b.sim.Deleted("Contact"), 1)

	a := b.do(http.MethodDelete, "composite/sobjects", nil)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "MISSING_ARGUMENT", a.errs(t)[0]["errorCode"])
}

// A POST with the query parameter _HttpMethod=PATCH (or DELETE) is routed as
// that method, for clients that cannot send it.
func TestHTTPMethodOverride(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(rec("Contact", "LastName", "Old"), rec("Contact", "LastName", "Gone"))

	res := b.do(http.MethodPost, "composite/sobjects?_HttpMethod=PATCH",
		records(false, rec("Contact", "id", ids[0], "LastName", "New"))).results(t)
	require.Equal(t, success(ids[0]), res[0])
	r, ok := b.sim.Find("Contact", "Id", ids[0])
	require.True(t, ok)
	require.Equal(t, "New", r.Fields["LastName"])

	res = b.do(http.MethodPost, "composite/sobjects/Contact/Ext_Id__c?_HttpMethod=PATCH",
		records(false, rec("Contact", "Ext_Id__c", "e-1", "LastName", "Upserted"))).results(t)
	require.Equal(t, true, res[0]["success"], "%v", res[0])
	require.Equal(t, true, res[0]["created"])
	_, ok = b.sim.Find("Contact", "Ext_Id__c", "e-1")
	require.True(t, ok)

	res = b.do(http.MethodPost, "composite/sobjects?_HttpMethod=DELETE&ids="+ids[1], nil).results(t)
	require.Equal(t, success(ids[1]), res[0])
	require.Len(t, b.sim.Deleted("Contact"), 1)

	a := b.do(http.MethodPost, "composite/sobjects/Contact/Ext_Id__c?_HttpMethod=GET", records(false))
	require.Equal(t, http.StatusMethodNotAllowed, a.status, "only PATCH and DELETE override a POST: %s", a.raw)
}

// GET /sobjects/{SObject}/{id} reads a record back: every field the object
// describes (null when unset), or the fields asked for and Id.
func TestGetRecord(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(rec("Contact", "LastName", "Lovelace", "Email", "ada@example.com", "Ext_Id__c", "e-1"))

	a := b.get("sobjects/Contact/" + ids[0])
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	got := a.obj(t)
	require.Equal(t, map[string]any{"type": "Contact", "url": base + "/sobjects/Contact/" + ids[0]}, got["attributes"])
	require.Equal(t, ids[0], got["Id"])
	require.Equal(t, "Lovelace", got["LastName"])
	require.Equal(t, "ada@example.com", got["Email"])
	require.Equal(t, false, got["IsDeleted"])
	require.Equal(t, "2026-03-10T15:00:00.000+0000", got["CreatedDate"])
	require.Contains(t, got, "FirstName")
	require.Nil(t, got["FirstName"], "an unset field is null")
	require.Contains(t, got, "Score__c")

	a = b.get("sobjects/contact/" + ids[0][:15] + "?fields=LastName,ext_id__c")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, map[string]any{
		"attributes": map[string]any{"type": "Contact", "url": base + "/sobjects/Contact/" + ids[0]},
		"LastName":   "Lovelace", "Ext_Id__c": "e-1", "Id": ids[0],
	}, a.obj(t))

	a = b.get("sobjects/Contact/" + ids[0] + "?fields=Nope__c")
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	require.Equal(t, "INVALID_FIELD", a.errs(t)[0]["errorCode"])

	b.do(http.MethodDelete, "composite/sobjects?ids="+ids[0], nil).results(t)
	for _, path := range []string{"sobjects/Contact/" + ids[0], "sobjects/Account/" + ids[0], "sobjects/Contact/nonsense"} {
		a = b.get(path)
		require.Equal(t, http.StatusNotFound, a.status, "%s: %s", path, a.raw)
		require.Equal(t, "NOT_FOUND", a.errs(t)[0]["errorCode"], path)
	}
}

// GET /sobjects/{SObject}/{ExternalIdField}/{value}: the record; 404 when none
// matches; 300 with the records' URLs when several do.
func TestGetRecordByExternalID(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(rec("Contact", "LastName", "A", "Ext_Id__c", "e-1"),
		rec("Contact", "LastName", "B", "Ext_Id__c", "dup"), rec("Contact", "LastName", "C", "Ext_Id__c", "DUP"))

	a := b.get("sobjects/Contact/Ext_Id__c/E-1?fields=LastName")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, map[string]any{
		"attributes": map[string]any{"type": "Contact", "url": base + "/sobjects/Contact/" + ids[0]},
		"LastName":   "A", "Id": ids[0],
	}, a.obj(t))

	a = b.get("sobjects/Contact/Ext_Id__c/dup")
	require.Equal(t, http.StatusMultipleChoices, a.status, "%s", a.raw)
	require.Equal(t, []any{base + "/sobjects/Contact/" + ids[1], base + "/sobjects/Contact/" + ids[2]}, a.json(t))

	a = b.get("sobjects/Contact/Id/" + ids[0] + "?fields=LastName")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)

	a = b.get("sobjects/Contact/Ext_Id__c/none")
	require.Equal(t, http.StatusNotFound, a.status, "%s", a.raw)
	require.Equal(t, "NOT_FOUND", a.errs(t)[0]["errorCode"])
	a = b.get("sobjects/Contact/Nope__c/x")
	require.Equal(t, http.StatusNotFound, a.status, "%s", a.raw)
	a = b.get("sobjects/Contact/LastName/A")
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	require.Equal(t, "INVALID_FIELD", a.errs(t)[0]["errorCode"])
}

// GET /composite/sobjects/{SObject}?ids=…&fields=…: the records in the order of
// the ids, null where there is none.
func TestCollectionRetrieve(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(rec("Contact", "LastName", "A"), rec("Contact", "LastName", "B", "Email", "b@example.com"))
	account := b.create(rec("Account", "Name", "Acme"))[0]

	a := b.get("composite/sobjects/Contact?ids=" + ids[1] + "," + account + "," + ids[0][:15] + "&fields=LastName,Email")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	attrs := func(id string) map[string]any {
		return map[string]any{"type": "Contact", "url": base + "/sobjects/Contact/" + id}
	}
	require.Equal(t, []any{
		map[string]any{"attributes": attrs(ids[1]), "LastName": "B", "Email": "b@example.com", "Id": ids[1]},
		nil,
		map[string]any{"attributes": attrs(ids[0]), "LastName": "A", "Email": nil, "Id": ids[0]},
	}, a.json(t))

	for path, code := range map[string]string{
		"composite/sobjects/Contact?fields=LastName":             "MISSING_ARGUMENT",
		"composite/sobjects/Contact?ids=" + ids[0]:               "MISSING_ARGUMENT",
		"composite/sobjects/Contact?ids=" + ids[0] + "&fields=X": "INVALID_FIELD",
	} {
		a = b.get(path)
		require.Equal(t, http.StatusBadRequest, a.status, "%s: %s", path, a.raw)
		require.Equal(t, code, a.errs(t)[0]["errorCode"], path)
	}
	require.Equal(t, http.StatusNotFound, b.get("composite/sobjects/Nope?ids="+ids[0]+"&fields=Name").status)
}
