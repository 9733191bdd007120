package duckdb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// typeKind is a DuckDB logical type, as far as conversion cares.
type typeKind uint8

const (
	kindUnknown typeKind = iota
	kindNull
	kindBoolean
	kindTinyint
	kindSmallint
	kindInteger
	kindBigint
	kindUtinyint
	kindUsmallint
	kindUinteger
	kindUbigint
	kindHugeint
	kindUhugeint
	kindBignum
	kindFloat
	kindDouble
	kindDecimal
	kindVarchar
	kindEnum
	kindUUID
	kindBit
	kindBlob
	kindGeometry
	kindDate
	kindTimestamp
	kindTimestampS
	kindTimestampMS
	kindTimestampNS
	kindTimestampTZ
	kindTime
	kindTimeNS
	kindTimeTZ
	kindInterval
	kindJSON
	kindVariant
	kindList
	kindArray
	kindStruct
	kindMap
	kindUnion
)

// kindByName maps DuckDB's type names and their common aliases, upper-cased with single
// spaces, to kinds. DESCRIBE prints the canonical names; the aliases make the parser
// accept what a person would write.
var kindByName = map[string]typeKind{
	"NULL": kindNull, "SQLNULL": kindNull,
	"BOOLEAN": kindBoolean, "BOOL": kindBoolean, "LOGICAL": kindBoolean,
	"TINYINT": kindTinyint, "INT1": kindTinyint,
	"SMALLINT": kindSmallint, "INT2": kindSmallint, "SHORT": kindSmallint,
	"INTEGER": kindInteger, "INT": kindInteger, "INT4": kindInteger, "SIGNED": kindInteger,
	"BIGINT": kindBigint, "INT8": kindBigint, "LONG": kindBigint,
	"UTINYINT": kindUtinyint, "USMALLINT": kindUsmallint, "UINTEGER": kindUinteger,
	"UBIGINT": kindUbigint, "HUGEINT": kindHugeint, "INT128": kindHugeint,
	"UHUGEINT": kindUhugeint, "UINT128": kindUhugeint,
	"BIGNUM": kindBignum, "VARINT": kindBignum,
	"FLOAT": kindFloat, "REAL": kindFloat, "FLOAT4": kindFloat,
	"DOUBLE": kindDouble, "FLOAT8": kindDouble, "DOUBLE PRECISION": kindDouble,
	"DECIMAL": kindDecimal, "NUMERIC": kindDecimal,
	"VARCHAR": kindVarchar, "TEXT": kindVarchar, "STRING": kindVarchar, "CHAR": kindVarchar, "BPCHAR": kindVarchar,
	"ENUM": kindEnum,
	"UUID": kindUUID,
	"BIT":  kindBit, "BITSTRING": kindBit,
	"BLOB": kindBlob, "BYTEA": kindBlob, "BINARY": kindBlob, "VARBINARY": kindBlob,
	"GEOMETRY":  kindGeometry,
	"DATE":      kindDate,
	"TIMESTAMP": kindTimestamp, "DATETIME": kindTimestamp, "TIMESTAMP WITHOUT TIME ZONE": kindTimestamp,
	"TIMESTAMP_S": kindTimestampS, "TIMESTAMP_MS": kindTimestampMS, "TIMESTAMP_NS": kindTimestampNS,
	"TIMESTAMP WITH TIME ZONE": kindTimestampTZ, "TIMESTAMPTZ": kindTimestampTZ,
	"TIME": kindTime, "TIME WITHOUT TIME ZONE": kindTime, "TIME_NS": kindTimeNS,
	"TIME WITH TIME ZONE": kindTimeTZ, "TIMETZ": kindTimeTZ,
	"INTERVAL": kindInterval,
	"JSON":     kindJSON,
	"VARIANT":  kindVariant,
	"STRUCT":   kindStruct, "ROW": kindStruct,
	"MAP":   kindMap,
	"UNION": kindUnion,
}

// sqlType is a parsed DuckDB type string such as
// `STRUCT(b INTEGER, "a b" VARCHAR, c STRUCT(d DATE)[])`.
type sqlType struct {
	Kind typeKind
	// Name is the base type's name as written ("INTEGER", "TIMESTAMP WITH TIME ZONE",
	// a quoted user type); it is empty for LIST and ARRAY.
	Name string
	// Args is the raw text between the parentheses of a base type the parser does not
	// model, such as GEOMETRY('OGC:CRS84'); HasArgs tells "X()" from "X".
	Args    string
	HasArgs bool

	Width, Scale int      // DECIMAL
	Labels       []string // ENUM
	Elem         *sqlType // LIST, ARRAY
	Size         int      // ARRAY
	Key, Value   *sqlType // MAP
	Fields       []sqlField
}

// sqlField is a STRUCT field or a UNION member.
type sqlField struct {
	Name string
	Type *sqlType
}

// maxTypeDepth bounds nesting so that a hostile type string cannot exhaust the stack.
const maxTypeDepth = 100

