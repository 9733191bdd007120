package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxNodes bounds the size of the document once aliases are expanded, so that a
// few lines of nested aliases cannot make the decoder walk billions of values.
const maxNodes = 100_000

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindString
	kindInt
	kindFloat
	kindBool
	kindMap
	kindSeq
)

// node is a YAML value with the place it was written. The project and connector
// decoders work on nodes rather than on go-yaml's AST so that anchors, merge keys,
// tags and interpolation are dealt with once, here.
type node struct {
	kind nodeKind
	pos  Pos

	// text is a scalar's value as text: a string after interpolation, a number or
	// boolean as written.
	text string
	// raw is a string as written, before interpolation; messages show it instead of
	// text when the value came from ${env:…} or ${file:…}.
	raw          string
	interpolated bool
	// broken marks a string whose interpolation failed; it has been reported, and
	// the checks that would look at its value skip it.
	broken bool

	integer any // kindInt: int64 or uint64
	float   float64
	boolean bool

	entries []*entry // kindMap, in file order, without duplicates
	items   []*node  // kindSeq

	size int // nodes in this value, counting aliased ones each time they are used
}

type entry struct {
	key    string
	keyPos Pos
	value  *node
}

func (n *node) isScalar() bool { return n.kind != kindMap && n.kind != kindSeq }

// get returns the entry for key in a mapping, or nil.
func (n *node) get(key string) *entry {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for _, e := range n.entries {
		if e.key == key {
			return e
		}
	}
	return nil
}

// kindName names the kind of n with an article, for "expected …, got …" messages.
func (n *node) kindName() string {
	switch n.kind {
	case kindNull:
		return "nothing"
	case kindString:
		return "a string"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindMap:
		return "a mapping"
	default:
		return "a list"
	}
}

// describe names the kind and the value of n for messages; a value that came from
// interpolation is named by its reference, never shown.
func (n *node) describe() string {
	switch {
	case n.interpolated:
		return "the value of " + n.rawRef()
	case n.kind == kindString:
		return fmt.Sprintf("string %q", n.text)
	case n.kind == kindInt:
		return "integer " + n.text
	case n.kind == kindFloat:
		return "number " + n.text
	case n.kind == kindBool:
		return "boolean " + n.text
	}
	return n.kindName()
}

// quoted is the value of a string for messages: quoted, or named by its reference
// when it came from interpolation.
func (n *node) quoted() string {
	if n.interpolated {
		return "(the value of " + n.rawRef() + ")"
	}
	return fmt.Sprintf("%q", n.text)
}

// rawRef is the string as written: `${env:X}` alone, or quoted when it has more.
func (n *node) rawRef() string {
	if m := refPattern.FindStringIndex(n.raw); m != nil && m[0] == 0 && m[1] == len(n.raw) {
		return n.raw
	}
	return fmt.Sprintf("%q", n.raw)
}

// parseYAML parses data into nodes, interpolating every string value. It returns
// nil after reporting a syntax error or an empty file.
func (l *loader) parseYAML(data []byte) *node {
	data, maskedLines := maskRefs(data)
	file, err := parseBytes(data)
	if err != nil {
		l.syntaxError(err)
		return nil
	}
	c := &converter{l: l, anchors: map[string]*node{}, maskedLines: maskedLines}
	var root *node
	for _, doc := range file.Docs {
		if isNil(doc) || isNil(doc.Body) {
			continue
		}
		if _, ok := doc.Body.(*ast.DirectiveNode); ok {
			continue // %YAML 1.2 and the like, before the document proper
		}
		if root != nil {
			l.errorf(c.pos(doc.Body.GetToken(), Pos{File: l.file}), "", "only one YAML document is allowed: remove the --- separator and what follows")
			break
		}
		root = c.convert(doc.Body, "", l.pos(1, 1))
	}
	if root == nil || root.kind == kindNull {
		if len(l.errs) == 0 {
			l.errorf(l.pos(1, 1), "", "the project file is empty: declare sources, models, destinations and syncs")
		}
		return nil
	}
	if root.size > maxNodes {
		l.errorf(root.pos, "", "the document has more than %d values once aliases are expanded: use fewer aliases", maxNodes)
		return nil
	}
	return root
}

// parseBytes runs go-yaml's parser, turning a panic inside it into an error so
// that a malformed file is reported rather than crashing the command.
func parseBytes(data []byte) (file *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("the YAML parser failed: %v", r)
		}
	}()
	// Duplicate keys are allowed here and reported by the converter, so that they
	// are listed with every other problem instead of stopping the parse.
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

func (l *loader) syntaxError(err error) {
	var yerr interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &yerr) {
		pos := Pos{File: l.file}
		if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
			pos = l.pos(tk.Position.Line, tk.Position.Column)
		}
		l.errorf(pos, "", "invalid YAML: %s", yerr.GetMessage())
		return
	}
	l.errorf(Pos{File: l.file}, "", "invalid YAML: %v", err)
}

