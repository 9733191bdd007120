package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/connector"
)

// tableInfo is what the destination learned of its table from the catalogs.
type tableInfo struct {
	name  string // schema.table, for messages
	ident string // quoted, for SQL
	// columns are the columns written: one per sync field, in Sync.Fields order, then
	// the key column when the fields do not include it.
	columns  []*column
	key      *column
	keyField int  // index of the key in Sync.Fields, or -1
	identity bool // a written column is GENERATED ALWAYS AS IDENTITY
}

// column is one written column and how values reach it.
type column struct {
	name     string
	ident    string // quoted
	typeName string // as PostgreSQL prints it, typmod included: "character varying(20)"
	// stageType is the staging table's type for the column; cast, when set, turns
	// the staged value into the column's type ("::mood" for an enum staged as text).
	stageType string
	cast      string
	conv      convertFunc
	isBytea   bool // keys arrive as hex text for bytea (see record.KeyString)
}

// namePart is one part of a table name as written in the config.
type namePart struct {
	text   string
	quoted bool
}

// parseTableName splits "schema.table" or "table"; either part may be double-quoted
// ("My Schema"."Users") to keep its case or hold a dot.
func parseTableName(s string) ([]namePart, error) {
	var parts []namePart
	for rest := s; ; {
		var p namePart
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				if rest[i] == '"' {
					if i+1 < len(rest) && rest[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					break
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return nil, fmt.Errorf("%q has an unterminated quote", s)
			}
			p = namePart{text: b.String(), quoted: true}
			rest = rest[i+1:]
		} else {
			end := strings.IndexByte(rest, '.')
			if end < 0 {
				end = len(rest)
			}
			p = namePart{text: strings.TrimSpace(rest[:end])}
			rest = rest[end:]
		}
		if p.text == "" {
			return nil, fmt.Errorf("%q is not a table name: write schema.table or table", s)
		}
		parts = append(parts, p)
		if rest == "" {
			break
		}
		if rest[0] != '.' {
			return nil, fmt.Errorf("%q is not a table name: write schema.table or table", s)
		}
		rest = rest[1:]
	}
	if len(parts) > 2 {
		return nil, fmt.Errorf("%q has too many parts: write schema.table or table", s)
	}
	return parts, nil
}

// catalogQuerier is the part of a connection that inspection uses.
type catalogQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func permanentf(format string, args ...any) error {
	return connector.Permanent(fmt.Errorf("postgres: "+format, args...))
}

