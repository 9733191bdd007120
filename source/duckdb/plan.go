package duckdb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
)

// plan is how to read one model: the query to run and how to convert each column.
type plan struct {
	query   string
	columns []connector.Column
	convert []converter
}

// newPlan prepares reading base, whose result columns DESCRIBE reported. Where the
// driver would lose information, base is wrapped to cast those columns first:
//
//   - JSON becomes VARCHAR: the driver would decode it into maps, losing key order and
//     the precision of large numbers. JSON nested in structs, lists, maps and unions is
//     cast the same way, so it is kept exactly too.
//   - VARIANT goes through JSON to VARCHAR and is read as JSON. A NULL VARIANT column
//     stays NULL, but DuckDB casts a NULL VARIANT nested in a struct, list or map to
//     the JSON text "null".
//   - TIME and TIME_NS become VARCHAR: the driver reads TIME '24:00:00' as midnight and
//     does not read TIME_NS at all; DuckDB's text is "15:04:05[.fraction]".
//   - GEOMETRY becomes VARCHAR, its well-known text ("POINT (1 2)").
//   - MAP keys the driver cannot hold in a Go map (UUID, BLOB, BIT, GEOMETRY, JSON,
//     VARIANT, LIST, ARRAY, STRUCT, MAP, UNION) become VARCHAR, DuckDB's text of the key.
func newPlan(base string, described []connector.Column) (*plan, error) {
	p := &plan{query: base, columns: described, convert: make([]converter, len(described))}
	var casts []string
	for i, c := range described {
		t, err := parseType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		scan, changed := mapType(t, scanReplacement)
		if p.convert[i], err = newConverter(scan); err != nil {
			return nil, fmt.Errorf("column %q (%s): %w", c.Name, c.Type, err)
		}
		if !changed {
			continue
		}
		expr := quoteIdent(c.Name)
		if viaJSON, ok := mapType(t, variantReplacement); ok {
			expr = "CAST(" + expr + " AS " + viaJSON.String() + ")"
		}
		expr = "CAST(" + expr + " AS " + scan.String() + ")"
		if t.Kind == kindVariant {
			// A NULL VARIANT casts to the JSON text "null"; keep it NULL.
			expr = "CASE WHEN " + quoteIdent(c.Name) + " IS NULL THEN NULL ELSE " + expr + " END"
		}
		casts = append(casts, expr+" AS "+quoteIdent(c.Name))
	}
	if len(casts) > 0 {
		// The newlines keep a trailing "-- comment" in base from swallowing the ")".
		p.query = "SELECT * REPLACE (" + strings.Join(casts, ", ") + ") FROM (\n" + base + "\n) AS sluice_model"
	}
	return p, nil
}

var varchar = &sqlType{Kind: kindVarchar, Name: "VARCHAR"}

// textKeyKinds are the MAP key kinds the driver rejects or cannot compare.
var textKeyKinds = map[typeKind]bool{
	kindUUID: true, kindBlob: true, kindBit: true, kindGeometry: true, kindJSON: true,
	kindVariant: true, kindList: true, kindArray: true, kindStruct: true, kindMap: true, kindUnion: true,
}

// scanReplacement gives the type the driver should read in place of t, or nil to keep
// t (and look inside it). A replaced node keeps its kind and is only renamed VARCHAR,
// so that its converter knows what the text stands for.
func scanReplacement(t *sqlType) *sqlType {
	switch t.Kind {
	case kindJSON, kindVariant, kindTime, kindTimeNS, kindGeometry:
		return &sqlType{Kind: t.Kind, Name: "VARCHAR"}
	case kindMap:
		if !textKeyKinds[t.Key.Kind] {
			return nil
		}
		m := *t
		m.Key = varchar
		m.Value, _ = mapType(t.Value, scanReplacement)
		return &m
	}
	return nil
}

// variantReplacement is the first of the two casts a VARIANT takes: to JSON, whose
// text is what Sluice keeps (a direct cast to VARCHAR gives DuckDB's own notation).
func variantReplacement(t *sqlType) *sqlType {
	if t.Kind == kindVariant {
		return &sqlType{Kind: kindJSON, Name: "JSON"}
	}
	return nil
}

// mapType returns t with the nodes that replace gives a replacement for replaced, and
// whether anything changed. Unchanged subtrees are shared, not copied.
func mapType(t *sqlType, replace func(*sqlType) *sqlType) (*sqlType, bool) {
	if r := replace(t); r != nil {
		return r, true
	}
	switch t.Kind {
	case kindList, kindArray:
		elem, changed := mapType(t.Elem, replace)
		if !changed {
			return t, false
		}
		c := *t
		c.Elem = elem
		return &c, true
	case kindMap:
		key, kc := mapType(t.Key, replace)
		value, vc := mapType(t.Value, replace)
		if !kc && !vc {
			return t, false
		}
		c := *t
		c.Key, c.Value = key, value
		return &c, true
	case kindStruct, kindUnion:
		var fields []sqlField
		for i, f := range t.Fields {
			ft, changed := mapType(f.Type, replace)
			if !changed {
				continue
			}
			if fields == nil {
				fields = slices.Clone(t.Fields)
			}
			fields[i].Type = ft
		}
		if fields == nil {
			return t, false
		}
		c := *t
		c.Fields = fields
		return &c, true
	}
	return t, false
}
