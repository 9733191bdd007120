package salesforce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// sObject Collections: /composite/sobjects, up to MaxRecords records a request,
// results in input order.

// saveResult is one record's result; created is reported by upserts only.
type saveResult struct {
	ID      string        `json:"id,omitempty"`
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
	Created *bool         `json:"created,omitempty"`
}

type collectionBody struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

const unsupportedType = "sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."

func (s *Server) routeCollections(c *call, rest []string) reply {
	switch len(rest) {
	case 0:
		switch c.r.Method {
		case http.MethodPost:
			return s.collection(c, opInsert, nil, nil)
		case http.MethodPatch:
			return s.collection(c, opUpdate, nil, nil)
		case http.MethodDelete:
			return s.collectionDelete(c)
		}
		return only(c, nil, http.MethodPost, http.MethodPatch, http.MethodDelete)
	case 1:
		return only(c, func() reply { return s.collectionRetrieve(c, rest[0]) }, http.MethodGet)
	case 2:
		return only(c, func() reply { return s.collectionUpsert(c, rest[0], rest[1]) }, http.MethodPatch)
	}
	return notFound()
}

// operation is a write of Collections or of a Bulk job.
type operation string

const (
	opInsert     operation = "insert"
	opUpdate     operation = "update"
	opUpsert     operation = "upsert"
	opDelete     operation = "delete"
	opHardDelete operation = "hardDelete"
)

func (s *Server) collectionUpsert(c *call, object, extName string) reply {
	ot := s.object(object)
	if ot == nil {
		return notFound()
	}
	ext := ot.field(extName)
	switch {
	case ext == nil:
		return errorReply(http.StatusNotFound, apiError{ErrorCode: "NOT_FOUND",
			Message: "Provided external ID field does not exist or is not accessible: " + extName})
	case !ext.ExternalID:
		return badRequest("INVALID_FIELD",
			fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", ext.Name, ot.name))
	}
	return s.collection(c, opUpsert, ot, ext)
}

// collection answers create, update and upsert: ot and ext are the upsert's.
func (s *Server) collection(c *call, op operation, ot *objectType, ext *Field) reply {
	var body collectionBody
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return badRequest("JSON_PARSER_ERROR", "Unable to read the request body as JSON: "+err.Error())
	}
	if len(body.Records) > s.opts.MaxRecords {
		return limitReply(s.opts.MaxRecords)
	}
	objects := make([]*objectType, len(body.Records))
	ins := make([]*recordInput, len(body.Records))
	for i, rec := range body.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		rot := s.object(typ)
		switch {
		case typ == "":
			return badRequest("INVALID_TYPE", fmt.Sprintf("Record %d has no attributes with a type", i))
		case rot == nil:
			return badRequest("INVALID_TYPE", fmt.Sprintf(unsupportedType, typ))
		case ot != nil && rot != ot:
			return badRequest("INVALID_TYPE", fmt.Sprintf("Record %d is of type %s, not %s as the URI says", i, rot.name, ot.name))
		}
		in, err := s.readJSONRecord(rot, rec)
		if err != nil {
			return errorReply(http.StatusBadRequest, *err)
		}
		objects[i], ins[i] = rot, in
	}

	var dups map[int]string
	if op == opUpsert {
		dups = duplicateExternalIDs(ext, ins)
	}
	w := s.newWriter(c.received)
	outs := make([]outcome, len(ins))
	for i, in := range ins {
		switch {
		case op == opInsert:
			outs[i] = w.insert(objects[i], in)
		case op == opUpdate:
			outs[i] = w.update(objects[i], in)
		case dups[i] != "":
			outs[i] = failed(duplicateExternalIDError(dups[i]))
		default:
			outs[i] = w.upsert(ot, ext, in)
		}
	}
	return jsonReply(http.StatusOK, results(w, outs, body.AllOrNone, op == opUpsert))
}

func limitReply(n int) reply {
	return badRequest("EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", n))
}

// results turns outcomes into save results; when the request is all or none and
// a record failed, every write is rolled back and the records that did not fail
// say so.
func results(w *writer, outs []outcome, allOrNone, upsert bool) []saveResult {
	rollback := false
	if allOrNone {
		for _, o := range outs {
			rollback = rollback || !o.ok()
		}
	}
	if rollback {
		w.tx.rollback()
	}
	res := make([]saveResult, len(outs))
	for i, o := range outs {
		r := saveResult{ID: o.id, Success: o.ok(), Errors: o.errs}
		if r.Errors == nil {
			r.Errors = []recordError{}
		}
		if rollback && o.ok() {
			r = saveResult{ID: o.known, Errors: []recordError{newError("ALL_OR_NONE_OPERATION_ROLLED_BACK", rolledBackMessage)}}
		}
		if upsert {
			created := o.created && r.Success
			r.Created = &created
		}
		res[i] = r
	}
	return res
}

