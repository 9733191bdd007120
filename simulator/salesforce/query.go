package salesforce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A subset of SOQL, enough to look records up by their external ids:
//
//	SELECT Id, Ext__c FROM Account WHERE Ext__c IN ('a','b') AND Name != null ORDER BY Name DESC LIMIT 10
//
// Conditions compare a field with =, !=, <>, <, <=, >, >= or [NOT] IN (…) and
// are joined by AND and OR (AND binds tighter; no parentheses). Text compares
// without case, as SOQL does. No relationship fields, functions, GROUP BY or
// OFFSET. GET /query answers live records, GET /queryAll the recycle bin's too;
// pages hold 2,000 records (Sforce-Query-Options: batchSize=200…2000) and go on
// at nextRecordsUrl.

// soqlQuery is a parsed query.
type soqlQuery struct {
	ot     *objectType
	fields []*Field
	where  [][]condition // OR of ANDs
	order  *Field
	desc   bool
	limit  int // -1: none
}

type condition struct {
	f      *Field
	op     string // = != < <= > >= IN NOTIN
	values []literal
}

// literal is a SOQL value: a quoted string, or the bare text of a number, a
// date, true, false or null.
type literal struct {
	text   string
	quoted bool
}

func (l literal) isNull() bool { return !l.quoted && strings.EqualFold(l.text, "null") }

// queryCursor is a query's records past its first page.
type queryCursor struct {
	q       *soqlQuery
	records []*record
	batch   int // the page size asked with the query, kept by its later pages
}

const queryBatch = 2000

func malformed(format string, args ...any) *apiError {
	return &apiError{ErrorCode: "MALFORMED_QUERY", Message: fmt.Sprintf(format, args...)}
}

// routeQuery answers GET /query?q=…, /queryAll?q=… and /query/{locator}-{offset}.
func (s *Server) routeQuery(c *call, all bool, rest []string) reply {
	return only(c, func() reply {
		batch := queryBatch
		if v, ok := strings.CutPrefix(c.r.Header.Get("Sforce-Query-Options"), "batchSize="); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				batch = min(max(n, 200), queryBatch)
			}
		}
		if len(rest) == 1 {
			locator, offset, _ := strings.Cut(rest[0], "-")
			cur := s.cursors[locator]
			n, err := strconv.Atoi(offset)
			if cur == nil || err != nil || n < 0 || n > len(cur.records) {
				return errorReply(http.StatusBadRequest, apiError{ErrorCode: "INVALID_QUERY_LOCATOR", Message: "invalid query locator"})
			}
			return s.queryPage(c, cur, locator, n, cur.batch)
		}
		if len(rest) > 1 {
			return notFound()
		}
		q, err := s.parseSOQL(c.r.URL.Query().Get("q"))
		if err != nil {
			return errorReply(http.StatusBadRequest, *err)
		}
		cur := &queryCursor{q: q, records: s.run(q, all), batch: batch}
		s.querySeq++
		locator := newID("01g", s.querySeq)
		if len(cur.records) > batch {
			s.cursors[locator] = cur
		}
		return s.queryPage(c, cur, locator, 0, batch)
	}, http.MethodGet)
}

func (s *Server) queryPage(c *call, cur *queryCursor, locator string, offset, batch int) reply {
	end := min(offset+batch, len(cur.records))
	var body bytes.Buffer
	fmt.Fprintf(&body, `{"totalSize":%d,"done":%t`, len(cur.records), end == len(cur.records))
	if end < len(cur.records) {
		fmt.Fprintf(&body, `,"nextRecordsUrl":"/services/data/v%s/query/%s-%d"`, c.version, locator, end)
	} else {
		delete(s.cursors, locator)
	}
	body.WriteString(`,"records":[`)
	for i, r := range cur.records[offset:end] {
		if i > 0 {
			body.WriteByte(',')
		}
		s.writeQueryRecord(&body, c.version, cur.q, r)
	}
	body.WriteString("]}")
	return reply{status: http.StatusOK, body: body.Bytes(), contentType: jsonType}
}

// writeQueryRecord writes a record with the fields selected, in their order.
func (s *Server) writeQueryRecord(b *bytes.Buffer, version string, q *soqlQuery, r *record) {
	fmt.Fprintf(b, `{"attributes":{"type":%q,"url":"/services/data/v%s/sobjects/%s/%s"}`, q.ot.name, version, q.ot.name, r.id)
	for _, f := range q.fields {
		v, _ := json.Marshal(s.fieldValue(r, f))
		fmt.Fprintf(b, ",%q:%s", f.Name, v)
	}
	b.WriteByte('}')
}

