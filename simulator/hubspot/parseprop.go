package hubspot

import (
	"fmt"
	"slices"
	"strings"
)

// propertySpecTypes are the types a property spec may name.
var propertySpecTypes = []string{"string", "number", "bool", "date", "datetime", "enumeration"}

// propertySpecExample is shown with every error of ParseProperty.
const propertySpecExample = "e.g. contacts.plan_tier, deals.renewal:date or contacts.plan_tier:enumeration=free|pro|team"

// ParseProperty reads a custom property from a command line's spec:
// object.name, or object.name:type where type is string (the default), number,
// bool, date, datetime, or enumeration=a|b|c with its option values. The object
// is not looked up here: (*Server).AddProperty refuses an unknown one.
func ParseProperty(spec string) (object string, p Property, err error) {
	fail := func(format string, args ...any) (string, Property, error) {
		return "", Property{}, fmt.Errorf("hubspot: property %q: %s (%s)", spec, fmt.Sprintf(format, args...), propertySpecExample)
	}
	head, kind, typed := strings.Cut(spec, ":")
	object, name, ok := strings.Cut(head, ".")
	switch {
	case !ok:
		return fail("want object.name or object.name:type")
	case object == "":
		return fail("the object is missing before the dot")
	case strings.ContainsAny(object, "/?#% "):
		return fail("%q is not an object name: use contacts, companies, deals, or a custom object's name or objectTypeId", object)
	case name == "":
		return fail("the property name is missing after the dot")
	case !propertyNameRE.MatchString(name):
		return fail("%q is not a property's internal name: lower-case letters, digits and _, starting with a letter", name)
	}
	p = Property{Name: name, Type: "string"}
	if typed {
		kind, options, hasOptions := strings.Cut(kind, "=")
		switch {
		case kind == "":
			return fail("the type is missing after the colon: use one of %s", strings.Join(propertySpecTypes, ", "))
		case !slices.Contains(propertySpecTypes, kind):
			return fail("unknown type %q: use one of %s", kind, strings.Join(propertySpecTypes, ", "))
		case kind == "enumeration" && !hasOptions:
			return fail("an enumeration needs its option values: enumeration=a|b|c")
		case kind != "enumeration" && hasOptions:
			return fail("only an enumeration takes option values (=…), not %s", kind)
		}
		p.Type = kind
		if kind == "enumeration" {
			for i, v := range strings.Split(options, "|") {
				v = strings.TrimSpace(v)
				switch {
				case v == "":
					return fail("option %d of the enumeration is empty", i+1)
				case slices.ContainsFunc(p.Options, func(o Option) bool { return o.Value == v }):
					return fail("option %q is given twice", v)
				}
				p.Options = append(p.Options, Option{Label: v, Value: v, DisplayOrder: i})
			}
		}
	}
	if err := p.check(); err != nil {
		return fail("%v", err)
	}
	return object, p, nil
}
