package hubspot

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseProperty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		object  string
		want    Property
		wantErr string
	}{
		{spec: "contacts.plan_tier", object: "contacts", want: Property{Name: "plan_tier", Type: "string"}},
		{spec: "contacts.plan_tier:string", object: "contacts", want: Property{Name: "plan_tier", Type: "string"}},
		{spec: "companies.seats:number", object: "companies", want: Property{Name: "seats", Type: "number"}},
		{spec: "contacts.vip:bool", object: "contacts", want: Property{Name: "vip", Type: "bool"}},
		{spec: "deals.renewal_on:date", object: "deals", want: Property{Name: "renewal_on", Type: "date"}},
		{spec: "2-1001.seen_at:datetime", object: "2-1001", want: Property{Name: "seen_at", Type: "datetime"}},
		{spec: "contacts.plan_tier:enumeration=free|pro|team", object: "contacts", want: Property{Name: "plan_tier", Type: "enumeration", Options: []Option{
			{Label: "free", Value: "free"}, {Label: "pro", Value: "pro", DisplayOrder: 1}, {Label: "team", Value: "team", DisplayOrder: 2},
		}}},
		{spec: "contacts.tier:enumeration=gold", object: "contacts", want: Property{Name: "tier", Type: "enumeration", Options: []Option{{Label: "gold", Value: "gold"}}}},
		{spec: "contacts.tier:enumeration=a:b|c.d", object: "contacts", want: Property{Name: "tier", Type: "enumeration", Options: []Option{
			{Label: "a:b", Value: "a:b"}, {Label: "c.d", Value: "c.d", DisplayOrder: 1},
		}}},

		{spec: "plan_tier", wantErr: `hubspot: property "plan_tier": want object.name or object.name:type (e.g. contacts.plan_tier`},
		{spec: "", wantErr: "want object.name or object.name:type"},
		{spec: ".plan_tier", wantErr: "the object is missing before the dot"},
		{spec: "contacts.", wantErr: "the property name is missing after the dot"},
		{spec: "contacts.:number", wantErr: "the property name is missing after the dot"},
		{spec: "contacts.Plan Tier", wantErr: `"Plan Tier" is not a property's internal name`},
		{spec: "contacts.plan-tier", wantErr: `"plan-tier" is not a property's internal name`},
		{spec: "my contacts.plan", wantErr: `"my contacts" is not an object name`},
		{spec: "contacts.plan_tier:", wantErr: "the type is missing after the colon: use one of string, number, bool, date, datetime, enumeration"},
		{spec: "contacts.plan_tier:text", wantErr: `unknown type "text": use one of string, number, bool, date, datetime, enumeration`},
		{spec: "contacts.plan_tier:enumeration", wantErr: "an enumeration needs its option values: enumeration=a|b|c"},
		{spec: "contacts.plan_tier:enumeration=", wantErr: "option 1 of the enumeration is empty"},
		{spec: "contacts.plan_tier:enumeration=free||pro", wantErr: "option 2 of the enumeration is empty"},
		{spec: "contacts.plan_tier:enumeration=free|free", wantErr: `option "free" is given twice`},
		{spec: "contacts.seats:number=1|2", wantErr: "only an enumeration takes option values (=…), not number"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			object, p, err := ParseProperty(tt.spec)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorContains(t, err, "e.g. contacts.plan_tier", "every error shows an example")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.object, object)
			require.Equal(t, tt.want, p)
		})
	}
}

// A parsed property is one the simulator accepts, and writes then validate
// against it: the plan → plan_tier mapping.
func TestParsedPropertyIsUsable(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	object, p, err := ParseProperty("contacts.plan_tier:enumeration=free|pro")
	require.NoError(t, err)
	require.NoError(t, b.sim.AddProperty(object, p))
	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "a@example.com", "plan_tier", "pro")))
	require.Equal(t, http.StatusCreated, a.status)
	a = b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "b@example.com", "plan_tier", "enterprise")))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Contains(t, a.body["message"], "enterprise was not one of the allowed options")

	object, p, err = ParseProperty("nope.plan_tier")
	require.NoError(t, err)
	require.ErrorContains(t, b.sim.AddProperty(object, p), `unknown object type "nope"`)
}
