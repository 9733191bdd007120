package hubspot

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

var batchOps = []string{"create", "read", "update", "upsert", "archive"}

// flexString is an id, which HubSpot reads from a JSON string or number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*f = flexString(s)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id must be a string, not %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// propertyValues are an input's properties: numbers and booleans are read as
// their text and null as "" (clear), as HubSpot does.
type propertyValues map[string]string

func (p *propertyValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(propertyValues, len(raw))
	for name, v := range raw {
		switch {
		case string(v) == "null":
			out[name] = ""
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			out[name] = s
		case v[0] == '{' || v[0] == '[':
			return fmt.Errorf("the value of property %s must be a string, not %s", name, v)
		default: // a number, true or false
			out[name] = string(v)
		}
	}
	*p = out
	return nil
}

type batchInput struct {
	ID                 flexString     `json:"id"`
	IDProperty         string         `json:"idProperty"`
	Properties         propertyValues `json:"properties"`
	ObjectWriteTraceID string         `json:"objectWriteTraceId"`
}

type batchRequest struct {
	Inputs                *[]batchInput `json:"inputs"`
	Properties            []string      `json:"properties"`
	PropertiesWithHistory []string      `json:"propertiesWithHistory"`
	IDProperty            string        `json:"idProperty"`
}

// objectJSON is a record as the objects API answers it.
type objectJSON struct {
	ID                 string            `json:"id"`
	Properties         map[string]string `json:"properties"`
	CreatedAt          string            `json:"createdAt"`
	UpdatedAt          string            `json:"updatedAt"`
	Archived           bool              `json:"archived"`
	ArchivedAt         string            `json:"archivedAt,omitempty"`
	New                *bool             `json:"new,omitempty"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

type batchResponse struct {
	Status      string       `json:"status"`
	Results     []objectJSON `json:"results"`
	NumErrors   int          `json:"numErrors,omitempty"`
	Errors      []batchError `json:"errors,omitempty"`
	StartedAt   string       `json:"startedAt"`
	CompletedAt string       `json:"completedAt"`
}

type batchError struct {
	Status   string              `json:"status"`
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context,omitempty"`
}

// failure is why one input was not written.
type failure struct {
	status   int // of the whole batch, when the failure fails it
	category string
	message  string
	bad      []invalid // the property problems of a validation error
	id       string    // the input's id, for context.ids
	traceID  string
}

// batch answers POST /crm/v3/objects/{objectType}/batch/{op}.
func (s *Server) batch(c *call, ot *objectType, op string) reply {
	var req batchRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		return c.badJSON(err)
	}
	if req.Inputs == nil {
		return c.fail(http.StatusBadRequest, categoryValidation, "Invalid input JSON: inputs is required")
	}
	inputs := *req.Inputs
	if len(inputs) > s.opts.MaxInputs {
		return c.fail(http.StatusBadRequest, categoryValidation, fmt.Sprintf(
			"The maximum number of inputs supported in a batch is %d. Please reduce the number of items and try again", s.opts.MaxInputs))
	}
	if op == "read" && len(req.PropertiesWithHistory) > 0 && len(inputs) > s.opts.MaxHistoryInputs {
		return c.fail(http.StatusBadRequest, categoryValidation, fmt.Sprintf(
			"The maximum number of inputs supported in a batch request for property histories is %d. Please reduce the number of items and try again", s.opts.MaxHistoryInputs))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if rep, bad := s.checkIdentifiers(c, ot, op, &req); bad {
		return rep
	}
	now := s.opts.Now()
	switch op {
	case "create":
		return s.runWrites(c, ot, op, inputs, func(tx *txn, in *batchInput) (*objectJSON, *failure) {
			return s.createOne(tx, in, now)
		})
	case "update":
		return s.runWrites(c, ot, op, inputs, func(tx *txn, in *batchInput) (*objectJSON, *failure) {
			return s.updateOne(tx, in, now)
		})
	case "upsert":
		return s.runWrites(c, ot, op, inputs, func(tx *txn, in *batchInput) (*objectJSON, *failure) {
			return s.upsertOne(tx, in, now)
		})
	case "read":
		return s.read(c, ot, &req)
	default: // archive
		tx := ot.begin()
		for _, in := range inputs {
			if r := ot.byID(string(in.ID)); r != nil {
				tx.archive(r, now)
			}
		}
		return reply{status: http.StatusNoContent}
	}
}

