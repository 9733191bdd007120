package salesforce

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The write engine: one record's insert, update, upsert or delete, with
// Salesforce's checks in Salesforce's statusCodes. sObject Collections and Bulk
// API 2.0 read their records differently and share it.

// recordError is one error of a record's save result.
type recordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func newError(code, message string, fields ...string) recordError {
	if fields == nil {
		fields = []string{}
	}
	return recordError{StatusCode: code, Message: message, Fields: fields}
}

// LockMessage is the message of an UNABLE_TO_LOCK_ROW error.
const LockMessage = "unable to obtain exclusive access to this record"

const rolledBackMessage = "Record rolled back because not all records were valid and the request was using AllOrNone header"

// assignment is one field of a record as written: a value (nil clears the
// field) or the parent named by one of its external ids.
type assignment struct {
	f   *Field
	v   any
	ref *foreignKey
}

// foreignKey names a parent record by an external id: {"Account": {"Ext__c": "A-1"}}
// in JSON, an Account.Ext__c column in CSV.
type foreignKey struct {
	parent *objectType
	ext    *Field
	value  any
}

// recordInput is one record as a request gave it.
type recordInput struct {
	id     string // the record id given, as given
	hasID  bool
	values []assignment
	errs   []recordError // found while reading the record
}

// value returns the assignment of f, if any.
func (in *recordInput) value(f *Field) (assignment, bool) {
	for _, a := range in.values {
		if a.f == f {
			return a, true
		}
	}
	return assignment{}, false
}

// outcome is what became of one record.
type outcome struct {
	id      string // the record's id on success
	known   string // the id of the record the input named, when it existed
	created bool
	errs    []recordError
}

func (o outcome) ok() bool { return len(o.errs) == 0 }

func failed(errs ...recordError) outcome { return outcome{errs: errs} }

// writer applies records of one request (or Bulk batch) under the Server's lock.
type writer struct {
	s   *Server
	tx  *txn
	now time.Time
}

func (s *Server) newWriter(now time.Time) *writer { return &writer{s: s, tx: &txn{}, now: now} }

// insert creates a record.
func (w *writer) insert(ot *objectType, in *recordInput) outcome {
	if in.hasID && in.id != "" {
		return failed(newError("INVALID_FIELD", "cannot specify Id in an insert call"))
	}
	merged, _, errs := w.prepare(ot, in, nil)
	if errs != nil {
		return failed(errs...)
	}
	r := w.tx.create(ot, merged, w.now)
	return outcome{id: r.id, created: true}
}

// update changes the record the input's id names.
func (w *writer) update(ot *objectType, in *recordInput) outcome {
	if !in.hasID || in.id == "" {
		return failed(newError("MISSING_ARGUMENT", "Id not specified in an update call"))
	}
	id := canonicalID(in.id)
	if id == "" || id[:3] != ot.prefix {
		return failed(newError("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", ot.label, in.id), "Id"))
	}
	r := ot.records[id]
	if o, gone := missing(r); gone {
		return o
	}
	return w.change(ot, r, in)
}

