package salesforce

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// objectType is one sObject of the org: its fields and its records. The
// Server's mutex guards it.
type objectType struct {
	name, label, plural, prefix string
	custom                      bool

	fields   map[string]*Field // by lower-case name: the API reads names without case
	order    []*Field
	rels     map[string]*Field // reference fields by lower-case relationship name
	required []*Field          // in order
	defaults []*Field          // fields with a value on create, in order

	records map[string]*record // by 18-character id
	ids     []string           // in creation order, which is id order
	seq     uint64
	// index holds the live records' values of external-id and unique fields:
	// field name → key (see Field.key) → ids in id order.
	index map[string]map[string][]string
}

// record is one record; fields holds the values written (nulls absent), the id
// and the audit dates are kept apart.
type record struct {
	id                string
	fields            map[string]any
	created, modified time.Time
	deleted           bool // in the recycle bin
	purged            bool // hard-deleted
}

func newObjectType(name, label, plural, prefix string, custom bool) *objectType {
	return &objectType{
		name: name, label: label, plural: plural, prefix: prefix, custom: custom,
		fields: map[string]*Field{}, rels: map[string]*Field{}, records: map[string]*record{},
		index: map[string]map[string][]string{}, seq: firstSequence,
	}
}

// addField defines a field. No record can hold a value of a field not yet
// defined, so a new external id starts with an empty index.
func (ot *objectType) addField(f Field, custom bool) error {
	if err := f.check(); err != nil {
		return err
	}
	if _, ok := ot.fields[strings.ToLower(f.Name)]; ok {
		return fmt.Errorf("field %s.%s already exists", ot.name, f.Name)
	}
	f = f.withDefaults()
	f.custom = custom
	if f.RelationshipName != "" {
		if _, ok := ot.rels[strings.ToLower(f.RelationshipName)]; ok {
			return fmt.Errorf("field %s.%s: relationship %s already exists", ot.name, f.Name, f.RelationshipName)
		}
	}
	d := &f
	ot.fields[strings.ToLower(f.Name)] = d
	ot.order = append(ot.order, d)
	if d.RelationshipName != "" {
		ot.rels[strings.ToLower(d.RelationshipName)] = d
	}
	if d.ExternalID || d.Unique {
		ot.index[d.Name] = map[string][]string{}
	}
	if d.Required {
		ot.required = append(ot.required, d)
	}
	if d.Default != nil {
		d.dflt, _ = convertText(d, formatValue(d.Default)) // check made sure it converts
		ot.defaults = append(ot.defaults, d)
	}
	return nil
}

// field returns a field by name, read without case.
func (ot *objectType) field(name string) *Field { return ot.fields[strings.ToLower(name)] }

// live returns the live record with this id (15 or 18 characters).
func (ot *objectType) live(id string) *record {
	r := ot.records[canonicalID(id)]
	if r == nil || r.deleted || r.purged {
		return nil
	}
	return r
}

// matches returns the live records whose field f has the value's key.
func (ot *objectType) matches(f *Field, v any) []string {
	if f.Type == TypeID {
		if r := ot.live(formatValue(v)); r != nil {
			return []string{r.id}
		}
		return nil
	}
	return ot.index[f.Name][f.key(v)]
}

// txn applies writes so that they can be undone when a request is all or none.
// A Bulk batch never rolls back: its txn is final and keeps no undo log.
type txn struct {
	undo  []func()
	final bool
}

func (tx *txn) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
	tx.undo = nil
}

func (tx *txn) indexAdd(ot *objectType, f *Field, v any, id string) {
	idx := ot.index[f.Name]
	key := f.key(v)
	before := idx[key]
	next := []string{id}
	if len(before) > 0 {
		next = append(slices.Clone(before), id)
		slices.Sort(next)
	}
	idx[key] = next
	if !tx.final {
		tx.undo = append(tx.undo, func() { restore(idx, key, before) })
	}
}

func (tx *txn) indexRemove(ot *objectType, f *Field, v any, id string) {
	idx := ot.index[f.Name]
	key := f.key(v)
	before := idx[key]
	i := slices.Index(before, id)
	if i < 0 {
		return
	}
	restore(idx, key, slices.Delete(slices.Clone(before), i, i+1))
	if !tx.final {
		tx.undo = append(tx.undo, func() { restore(idx, key, before) })
	}
}

func restore(idx map[string][]string, key string, ids []string) {
	if len(ids) == 0 {
		delete(idx, key)
	} else {
		idx[key] = ids
	}
}

func (tx *txn) create(ot *objectType, fields map[string]any, now time.Time) *record {
	r := &record{id: newID(ot.prefix, ot.seq), fields: fields, created: now, modified: now}
	ot.seq++
	ot.records[r.id] = r
	ot.ids = append(ot.ids, r.id)
	if !tx.final {
		tx.undo = append(tx.undo, func() {
			delete(ot.records, r.id)
			ot.ids = ot.ids[:len(ot.ids)-1]
			ot.seq--
		})
	}
	for name := range ot.index {
		if v, ok := fields[name]; ok {
			tx.indexAdd(ot, ot.fields[strings.ToLower(name)], v, r.id)
		}
	}
	return r
}

// update writes changes (nil clears a field) into r.
func (tx *txn) update(ot *objectType, r *record, changes map[string]any, now time.Time) {
	old, oldModified := r.fields, r.modified
	next := r.fields
	if !tx.final {
		tx.undo = append(tx.undo, func() { r.fields, r.modified = old, oldModified })
		next = maps.Clone(r.fields)
	}
	for name, v := range changes {
		if _, ok := ot.index[name]; ok {
			f := ot.fields[strings.ToLower(name)]
			if prev, had := old[name]; had {
				tx.indexRemove(ot, f, prev, r.id)
			}
			if v != nil {
				tx.indexAdd(ot, f, v, r.id)
			}
		}
		if v == nil {
			delete(next, name)
		} else {
			next[name] = v
		}
	}
	r.fields, r.modified = next, now
}

// remove deletes r: to the recycle bin, or for good when hard.
func (tx *txn) remove(ot *objectType, r *record, hard bool) {
	if !tx.final {
		tx.undo = append(tx.undo, func() { r.deleted, r.purged = false, false })
	}
	if hard {
		r.purged = true
	} else {
		r.deleted = true
	}
	for name := range ot.index {
		if v, ok := r.fields[name]; ok {
			tx.indexRemove(ot, ot.fields[strings.ToLower(name)], v, r.id)
		}
	}
}

// Record is a stored record as tests see it.
type Record struct {
	ID string // 18 characters
	// Fields are the values written through the API (and defaults on create),
	// without Id and the audit fields (ID, Created, Modified): string for text,
	// picklists, ids, dates ("2006-01-02") and datetimes
	// ("2006-01-02T15:04:05.000+0000", UTC); int64 for int; float64 for double,
	// currency and percent (rounded to the scale); bool. A null is absent.
	Fields   map[string]any
	Created  time.Time
	Modified time.Time
}

func (r *record) export() Record {
	return Record{ID: r.id, Fields: maps.Clone(r.fields), Created: r.created, Modified: r.modified}
}

// list returns the records, deleted (in the recycle bin) or live as asked, in id order.
func (ot *objectType) list(deleted bool) []*record {
	var out []*record
	for _, id := range ot.ids {
		if r := ot.records[id]; r != nil && !r.purged && r.deleted == deleted {
			out = append(out, r)
		}
	}
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
