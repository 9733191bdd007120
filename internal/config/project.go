package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/template"
)

var (
	topKeys     = []string{"state", "sources", "models", "destinations", "syncs"}
	stateKeys   = []string{"dir"}
	modelKeys   = []string{"source", "query", "table", "primary_key"}
	syncKeys    = []string{"model", "destination", "mode", "mappings"}
	mappingKeys = []string{"from", "from_template", "to"}
	typeKey     = []string{"type"}

	// Names become directory names under the state directory.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// project fills p from the document's root, reporting every problem. Sources and
// destinations come first so that models and syncs can check their references.
func (l *loader) project(p *Project, root *node) {
	if root.kind != kindMap {
		l.errorf(root.pos, "", "the project file must be a mapping with the keys %s, got %s", strings.Join(topKeys, ", "), root.kindName())
		return
	}
	l.checkKeys(root, "", topKeys)
	if e := root.get("state"); e != nil {
		l.state(p, e)
	}
	l.eachNamed(root, "sources", "source", func(e *entry, path string) { l.source(p, e, path) })
	l.eachNamed(root, "destinations", "destination", func(e *entry, path string) { l.destination(p, e, path) })
	l.eachNamed(root, "models", "model", func(e *entry, path string) { l.model(p, e, path) })
	l.eachNamed(root, "syncs", "sync", func(e *entry, path string) { l.sync(p, e, path) })
}

// checkKeys reports the keys of mapping n that are not in allowed.
func (l *loader) checkKeys(n *node, path string, allowed []string) {
	for _, e := range n.entries {
		if !slices.Contains(allowed, e.key) {
			l.errorf(e.keyPos, joinPath(path, e.key), "%s", unknownMessage("key", e.key, allowed))
		}
	}
}

func (l *loader) state(p *Project, e *entry) {
	v := e.value
	switch {
	case v.broken || v.kind == kindNull:
		return
	case v.kind == kindMap:
	default:
		l.errorf(v.pos, "state", "expected a mapping with the key dir, got %s", v.kindName())
		return
	}
	l.checkKeys(v, "state", stateKeys)
	dir, n, ok := l.optionalString(v, "state", "dir")
	if !ok {
		return
	}
	if dir == "" {
		l.errorf(n.pos, "state.dir", "%s: remove the key for the default, %s beside the project file", emptyMessage(n), DefaultStateDir)
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.Dir, dir)
	}
	p.StateDir = filepath.Clean(dir)
}

// eachNamed checks the name and the shape of every entry of the section root[key]
// and calls fn for each; fn declares the entry, then fills it in when it is a mapping.
func (l *loader) eachNamed(root *node, key, what string, fn func(e *entry, path string)) {
	section := root.get(key)
	if section == nil || section.value.kind == kindNull || section.value.broken {
		return
	}
	if section.value.kind != kindMap {
		l.errorf(section.value.pos, key, "expected a mapping of %s names to their settings, got %s", what, section.value.kindName())
		return
	}
	for _, e := range section.value.entries {
		path := joinPath(key, e.key)
		if !namePattern.MatchString(e.key) {
			l.errorf(e.keyPos, path, "invalid %s name %q: use letters, digits, _, . and -, starting with a letter or digit (names become directory names)", what, e.key)
		}
		fn(e, path)
		switch {
		case e.value.broken, e.value.kind == kindMap:
		case e.value.kind == kindNull:
			l.errorf(e.keyPos, path, "the %s has no settings: add them as an indented mapping below its name", what)
		default:
			l.errorf(e.value.pos, path, "expected a mapping with the %s's settings, got %s", what, e.value.kindName())
		}
	}
}

func (l *loader) source(p *Project, e *entry, path string) {
	src := &Source{Name: e.key, Pos: e.keyPos}
	// Declared even when broken, so that models naming it get no second error.
	p.Sources[e.key] = src
	block := e.value
	if block.kind != kindMap {
		return
	}
	types := sortedCopy(l.cat.SourceTypes())
	typ, typNode, ok := l.requiredString(block, e.keyPos, path, "type", typeHint("source", types))
	if !ok {
		// Without a type there is no spec to check the other keys against.
		return
	}
	src.Type = typ
	spec, found := l.cat.Source(typ)
	if !found {
		l.errorf(typNode.pos, joinPath(path, "type"), "%s", unknownValue("source type", typNode, types))
		return
	}
	if spec.NewConfig == nil {
		l.checkKeys(block, path, typeKey)
		return
	}
	src.Config = l.decodeBlock(spec.NewConfig(), block, path, e.keyPos, typeKey)
}

