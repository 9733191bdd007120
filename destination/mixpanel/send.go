package mixpanel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// items are a batch's encoded records (events, or profile updates), back to back,
// each with the batch index of the row it serves. A row may have several (a $set
// and an $unset); they are adjacent and always go in the same request.
type items struct {
	buf  []byte
	ends []int // end of each item in buf
	rows []int
}

func (it *items) reset() {
	it.buf, it.ends, it.rows = it.buf[:0], it.ends[:0], it.rows[:0]
}

// done closes the item written since the last one, for row.
func (it *items) done(row int) {
	it.ends = append(it.ends, len(it.buf))
	it.rows = append(it.rows, row)
}

func (it *items) len() int { return len(it.ends) }

func (it *items) start(k int) int {
	if k == 0 {
		return 0
	}
	return it.ends[k-1]
}

// cut returns the end of the request that starts at item lo: at most maxItems
// items and maxBytes of body, never parting a row's items.
func (it *items) cut(lo, maxItems, maxBytes int) int {
	hi, size := lo, 2
	for hi < len(it.ends) {
		// The row's items go together.
		next := hi + 1
		for next < len(it.ends) && it.rows[next] == it.rows[hi] {
			next++
		}
		add := it.ends[next-1] - it.start(hi) + (next - hi)
		if hi > lo && (next-lo > maxItems || size+add > maxBytes) {
			break
		}
		hi, size = next, size+add
	}
	return hi
}

// body returns items [lo, hi) as a JSON array, in memory of its own: the run log
// keeps a request's body after Write returns.
func (it *items) body(lo, hi int) []byte {
	from, to := it.start(lo), it.ends[hi-1]
	b := make([]byte, 0, to-from+hi-lo+2)
	b = append(b, '[')
	for k := lo; k < hi; k++ {
		if k > lo {
			b = append(b, ',')
		}
		b = append(b, it.buf[it.start(k):it.ends[k]]...)
	}
	return append(b, ']')
}

// itemFailure is an item Mixpanel refused, by its index in its request.
type itemFailure struct {
	item int
	err  error
}

// failedRecord is one entry of strict mode's failed_records, in /import's and
// /engage's answers alike.
type failedRecord struct {
	Index *int `json:"index"` // the record's place in the request
	// InsertID is an event's $insert_id: Mixpanel names it "insert_id" (what the
	// API sends) or "$insert_id" (one of its docs' examples).
	InsertID string `json:"insert_id"`
	Field    string `json:"field"`
	Message  string `json:"message"`
}

func (r *failedRecord) UnmarshalJSON(b []byte) error {
	type plain failedRecord // without this method
	var v struct {
		plain
		DollarInsertID string `json:"$insert_id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = failedRecord(v.plain)
	if r.InsertID == "" {
		r.InsertID = v.DollarInsertID
	}
	return nil
}

// refusals maps failed_records to the items of a request of n items, with
// Mixpanel's message: what is refused ("event", "profile update"), why, and the
// field. A record is the item with its $insert_id when find (nil for profile
// updates) locates it, else the item at its index; one that names neither is
// left out. It also counts the items refused for the project token.
func (d *Destination) refusals(records []failedRecord, n int, what string, find func(insertID string) int) (fails []itemFailure, token int) {
	for _, r := range records {
		item := -1
		if r.InsertID != "" && find != nil {
			item = find(r.InsertID)
		}
		if item < 0 && r.Index != nil && *r.Index >= 0 && *r.Index < n {
			item = *r.Index
		}
		if item < 0 {
			continue
		}
		msg := r.Message
		if msg == "" {
			msg = "invalid (no reason given)"
		}
		if r.Field != "" {
			msg += " (field " + r.Field + ")"
		}
		if r.Field == "$token" {
			msg += ": " + d.credential
			token++
		}
		fails = append(fails, itemFailure{item, errors.New("Mixpanel refused the " + what + ": " + msg)})
	}
	return fails, token
}

// insertIDMark precedes an event's $insert_id in its item; the event's name and
// distinct_id come before it as JSON strings, which cannot hold it unescaped.
var insertIDMark = []byte(`,"$insert_id":"`)

// findInsertID returns the place in the request of items [lo, hi) of the event
// whose $insert_id is id, or -1.
func (it *items) findInsertID(lo, hi int, id string) int {
	for k := lo; k < hi; k++ {
		item := it.buf[it.start(k):it.ends[k]]
		i := bytes.Index(item, insertIDMark)
		if i < 0 {
			continue
		}
		rest := item[i+len(insertIDMark):]
		if len(rest) > len(id) && string(rest[:len(id)]) == id && rest[len(id)] == '"' {
			return k - lo
		}
	}
	return -1
}

// send posts the encoded items in as few requests as Mixpanel's limits allow and
// merges Mixpanel's answers with the rows that failed before sending (failed).
func (d *Destination) send(ctx context.Context, b *connector.Batch, e *encoder, failed *connector.BatchError, request func([]byte) saas.Request) error {
	it := &e.items
	n := it.len()
	e.failedRow = slices.Grow(e.failedRow[:0], len(b.Changes))[:len(b.Changes)]
	clear(e.failedRow)
	for _, r := range failed.Rows {
		e.failedRow[r.Index] = true
	}
	fail := func(row int, err error) {
		if !e.failedRow[row] {
			e.failedRow[row] = true
			failed.Fail(row, err)
		}
	}
	for lo := 0; lo < n; {
		hi := it.cut(lo, API.BatchRecords, d.limits.BatchBytes)
		req := request(it.body(lo, hi))
		client := d.importClient
		if req.Path == "/engage" {
			client = d.engageClient
		}
		resp, err := client.Do(ctx, b, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Nothing of the answer came back: the whole batch is retried, which
			// Mixpanel's deduplication ($insert_id) and idempotent updates make safe.
			return fmt.Errorf("mixpanel: %w", err)
		}
		var fails []itemFailure
		if req.Path == "/engage" {
			fails, err = d.engageOutcome(resp, hi-lo)
		} else {
			fails, err = d.importOutcome(resp, hi-lo, func(id string) int { return it.findInsertID(lo, hi, id) })
		}
		if err != nil {
			if !connector.IsPermanent(err) || connector.IsDivisible(err) || (lo == 0 && hi == n && failed.Len() == 0) {
				return err
			}
			// A request of several refused whole: its rows fail, the others stand.
			for k := lo; k < hi; k++ {
				fail(it.rows[k], err)
			}
		}
		for _, f := range fails {
			fail(it.rows[lo+f.item], f.err)
		}
		lo = hi
	}
	if failed.Len() > 0 {
		return failed
	}
	return nil
}
