package mixpanel

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/zeebo/xxh3"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// encoder is one Write's scratch memory, reused across batches (the request
// bodies themselves are allocated per request: the run log keeps them).
type encoder struct {
	obj, prev        []byte // a row's fields as one JSON object, and its previous fields
	spans, prevSpans []span
	keys, prevKeys   record.JSONKeys
	hash             []byte
	items            items
	prevNull         []bool // which fields were null when the row was last synced
	failedRow        []bool
}

// writeEvents appends a batch's rows as events through /import.
func (d *Destination) writeEvents(ctx context.Context, b *connector.Batch, e *encoder) error {
	e.items.reset()
	var failed connector.BatchError
	for i := range b.Changes {
		c := &b.Changes[i]
		if c.Op == record.OpRemove {
			continue // an event cannot be taken back (and insert mode sends no removals)
		}
		if err := e.appendEvent(d, c); err != nil {
			failed.Fail(i, err)
			continue
		}
		e.items.done(i)
	}
	return d.send(ctx, b, e, &failed, d.importRequest)
}

// appendEvent appends one row as an /import event:
// {"event":…,"properties":{"time":ms,"distinct_id":…,"$insert_id":…,…mapped properties}}.
func (e *encoder) appendEvent(d *Destination, c *record.Change) error {
	l := d.layout
	if err := e.splitRow(l, c.Fields); err != nil {
		return err
	}
	ms, err := eventTime(e.value(l.time))
	if err != nil {
		return fmt.Errorf("time (column %s) %w", l.timeCol, err)
	}
	buf := e.items.buf
	start := len(buf)
	buf = append(buf, `{"event":`...)
	if buf, err = appendText(buf, e.value(l.event)); err != nil {
		e.items.buf = buf[:start]
		return fmt.Errorf("event (column %s) %w: an event needs a name", l.eventCol, err)
	}
	buf = append(buf, `,"properties":{"time":`...)
	buf = strconv.AppendInt(buf, ms, 10)
	buf = append(buf, `,"distinct_id":`...)
	if buf, err = appendText(buf, e.value(l.distinct)); err != nil {
		e.items.buf = buf[:start]
		return fmt.Errorf("distinct_id (column %s) %w: use an empty string for an event of no user", l.distinctCol, err)
	}
	buf = append(buf, `,"$insert_id":"`...)
	buf = e.appendInsertID(buf, d.seed, c.Key, c.Fields)
	buf = append(buf, '"')
	for f, r := range l.roles {
		if r == roleProperty {
			buf = append(buf, ',')
			buf = append(buf, e.obj[e.spans[f].start-l.qlen[f]:e.spans[f].end]...) // "name":value
		}
	}
	e.items.buf = append(buf, "}}"...)
	return nil
}

// splitRow writes a row's fields as JSON into e.obj and finds each value.
func (e *encoder) splitRow(l *layout, f record.Fields) error {
	if len(f.Names) != len(l.names) {
		return fmt.Errorf("the row carries %d fields where the sync has %d (a bug in Sluice)", len(f.Names), len(l.names))
	}
	e.obj = f.AppendJSONWith(e.obj[:0], &e.keys)
	var ok bool
	if e.spans, ok = l.split(e.obj, e.spans); !ok {
		return errors.New("a JSON field's text is not valid JSON")
	}
	return nil
}

func (e *encoder) value(field int) []byte {
	s := e.spans[field]
	return e.obj[s.start:s.end]
}

// appendInsertID appends the hex $insert_id of a row (see InsertID).
func (e *encoder) appendInsertID(buf []byte, seed uint64, key string, f record.Fields) []byte {
	e.hash = binary.AppendUvarint(e.hash[:0], uint64(len(key)))
	e.hash = append(e.hash, key...)
	e.hash = append(e.hash, f.Encoded()...)
	sum := xxh3.Hash128Seed(e.hash, seed).Bytes()
	return hex.AppendEncode(buf, sum[:])
}

// InsertID is the $insert_id Sluice gives the event a sync sends for a row: 32 hex
// digits of a 128-bit xxh3 hash of the sync's name, the row's key and its fields'
// canonical encoding. The same row always gets the same id, so Mixpanel keeps one
// event however often it is sent (a retry, a re-sent batch after a crash); a row
// whose content changed gets another.
func InsertID(sync, key string, fields record.Fields) string {
	var e encoder
	return string(e.appendInsertID(nil, xxh3.HashString(sync), key, fields))
}

func (d *Destination) importRequest(body []byte) saas.Request {
	return saas.Request{Method: http.MethodPost, Path: "/import", Query: d.importQuery,
		Body: body, ContentType: "application/json", Gzip: true}
}

// importAnswer is /import's JSON answer.
type importAnswer struct {
	Code          int            `json:"code"`
	Error         string         `json:"error"`
	FailedRecords []failedRecord `json:"failed_records"`
}

// importOutcome reads /import's answer to a request of n events; find returns
// the place of the event with a $insert_id in the request, or -1.
func (d *Destination) importOutcome(resp *saas.Response, n int, find func(insertID string) int) ([]itemFailure, error) {
	switch {
	case resp.Status >= 200 && resp.Status < 300:
		return nil, nil
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return nil, d.credentialError(resp)
	case resp.Status == http.StatusRequestEntityTooLarge:
		return nil, connector.Divisible(fmt.Errorf("mixpanel: import events: HTTP 413: %s", answerError(resp.Body)))
	case resp.Status != http.StatusBadRequest:
		return nil, fmt.Errorf("mixpanel: import events: %w", resp.Error(answerError(resp.Body)))
	}
	// Strict mode: the valid events were imported, failed_records names the others.
	var ans importAnswer
	_ = json.Unmarshal(resp.Body, &ans)
	fails, _ := d.refusals(ans.FailedRecords, n, "event", find)
	if len(fails) == 0 {
		// A 400 naming no event is the request's fault; retrying it would only
		// spend the rate limit.
		return nil, connector.Permanent(fmt.Errorf("mixpanel: import events: HTTP 400: %s", answerError(resp.Body)))
	}
	return fails, nil
}

func (d *Destination) credentialError(resp *saas.Response) error {
	return connector.Permanent(fmt.Errorf("mixpanel: Mixpanel refused the credentials (HTTP %d: %s): %s", resp.Status, answerError(resp.Body), d.credential))
}

// answerError is the "error" of a JSON answer, or the answer's text.
func answerError(body []byte) string {
	var ans struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &ans) == nil && ans.Error != "" {
		return ans.Error
	}
	return saas.Snippet(body)
}