func (l *loader) destination(p *Project, e *entry, path string) {
	dst := &Destination{Name: e.key, Pos: e.keyPos}
	p.Destinations[e.key] = dst
	block := e.value
	if block.kind != kindMap {
		return
	}
	types := sortedCopy(l.cat.DestinationTypes())
	typ, typNode, ok := l.requiredString(block, e.keyPos, path, "type", typeHint("destination", types))
	if !ok {
		return
	}
	dst.Type = typ
	spec, found := l.cat.Destination(typ)
	if !found {
		l.errorf(typNode.pos, joinPath(path, "type"), "%s", unknownValue("destination type", typNode, types))
		return
	}
	if spec.NewConfig == nil {
		l.checkKeys(block, path, typeKey)
		return
	}
	dst.Config = l.decodeBlock(spec.NewConfig(), block, path, e.keyPos, typeKey)
}

func (l *loader) model(p *Project, e *entry, path string) {
	m := &Model{Name: e.key, Pos: e.keyPos}
	p.Models[e.key] = m
	block := e.value
	if block.kind != kindMap {
		return
	}
	l.checkKeys(block, path, modelKeys)

	sources := sortedKeys(p.Sources)
	if name, n, ok := l.requiredString(block, e.keyPos, path, "source", "add source: with the name of a declared source"+listHint(sources)); ok {
		m.Source = name
		if _, found := p.Sources[name]; !found {
			l.errorf(n.pos, joinPath(path, "source"), "%s", unknownReference("source", "sources", n, sources))
		}
	}

	query, queryNode, hasQuery := l.optionalString(block, path, "query")
	table, tableNode, hasTable := l.optionalString(block, path, "table")
	qe, te := block.get("query"), block.get("table")
	switch {
	case present(qe) && present(te):
		second := te
		if te.keyPos.before(qe.keyPos) {
			second = qe
		}
		l.errorf(second.keyPos, joinPath(path, second.key), "a model reads either a query or a table, not both: remove one of them")
	case !present(qe) && !present(te):
		l.errorf(e.keyPos, path, "the model has neither query nor table: add query: with a SQL query, or table: with a table name")
	}
	if hasQuery && query == "" {
		l.errorf(queryNode.pos, joinPath(path, "query"), "%s", emptyMessage(queryNode))
	}
	if hasTable && table == "" {
		l.errorf(tableNode.pos, joinPath(path, "table"), "%s", emptyMessage(tableNode))
	}
	m.Query, m.Table = query, table

	pk := block.get("primary_key")
	if pk != nil && pk.value.kind == kindSeq {
		l.errorf(pk.value.pos, joinPath(path, "primary_key"), "only one column is supported as the primary key: concatenate the columns into one in the query (e.g. a || '-' || b AS id) and name that column")
		return
	}
	if key, n, ok := l.requiredString(block, e.keyPos, path, "primary_key", "add primary_key: with the column that identifies a row"); ok {
		m.PrimaryKey = key
		m.PrimaryKeyPos = n.pos
	}
}

func (l *loader) sync(p *Project, e *entry, path string) {
	s := &Sync{Name: e.key, Pos: e.keyPos}
	p.Syncs[e.key] = s
	block := e.value
	if block.kind != kindMap {
		return
	}

	models := sortedKeys(p.Models)
	if name, n, ok := l.requiredString(block, e.keyPos, path, "model", "add model: with the name of a declared model"+listHint(models)); ok {
		s.Model = name
		if _, found := p.Models[name]; !found {
			l.errorf(n.pos, joinPath(path, "model"), "%s", unknownReference("model", "models", n, models))
		}
	}

	// The destination's spec decides the modes and the extra keys a sync may use;
	// when it is unknown those checks are skipped rather than guessed.
	var spec *connector.DestinationSpec
	destinations := sortedKeys(p.Destinations)
	if name, n, ok := l.requiredString(block, e.keyPos, path, "destination", "add destination: with the name of a declared destination"+listHint(destinations)); ok {
		s.Destination = name
		if dst, found := p.Destinations[name]; !found {
			l.errorf(n.pos, joinPath(path, "destination"), "%s", unknownReference("destination", "destinations", n, destinations))
		} else if dst.Type != "" {
			if ds, found := l.cat.Destination(dst.Type); found {
				spec = &ds
			}
		}
	}

	modes := modeNames(connector.Modes)
	if mode, n, ok := l.requiredString(block, e.keyPos, path, "mode", "add mode: with one of "+strings.Join(modes, ", ")); ok {
		s.Mode = connector.Mode(mode)
		switch {
		case !s.Mode.Valid():
			l.errorf(n.pos, joinPath(path, "mode"), "unknown mode %s: use one of %s", n.quoted(), strings.Join(modes, ", "))
		case spec != nil && !spec.SupportsMode(s.Mode):
			msg := fmt.Sprintf("mode %s is not supported by destination type %q", n.quoted(), spec.Type)
			if len(spec.Modes) > 0 {
				msg += ": use one of " + strings.Join(modeNames(spec.Modes), ", ")
			}
			l.errorf(n.pos, joinPath(path, "mode"), "%s", msg)
		}
	}

	s.Mappings = l.mappings(block, path)

	switch {
	case spec == nil:
	case spec.NewSyncConfig != nil:
		before := len(l.errs)
		s.SyncConfig = l.decodeBlock(spec.NewSyncConfig(), block, path, e.keyPos, syncKeys)
		if mv, ok := s.SyncConfig.(connector.ModeValidator); ok && len(l.errs) == before && spec.SupportsMode(s.Mode) {
			l.validateErrors(mv.ValidateMode(s.Mode), block, path, e.keyPos, map[string]bool{}, true)
		}
	default:
		l.checkKeys(block, path, syncKeys)
	}
}

