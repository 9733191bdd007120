package config

import (
	"fmt"
	"reflect"
	"strings"
)

// FieldDoc describes one key of a connector's config struct, for generated docs.
type FieldDoc struct {
	Key      string // dotted for keys of nested mappings: "auth.user"
	Type     string // string, boolean, integer, number, duration, list of strings, map of strings, mapping
	Required bool
	Secret   bool
	Doc      string
	Default  string // the value SetDefaults gives, formatted; "" when none (or secret)
}

// Describe lists the keys of a connector's config struct (what a spec's NewConfig
// or NewSyncConfig returns) in declaration order, nested keys after their parent.
func Describe(cfg any) []FieldDoc {
	t := reflect.TypeOf(cfg)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	fresh := reflect.New(t)
	if d, ok := fresh.Interface().(defaulter); ok {
		d.SetDefaults()
	}
	return describeStruct(fresh.Elem(), "", false)
}

func describeStruct(v reflect.Value, prefix string, secret bool) []FieldDoc {
	var out []FieldDoc
	for _, f := range structFields(v.Type()) {
		fv := v.FieldByIndex(f.index)
		doc := FieldDoc{
			Key:      prefix + f.key,
			Type:     typeName(f.typ),
			Required: f.required,
			Secret:   secret || f.secret,
			Doc:      f.doc,
		}
		if !doc.Secret {
			doc.Default = formatDefault(fv)
		}
		out = append(out, doc)
		st := f.typ
		for st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() == reflect.Struct && st != durationType {
			nested := fv
			for nested.Kind() == reflect.Pointer {
				if nested.IsNil() {
					nested = reflect.New(nested.Type().Elem())
				}
				nested = nested.Elem()
			}
			out = append(out, describeStruct(nested, doc.Key+".", doc.Secret)...)
		}
	}
	return out
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "list of strings"
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return "map of strings"
		}
	case reflect.Struct:
		return "mapping"
	}
	return t.String()
}

func formatDefault(v reflect.Value) string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct || v.IsZero() {
		return ""
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
		items := make([]string, v.Len())
		for i := range items {
			items[i] = v.Index(i).String()
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}