// checkIdentifiers refuses, for the whole batch, an idProperty that is not a
// unique identifier, a missing id and an id given twice.
func (s *Server) checkIdentifiers(c *call, ot *objectType, op string, req *batchRequest) (reply, bool) {
	if op == "create" || op == "archive" {
		return reply{}, false
	}
	nonUnique := func(name string) reply {
		return c.fail(http.StatusBadRequest, categoryValidation, fmt.Sprintf(
			"Unable to perform update/upsert by non-unique %s property %s in portal ID %d", ot.typeID, name, s.opts.PortalID))
	}
	seen := map[string]bool{}
	var dups []string
	for _, in := range *req.Inputs {
		idProp := in.IDProperty
		switch op {
		case "read":
			idProp = req.IDProperty
		case "upsert":
			if idProp == "" {
				idProp = "hs_object_id" // an upsert's id is a value of its idProperty, never a record id
			}
		}
		if idProp != "" && (idProp != "hs_object_id" || op == "upsert") {
			if _, ok := ot.identifier(idProp); !ok {
				return nonUnique(idProp), true
			}
		}
		if in.ID == "" {
			return c.fail(http.StatusBadRequest, categoryValidation, "Invalid input JSON: id is required"), true
		}
		key := idProp + "\x00" + string(in.ID)
		if d, ok := ot.identifier(idProp); ok {
			key = idProp + "\x00" + ot.uniqueKey(d.Name, string(in.ID))
		}
		if seen[key] {
			dups = append(dups, string(in.ID))
		}
		seen[key] = true
	}
	if len(dups) > 0 {
		return jsonReply(http.StatusBadRequest, errorBody{Status: "error", CorrelationID: c.correlation,
			Message:  fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", strings.Join(dups, ", ")),
			Context:  map[string][]string{"ids": dups},
			Category: categoryValidation}), true
	}
	return reply{}, false
}

// runWrites applies one write per input. Without a unique objectWriteTraceId on
// every input, any failure other than a missing record fails the whole batch
// and nothing is written; with them, each failure is reported on its own (207).
func (s *Server) runWrites(c *call, ot *objectType, op string, inputs []batchInput,
	one func(*txn, *batchInput) (*objectJSON, *failure)) reply {
	started := s.opts.Now()
	traced := uniqueTraceIDs(inputs)
	perInput := traced || (s.opts.ValidationMultiStatus && op != "create")
	tx := ot.begin()
	results := []objectJSON{}
	var fails []*failure
	for i := range inputs {
		obj, f := one(tx, &inputs[i])
		if f == nil {
			if !s.opts.OmitResultTraceIDs {
				obj.ObjectWriteTraceID = inputs[i].ObjectWriteTraceID
			}
			results = append(results, *obj)
			continue
		}
		f.traceID = inputs[i].ObjectWriteTraceID
		if f.category != categoryNotFound && !perInput {
			tx.rollback()
			return c.batchFailure(f)
		}
		fails = append(fails, f)
	}
	status := http.StatusOK
	if op == "create" {
		status = http.StatusCreated
	}
	return s.batchReply(ot, started, status, results, fails, traced)
}

// uniqueTraceIDs tells whether every input has an objectWriteTraceId of its own,
// which turns on multi-status answers.
func uniqueTraceIDs(inputs []batchInput) bool {
	seen := make(map[string]bool, len(inputs))
	for _, in := range inputs {
		if in.ObjectWriteTraceID == "" || seen[in.ObjectWriteTraceID] {
			return false
		}
		seen[in.ObjectWriteTraceID] = true
	}
	return len(inputs) > 0
}