// fieldValue is a record's value of f, the system fields included (nil: null).
func (s *Server) fieldValue(r *record, f *Field) any {
	switch f.Name {
	case "Id":
		return r.id
	case "IsDeleted":
		return r.deleted
	case "CreatedDate":
		return formatDateTime(r.created)
	case "LastModifiedDate", "SystemModstamp":
		return formatDateTime(r.modified)
	case "CreatedById", "LastModifiedById":
		return s.userID
	case "OwnerId":
		if v, ok := r.fields[f.Name]; ok {
			return v
		}
		return s.userID
	}
	return r.fields[f.Name]
}

// run returns the records a query selects.
func (s *Server) run(q *soqlQuery, all bool) []*record {
	var out []*record
	for _, id := range q.ot.ids {
		r := q.ot.records[id]
		if r.purged || (r.deleted && !all) || !s.matches(q, r) {
			continue
		}
		out = append(out, r)
	}
	if q.order != nil {
		slices.SortStableFunc(out, func(a, b *record) int {
			c := compareValues(q.order, s.fieldValue(a, q.order), s.fieldValue(b, q.order))
			if q.desc {
				return -c
			}
			return c
		})
	}
	if q.limit >= 0 && len(out) > q.limit {
		out = out[:q.limit]
	}
	return out
}

