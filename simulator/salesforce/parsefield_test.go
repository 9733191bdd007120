package salesforce

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec   string
		object string
		field  Field
		err    string
	}{
		{spec: "Account.District_Id__c:string:external", object: "Account",
			field: Field{Name: "District_Id__c", Type: TypeString, ExternalID: true}},
		{spec: "Contact.Nickname__c", object: "Contact", field: Field{Name: "Nickname__c", Type: TypeString}},
		{spec: "Widget__c.Code__c:string(80):external,unique,casesensitive", object: "Widget__c",
			field: Field{Name: "Code__c", Type: TypeString, Length: 80, ExternalID: true, Unique: true, CaseSensitive: true}},
		{spec: "Contact.Tier__c:picklist=Gold|Silver:restricted,required", object: "Contact",
			field: Field{Name: "Tier__c", Type: TypePicklist, Values: []string{"Gold", "Silver"}, Restricted: true, Required: true}},
		{spec: "Contact.Widget__c:reference=Widget__c", object: "Contact",
			field: Field{Name: "Widget__c", Type: TypeReference, ReferenceTo: []string{"Widget__c"}}},
		{spec: "Account.Score__c:double(5,1)", object: "Account", field: Field{Name: "Score__c", Type: TypeDouble, Precision: 5, Scale: 1}},
		{spec: "Account.Seats__c:INT:external", object: "Account", field: Field{Name: "Seats__c", Type: TypeInt, ExternalID: true}},
		{spec: "Account", err: "want Object.Field"},
		{spec: "Account.", err: "is not a field's API name"},
		{spec: "Acc ount.X__c", err: "is not an object's API name"},
		{spec: "Account.X__c:", err: "the type is missing"},
		{spec: "Account.X__c:blob", err: `unknown type "blob"`},
		{spec: "Account.X__c:id", err: `unknown type "id"`},
		{spec: "Account.X__c:string=a", err: "only a picklist"},
		{spec: "Account.X__c:reference", err: "a reference names its object"},
		{spec: "Account.X__c:string(80", err: "closing parenthesis"},
		{spec: "Account.X__c:boolean(3)", err: "does not fit boolean"},
		{spec: "Account.X__c:picklist=a||b", err: "value 2 of the picklist is empty"},
		{spec: "Account.X__c:picklist=a|a", err: "given twice"},
		{spec: "Account.X__c:string:exteral", err: `unknown flag "exteral"`},
		{spec: "Account.X__c:boolean:external", err: "can be external ids"},
		{spec: "Account.X__c:string:external:more", err: "too many colons"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			object, f, err := ParseField(tt.spec)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.ErrorContains(t, err, "e.g. Account.District_Id__c:string:external")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.object, object)
			require.Equal(t, tt.field, f)
			s := New(Options{})
			require.NoError(t, s.AddField(object, f))
		})
	}
}

// FuzzParseField checks that any spec is either refused with an error or gives
// a field an org accepts.
func FuzzParseField(f *testing.F) {
	for _, seed := range []string{"Account.District_Id__c:string:external", "Contact.Tier__c:picklist=Gold|Silver:restricted",
		"Widget__c.Code__c:string(80):external,unique", "Account.Score__c:double(5,1)", "Contact.W__c:reference=Widget__c", "a.b:c(:d"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		object, field, err := ParseField(spec)
		if err != nil {
			return
		}
		s := New(Options{})
		if err := s.AddField(object, field); err != nil && !strings.Contains(err.Error(), "no object") && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("ParseField(%q) gave a field AddField refuses: %v", spec, err)
		}
	})
}
