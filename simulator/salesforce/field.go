package salesforce

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// FieldType is a field's type as describe names it.
type FieldType string

// The field types the simulator knows.
const (
	TypeString    FieldType = "string"
	TypeTextArea  FieldType = "textarea"
	TypeEmail     FieldType = "email"
	TypePhone     FieldType = "phone"
	TypeURL       FieldType = "url"
	TypePicklist  FieldType = "picklist"
	TypeDouble    FieldType = "double"
	TypeInt       FieldType = "int"
	TypeCurrency  FieldType = "currency"
	TypePercent   FieldType = "percent"
	TypeBoolean   FieldType = "boolean"
	TypeDate      FieldType = "date"
	TypeDateTime  FieldType = "datetime"
	TypeID        FieldType = "id"
	TypeReference FieldType = "reference"
)

// fieldTypes are the types a Field may have, in the order error messages list them.
var fieldTypes = []FieldType{
	TypeString, TypeTextArea, TypeEmail, TypePhone, TypeURL, TypePicklist, TypeDouble, TypeInt,
	TypeCurrency, TypePercent, TypeBoolean, TypeDate, TypeDateTime, TypeID, TypeReference,
}

// Field is the definition of one field of an sObject, as describe reports it.
type Field struct {
	Name  string
	Label string // default: the name without __c, underscores as spaces
	Type  FieldType
	// Length is the most characters of a text value. Default 255 (textarea
	// 32,768, email 80, phone 40; ids 18).
	Length int
	// Precision and Scale bound a number: Precision digits in all, Scale of them
	// after the point (values are rounded to Scale). Defaults: int 9 and 0;
	// double and currency 18 and 2; percent 5 and 2.
	Precision, Scale int
	// Required fields must have a value after every write (nillable false).
	Required bool
	// Default is the value a record gets on create when none is given
	// (defaultedOnCreate).
	Default any
	// ExternalID makes the field usable to match records in upserts and
	// relationships; Unique forbids two records with one value. Text values are
	// compared without case unless CaseSensitive.
	ExternalID    bool
	Unique        bool
	CaseSensitive bool
	// ReadOnly fields cannot be written (createable and updateable false);
	// CreateOnly fields can be set on create only.
	ReadOnly   bool
	CreateOnly bool
	// Values are a picklist's values; Restricted refuses any other.
	Values     []string
	Restricted bool
	// ReferenceTo names the objects a reference points at; RelationshipName is
	// how a record names its parent by external id (default: the name without
	// "Id", or with __c turned into __r).
	ReferenceTo      []string
	RelationshipName string

	custom bool // set for fields not of the standard catalogue
	dflt   any  // Default in stored form
}

var fieldNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// check reports what makes a definition unusable.
func (f Field) check() error {
	if !fieldNameRE.MatchString(f.Name) {
		return fmt.Errorf("field %q: a name is letters, digits and _, starting with a letter", f.Name)
	}
	if !slices.Contains(fieldTypes, f.Type) {
		return fmt.Errorf("field %q: unknown type %q", f.Name, f.Type)
	}
	if f.ExternalID && !f.Type.canBeExternal() {
		return fmt.Errorf("field %q: only string, email, int and double fields can be external ids, not %s", f.Name, f.Type)
	}
	if f.Unique && !f.Type.canBeExternal() {
		return fmt.Errorf("field %q: only string, email, int and double fields can be unique, not %s", f.Name, f.Type)
	}
	if f.Type == TypeReference && len(f.ReferenceTo) == 0 {
		return fmt.Errorf("field %q: a reference needs ReferenceTo", f.Name)
	}
	if f.Length < 0 || f.Length > 131_072 {
		return fmt.Errorf("field %q: Length %d: want 1 to 131,072", f.Name, f.Length)
	}
	if f.Precision < 0 || f.Scale < 0 || (f.Precision > 0 && f.Scale > f.Precision) || f.Precision > 18 {
		return fmt.Errorf("field %q: Precision %d and Scale %d: want a precision of at most 18 and no more scale than precision", f.Name, f.Precision, f.Scale)
	}
	if f.Default != nil {
		if _, errKind := convertText(&f, formatValue(f.Default)); errKind != nil {
			return fmt.Errorf("field %q: Default %v is not a %s", f.Name, f.Default, f.Type)
		}
	}
	return nil
}

func (t FieldType) canBeExternal() bool {
	return t == TypeString || t == TypeEmail || t == TypeInt || t == TypeDouble
}

func (t FieldType) isText() bool {
	switch t {
	case TypeString, TypeTextArea, TypeEmail, TypePhone, TypeURL, TypePicklist:
		return true
	}
	return false
}

func (t FieldType) isNumber() bool {
	return t == TypeDouble || t == TypeInt || t == TypeCurrency || t == TypePercent
}

// withDefaults fills the label, length, precision and relationship name.
func (f Field) withDefaults() Field {
	if f.Label == "" {
		f.Label = strings.ReplaceAll(strings.TrimSuffix(f.Name, "__c"), "_", " ")
	}
	if f.Length == 0 {
		switch f.Type {
		case TypeTextArea:
			f.Length = 32_768
		case TypeEmail:
			f.Length = 80
		case TypePhone:
			f.Length = 40
		case TypeID, TypeReference:
			f.Length = 18
		case TypeString, TypeURL, TypePicklist:
			f.Length = 255
		}
	}
	if f.Precision == 0 {
		switch f.Type {
		case TypeInt:
			f.Precision = 9
		case TypeDouble, TypeCurrency:
			f.Precision, f.Scale = 18, max(f.Scale, 2)
		case TypePercent:
			f.Precision, f.Scale = 5, max(f.Scale, 2)
		}
	}
	if f.Type == TypeReference && f.RelationshipName == "" {
		switch {
		case strings.HasSuffix(f.Name, "__c"):
			f.RelationshipName = strings.TrimSuffix(f.Name, "__c") + "__r"
		case strings.HasSuffix(f.Name, "Id"):
			f.RelationshipName = strings.TrimSuffix(f.Name, "Id")
		}
	}
	f.Values = slices.Clone(f.Values)
	f.ReferenceTo = slices.Clone(f.ReferenceTo)
	return f
}