// parseType parses a type string as DuckDB prints it (DESCRIBE, typeof).
func parseType(s string) (*sqlType, error) {
	p := typeParser{s: s}
	t, err := p.parseType(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q after the type", p.s[p.pos:])
	}
	return t, nil
}

type typeParser struct {
	s   string
	pos int
}

func (p *typeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("type %q, offset %d: %s", p.s, p.pos, fmt.Sprintf(format, args...))
}

func (p *typeParser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// peek returns the next byte after spaces, or 0 at the end.
func (p *typeParser) peek() byte {
	p.skipSpace()
	if p.pos == len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

func (p *typeParser) expect(c byte) error {
	if p.peek() != c {
		if p.pos == len(p.s) {
			return p.errorf("expected %q, found the end", c)
		}
		return p.errorf("expected %q, found %q", c, p.s[p.pos])
	}
	p.pos++
	return nil
}

func (p *typeParser) parseType(depth int) (*sqlType, error) {
	if depth > maxTypeDepth {
		return nil, p.errorf("nested more than %d levels deep", maxTypeDepth)
	}
	t, err := p.parseBase(depth)
	if err != nil {
		return nil, err
	}
	for p.peek() == '[' {
		if depth++; depth > maxTypeDepth {
			return nil, p.errorf("nested more than %d levels deep", maxTypeDepth)
		}
		p.pos++
		if p.peek() == ']' {
			p.pos++
			t = &sqlType{Kind: kindList, Elem: t}
			continue
		}
		n, err := p.parseInt()
		if err != nil {
			return nil, err
		}
		if err := p.expect(']'); err != nil {
			return nil, err
		}
		t = &sqlType{Kind: kindArray, Elem: t, Size: n}
	}
	return t, nil
}

func (p *typeParser) parseBase(depth int) (*sqlType, error) {
	name, key, err := p.parseTypeName()
	if err != nil {
		return nil, err
	}
	t := &sqlType{Kind: kindByName[key], Name: name}
	if p.peek() != '(' {
		switch t.Kind {
		case kindStruct, kindMap, kindUnion, kindEnum:
			return nil, p.errorf("%s needs parentheses", name)
		case kindDecimal:
			// DuckDB's default, for a bare DECIMAL written by hand.
			t.Width, t.Scale = 18, 3
		}
		return t, nil
	}
	p.pos++
	switch t.Kind {
	case kindStruct, kindUnion:
		t.Fields, err = p.parseFields(depth)
	case kindMap:
		err = p.parseMap(t, depth)
	case kindDecimal:
		err = p.parseDecimal(t)
	case kindEnum:
		t.Labels, err = p.parseLabels()
	default:
		t.Args, err = p.parseRawArgs()
		t.HasArgs = true
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// parseTypeName reads a quoted name or one or more words ("TIMESTAMP WITH TIME ZONE"). It
// returns the name as written and its lookup key in kindByName.
func (p *typeParser) parseTypeName() (name, key string, err error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		start := p.pos
		unquoted, err := p.parseQuoted('"')
		if err != nil {
			return "", "", err
		}
		return p.s[start:p.pos], strings.ToUpper(unquoted), nil
	}
	var words []string
	for {
		w := p.parseWord()
		if w == "" {
			break
		}
		words = append(words, w)
		// A following word continues the name only when it starts right after spaces.
		save := p.pos
		p.skipSpace()
		if p.pos == save || p.pos == len(p.s) || !isWordByte(p.s[p.pos]) {
			p.pos = save
			break
		}
	}
	if len(words) == 0 {
		if p.pos == len(p.s) {
			return "", "", p.errorf("expected a type name, found the end")
		}
		return "", "", p.errorf("expected a type name, found %q", p.s[p.pos])
	}
	name = strings.Join(words, " ")
	return name, strings.ToUpper(name), nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *typeParser) parseWord() string {
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// parseQuoted reads a quoted string starting at the current byte, where a doubled quote
// stands for one, and returns its content.
func (p *typeParser) parseQuoted(q byte) (string, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		if c != q {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == q {
			b.WriteByte(q)
			p.pos++
			continue
		}
		return b.String(), nil
	}
	return "", p.errorf("unterminated %c-quoted text", q)
}

func (p *typeParser) parseInt() (int, error) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.s[start:p.pos])
	if err != nil || n > 1<<30 {
		p.pos = start
		return 0, p.errorf("expected a number")
	}
	return n, nil
}

// parseFieldName reads a STRUCT field or UNION member name: quoted, or bare up to the
// space before its type.
func (p *typeParser) parseFieldName() (string, error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return p.parseQuoted('"')
	}
	start := p.pos
	for p.pos < len(p.s) && !isSpace(p.s[p.pos]) && !strings.ContainsRune(`"(),[]`, rune(p.s[p.pos])) {
		p.pos++
	}
	if p.pos == start {
		return "", p.errorf("expected a field name")
	}
	return p.s[start:p.pos], nil
}

func (p *typeParser) parseFields(depth int) ([]sqlField, error) {
	var fields []sqlField
	if p.peek() == ')' {
		p.pos++
		return fields, nil
	}
	for {
		name, err := p.parseFieldName()
		if err != nil {
			return nil, err
		}
		t, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		fields = append(fields, sqlField{Name: name, Type: t})
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return fields, nil
		default:
			return nil, p.errorf("expected ',' or ')' after field %q", name)
		}
	}
}