// batchFailure is the answer of a batch failed as a whole by one input.
func (c *call) batchFailure(f *failure) reply {
	body := errorBody{Status: "error", Message: f.message, CorrelationID: c.correlation, Category: f.category}
	if len(f.bad) > 0 {
		body.Errors = details(f.bad)
	}
	return jsonReply(f.status, body)
}

// batchReply is the COMPLETE envelope, 207 when some inputs failed. Missing
// records are reported in one error naming all their ids, unless inputs carry
// trace ids; other failures get an error each.
func (s *Server) batchReply(ot *objectType, started time.Time, okStatus int, results []objectJSON, fails []*failure, traced bool) reply {
	if s.opts.ShuffleResults {
		rand.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
	}
	var errs []batchError
	var missing []string
	for _, f := range fails {
		if f.category == categoryNotFound && !traced {
			missing = append(missing, f.id)
			continue
		}
		ctx := map[string][]string{}
		if traced {
			ctx["objectWriteTraceId"] = []string{f.traceID}
		}
		if f.id != "" {
			ctx["ids"] = []string{f.id}
		}
		errs = append(errs, batchError{Status: "error", Category: f.category, Message: f.message, Context: ctx})
	}
	if len(missing) > 0 {
		errs = append(errs, batchError{Status: "error", Category: categoryNotFound, Message: notFoundMessage(ot),
			Context: map[string][]string{"ids": missing}})
	}
	status := okStatus
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	return jsonReply(status, batchResponse{Status: "COMPLETE", Results: results, NumErrors: len(errs), Errors: errs,
		StartedAt: instant(started), CompletedAt: instant(s.opts.Now())})
}

func notFoundMessage(ot *objectType) string {
	return fmt.Sprintf("Could not get some %s objects, they may be deleted or not exist. Check that ids are valid.", ot.singular)
}

func (s *Server) invalidFailure(bad []invalid, id string) *failure {
	return &failure{status: http.StatusBadRequest, category: categoryValidation,
		message: propertyValuesMessage(bad, s.opts.PortalID), bad: bad, id: id}
}

// rejected asks Options.Reject about the record a write would leave.
func (s *Server) rejected(ot *objectType, props map[string]string, id string) *failure {
	if s.reject == nil {
		return nil
	}
	if msg := s.reject(ot.name, maps.Clone(props)); msg != "" {
		return &failure{status: http.StatusBadRequest, category: categoryValidation, message: msg, id: id}
	}
	return nil
}

// conflict finds another live record holding one of the identifier values written.
func (ot *objectType) conflict(written map[string]string, self *record, id string) *failure {
	for _, prop := range sortedKeys(ot.unique) {
		v := written[prop]
		if v == "" {
			continue
		}
		if other := ot.byUnique(prop, v); other != nil && other != self {
			return &failure{status: http.StatusConflict, category: categoryConflict, id: id,
				message: fmt.Sprintf("%s already exists. Existing ID: %d", ot.label, other.id)}
		}
	}
	return nil
}

