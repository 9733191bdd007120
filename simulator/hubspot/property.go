package hubspot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Property is the definition of one property of an object type, as the
// properties API describes it.
type Property struct {
	Name  string
	Label string
	// Type is the kind of value: string, number, enumeration, date, datetime,
	// bool or phone_number.
	Type string
	// FieldType is how HubSpot shows it: text, textarea, number, select, radio,
	// checkbox (several options joined by ";"), booleancheckbox, date,
	// phonenumber, calculation_equation…
	FieldType   string
	GroupName   string
	Description string
	Options     []Option
	// ExternalOptions means the options live elsewhere (owners, pipelines); any
	// value is accepted.
	ExternalOptions bool
	// HasUniqueValue makes the property a unique identifier: no two records share
	// a value, and it may be the idProperty of an upsert.
	HasUniqueValue bool
	// ReadOnly is modificationMetadata.readOnlyValue: writing it is an error.
	ReadOnly bool
	// Calculated marks a property HubSpot computes.
	Calculated     bool
	HubSpotDefined bool
	Hidden         bool
}

// Option is one allowed value of an enumeration.
type Option struct {
	Label        string
	Value        string
	DisplayOrder int
	Hidden       bool
}

var propertyNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// fieldTypes are the field types each type may be shown with (HubSpot validates
// the pair since 2021).
var fieldTypes = map[string][]string{
	"string":       {"text", "textarea", "html", "file", "phonenumber", "calculation_equation"},
	"number":       {"number", "calculation_equation"},
	"enumeration":  {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
	"bool":         {"booleancheckbox", "calculation_equation"},
	"date":         {"date"},
	"datetime":     {"date"},
	"phone_number": {"phonenumber"},
}

// check reports what makes a definition unusable.
func (p Property) check() error {
	if !propertyNameRE.MatchString(p.Name) {
		return fmt.Errorf("property %q: a name is lower-case letters, digits and _, starting with a letter", p.Name)
	}
	allowed, ok := fieldTypes[p.Type]
	if !ok {
		return fmt.Errorf("property %q: unknown type %q", p.Name, p.Type)
	}
	if p.FieldType != "" && !slices.Contains(allowed, p.FieldType) {
		return fmt.Errorf("property %q: fieldType %q does not go with type %q (want one of %s)",
			p.Name, p.FieldType, p.Type, strings.Join(allowed, ", "))
	}
	if p.HasUniqueValue && p.Type != "string" && p.Type != "number" {
		return fmt.Errorf("property %q: only string and number properties can have unique values", p.Name)
	}
	return nil
}

// withDefaults fills the label, field type and bool options of a definition.
func (p Property) withDefaults() Property {
	if p.Label == "" {
		p.Label = p.Name
	}
	if p.FieldType == "" {
		p.FieldType = fieldTypes[p.Type][0]
	}
	if p.GroupName == "" {
		p.GroupName = "custom"
	}
	if p.Type == "bool" && len(p.Options) == 0 {
		p.Options = []Option{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false", DisplayOrder: 1}}
	}
	p.Options = slices.Clone(p.Options)
	return p
}

// optionValues are the values an enumeration or bool accepts, in display order.
func (p *Property) optionValues() []string {
	out := make([]string, len(p.Options))
	for i, o := range p.Options {
		out[i] = o.Value
	}
	return out
}

// propertyJSON is a definition as GET /crm/v3/properties answers it.
type propertyJSON struct {
	UpdatedAt            string       `json:"updatedAt"`
	CreatedAt            string       `json:"createdAt"`
	Name                 string       `json:"name"`
	Label                string       `json:"label"`
	Type                 string       `json:"type"`
	FieldType            string       `json:"fieldType"`
	Description          string       `json:"description"`
	GroupName            string       `json:"groupName"`
	Options              []optionJSON `json:"options"`
	DisplayOrder         int          `json:"displayOrder"`
	Calculated           bool         `json:"calculated"`
	ExternalOptions      bool         `json:"externalOptions"`
	HasUniqueValue       bool         `json:"hasUniqueValue"`
	Hidden               bool         `json:"hidden"`
	HubspotDefined       bool         `json:"hubspotDefined"`
	ModificationMetadata modification `json:"modificationMetadata"`
	FormField            bool         `json:"formField"`
}

type optionJSON struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

type modification struct {
	Archivable         bool `json:"archivable"`
	ReadOnlyDefinition bool `json:"readOnlyDefinition"`
	ReadOnlyValue      bool `json:"readOnlyValue"`
}

// definedAt is when the simulated account's HubSpot-defined properties were made.
const definedAt = "2019-08-06T02:41:08.029Z"

// defined is a property of an object type, with when it was made.
type defined struct {
	Property
	createdAt string
	order     int
}

func (d *defined) json() propertyJSON {
	opts := make([]optionJSON, len(d.Options))
	for i, o := range d.Options {
		opts[i] = optionJSON{Label: o.Label, Value: o.Value, DisplayOrder: o.DisplayOrder, Hidden: o.Hidden}
	}
	return propertyJSON{
		UpdatedAt:       d.createdAt,
		CreatedAt:       d.createdAt,
		Name:            d.Name,
		Label:           d.Label,
		Type:            d.Type,
		FieldType:       d.FieldType,
		Description:     d.Description,
		GroupName:       d.GroupName,
		Options:         opts,
		DisplayOrder:    d.order,
		Calculated:      d.Calculated,
		ExternalOptions: d.ExternalOptions,
		HasUniqueValue:  d.HasUniqueValue,
		Hidden:          d.Hidden,
		HubspotDefined:  d.HubSpotDefined,
		ModificationMetadata: modification{
			Archivable:         !d.HubSpotDefined,
			ReadOnlyDefinition: d.HubSpotDefined,
			ReadOnlyValue:      d.ReadOnly,
		},
		FormField: !d.ReadOnly && !d.Hidden,
	}
}