func (p *typeParser) parseMap(t *sqlType, depth int) error {
	var err error
	if t.Key, err = p.parseType(depth + 1); err != nil {
		return err
	}
	if err := p.expect(','); err != nil {
		return err
	}
	if t.Value, err = p.parseType(depth + 1); err != nil {
		return err
	}
	return p.expect(')')
}

func (p *typeParser) parseDecimal(t *sqlType) error {
	var err error
	if t.Width, err = p.parseInt(); err != nil {
		return err
	}
	if p.peek() == ',' {
		p.pos++
		if t.Scale, err = p.parseInt(); err != nil {
			return err
		}
	}
	if t.Scale > t.Width {
		return p.errorf("DECIMAL scale %d exceeds its width %d", t.Scale, t.Width)
	}
	return p.expect(')')
}

func (p *typeParser) parseLabels() ([]string, error) {
	var labels []string
	for {
		if p.peek() != '\'' {
			return nil, p.errorf("expected a quoted ENUM label")
		}
		label, err := p.parseQuoted('\'')
		if err != nil {
			return nil, err
		}
		labels = append(labels, label)
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return labels, nil
		default:
			return nil, p.errorf("expected ',' or ')' after an ENUM label")
		}
	}
}

// parseRawArgs returns the text up to the matching ')', skipping quoted text and
// nested parentheses, and consumes the ')'.
func (p *typeParser) parseRawArgs() (string, error) {
	start := p.pos
	level := 0
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; c {
		case '\'', '"':
			if _, err := p.parseQuoted(c); err != nil {
				return "", err
			}
			continue
		case '(':
			level++
		case ')':
			if level == 0 {
				args := p.s[start:p.pos]
				p.pos++
				return args, nil
			}
			level--
		}
		p.pos++
	}
	return "", p.errorf("unterminated parentheses")
}

var canonicalName = map[typeKind]string{kindStruct: "STRUCT", kindUnion: "UNION"}

// String renders t in DuckDB syntax, fit for a CAST. Field names are always quoted.
func (t *sqlType) String() string {
	var b strings.Builder
	t.appendTo(&b)
	return b.String()
}

func (t *sqlType) appendTo(b *strings.Builder) {
	switch t.Kind {
	case kindList:
		t.Elem.appendTo(b)
		b.WriteString("[]")
	case kindArray:
		t.Elem.appendTo(b)
		b.WriteString("[" + strconv.Itoa(t.Size) + "]")
	case kindStruct, kindUnion:
		b.WriteString(canonicalName[t.Kind] + "(")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(f.Name) + " ")
			f.Type.appendTo(b)
		}
		b.WriteByte(')')
	case kindMap:
		b.WriteString("MAP(")
		t.Key.appendTo(b)
		b.WriteString(", ")
		t.Value.appendTo(b)
		b.WriteByte(')')
	case kindDecimal:
		fmt.Fprintf(b, "DECIMAL(%d,%d)", t.Width, t.Scale)
	case kindEnum:
		b.WriteString("ENUM(")
		for i, l := range t.Labels {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("'" + strings.ReplaceAll(l, "'", "''") + "'")
		}
		b.WriteByte(')')
	default:
		b.WriteString(t.Name)
		if t.HasArgs {
			b.WriteString("(" + t.Args + ")")
		}
	}
}

// quoteIdent quotes a DuckDB identifier, doubling any double quote inside it.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteTable quotes a possibly qualified table name ("schema.table",
// "catalog.schema.table"). Parts already in double quotes are kept as written.
func quoteTable(name string) (string, error) {
	var parts []string
	p := typeParser{s: name}
	for {
		p.skipSpace()
		var part string
		if p.pos < len(p.s) && p.s[p.pos] == '"' {
			unquoted, err := p.parseQuoted('"')
			if err != nil {
				return "", err
			}
			part = unquoted
		} else {
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] != '.' {
				p.pos++
			}
			part = strings.TrimSpace(p.s[start:p.pos])
		}
		if part == "" {
			return "", errors.New("empty name part")
		}
		parts = append(parts, quoteIdent(part))
		p.skipSpace()
		if p.pos == len(p.s) {
			break
		}
		if p.s[p.pos] != '.' {
			return "", fmt.Errorf("unexpected %q after %s", p.s[p.pos:], parts[len(parts)-1])
		}
		p.pos++
	}
	if len(parts) > 3 {
		return "", errors.New("more than catalog.schema.table")
	}
	return strings.Join(parts, "."), nil
}