// merged is a record's properties after changes ("" clears).
func merged(current, changes map[string]string) map[string]string {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func (s *Server) createOne(tx *txn, in *batchInput, now time.Time) (*objectJSON, *failure) {
	ot := tx.ot
	props, bad := ot.normalize(in.Properties)
	if len(bad) > 0 {
		return nil, s.invalidFailure(bad, "")
	}
	stored := merged(nil, props)
	if f := s.rejected(ot, stored, ""); f != nil {
		return nil, f
	}
	if f := ot.conflict(stored, nil, ""); f != nil {
		return nil, f
	}
	r := tx.create(stored, now)
	obj := ot.written(r, props)
	return &obj, nil
}

func (s *Server) updateOne(tx *txn, in *batchInput, now time.Time) (*objectJSON, *failure) {
	ot, id := tx.ot, string(in.ID)
	r := ot.lookup(id, in.IDProperty)
	if r == nil {
		return nil, &failure{category: categoryNotFound, message: notFoundMessage(ot), id: id}
	}
	props, bad := ot.normalize(in.Properties)
	if len(bad) > 0 {
		return nil, s.invalidFailure(bad, id)
	}
	if f := s.rejected(ot, merged(r.props, props), id); f != nil {
		return nil, f
	}
	if f := ot.conflict(props, r, id); f != nil {
		return nil, f
	}
	tx.update(r, props, now)
	obj := ot.written(r, props)
	return &obj, nil
}

// upsertOne updates the live record whose idProperty has the input's id, or
// creates one with that value. An archived record's value is free again.
func (s *Server) upsertOne(tx *txn, in *batchInput, now time.Time) (*objectJSON, *failure) {
	ot, id := tx.ot, string(in.ID)
	props, bad := ot.normalize(in.Properties)
	r := ot.byUnique(in.IDProperty, id)
	if r == nil {
		key, keyBad := ot.normalize(map[string]string{in.IDProperty: id})
		bad = append(bad, keyBad...)
		if len(bad) == 0 {
			props[in.IDProperty] = key[in.IDProperty]
		}
	}
	if len(bad) > 0 {
		return nil, s.invalidFailure(bad, id)
	}
	isNew := r == nil
	if isNew {
		stored := merged(nil, props)
		if f := s.rejected(ot, stored, id); f != nil {
			return nil, f
		}
		if f := ot.conflict(stored, nil, id); f != nil {
			return nil, f
		}
		r = tx.create(stored, now)
	} else {
		if f := s.rejected(ot, merged(r.props, props), id); f != nil {
			return nil, f
		}
		if f := ot.conflict(props, r, id); f != nil {
			return nil, f
		}
		tx.update(r, props, now)
	}
	obj := ot.written(r, props)
	obj.New = &isNew
	return &obj, nil
}

// read answers batch/read: the records found, and one error naming the ids of
// those that were not.
func (s *Server) read(c *call, ot *objectType, req *batchRequest) reply {
	started := s.opts.Now()
	results := []objectJSON{}
	var fails []*failure
	for _, in := range *req.Inputs {
		r := ot.lookup(string(in.ID), req.IDProperty)
		if r == nil {
			fails = append(fails, &failure{category: categoryNotFound, id: string(in.ID)})
			continue
		}
		results = append(results, ot.view(r, req.Properties))
	}
	return s.batchReply(ot, started, http.StatusOK, results, fails, false)
}

// written is a record as a write answers it: the properties written (a cleared
// one as "") and the record's id and dates.
func (ot *objectType) written(r *record, props map[string]string) objectJSON {
	out := make(map[string]string, len(props)+3)
	maps.Copy(out, props)
	for _, name := range []string{"hs_object_id", ot.created, ot.modified} {
		out[name], _ = ot.systemValue(r, name)
	}
	return objectJSON{ID: out["hs_object_id"], Properties: out, CreatedAt: instant(r.created), UpdatedAt: instant(r.updated)}
}

// view is a record as a read answers it: the properties asked for (the type's
// defaults when none are) that have a value, always with its id and dates.
func (ot *objectType) view(r *record, wanted []string) objectJSON {
	if len(wanted) == 0 {
		wanted = ot.defaults
	}
	out := map[string]string{}
	for _, name := range append([]string{"hs_object_id", ot.created, ot.modified}, wanted...) {
		if v, ok := ot.systemValue(r, name); ok {
			out[name] = v
		} else if v, ok := r.props[name]; ok {
			out[name] = v
		}
	}
	obj := objectJSON{ID: out["hs_object_id"], Properties: out, CreatedAt: instant(r.created),
		UpdatedAt: instant(r.updated), Archived: r.archived}
	if r.archived {
		obj.ArchivedAt = instant(r.archivedAt)
	}
	return obj
}
