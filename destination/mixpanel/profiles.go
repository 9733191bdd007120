package mixpanel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// writeProfiles sends a batch's rows as profile updates through /engage: an added
// or changed row is a $set of its non-null properties, followed by an $unset of
// those that became null; a removed row is a $delete.
func (d *Destination) writeProfiles(ctx context.Context, b *connector.Batch, e *encoder) error {
	e.items.reset()
	var failed connector.BatchError
	for i := range b.Changes {
		if err := e.appendProfile(d, i, &b.Changes[i]); err != nil {
			failed.Fail(i, err)
		}
	}
	return d.send(ctx, b, e, &failed, d.engageRequest)
}

func (e *encoder) appendProfile(d *Destination, row int, c *record.Change) error {
	l := d.layout
	var distinct []byte
	if c.Op == record.OpRemove && len(c.Fields.Names) != len(l.names) {
		// The fields last synced for the row, under the sync's earlier mappings:
		// only the distinct_id column matters, found by its name.
		i := lastIndex(c.Fields.Names, l.distinctCol)
		if i < 0 {
			return fmt.Errorf("the fields last synced for this row do not carry the distinct_id column %s: delete its profile in Mixpanel by hand", l.distinctCol)
		}
		e.prev = record.AppendJSON(e.prev[:0], c.Fields.Values()[i])
		distinct = e.prev
	} else {
		if err := e.splitRow(l, c.Fields); err != nil {
			return err
		}
		distinct = e.value(l.distinct)
	}
	if string(distinct) == `""` {
		return fmt.Errorf("distinct_id (column %s) is empty: a profile needs one", l.distinctCol)
	}
	head := func(buf []byte) ([]byte, error) {
		buf = append(buf, `{"$token":`...)
		buf = record.AppendJSONString(buf, d.token)
		buf = append(buf, `,"$distinct_id":`...)
		return appendText(buf, distinct)
	}
	buf := e.items.buf
	start := len(buf)
	buf, err := head(buf)
	if err != nil {
		e.items.buf = buf[:start]
		return fmt.Errorf("distinct_id (column %s) %w: a profile needs one", l.distinctCol, err)
	}
	if c.Op == record.OpRemove {
		// $ignore_alias: the profile of this very distinct_id goes, never one it
		// is an alias of.
		e.items.buf = append(buf, `,"$delete":"","$ignore_alias":true}`...)
		e.items.done(row)
		return nil
	}
	// $ignore_time: a sync is not the user being seen.
	buf = append(buf, `,"$ignore_time":true,"$set":{`...)
	first, unset := true, false
	for f, r := range l.roles {
		if r != roleProperty {
			continue
		}
		s := e.spans[f]
		if isNull(e.obj[s.start:s.end]) {
			unset = true
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, e.obj[s.start-l.qlen[f]:s.end]...)
	}
	buf = append(buf, "}}"...)
	e.items.buf = buf
	e.items.done(row)
	if !unset || c.Op != record.OpChange {
		// A property null on a row's first sync was never set by Sluice.
		return nil
	}
	prevNull := e.previousNulls(l, c.Previous)
	before := len(e.items.buf)
	buf, _ = head(e.items.buf)
	buf = append(buf, `,"$ignore_time":true,"$unset":[`...)
	n := 0
	for f, r := range l.roles {
		s := e.spans[f]
		if r != roleProperty || !isNull(e.obj[s.start:s.end]) || (prevNull != nil && prevNull[f]) {
			continue
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = append(buf, e.obj[s.start-l.qlen[f]:s.start-1]...) // "name"
	}
	if n == 0 {
		e.items.buf = buf[:before] // every null property was null before: nothing to unset
		return nil
	}
	e.items.buf = append(buf, "]}"...)
	e.items.done(row)
	return nil
}

// previousNulls reports which fields were null when the row was last synced, or
// nil when that is not known (a mapping changed since): every null property is
// then unset.
func (e *encoder) previousNulls(l *layout, prev record.Fields) []bool {
	if prev.Len() != len(l.names) {
		return nil
	}
	for i, n := range prev.Names {
		if n != l.names[i] {
			return nil
		}
	}
	e.prev = prev.AppendJSONWith(e.prev[:0], &e.prevKeys)
	var ok bool
	if e.prevSpans, ok = l.split(e.prev, e.prevSpans); !ok {
		return nil
	}
	e.prevNull = slices.Grow(e.prevNull[:0], len(l.names))[:len(l.names)]
	for f, s := range e.prevSpans {
		e.prevNull[f] = isNull(e.prev[s.start:s.end])
	}
	return e.prevNull
}

func (d *Destination) engageRequest(body []byte) saas.Request {
	// /engage takes no gzip (https://developer.mixpanel.com/reference/user-profiles).
	return saas.Request{Method: http.MethodPost, Path: "/engage", Query: d.engageQuery,
		Body: body, ContentType: "application/json"}
}

// engageAnswer is /engage's JSON answer: {"status":1|0,"error":…} with verbose=1,
// or /import's shape with strict=1.
type engageAnswer struct {
	Status        json.RawMessage `json:"status"`
	Code          int             `json:"code"`
	Error         string          `json:"error"`
	FailedRecords []failedRecord  `json:"failed_records"`
}

// engageOutcome reads /engage's answer to a request of n updates.
func (d *Destination) engageOutcome(resp *saas.Response, n int) ([]itemFailure, error) {
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return nil, d.credentialError(resp)
	case resp.Status == http.StatusRequestEntityTooLarge:
		return nil, connector.Divisible(fmt.Errorf("mixpanel: update profiles: HTTP 413: %s", answerError(resp.Body)))
	case resp.Status != http.StatusOK && resp.Status != http.StatusBadRequest:
		return nil, fmt.Errorf("mixpanel: update profiles: %w", resp.Error(answerError(resp.Body)))
	}
	body := bytes.TrimSpace(resp.Body)
	switch string(body) {
	case "1":
		return nil, nil
	case "0":
		return nil, connector.Divisible(errors.New("mixpanel: update profiles: Mixpanel refused the updates without a reason (answer 0)"))
	}
	var ans engageAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, connector.Divisible(fmt.Errorf("mixpanel: update profiles: HTTP %d with an answer that is not Mixpanel's: %s", resp.Status, saas.Snippet(body)))
	}
	fails, tokenFails := d.refusals(ans.FailedRecords, n, "profile update", nil)
	if len(fails) > 0 && tokenFails == n {
		// Every update refused for the token: the configuration is wrong, not the rows.
		return nil, connector.Permanent(fmt.Errorf("mixpanel: update profiles: Mixpanel refused the project token: %s", d.credential))
	}
	if len(fails) > 0 {
		return fails, nil
	}
	ok := resp.Status == http.StatusOK && (string(ans.Status) == "1" || string(ans.Status) == `"OK"` || ans.Code == http.StatusOK)
	if ok {
		return nil, nil
	}
	msg := ans.Error
	if msg == "" {
		msg = saas.Snippet(body)
	}
	if strings.Contains(strings.ToLower(msg), "token") {
		return nil, connector.Permanent(fmt.Errorf("mixpanel: update profiles: Mixpanel refused the updates: %s: %s", msg, d.credential))
	}
	// Refused whole for a reason that names no update: halves isolate the rows at fault.
	return nil, connector.Divisible(fmt.Errorf("mixpanel: update profiles: Mixpanel refused the updates: %s", msg))
}