func (s *Server) matches(q *soqlQuery, r *record) bool {
	if q.where == nil {
		return true
	}
	for _, and := range q.where {
		ok := true
		for _, cond := range and {
			if !s.holds(cond, r) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (s *Server) holds(cond condition, r *record) bool {
	v := s.fieldValue(r, cond.f)
	in := func() bool {
		for _, l := range cond.values {
			if l.isNull() {
				if v == nil {
					return true
				}
				continue
			}
			if v != nil && compareLiteral(cond.f, v, l) == 0 {
				return true
			}
		}
		return false
	}
	switch cond.op {
	case "IN", "=":
		return in()
	case "NOTIN", "!=":
		return !in()
	}
	if v == nil || cond.values[0].isNull() {
		return false
	}
	c := compareLiteral(cond.f, v, cond.values[0])
	switch cond.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

// compareLiteral compares a stored value with a literal: text without case,
// ids by their 18-character form, numbers as numbers.
func compareLiteral(f *Field, v any, l literal) int {
	lv, bad := convertText(f, l.text)
	if bad != nil {
		return strings.Compare(strings.ToLower(formatValue(v)), strings.ToLower(l.text))
	}
	return compareValues(f, v, lv)
}

func compareValues(f *Field, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if f.Type.isNumber() {
		x, _ := strconv.ParseFloat(formatValue(a), 64)
		y, _ := strconv.ParseFloat(formatValue(b), 64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	x, y := formatValue(a), formatValue(b)
	if f.Type.isText() {
		x, y = strings.ToLower(x), strings.ToLower(y)
	}
	return strings.Compare(x, y)
}

// parseSOQL reads a query of the subset.
func (s *Server) parseSOQL(text string) (*soqlQuery, *apiError) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	p := &soqlParser{toks: toks}
	if !p.keyword("SELECT") {
		return nil, malformed("unexpected token: '%s': a query starts with SELECT", p.peek())
	}
	var names []string
	for {
		name := p.next()
		if !isIdent(name) {
			return nil, malformed("unexpected token: '%s'", name)
		}
		names = append(names, name)
		if p.peek() != "," {
			break
		}
		p.next()
	}
	if !p.keyword("FROM") {
		return nil, malformed("unexpected token: '%s': expecting FROM", p.peek())
	}
	objName := p.next()
	ot := s.object(objName)
	if ot == nil {
		return nil, &apiError{ErrorCode: "INVALID_TYPE", Message: fmt.Sprintf(unsupportedType, objName)}
	}
	q := &soqlQuery{ot: ot, limit: -1}
	field := func(name string) (*Field, *apiError) {
		f := ot.field(name)
		if f == nil {
			e := noSuchColumn(ot, name)
			return nil, &e
		}
		return f, nil
	}
	for _, name := range names {
		f, err := field(name)
		if err != nil {
			return nil, err
		}
		q.fields = append(q.fields, f)
	}
	if p.keyword("WHERE") {
		and := []condition{}
		for more := true; more; {
			f, err := field(p.next())
			if err != nil {
				return nil, err
			}
			cond := condition{f: f, op: strings.ToUpper(p.next())}
			switch cond.op {
			case "NOT":
				if !p.keyword("IN") {
					return nil, malformed("unexpected token: '%s': expecting IN after NOT", p.peek())
				}
				cond.op = "NOTIN"
				fallthrough
			case "IN":
				if cond.values, err = p.list(); err != nil {
					return nil, err
				}
			case "=", "!=", "<>", "<", "<=", ">", ">=":
				if cond.op == "<>" {
					cond.op = "!="
				}
				l, ok := p.literal()
				if !ok {
					return nil, malformed("unexpected token: '%s': expecting a value", p.peek())
				}
				cond.values = []literal{l}
			default:
				return nil, malformed("unexpected token: '%s': expecting an operator", cond.op)
			}
			and = append(and, cond)
			switch {
			case p.keyword("AND"):
			case p.keyword("OR"):
				q.where, and = append(q.where, and), []condition{}
			default:
				q.where, more = append(q.where, and), false
			}
		}
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, malformed("unexpected token: '%s': expecting BY", p.peek())
		}
		f, err := field(p.next())
		if err != nil {
			return nil, err
		}
		q.order = f
		if p.keyword("DESC") {
			q.desc = true
		} else {
			p.keyword("ASC")
		}
	}
	if p.keyword("LIMIT") {
		n, convErr := strconv.Atoi(p.next())
		if convErr != nil || n < 0 {
			return nil, malformed("LIMIT takes a number")
		}
		q.limit = n
	}
	if !p.done() {
		return nil, malformed("unexpected token: '%s'", p.peek())
	}
	return q, nil
}

type soqlParser struct {
	toks []string
	i    int
}

func (p *soqlParser) done() bool { return p.i >= len(p.toks) }

func (p *soqlParser) peek() string {
	if p.done() {
		return "<EOF>"
	}
	return p.toks[p.i]
}

func (p *soqlParser) next() string {
	t := p.peek()
	p.i++
	return t
}

func (p *soqlParser) keyword(k string) bool {
	if strings.EqualFold(p.peek(), k) {
		p.i++
		return true
	}
	return false
}

// literal reads a value: 'quoted' (escapes undone) or a bare token.
func (p *soqlParser) literal() (literal, bool) {
	t := p.next()
	switch {
	case strings.HasPrefix(t, "'"):
		return literal{text: t[1:], quoted: true}, true
	case t == "<EOF>" || t == "(" || t == ")" || t == ",":
		return literal{}, false
	}
	return literal{text: t}, true
}

func (p *soqlParser) list() ([]literal, *apiError) {
	if t := p.next(); t != "(" {
		return nil, malformed("unexpected token: '%s': expecting (", t)
	}
	var out []literal
	for {
		t := p.peek()
		l, ok := p.literal()
		if !ok {
			return nil, malformed("unexpected token: '%s': expecting a value", t)
		}
		out = append(out, l)
		switch t := p.next(); t {
		case ",":
		case ")":
			return out, nil
		default:
			return nil, malformed("unexpected token: '%s': expecting , or )", t)
		}
	}
}

func isIdent(t string) bool {
	if t == "" || t == "<EOF>" {
		return false
	}
	for _, r := range t {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return true
}

// tokenize splits SOQL into words, punctuation, operators and string literals;
// a string literal is returned as ' followed by its unescaped text.
func tokenize(text string) ([]string, *apiError) {
	var toks []string
	rs := []rune(text)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == ',' || r == '(' || r == ')':
			toks = append(toks, string(r))
			i++
		case r == '=':
			toks = append(toks, "=")
			i++
		case r == '!' || r == '<' || r == '>':
			if i+1 < len(rs) && (rs[i+1] == '=' || (r == '<' && rs[i+1] == '>')) {
				toks = append(toks, string(rs[i:i+2]))
				i += 2
			} else if r == '!' {
				return nil, malformed("unexpected token: '!'")
			} else {
				toks = append(toks, string(r))
				i++
			}
		case r == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			i++
			for ; ; i++ {
				if i >= len(rs) {
					return nil, malformed("unterminated string literal")
				}
				if rs[i] == '\'' {
					i++
					break
				}
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
					switch rs[i] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					default:
						b.WriteRune(rs[i])
					}
					continue
				}
				b.WriteRune(rs[i])
			}
			toks = append(toks, b.String())
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune(",()=!<>'", rs[j]) {
				j++
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		}
	}
	return toks, nil
}

// noSuchColumn is the error for a field an object does not have, in a query or
// a fields list.
func noSuchColumn(ot *objectType, name string) apiError {
	return apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, ot.name)}
}
