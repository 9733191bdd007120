package salesforce

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// fieldSpecExample is shown with every error of ParseField.
const fieldSpecExample = "e.g. Account.District_Id__c:string:external, Contact.Tier__c:picklist=Gold|Silver, " +
	"Widget__c.Code__c:string(80):external,unique or Contact.Widget__c:reference=Widget__c"

// fieldSpecFlags are the flags a spec may end with.
var fieldSpecFlags = []string{"external", "unique", "required", "casesensitive", "restricted"}

// ParseField reads a field from a command line's spec:
// Object.Field[:type[(length) | (precision,scale) | =values][:flag,flag…]].
// The type is string by default; a picklist takes =a|b|c, a reference
// =Object; flags are external, unique, required, casesensitive and restricted.
// The object is not looked up here: (*Server).AddField refuses an unknown
// standard one and creates an unknown custom one (a name ending in __c).
func ParseField(spec string) (object string, f Field, err error) {
	fail := func(format string, args ...any) (string, Field, error) {
		return "", Field{}, fmt.Errorf("salesforce: field %q: %s (%s)", spec, fmt.Sprintf(format, args...), fieldSpecExample)
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return fail("too many colons: want Object.Field:type:flags")
	}
	object, name, ok := strings.Cut(parts[0], ".")
	switch {
	case !ok:
		return fail("want Object.Field, optionally followed by :type and :flags")
	case !fieldNameRE.MatchString(object):
		return fail("%q is not an object's API name: letters, digits and _, starting with a letter", object)
	case !fieldNameRE.MatchString(name):
		return fail("%q is not a field's API name: letters, digits and _, starting with a letter", name)
	}
	f = Field{Name: name, Type: TypeString}
	if len(parts) > 1 {
		kind, arg, hasValues := strings.Cut(parts[1], "=")
		kind, size, hasSize := strings.Cut(kind, "(")
		f.Type = FieldType(strings.ToLower(kind))
		switch {
		case kind == "":
			return fail("the type is missing after the colon")
		case !slices.Contains(fieldTypes, f.Type) || f.Type == TypeID:
			return fail("unknown type %q: use one of string, textarea, email, phone, url, picklist, double, int, currency, percent, boolean, date, datetime, reference", kind)
		case hasValues && f.Type != TypePicklist && f.Type != TypeReference:
			return fail("only a picklist (=a|b) or a reference (=Object) takes a value after =, not %s", f.Type)
		case f.Type == TypeReference && (!hasValues || arg == ""):
			return fail("a reference names its object: reference=Account")
		}
		if hasSize {
			size, closed := strings.CutSuffix(size, ")")
			if !closed {
				return fail("the size %q is missing its closing parenthesis", "("+size)
			}
			a, b, twoNumbers := strings.Cut(size, ",")
			n, errA := strconv.Atoi(a)
			m, errB := strconv.Atoi(b)
			switch {
			case f.Type.isText() && !twoNumbers && errA == nil:
				f.Length = n
			case f.Type.isNumber() && errA == nil && (!twoNumbers || errB == nil):
				f.Precision, f.Scale = n, m
			default:
				return fail("the size (%s) does not fit %s: text takes (length), numbers (precision) or (precision,scale)", size, f.Type)
			}
		}
		switch f.Type {
		case TypePicklist:
			for i, v := range strings.Split(arg, "|") {
				v = strings.TrimSpace(v)
				switch {
				case !hasValues:
				case v == "":
					return fail("value %d of the picklist is empty", i+1)
				case slices.Contains(f.Values, v):
					return fail("picklist value %q is given twice", v)
				default:
					f.Values = append(f.Values, v)
				}
			}
		case TypeReference:
			f.ReferenceTo = []string{arg}
		}
	}
	if len(parts) > 2 {
		for _, flag := range strings.Split(parts[2], ",") {
			switch strings.ToLower(strings.TrimSpace(flag)) {
			case "external":
				f.ExternalID = true
			case "unique":
				f.Unique = true
			case "required":
				f.Required = true
			case "casesensitive":
				f.CaseSensitive = true
			case "restricted":
				f.Restricted = true
			default:
				return fail("unknown flag %q: use %s", flag, strings.Join(fieldSpecFlags, ", "))
			}
		}
	}
	if err := f.check(); err != nil {
		return fail("%v", err)
	}
	return object, f, nil
}
