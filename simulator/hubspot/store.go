package hubspot

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// objectType is one object type of the account: its properties and its records.
// The Server's mutex guards it.
type objectType struct {
	name     string // "contacts"
	typeID   string // "0-1"
	singular string // "CONTACT", as not-found messages name it
	label    string // "Contact", as conflict messages name it
	// created and modified name the type's create and last-modified properties.
	created, modified string
	// defaults are the properties read when a request names none.
	defaults []string

	props map[string]*defined
	order []*defined

	records map[uint64]*record
	ids     []uint64 // ascending, archived records included
	nextID  uint64
	// unique indexes the live records by each identifier property's value.
	unique map[string]map[string]uint64
}

// record is one record; props holds the values written through the API, while
// hs_object_id and the dates are derived from id, created and updated.
type record struct {
	id         uint64
	props      map[string]string
	created    time.Time
	updated    time.Time
	archived   bool
	archivedAt time.Time
}

func newObjectType(name, typeID, label string, created, modified string, defaults []string, props []Property, firstID uint64) *objectType {
	ot := &objectType{
		name: name, typeID: typeID, singular: strings.ToUpper(label), label: label,
		created: created, modified: modified, defaults: defaults,
		props: map[string]*defined{}, records: map[uint64]*record{}, nextID: firstID,
		unique: map[string]map[string]uint64{},
	}
	for _, p := range props {
		if err := ot.addProperty(p, definedAt); err != nil {
			panic(fmt.Sprintf("hubspot: catalogue of %s: %v", name, err))
		}
	}
	return ot
}

// addProperty defines a property. No record can hold a value of a property not
// yet defined, so a new identifier starts with an empty index.
func (ot *objectType) addProperty(p Property, createdAt string) error {
	if err := p.check(); err != nil {
		return err
	}
	if _, ok := ot.props[p.Name]; ok {
		return fmt.Errorf("property %q of %s already exists", p.Name, ot.name)
	}
	d := &defined{Property: p.withDefaults(), createdAt: createdAt, order: len(ot.order)}
	if ot.isIdentifier(d) {
		ot.unique[p.Name] = map[string]uint64{}
	}
	ot.props[p.Name] = d
	ot.order = append(ot.order, d)
	return nil
}

// isIdentifier tells whether a property identifies records: contacts' email,
// and every property with unique values.
func (ot *objectType) isIdentifier(d *defined) bool {
	return d.HasUniqueValue || (ot.name == "contacts" && d.Name == "email")
}

// identifier returns the property if it may be an idProperty.
func (ot *objectType) identifier(name string) (*defined, bool) {
	d, ok := ot.props[name]
	if !ok || !ot.isIdentifier(d) {
		return nil, false
	}
	return d, true
}

// uniqueKey is how an identifier's value is compared: emails without case.
func (ot *objectType) uniqueKey(prop, value string) string {
	if ot.name == "contacts" && prop == "email" {
		return strings.ToLower(value)
	}
	return value
}

// byID returns the live record with this record id.
func (ot *objectType) byID(id string) *record {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return nil
	}
	r := ot.records[n]
	if r == nil || r.archived {
		return nil
	}
	return r
}

// byUnique returns the live record whose identifier prop has this value.
func (ot *objectType) byUnique(prop, value string) *record {
	id, ok := ot.unique[prop][ot.uniqueKey(prop, value)]
	if !ok {
		return nil
	}
	return ot.records[id]
}

// lookup finds a live record by id, or by idProperty when one is named.
func (ot *objectType) lookup(id, idProperty string) *record {
	if idProperty == "" || idProperty == "hs_object_id" {
		return ot.byID(id)
	}
	return ot.byUnique(idProperty, id)
}

// systemValue is the value of a property derived from the record itself.
func (ot *objectType) systemValue(r *record, name string) (string, bool) {
	switch name {
	case "hs_object_id":
		return strconv.FormatUint(r.id, 10), true
	case ot.created:
		return instant(r.created), true
	case ot.modified:
		return instant(r.updated), true
	}
	return "", false
}

// txn applies a batch's writes so that they can be undone when the batch fails
// as a whole.
type txn struct {
	ot     *objectType
	nextID uint64
	undo   []func()
}

func (ot *objectType) begin() *txn { return &txn{ot: ot, nextID: ot.nextID} }

func (tx *txn) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
	tx.undo = nil
	tx.ot.nextID = tx.nextID
}

// index points an identifier's value at r, remembering how to undo it.
func (tx *txn) index(prop, value string, r *record) {
	key := tx.ot.uniqueKey(prop, value)
	idx := tx.ot.unique[prop]
	old, had := idx[key]
	idx[key] = r.id
	tx.undo = append(tx.undo, func() {
		if had {
			idx[key] = old
		} else {
			delete(idx, key)
		}
	})
}

// unindex removes an identifier's value if it points at r.
func (tx *txn) unindex(prop, value string, r *record) {
	key := tx.ot.uniqueKey(prop, value)
	idx := tx.ot.unique[prop]
	if idx[key] != r.id {
		return
	}
	delete(idx, key)
	tx.undo = append(tx.undo, func() { idx[key] = r.id })
}

func (tx *txn) create(props map[string]string, now time.Time) *record {
	ot := tx.ot
	r := &record{id: ot.nextID, props: props, created: now, updated: now}
	ot.nextID++
	ot.records[r.id] = r
	ot.ids = append(ot.ids, r.id)
	tx.undo = append(tx.undo, func() {
		delete(ot.records, r.id)
		ot.ids = ot.ids[:len(ot.ids)-1]
	})
	for prop := range ot.unique {
		if v := props[prop]; v != "" {
			tx.index(prop, v, r)
		}
	}
	return r
}

// update writes changes ("" clears a value) into r.
func (tx *txn) update(r *record, changes map[string]string, now time.Time) {
	old, oldUpdated := maps.Clone(r.props), r.updated
	tx.undo = append(tx.undo, func() { r.props, r.updated = old, oldUpdated })
	next := maps.Clone(r.props)
	for name, v := range changes {
		if _, ok := tx.ot.unique[name]; ok {
			if prev := r.props[name]; prev != "" && prev != v {
				tx.unindex(name, prev, r)
			}
			if v != "" {
				tx.index(name, v, r)
			}
		}
		if v == "" {
			delete(next, name)
		} else {
			next[name] = v
		}
	}
	r.props, r.updated = next, now
}

func (tx *txn) archive(r *record, now time.Time) {
	tx.undo = append(tx.undo, func() { r.archived, r.archivedAt = false, time.Time{} })
	r.archived, r.archivedAt = true, now
	for prop := range tx.ot.unique {
		if v := r.props[prop]; v != "" {
			tx.unindex(prop, v, r)
		}
	}
}

// Record is a stored record as tests see it.
type Record struct {
	ID string
	// Properties are the values written through the API, in HubSpot's string
	// form (emails lower-cased, dates as YYYY-MM-DD, datetimes as ISO 8601 UTC);
	// hs_object_id and the create and modify dates are not among them.
	Properties map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
}

func (r *record) export() Record {
	return Record{
		ID:         strconv.FormatUint(r.id, 10),
		Properties: maps.Clone(r.props),
		CreatedAt:  r.created,
		UpdatedAt:  r.updated,
		Archived:   r.archived,
	}
}

// list returns the records, archived or not as asked, in id order.
func (ot *objectType) list(archived bool) []*record {
	var out []*record
	for _, id := range ot.ids {
		if r := ot.records[id]; r.archived == archived {
			out = append(out, r)
		}
	}
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
