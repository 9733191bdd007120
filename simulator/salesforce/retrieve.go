package salesforce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// Reading records back: GET /sobjects/{SObject}/{id},
// /sobjects/{SObject}/{ExternalIdField}/{value} and the sObject Collections
// retrieve, GET /composite/sobjects/{SObject}?ids=…&fields=….

// maxRetrieveIDs is the most ids a Collections retrieve takes.
const maxRetrieveIDs = 2000

// retrieveFields reads the fields parameter: nil when absent (every field of the
// object), else the fields named, Id last unless named.
func retrieveFields(c *call, ot *objectType) ([]*Field, *apiError) {
	names := listParam(c.r.URL.Query(), "fields")
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]*Field, 0, len(names)+1)
	hasID := false
	for _, name := range names {
		f := ot.field(name)
		if f == nil {
			e := noSuchColumn(ot, name)
			return nil, &e
		}
		hasID = hasID || f.Type == TypeID
		out = append(out, f)
	}
	if !hasID {
		out = append(out, ot.field("Id"))
	}
	return out, nil
}

// writeRecord writes a record as the REST API reads it back: its attributes,
// then the fields (all of the object's when fields is nil), null when unset.
func (s *Server) writeRecord(b *bytes.Buffer, version string, ot *objectType, r *record, fields []*Field) {
	if fields == nil {
		fields = ot.order
	}
	fmt.Fprintf(b, `{"attributes":{"type":%q,"url":"/services/data/v%s/sobjects/%s/%s"}`, ot.name, version, ot.name, r.id)
	for _, f := range fields {
		v, _ := json.Marshal(s.fieldValue(r, f))
		fmt.Fprintf(b, ",%q:%s", f.Name, v)
	}
	b.WriteByte('}')
}

func (s *Server) recordReply(c *call, ot *objectType, r *record) reply {
	fields, err := retrieveFields(c, ot)
	if err != nil {
		return errorReply(http.StatusBadRequest, *err)
	}
	var b bytes.Buffer
	s.writeRecord(&b, c.version, ot, r, fields)
	return reply{status: http.StatusOK, body: b.Bytes(), contentType: jsonType}
}

// getRecord answers GET /sobjects/{SObject}/{id}: 404 NOT_FOUND unless a live
// record of the object has the id.
func (s *Server) getRecord(c *call, ot *objectType, id string) reply {
	r := ot.live(id)
	if r == nil {
		return notFound()
	}
	return s.recordReply(c, ot, r)
}

// getRecordByExternalID answers GET /sobjects/{SObject}/{ExternalIdField}/{value}:
// the record, 404 when none matches, 300 with the records' URLs when several do.
func (s *Server) getRecordByExternalID(c *call, ot *objectType, extName, value string) reply {
	ext := ot.field(extName)
	switch {
	case ext == nil:
		return errorReply(http.StatusNotFound, apiError{ErrorCode: "NOT_FOUND",
			Message: "Provided external ID field does not exist or is not accessible: " + extName})
	case ext.Type == TypeID:
		return s.getRecord(c, ot, value)
	case !ext.ExternalID:
		return badRequest("INVALID_FIELD",
			fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", ext.Name, ot.name))
	}
	v, bad := convertText(ext, value)
	if bad != nil || v == nil {
		return notFound()
	}
	ids := ot.matches(ext, v)
	switch len(ids) {
	case 0:
		return notFound()
	case 1:
		return s.recordReply(c, ot, ot.records[ids[0]])
	}
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = "/services/data/v" + c.version + "/sobjects/" + ot.name + "/" + id
	}
	return jsonReply(http.StatusMultipleChoices, urls)
}

// collectionRetrieve answers GET /composite/sobjects/{SObject}?ids=…&fields=…:
// the records in the order of the ids, null for an id with no live record of
// the object.
func (s *Server) collectionRetrieve(c *call, object string) reply {
	ot := s.object(object)
	if ot == nil {
		return notFound()
	}
	q := c.r.URL.Query()
	ids := listParam(q, "ids")
	switch {
	case len(ids) == 0:
		return badRequest("MISSING_ARGUMENT", "ids: the list of ids to retrieve is missing")
	case len(listParam(q, "fields")) == 0:
		return badRequest("MISSING_ARGUMENT", "fields: the list of fields to retrieve is missing")
	case len(ids) > maxRetrieveIDs:
		return limitReply(maxRetrieveIDs)
	}
	fields, err := retrieveFields(c, ot)
	if err != nil {
		return errorReply(http.StatusBadRequest, *err)
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		if r := ot.live(id); r != nil {
			s.writeRecord(&b, c.version, ot, r, fields)
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte(']')
	return reply{status: http.StatusOK, body: b.Bytes(), contentType: jsonType}
}