// missing is the error of a record that is not there (nil, deleted or purged).
func missing(r *record) (outcome, bool) {
	switch {
	case r == nil || r.purged:
		return failed(newError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")), true
	case r.deleted:
		return failed(newError("ENTITY_IS_DELETED", "entity is deleted")), true
	}
	return outcome{}, false
}

func (w *writer) change(ot *objectType, r *record, in *recordInput) outcome {
	_, changes, errs := w.prepare(ot, in, r)
	if errs != nil {
		return outcome{known: r.id, errs: errs}
	}
	w.tx.update(ot, r, changes, w.now)
	return outcome{id: r.id, known: r.id}
}

// upsert updates the one record whose external id ext has the input's value, or
// creates one. ext may be Id (Bulk API only): a record without one is created.
func (w *writer) upsert(ot *objectType, ext *Field, in *recordInput) outcome {
	if len(in.errs) > 0 {
		return failed(in.errs...)
	}
	var value any
	if ext.Type == TypeID {
		if in.hasID && in.id != "" {
			value = in.id
		}
	} else if a, ok := in.value(ext); ok {
		value = a.v
	}
	if value == nil {
		if ext.Type == TypeID {
			return w.insert(ot, &recordInput{values: in.values})
		}
		return failed(newError("MISSING_ARGUMENT", ext.Name+" not specified"))
	}
	ids := ot.matches(ext, value)
	switch {
	case len(ids) == 1:
		return w.change(ot, ot.records[ids[0]], in)
	case len(ids) > 1:
		return failed(newError("DUPLICATE_EXTERNAL_ID",
			fmt.Sprintf("%s: more than one record found for external id field: [%s]", ext.Label, strings.Join(ids, ", ")), ext.Name))
	case ext.Type == TypeID:
		return failed(newError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
	}
	return w.insert(ot, &recordInput{values: in.values})
}

// remove deletes the record an id names: of ot, or of any object when ot is nil
// (sObject Collections take ids of several objects).
func (w *writer) remove(ot *objectType, id string, hard bool) outcome {
	cid := canonicalID(id)
	if cid == "" {
		return failed(newError("MALFORMED_ID", "malformed id "+id))
	}
	t := w.s.byPrefix[cid[:3]]
	switch {
	case ot != nil && t != ot:
		return failed(newError("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", ot.label, id), "Id"))
	case t == nil:
		return failed(newError("MALFORMED_ID", "malformed id "+id))
	}
	r := t.records[cid]
	// A hard delete also takes a record out of the recycle bin.
	if binned := hard && r != nil && r.deleted && !r.purged; !binned {
		if o, gone := missing(r); gone {
			return o
		}
	}
	if err := w.lock(); err != nil {
		return outcome{known: r.id, errs: []recordError{*err}}
	}
	w.tx.remove(t, r, hard)
	return outcome{id: r.id, known: r.id}
}

// prepare checks a write of in to existing (nil: a create) and returns the
// record's fields after it and the changes to make.
func (w *writer) prepare(ot *objectType, in *recordInput, existing *record) (merged, changes map[string]any, errs []recordError) {
	if len(in.errs) > 0 {
		return nil, nil, in.errs
	}
	creating := existing == nil
	var denied []string
	for _, a := range in.values {
		if creating && !a.f.createable() || !creating && !a.f.updateable() {
			denied = append(denied, a.f.Name)
		}
	}
	if denied != nil {
		return nil, nil, []recordError{newError("INVALID_FIELD_FOR_INSERT_UPDATE",
			fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
				strings.Join(denied, ", ")), denied...)}
	}

	type assigned struct {
		f *Field
		v any
	}
	sets := make([]assigned, 0, len(in.values)+len(ot.defaults))
	for _, a := range in.values {
		v := a.v
		if a.ref != nil {
			id, err := w.resolve(a.ref)
			if err != nil {
				errs = append(errs, *err)
				continue
			}
			v = id
		}
		if v != nil {
			if err := validate(a.f, v); err != nil {
				errs = append(errs, *err)
				continue
			}
		}
		sets = append(sets, assigned{a.f, v})
	}
	if errs != nil {
		return nil, nil, errs
	}
	if creating {
		for _, f := range ot.defaults {
			if !slices.ContainsFunc(sets, func(a assigned) bool { return a.f == f }) {
				sets = append(sets, assigned{f, f.dflt})
			}
		}
	}

	if existing != nil {
		merged = make(map[string]any, len(existing.fields)+len(sets))
		maps.Copy(merged, existing.fields)
		changes = make(map[string]any, len(sets))
	} else {
		merged = make(map[string]any, len(sets))
	}
	for _, a := range sets {
		if a.v == nil {
			delete(merged, a.f.Name)
		} else {
			merged[a.f.Name] = a.v
		}
		if changes != nil {
			changes[a.f.Name] = a.v
		}
	}
	var required []string
	for _, f := range ot.required {
		if merged[f.Name] == nil {
			required = append(required, f.Name)
		}
	}
	if required != nil {
		return nil, nil, []recordError{newError("REQUIRED_FIELD_MISSING",
			fmt.Sprintf("Required fields are missing: [%s]", strings.Join(required, ", ")), required...)}
	}

	for _, a := range sets {
		f, v := a.f, a.v
		if v == nil {
			continue
		}
		if f.Type == TypeReference {
			if err := w.checkReference(f, v.(string)); err != nil {
				errs = append(errs, *err)
			}
		}
		if f.Unique {
			for _, id := range ot.index[f.Name][f.key(v)] {
				if existing == nil || id != existing.id {
					errs = append(errs, newError("DUPLICATE_VALUE",
						fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", f.Name, id), f.Name))
					break
				}
			}
		}
	}
	if errs != nil {
		return nil, nil, errs
	}

	if reject := w.s.reject; reject != nil {
		if code, message := reject(ot.name, maps.Clone(merged)); code != "" {
			return nil, nil, []recordError{newError(code, message)}
		}
	}
	if err := w.lock(); err != nil {
		return nil, nil, []recordError{*err}
	}
	return merged, changes, nil
}

// lock draws whether the write meets a lock held elsewhere (Options.LockErrorRate).
func (w *writer) lock() *recordError {
	if rate := w.s.opts.LockErrorRate; rate > 0 && w.s.rng.Float64() < rate {
		err := newError("UNABLE_TO_LOCK_ROW", LockMessage)
		return &err
	}
	return nil
}

// resolve finds the parent a foreign key names.
func (w *writer) resolve(fk *foreignKey) (string, *recordError) {
	ids := fk.parent.matches(fk.ext, fk.value)
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		err := newError("INVALID_FIELD", fmt.Sprintf("Foreign key external ID: %s not found for field %s in entity %s",
			formatValue(fk.value), fk.ext.Name, fk.parent.name))
		return "", &err
	}
	err := newError("DUPLICATE_EXTERNAL_ID", fmt.Sprintf("Foreign key external ID: %s: more than one record found for external id field %s in entity %s: [%s]",
		formatValue(fk.value), fk.ext.Name, fk.parent.name, strings.Join(ids, ", ")))
	return "", &err
}

// checkReference tells whether a reference points at a live record of one of
// its objects. Users are not simulated: any well-formed user id (005) is taken.
func (w *writer) checkReference(f *Field, id string) *recordError {
	for _, name := range f.ReferenceTo {
		ot := w.s.objects[name]
		if ot == nil {
			if name == "User" && id[:3] == "005" {
				return nil
			}
			continue
		}
		if ot.prefix != id[:3] {
			continue
		}
		if o, gone := missing(ot.records[id]); gone {
			err := o.errs[0]
			err.Fields = []string{f.Name}
			return &err
		}
		return nil
	}
	err := newError("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, id), f.Name)
	return &err
}

// duplicateExternalIDs returns the positions of the upsert inputs whose
// external id value another input of the same chunk has too: Salesforce fails
// them all.
func duplicateExternalIDs(ext *Field, ins []*recordInput) map[int]string {
	if ext.Type == TypeID {
		return nil
	}
	byKey := map[string][]int{}
	values := map[int]string{}
	for i, in := range ins {
		if a, ok := in.value(ext); ok && a.v != nil && len(in.errs) == 0 {
			k := ext.key(a.v)
			byKey[k] = append(byKey[k], i)
			values[i] = formatValue(a.v)
		}
	}
	out := map[int]string{}
	for _, is := range byKey {
		if len(is) > 1 {
			for _, i := range is {
				out[i] = values[i]
			}
		}
	}
	return out
}

func duplicateExternalIDError(value string) recordError {
	return newError("DUPLICATE_VALUE", "Duplicate external id specified: "+value)
}