type converter struct {
	l       *loader
	anchors map[string]*node
	// maskedLines are the lines where maskRefs masked a reference: strings whose
	// source spans one of them are unmasked.
	maskedLines map[int]bool
}

var (
	maskable = regexp.MustCompile(`\$\{[^{}()\n]*\}`)
	masked   = regexp.MustCompile(`\$\(([^{}()\n]*)\)`)
)

// maskRefs lets ${env:NAME} references stand unquoted inside flow mappings
// ({username: bot, secret: ${env:SECRET}}), where YAML would read their braces
// as the mapping's: each becomes $(env:NAME), the same length so that positions
// hold, and the strings (values and keys) whose source spans a masked line are
// unmasked after parsing. Files that already contain "$(" are left as they are,
// so that unmasking never turns what a user wrote into a reference. It returns
// the masked lines (1-based), nil when nothing was masked.
func maskRefs(data []byte) ([]byte, map[int]bool) {
	if !bytes.Contains(data, []byte("${")) || bytes.Contains(data, []byte("$(")) {
		return data, nil
	}
	var lines map[int]bool
	out := slices.Clone(data)
	for _, m := range maskable.FindAllIndex(data, -1) {
		out[m[0]+1], out[m[1]-1] = '(', ')'
		if lines == nil {
			lines = map[int]bool{}
		}
		lines[1+bytes.Count(data[:m[0]], []byte("\n"))] = true
	}
	return out, lines
}

// unmask restores the references maskRefs masked in a string parsed from tk.
func (c *converter) unmask(s string, tk *token.Token) string {
	if c.maskedLines == nil || !strings.Contains(s, "$(") || tk == nil || tk.Position == nil {
		return s
	}
	first := tk.Position.Line
	last := first + strings.Count(tk.Origin, "\n")
	for line := first; line <= last; line++ {
		if c.maskedLines[line] {
			return masked.ReplaceAllString(s, "$${$1}")
		}
	}
	return s
}

func (c *converter) pos(tk *token.Token, fallback Pos) Pos {
	if tk == nil || tk.Position == nil || tk.Position.Line <= 0 {
		return fallback
	}
	return c.l.pos(tk.Position.Line, tk.Position.Column)
}

// isNil reports whether an AST node is missing, including a typed nil pointer,
// which go-yaml leaves in some malformed documents.
func isNil(n any) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// convert turns an AST node into a node; path names it in messages and fallback
// is its position when the AST does not know one.
func (c *converter) convert(an ast.Node, path string, fallback Pos) *node {
	if isNil(an) {
		return &node{kind: kindNull, pos: fallback, size: 1}
	}
	pos := c.pos(an.GetToken(), fallback)
	text := ""
	if tk := an.GetToken(); tk != nil {
		text = tk.Value
	}
	switch an := an.(type) {
	case *ast.NullNode:
		return &node{kind: kindNull, pos: pos, text: text, size: 1}
	case *ast.StringNode:
		return c.str(c.unmask(an.Value, an.GetToken()), pos, path)
	case *ast.LiteralNode:
		s := ""
		if !isNil(an.Value) {
			s = c.unmask(an.Value.Value, an.Value.GetToken())
		}
		return c.str(s, pos, path)
	case *ast.MergeKeyNode:
		return c.str(text, pos, path)
	case *ast.IntegerNode:
		return &node{kind: kindInt, pos: pos, text: text, integer: an.Value, size: 1}
	case *ast.FloatNode:
		return &node{kind: kindFloat, pos: pos, text: text, float: an.Value, size: 1}
	case *ast.InfinityNode:
		return &node{kind: kindFloat, pos: pos, text: text, float: an.Value, size: 1}
	case *ast.NanNode:
		return &node{kind: kindFloat, pos: pos, text: text, float: math.NaN(), size: 1}
	case *ast.BoolNode:
		return &node{kind: kindBool, pos: pos, text: text, boolean: an.Value, size: 1}
	case *ast.MappingNode:
		if !an.IsFlowStyle && len(an.Values) > 0 && !isNil(an.Values[0]) && !isNil(an.Values[0].Key) {
			// A block mapping's own token is its first ':'; its first key is where it starts.
			pos = c.pos(an.Values[0].Key.GetToken(), pos)
		}
		return c.mapping(an.Values, pos, path)
	case *ast.MappingValueNode:
		if !isNil(an.Key) {
			pos = c.pos(an.Key.GetToken(), pos)
		}
		return c.mapping([]*ast.MappingValueNode{an}, pos, path)
	case *ast.SequenceNode:
		seq := &node{kind: kindSeq, pos: pos, size: 1}
		for i, item := range an.Values {
			v := c.convert(item, indexPath(path, i), pos)
			seq.items = append(seq.items, v)
			seq.size = addSize(seq.size, v.size)
		}
		return seq
	case *ast.AnchorNode:
		v := c.convert(an.Value, path, pos)
		if name, ok := scalarName(an.Name); ok {
			c.anchors[name] = v
		}
		return v
	case *ast.AliasNode:
		name, _ := scalarName(an.Value)
		v, ok := c.anchors[name]
		if !ok {
			c.l.errorf(pos, path, "unknown alias *%s: define the anchor &%s before using it", name, name)
			return &node{kind: kindNull, pos: pos, size: 1, broken: true}
		}
		// The copy carries the alias's position, where a problem with the value shows.
		cp := *v
		cp.pos = pos
		return &cp
	case *ast.TagNode:
		return c.tagged(an, pos, path)
	}
	c.l.errorf(pos, path, "unsupported YAML construct (%s): write a plain value, mapping or list", an.Type())
	return &node{kind: kindNull, pos: pos, size: 1, broken: true}
}