// listParam reads a comma-separated query parameter, given once or repeated.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func (s *Server) collectionDelete(c *call) reply {
	q := c.r.URL.Query()
	ids := listParam(q, "ids")
	if len(ids) == 0 {
		return badRequest("MISSING_ARGUMENT", "ids: the list of ids to delete is missing")
	}
	if len(ids) > s.opts.MaxRecords {
		return limitReply(s.opts.MaxRecords)
	}
	allOrNone, _ := strconv.ParseBool(q.Get("allOrNone"))
	w := s.newWriter(c.received)
	outs := make([]outcome, len(ids))
	for i, id := range ids {
		outs[i] = w.remove(nil, id, false)
	}
	return jsonReply(http.StatusOK, results(w, outs, allOrNone, false))
}

// readJSONRecord reads one record of a Collections request. An unknown field or
// a value of the wrong type is the whole request's error, as Salesforce's JSON
// reader reports it, unless Options.FieldErrorsPerRecord.
func (s *Server) readJSONRecord(ot *objectType, rec map[string]any) (*recordInput, *apiError) {
	in := &recordInput{}
	perRecord := s.opts.FieldErrorsPerRecord
	fail := func(reqErr apiError, recErr recordError) *apiError {
		if perRecord {
			in.errs = append(in.errs, recErr)
			return nil
		}
		return &reqErr
	}
	for _, k := range sortedKeys(rec) {
		v := rec[k]
		if k == "attributes" {
			continue
		}
		f := ot.field(k)
		if f == nil {
			if rel := ot.rels[strings.ToLower(k)]; rel != nil {
				a, err := s.readForeignKey(ot, rel, v)
				if err != nil {
					if e := fail(*err, newError(err.ErrorCode, err.Message)); e != nil {
						return nil, e
					}
					continue
				}
				in.values = append(in.values, a)
				continue
			}
			msg := fmt.Sprintf("No such column '%s' on sobject of type %s", k, ot.name)
			if e := fail(apiError{ErrorCode: "INVALID_FIELD", Message: msg}, newError("INVALID_FIELD", msg, k)); e != nil {
				return nil, e
			}
			continue
		}
		if f.Type == TypeID {
			switch id := v.(type) {
			case string:
				in.id, in.hasID = id, true
			case nil:
				in.hasID = true
			default:
				if e := fail(parserError(f, &typeError{token: "VALUE_NUMBER_INT", text: fmt.Sprint(v)}),
					typeMismatch(f, fmt.Sprint(v))); e != nil {
					return nil, e
				}
			}
			continue
		}
		val, bad := convertJSON(f, v)
		if bad != nil {
			if e := fail(parserError(f, bad), typeMismatch(f, bad.text)); e != nil {
				return nil, e
			}
			continue
		}
		in.values = append(in.values, assignment{f: f, v: val})
	}
	return in, nil
}

// parserError is Salesforce's JSON reader on a value of the wrong type.
func parserError(f *Field, bad *typeError) apiError {
	return apiError{ErrorCode: "JSON_PARSER_ERROR", Message: fmt.Sprintf(
		"Cannot deserialize instance of %s from %s value %s or request may be missing a required field", f.Type.javaType(), bad.token, bad.text)}
}

// typeMismatch is a record's error for a value of the wrong type (Bulk API, and
// Collections with Options.FieldErrorsPerRecord).
func typeMismatch(f *Field, text string) recordError {
	return newError("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type: %s", f.Label, text), f.Name)
}

// readForeignKey reads {"Account": {"Ext__c": "A-1"}}: the parent named by one
// of its external ids (or null, which clears the reference).
func (s *Server) readForeignKey(ot *objectType, rel *Field, v any) (assignment, *apiError) {
	if v == nil {
		return assignment{f: rel}, nil
	}
	m, ok := v.(map[string]any)
	parent := s.objects[rel.ReferenceTo[0]]
	if !ok || parent == nil {
		return assignment{}, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", rel.RelationshipName, ot.name)}
	}
	var keys []string
	for k := range m {
		if k != "attributes" {
			keys = append(keys, k)
		}
	}
	if len(keys) != 1 {
		return assignment{}, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf(
			"%s: a relationship must name its %s by exactly one external id field", rel.RelationshipName, parent.name)}
	}
	ext := parent.field(keys[0])
	switch {
	case ext == nil:
		return assignment{}, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf("No such column '%s' on sobject of type %s", keys[0], parent.name)}
	case ext.Type == TypeID:
		id, _ := m[keys[0]].(string)
		v, _ := convertText(rel, id)
		return assignment{f: rel, v: v}, nil
	case !ext.ExternalID:
		return assignment{}, &apiError{ErrorCode: "INVALID_FIELD", Message: fmt.Sprintf(
			"Field name provided, %s is not an External ID or indexed field for %s", ext.Name, parent.name)}
	}
	val, bad := convertJSON(ext, m[keys[0]])
	if bad != nil {
		e := parserError(ext, bad)
		return assignment{}, &e
	}
	if val == nil {
		return assignment{f: rel}, nil
	}
	return assignment{f: rel, ref: &foreignKey{parent: parent, ext: ext, value: val}}, nil
}