func (l *loader) mappings(block *node, path string) []Mapping {
	e := block.get("mappings")
	if !present(e) {
		return nil
	}
	path = joinPath(path, "mappings")
	v := e.value
	if v.broken {
		return nil
	}
	if v.kind != kindSeq {
		l.errorf(v.pos, path, "expected a list of {from: column, to: field} items, got %s", v.kindName())
		return nil
	}
	if len(v.items) == 0 {
		l.errorf(v.pos, path, "the list is empty: remove mappings to send every column under its own name, or add {from: column, to: field} items")
		return nil
	}
	out := make([]Mapping, 0, len(v.items))
	targets := map[string]int{}
	for i, item := range v.items {
		itemPath := indexPath(path, i)
		if item.broken {
			continue
		}
		if item.kind != kindMap {
			l.errorf(item.pos, itemPath, "expected a mapping {from: column, to: field}, got %s", item.kindName())
			continue
		}
		l.checkKeys(item, itemPath, mappingKeys)
		var from string
		var tmpl *template.Template
		if present(item.get("from_template")) {
			if present(item.get("from")) {
				l.errorf(item.get("from_template").keyPos, joinPath(itemPath, "from_template"), "a mapping takes from or from_template, not both: remove one")
			} else if src, srcNode, ok := l.requiredString(item, item.pos, itemPath, "from_template", ""); ok {
				t, err := template.Parse(src)
				if err != nil {
					l.errorf(srcNode.pos, joinPath(itemPath, "from_template"), "%v: see docs/configuration.md#templates", err)
				}
				tmpl = t
			}
		} else {
			from, _, _ = l.requiredString(item, item.pos, itemPath, "from", "add from: with a column of the model, or from_template: with a Liquid template such as \"{{ row.first_name }} {{ row.last_name }}\"")
		}
		to, toNode, ok := l.requiredString(item, item.pos, itemPath, "to", "add to: with the destination field")
		if ok {
			if first, dup := targets[to]; dup {
				l.errorf(toNode.pos, joinPath(itemPath, "to"), "duplicate target %s: mappings[%d] already maps to it", toNode.quoted(), first)
			} else {
				targets[to] = i
			}
		}
		out = append(out, Mapping{From: from, Template: tmpl, To: to, Pos: item.pos})
	}
	return out
}

// present reports whether a key is set to something other than null. A value that
// failed to resolve counts as set: it has been reported already.
func present(e *entry) bool { return e != nil && (e.value.kind != kindNull || e.value.broken) }

// requiredString returns the non-empty string value of block[key], reporting it
// missing (at blockPos), empty or not a string. ok is false after any problem,
// including one interpolation already reported; n is the value when there is one.
func (l *loader) requiredString(block *node, blockPos Pos, path, key, hint string) (s string, n *node, ok bool) {
	e := block.get(key)
	keyPath := joinPath(path, key)
	if !present(e) {
		at := blockPos
		if e != nil {
			at = e.keyPos
		}
		l.errorf(at, keyPath, "required key is missing: %s", hint)
		return "", nil, false
	}
	s, n, ok = l.optionalString(block, path, key)
	if ok && s == "" {
		l.errorf(n.pos, keyPath, "%s", emptyMessage(n))
		return "", n, false
	}
	return s, n, ok
}

// optionalString returns the string value of block[key]; ok is false when the key
// is missing or null, or its value is broken or not a scalar (which it reports).
func (l *loader) optionalString(block *node, path, key string) (string, *node, bool) {
	e := block.get(key)
	if !present(e) {
		return "", nil, false
	}
	n := e.value
	if n.broken {
		return "", n, false
	}
	if !n.isScalar() {
		l.errorf(n.pos, joinPath(path, key), "expected a string, got %s", n.kindName())
		return "", n, false
	}
	return n.text, n, true
}

func emptyMessage(n *node) string {
	if n.interpolated {
		return fmt.Sprintf("must not be empty, but %s is empty", n.rawRef())
	}
	return "must not be empty"
}

// unknownReference reports a name that refers to nothing declared.
func unknownReference(what, section string, n *node, declared []string) string {
	if len(declared) == 0 {
		return fmt.Sprintf("unknown %s %s: no %s are declared: add one under %s", what, n.quoted(), section, section)
	}
	return unknownValue(what, n, declared)
}

func typeHint(what string, types []string) string {
	if len(types) == 0 {
		return fmt.Sprintf("add type: (no %s types are registered)", what)
	}
	return "add type: with one of " + strings.Join(types, ", ")
}

func listHint(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func modeNames(modes []connector.Mode) []string {
	out := make([]string, len(modes))
	for i, m := range modes {
		out[i] = string(m)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