func (f *Field) createable() bool { return !f.ReadOnly }
func (f *Field) updateable() bool { return !f.ReadOnly && !f.CreateOnly }

// nillable is describe's flag: booleans never are, required fields neither.
func (f *Field) nillable() bool { return !f.Required && f.Type != TypeBoolean && f.Type != TypeID }

// foldsCase tells whether values of the field are compared without case.
func (f *Field) foldsCase() bool { return f.Type.isText() && !f.CaseSensitive }

// key is how a value of the field is indexed and matched.
func (f *Field) key(v any) string {
	s := formatValue(v)
	if f.foldsCase() {
		return strings.ToLower(s)
	}
	return s
}

// fieldJSON is a field as describe answers it.
type fieldJSON struct {
	Aggregatable       bool            `json:"aggregatable"`
	AutoNumber         bool            `json:"autoNumber"`
	ByteLength         int             `json:"byteLength"`
	Calculated         bool            `json:"calculated"`
	CaseSensitive      bool            `json:"caseSensitive"`
	Createable         bool            `json:"createable"`
	Custom             bool            `json:"custom"`
	DefaultValue       any             `json:"defaultValue"`
	DefaultedOnCreate  bool            `json:"defaultedOnCreate"`
	Digits             int             `json:"digits"`
	ExternalID         bool            `json:"externalId"`
	Filterable         bool            `json:"filterable"`
	Groupable          bool            `json:"groupable"`
	IDLookup           bool            `json:"idLookup"`
	Label              string          `json:"label"`
	Length             int             `json:"length"`
	Name               string          `json:"name"`
	NameField          bool            `json:"nameField"`
	Nillable           bool            `json:"nillable"`
	PicklistValues     []picklistValue `json:"picklistValues"`
	Precision          int             `json:"precision"`
	ReferenceTo        []string        `json:"referenceTo"`
	RelationshipName   *string         `json:"relationshipName"`
	RestrictedPicklist bool            `json:"restrictedPicklist"`
	Scale              int             `json:"scale"`
	SoapType           string          `json:"soapType"`
	Sortable           bool            `json:"sortable"`
	Type               FieldType       `json:"type"`
	Unique             bool            `json:"unique"`
	Updateable         bool            `json:"updateable"`
}

type picklistValue struct {
	Active       bool    `json:"active"`
	DefaultValue bool    `json:"defaultValue"`
	Label        string  `json:"label"`
	ValidFor     *string `json:"validFor"`
	Value        string  `json:"value"`
}

var soapTypes = map[FieldType]string{
	TypeString: "xsd:string", TypeTextArea: "xsd:string", TypeEmail: "xsd:string", TypePhone: "xsd:string",
	TypeURL: "xsd:string", TypePicklist: "xsd:string", TypeDouble: "xsd:double", TypeInt: "xsd:int",
	TypeCurrency: "xsd:double", TypePercent: "xsd:double", TypeBoolean: "xsd:boolean", TypeDate: "xsd:date",
	TypeDateTime: "xsd:dateTime", TypeID: "tns:ID", TypeReference: "tns:ID",
}

func (f *Field) json() fieldJSON {
	j := fieldJSON{
		Aggregatable:       f.Type != TypeTextArea && f.Type != TypeBoolean,
		CaseSensitive:      f.CaseSensitive,
		Createable:         f.createable(),
		Custom:             f.custom,
		DefaultValue:       f.Default,
		DefaultedOnCreate:  f.Default != nil || f.Type == TypeBoolean || f.Type == TypeID || f.ReadOnly,
		ExternalID:         f.ExternalID,
		Filterable:         f.Type != TypeTextArea,
		Groupable:          f.Type != TypeTextArea && !f.Type.isNumber() && f.Type != TypeDateTime,
		IDLookup:           f.Type == TypeID || f.ExternalID || f.Unique || f.Type == TypeEmail,
		Label:              f.Label,
		Name:               f.Name,
		NameField:          f.Name == "Name",
		Nillable:           f.nillable(),
		PicklistValues:     []picklistValue{},
		Precision:          0,
		ReferenceTo:        slices.Clone(f.ReferenceTo),
		RestrictedPicklist: f.Restricted,
		SoapType:           soapTypes[f.Type],
		Sortable:           f.Type != TypeTextArea,
		Type:               f.Type,
		Unique:             f.Unique,
		Updateable:         f.updateable(),
	}
	if j.ReferenceTo == nil {
		j.ReferenceTo = []string{}
	}
	if f.Type.isText() || f.Type == TypeID || f.Type == TypeReference {
		j.Length, j.ByteLength = f.Length, f.Length*3
	}
	switch {
	case f.Type == TypeInt:
		j.Digits = f.Precision
	case f.Type.isNumber():
		j.Precision, j.Scale = f.Precision, f.Scale
	}
	for _, v := range f.Values {
		j.PicklistValues = append(j.PicklistValues, picklistValue{Active: true, Label: v, Value: v, DefaultValue: f.Default == v})
	}
	if f.RelationshipName != "" {
		name := f.RelationshipName
		j.RelationshipName = &name
	}
	return j
}