// inspectTable finds the table and checks that it fits the sync.
func inspectTable(ctx context.Context, q catalogQuerier, configured string, sync connector.SyncInfo) (*tableInfo, error) {
	parts, err := parseTableName(configured)
	if err != nil {
		return nil, permanentf("table: %v", err)
	}
	if sync.KeyField == "" {
		return nil, permanentf("the sync names no key field")
	}
	oid, schema, name, relkind, err := findTable(ctx, q, parts)
	if err != nil {
		return nil, err
	}
	if oid == 0 {
		display := configured
		if len(parts) == 1 {
			var current *string
			if err := q.QueryRow(ctx, "SELECT current_schema()").Scan(&current); err != nil {
				return nil, err
			}
			if current != nil {
				display = *current + "." + parts[0].text
			}
		}
		return nil, permanentf("table %s does not exist: create it, or fix the destination's table", display)
	}
	t := &tableInfo{name: schema + "." + name, ident: pgx.Identifier{schema, name}.Sanitize(), keyField: -1}
	switch relkind {
	case "r", "p":
	case "v", "m":
		return nil, permanentf("%s is a view, not a table: point the destination at a table", t.name)
	case "f":
		return nil, permanentf("%s is a foreign table, which cannot take upserts: point the destination at a table", t.name)
	default:
		return nil, permanentf("%s is not a table (relkind %s): point the destination at a table", t.name, relkind)
	}

	cols, err := loadColumns(ctx, q, oid)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*catalogColumn, len(cols))
	for _, c := range cols {
		byName[c.name] = c
	}
	var missing, hints []string
	seen := make(map[string]bool, len(sync.Fields))
	for i, f := range sync.Fields {
		if seen[f] {
			return nil, permanentf("field %s appears twice in the sync's mappings", f)
		}
		seen[f] = true
		c, ok := byName[f]
		if !ok {
			missing = append(missing, f)
			if hint := closeMatch(f, cols); hint != "" {
				hints = append(hints, hint)
			}
			continue
		}
		col, err := c.column(ctx, q, t.name)
		if err != nil {
			return nil, err
		}
		t.columns = append(t.columns, col)
		t.identity = t.identity || c.identity
		if f == sync.KeyField {
			t.key, t.keyField = col, i
		}
	}
	hint := ""
	if len(hints) > 0 {
		hint = " (" + strings.Join(hints, "; ") + ")"
	}
	switch len(missing) {
	case 0:
	case 1:
		return nil, permanentf("column %s (from the sync's mappings) is not in %s: add it or change the mapping%s", missing[0], t.name, hint)
	default:
		return nil, permanentf("columns %s (from the sync's mappings) are not in %s: add them or change the mappings%s", strings.Join(missing, ", "), t.name, hint)
	}
	keyCol := byName[sync.KeyField]
	if keyCol == nil {
		hint := ""
		if h := closeMatch(sync.KeyField, cols); h != "" {
			hint = " (" + h + ")"
		}
		return nil, permanentf("key column %s is not in %s: add it (with a PRIMARY KEY or UNIQUE constraint) or map the key to an existing column%s", sync.KeyField, t.name, hint)
	}
	if t.key == nil {
		if t.key, err = keyCol.column(ctx, q, t.name); err != nil {
			return nil, err
		}
		t.columns = append(t.columns, t.key)
		t.identity = t.identity || keyCol.identity
	}
	if keyCol.array {
		return nil, permanentf("key column %s of %s is an array (%s): the key must be a scalar column", t.key.name, t.name, t.key.typeName)
	}
	var unique bool
	err = q.QueryRow(ctx, `SELECT EXISTS (
	SELECT 1 FROM pg_index i
	WHERE i.indrelid = $1 AND i.indisunique AND i.indimmediate AND i.indisvalid
	  AND i.indnkeyatts = 1 AND i.indkey[0] = $2
	  AND i.indpred IS NULL AND i.indexprs IS NULL)`, oid, keyCol.attnum).Scan(&unique)
	if err != nil {
		return nil, err
	}
	if !unique {
		return nil, permanentf("key column %s of %s has no PRIMARY KEY or UNIQUE constraint of its own, which Sluice needs to find existing rows (ON CONFLICT): add one, e.g. ALTER TABLE %s ADD UNIQUE (%s)",
			t.key.name, t.name, t.ident, t.key.ident)
	}
	if err := checkPrivileges(ctx, q, oid, t, sync.Mode); err != nil {
		return nil, err
	}
	return t, nil
}

// findTable looks the name up as written (quoted, so exactly) and then, for parts
// written without quotes, folded to lower case as PostgreSQL folds unquoted names.
func findTable(ctx context.Context, q catalogQuerier, parts []namePart) (oid uint32, schema, name, relkind string, err error) {
	exact := make(pgx.Identifier, len(parts))
	folded := make(pgx.Identifier, len(parts))
	for i, p := range parts {
		exact[i], folded[i] = p.text, p.text
		if !p.quoted {
			folded[i] = strings.ToLower(p.text)
		}
	}
	candidates := []string{exact.Sanitize()}
	if !slices.Equal(exact, folded) {
		candidates = append(candidates, folded.Sanitize())
	}
	for _, c := range candidates {
		err = q.QueryRow(ctx, `SELECT c.oid, n.nspname, c.relname, c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1)`, c).Scan(&oid, &schema, &name, &relkind)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		return oid, schema, name, relkind, err
	}
	return 0, "", "", "", nil
}

// catalogColumn is a column as the catalogs describe it.
type catalogColumn struct {
	attnum    int16
	name      string
	typeName  string // format_type with typmod
	plainType string // format_type without typmod, for casts
	typmod    int32
	typeOID   uint32
	typtype   string
	elemOID   uint32 // for arrays
	baseOID   uint32 // for domains
	baseMod   int32
	array     bool
	generated bool
	identity  bool // GENERATED ALWAYS AS IDENTITY
}