// str makes a string node, interpolating its references.
func (c *converter) str(raw string, pos Pos, path string) *node {
	n := &node{kind: kindString, pos: pos, raw: raw, size: 1}
	n.text, n.interpolated, n.broken = c.l.interpolate(raw, pos, path)
	return n
}

func addSize(a, b int) int {
	// Sizes stop growing once past the limit, so that they cannot overflow.
	return min(a+b, maxNodes+1)
}

func scalarName(n ast.Node) (string, bool) {
	if isNil(n) {
		return "", false
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value, true
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value, true
	}
	return "", false
}

// standardTags are the YAML core tags; they only restate what the value already is,
// except !!str, which makes a number or boolean a string.
var standardTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true,
	"!!null": true, "!!map": true, "!!seq": true,
}

func (c *converter) tagged(an *ast.TagNode, pos Pos, path string) *node {
	tag := ""
	if an.Start != nil {
		tag = an.Start.Value
	}
	if !standardTags[tag] {
		c.l.errorf(pos, path, "unsupported YAML tag %s: remove it", tag)
		return &node{kind: kindNull, pos: pos, size: 1, broken: true}
	}
	v := c.convert(an.Value, path, pos)
	if tag == "!!str" && v.kind != kindString && v.isScalar() && v.kind != kindNull {
		return c.str(v.text, v.pos, path)
	}
	return v
}

// mapping converts a mapping's entries, reporting duplicate keys and applying
// merge keys (<<), whose entries never override the mapping's own.
func (c *converter) mapping(values []*ast.MappingValueNode, pos Pos, path string) *node {
	m := &node{kind: kindMap, pos: pos, size: 1}
	seen := map[string]Pos{}
	var merges []*node
	for _, mv := range values {
		if isNil(mv) {
			continue
		}
		entryPos := c.pos(mv.GetToken(), pos)
		if !isNil(mv.Key) && mv.Key.IsMergeKey() {
			merges = append(merges, c.convert(mv.Value, path, entryPos))
			continue
		}
		key, keyPos, ok := c.key(mv.Key, path, entryPos)
		if !ok {
			continue
		}
		keyPath := joinPath(path, key)
		if first, dup := seen[key]; dup {
			c.l.errorf(keyPos, keyPath, "duplicate key %q: it is already set at line %d: remove one of them", key, first.Line)
			continue
		}
		seen[key] = keyPos
		v := c.convert(mv.Value, keyPath, keyPos)
		m.entries = append(m.entries, &entry{key: key, keyPos: keyPos, value: v})
		m.size = addSize(m.size, v.size)
	}
	for _, merge := range merges {
		sources := []*node{merge}
		if merge.kind == kindSeq {
			sources = merge.items
		}
		for _, src := range sources {
			if src.kind != kindMap {
				if !src.broken {
					c.l.errorf(src.pos, path, "a merge key (<<) takes a mapping or a list of mappings, got %s", src.kindName())
				}
				continue
			}
			for _, e := range src.entries {
				if _, dup := seen[e.key]; dup {
					continue
				}
				seen[e.key] = e.keyPos
				m.entries = append(m.entries, e)
				m.size = addSize(m.size, e.value.size)
			}
		}
	}
	return m
}

// key returns a mapping key's text; keys are plain scalars.
func (c *converter) key(k ast.MapKeyNode, path string, fallback Pos) (string, Pos, bool) {
	var an ast.Node = k
	if mk, ok := k.(*ast.MappingKeyNode); ok && !isNil(mk) {
		an = mk.Value
	}
	if isNil(an) {
		c.l.errorf(fallback, path, "missing key: write key: value")
		return "", fallback, false
	}
	pos := c.pos(an.GetToken(), fallback)
	switch an := an.(type) {
	case *ast.StringNode:
		return c.unmask(an.Value, an.GetToken()), pos, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode, *ast.InfinityNode, *ast.NanNode:
		if tk := an.GetToken(); tk != nil {
			return tk.Value, pos, true
		}
	}
	c.l.errorf(pos, path, "unsupported key (%s): keys must be plain strings", an.Type())
	return "", pos, false
}
