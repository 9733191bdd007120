package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Lookups find the Ids of records by their external ID with SOQL:
//
//	SELECT Id, District_Id__c FROM Account WHERE District_Id__c IN ('d-1','d-2')
//
// sent as GET /query?q=…, as many values a query as keep its URL under
// maxLookupQuery bytes (Salesforce refuses a URI and headers over 16,384 bytes)
// and at most lookupChunk values.
const (
	lookupChunk    = 200
	maxLookupQuery = 8_000
)

// lookUp returns the Ids of the live records whose external ID holds one of
// values, by extKey of the value.
func (d *Destination) lookUp(ctx context.Context, b *connector.Batch, values []string) (map[string][]string, error) {
	found := make(map[string][]string, len(values))
	seen := make(map[string]bool, len(values))
	var in []string
	prefix := "SELECT Id, " + d.extID + " FROM " + d.object + " WHERE " + d.extID + " IN ("
	size := len(url.QueryEscape(prefix)) + 3
	flush := func() error {
		if len(in) == 0 {
			return nil
		}
		soql := prefix + strings.Join(in, ",") + ")"
		in, size = in[:0], len(url.QueryEscape(prefix))+3
		return d.query(ctx, b, soql, found)
	}
	for _, v := range values {
		key := d.extKey(v)
		if seen[key] {
			continue
		}
		seen[key] = true
		lit, ok := d.soqlLiteral(v)
		if !ok {
			continue // a value the field cannot hold has no record
		}
		n := len(url.QueryEscape(lit)) + 3 // and its comma
		if len(in) >= lookupChunk || (len(in) > 0 && size+n > maxLookupQuery) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		in = append(in, lit)
		size += n
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return found, nil
}

// query runs one SOQL query and its further pages, adding each record's Id to
// found under its external ID's key.
func (d *Destination) query(ctx context.Context, b *connector.Batch, soql string, found map[string][]string) error {
	req := saas.Request{Method: http.MethodGet, Path: d.dataAPI + "/query", Query: url.Values{"q": {soql}}}
	for {
		b.Count("lookup_queries", 1)
		resp, err := d.client.Do(ctx, b, req)
		if err != nil {
			return d.requestError("look up", err)
		}
		if resp.Status != http.StatusOK {
			return d.failure("look up", resp)
		}
		var page struct {
			Done           bool                         `json:"done"`
			NextRecordsURL string                       `json:"nextRecordsUrl"`
			Records        []map[string]json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return connector.Permanent(fmt.Errorf("salesforce: look up %s: cannot read Salesforce's answer (%v): %s", d.object, err, saas.Snippet(resp.Body)))
		}
		for _, rec := range page.Records {
			id, value := rawText(fieldOf(rec, idField)), rawText(fieldOf(rec, d.extID))
			if id != "" && value != "" {
				key := d.extKey(value)
				found[key] = append(found[key], id)
			}
		}
		if page.Done || page.NextRecordsURL == "" {
			return nil
		}
		next, err := url.Parse(page.NextRecordsURL)
		if err != nil || next.Path == "" {
			return connector.Permanent(fmt.Errorf("salesforce: look up %s: Salesforce's answer has an unusable nextRecordsUrl %q", d.object, page.NextRecordsURL))
		}
		req = saas.Request{Method: http.MethodGet, Path: next.Path, Query: next.Query()}
	}
}

// fieldOf returns a record's field by name, compared without case as the API does.
func fieldOf(rec map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := rec[name]; ok {
		return v
	}
	for k, v := range rec {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// rawText is a JSON string's or number's text, "" for null or anything else.
func rawText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// soqlLiteral is value as a SOQL literal of the external ID's type: a quoted,
// escaped string for text fields, the number for number fields (false when the
// value is not one).
func (d *Destination) soqlLiteral(value string) (string, bool) {
	if d.extNumeric.Load() {
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	var b strings.Builder
	b.Grow(len(value) + 2)
	b.WriteByte('\'')
	for _, r := range value {
		switch r {
		case '\'', '\\', '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), true
}

// extKey is how an external ID value is compared: numbers by value, text without
// case unless the field is case-sensitive (as Salesforce matches it).
func (d *Destination) extKey(value string) string {
	if d.extNumeric.Load() {
		if f, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return value
	}
	if d.extCaseSensitive.Load() {
		return value
	}
	return strings.ToLower(value)
}