func loadColumns(ctx context.Context, q catalogQuerier, oid uint32) ([]*catalogColumn, error) {
	rows, err := q.Query(ctx, `SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL),
	a.atttypmod, a.atttypid, t.typtype::text, CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END,
	t.typbasetype, t.typtypmod, a.attgenerated <> '', a.attidentity = 'a'
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, oid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []*catalogColumn
	for rows.Next() {
		c := new(catalogColumn)
		if err := rows.Scan(&c.attnum, &c.name, &c.typeName, &c.plainType, &c.typmod, &c.typeOID, &c.typtype,
			&c.elemOID, &c.baseOID, &c.baseMod, &c.generated, &c.identity); err != nil {
			return nil, err
		}
		c.array = c.elemOID != 0
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// column decides how values reach c: converted in Go to a type pgx encodes in binary,
// or, for types this package does not know (enums, citext, interval, …), sent as text
// and cast by PostgreSQL, whose own parser then reports values that do not fit.
func (c *catalogColumn) column(ctx context.Context, q catalogQuerier, table string) (*column, error) {
	if c.generated {
		return nil, permanentf("column %s of %s is generated and cannot be written: remove it from the mappings", c.name, table)
	}
	col := &column{name: c.name, ident: pgx.Identifier{c.name}.Sanitize(), typeName: c.typeName}
	typeOID, typmod, elemOID := c.typeOID, c.typmod, c.elemOID
	if c.typtype == "d" {
		// A domain: convert for its base type; assigning to the column applies the
		// domain's constraints. Domains over domains or arrays are sent as text.
		var baseType string
		var baseElem uint32
		err := q.QueryRow(ctx, `SELECT typtype::text, CASE WHEN typcategory = 'A' THEN typelem ELSE 0 END FROM pg_type WHERE oid = $1`, c.baseOID).Scan(&baseType, &baseElem)
		if err != nil {
			return nil, err
		}
		typeOID, typmod, elemOID = c.baseOID, c.baseMod, 0
		if baseType != "b" || baseElem != 0 {
			typeOID = 0
		}
	}
	if elemOID != 0 {
		if conv, stage, ok := nativeType(elemOID, typmod); ok {
			col.conv, col.stageType = arrayOf(conv), stage+"[]"
		} else {
			col.conv, col.stageType, col.cast = arrayOf(toText(-1)), "text[]", "::"+c.plainType
		}
		return col, nil
	}
	if conv, stage, ok := nativeType(typeOID, typmod); ok {
		col.conv, col.stageType = conv, stage
		col.isBytea = stage == "bytea"
		return col, nil
	}
	col.conv, col.stageType, col.cast = toText(-1), "text", "::"+c.plainType
	return col, nil
}

// closeMatch suggests a column whose name differs from name only in case.
func closeMatch(name string, cols []*catalogColumn) string {
	for _, c := range cols {
		if strings.EqualFold(c.name, name) {
			return fmt.Sprintf("did you mean %s? names are case-sensitive", c.name)
		}
	}
	return ""
}

// checkPrivileges fails early, with what to grant, when the role cannot do what the
// mode needs; column-level grants count.
func checkPrivileges(ctx context.Context, q catalogQuerier, oid uint32, t *tableInfo, mode connector.Mode) error {
	var ins, upd, del, temp bool
	var role string
	err := q.QueryRow(ctx, `SELECT current_user, has_any_column_privilege($1::oid, 'INSERT'), has_any_column_privilege($1::oid, 'UPDATE'),
	has_table_privilege($1::oid, 'DELETE'), has_database_privilege(current_database(), 'TEMPORARY')`, oid).Scan(&role, &ins, &upd, &del, &temp)
	if err != nil {
		return err
	}
	var lacks []string
	if !ins && mode != connector.ModeUpdate {
		lacks = append(lacks, "INSERT")
	}
	if !upd && mode != connector.ModeInsert {
		lacks = append(lacks, "UPDATE")
	}
	if !del && mode == connector.ModeMirror {
		lacks = append(lacks, "DELETE")
	}
	if len(lacks) > 0 {
		return permanentf("role %s lacks %s on %s, which mode %s needs: GRANT %s ON %s TO %s",
			role, strings.Join(lacks, " and "), t.name, mode, strings.Join(lacks, ", "), t.ident, pgx.Identifier{role}.Sanitize())
	}
	if !temp {
		return permanentf("role %s cannot create temporary tables, which Sluice stages rows in: GRANT TEMPORARY ON DATABASE <database> TO %s", role, pgx.Identifier{role}.Sanitize())
	}
	return nil
}
