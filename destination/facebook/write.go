package facebook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// membership is a batch's requests: who leaves the audience, who joins it, and
// who goes into the open replace session.
type membership struct {
	removes, adds, session []entry
}

// outcome collects a batch's failed rows, each once.
type outcome struct {
	be     connector.BatchError
	failed []bool
	// data counts rows failed for their own values (not usable as identifiers,
	// or refused by Meta as invalid entries); the others failed with a request.
	data    []int
	request error // a permanent failure of a whole request
}

func (o *outcome) fail(row int, err error, data bool) {
	if o.failed[row] {
		return
	}
	o.failed[row] = true
	o.be.Fail(row, err)
	if data {
		o.data = append(o.data, row)
	}
}

// keep drops the entries of failed rows.
func (o *outcome) keep(entries []entry) []entry {
	out := entries[:0]
	for _, e := range entries {
		if !o.failed[e.row] {
			out = append(out, e)
		}
	}
	return out
}

// Write applies a batch: removals first (a changed row's previous identifiers,
// a mirror sync's removed rows), then additions, then, on a mirror sync's full
// resync, the rows of the replace session. Rows whose identifiers cannot be
// used fail with the reason and are not sent; rows Meta counts as invalid
// entries fail with Meta's reason when its samples name them.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	skipSame := d.planned && !d.full
	rs := d.replace
	d.mu.Unlock()

	out := &outcome{failed: make([]bool, len(b.Changes))}
	m := d.plan(b, rs != nil, skipSame, out)
	if rs != nil {
		defer rs.recordInvalid(b, out)
	}
	// On a full resync the changes also go to the audience directly, so that a
	// run that never finishes its session (killed, failed) leaves the audience
	// with them, as the baseline records.
	direct := rs == nil || !rs.directRefused()
	if direct && len(m.removes) > 0 {
		if err := d.send(ctx, b, opRemove, m.removes, out); err != nil {
			if !d.replaceRefusesDirect(rs, err) {
				return err
			}
			direct = false
		}
		// A changed row whose previous identifiers could not be removed keeps
		// them: adding the new ones too would leave it in the audience twice.
		m.adds, m.session = out.keep(m.adds), out.keep(m.session)
	}
	if direct && len(m.adds) > 0 {
		if err := d.send(ctx, b, opAdd, m.adds, out); err != nil && !d.replaceRefusesDirect(rs, err) {
			return err
		}
	}
	if rs != nil && len(m.session) > 0 {
		if err := rs.send(ctx, d, b, out.keep(m.session), out); err != nil {
			return err
		}
	}
	return out.result(len(b.Changes))
}

// result is Write's answer: nil, the error of a request that failed every row
// of the batch, or a BatchError naming the failed rows.
func (o *outcome) result(n int) error {
	if o.be.Len() == 0 {
		return nil
	}
	if o.request != nil && o.be.Len() == n && len(o.data) == 0 {
		same := true
		for _, r := range o.be.Rows {
			if r.Err != o.request {
				same = false
				break
			}
		}
		if same {
			return o.request
		}
	}
	return &o.be
}

// plan normalises each change's identifiers and sorts it into the requests it
// needs. Rows whose identifiers cannot be used fail here.
func (d *Destination) plan(b *connector.Batch, replacing, skipSame bool, out *outcome) membership {
	var m membership
	width := len(d.schema.keys)
	buf := make([]string, 0, 2*width*len(b.Changes))
	cellsOf := func(f record.Fields) ([]string, error) {
		start := len(buf)
		var err error
		buf, err = d.schema.cells(buf, f)
		if err != nil {
			buf = buf[:start]
			return nil, err
		}
		return buf[start:len(buf):len(buf)], nil
	}
	for i := range b.Changes {
		ch := &b.Changes[i]
		switch ch.Op {
		case record.OpRemove:
			if d.mode != connector.ModeMirror {
				continue // other modes never receive removals
			}
			cells, err := cellsOf(ch.Fields)
			if err != nil {
				continue // never added in this form: nothing to remove
			}
			m.removes = append(m.removes, entry{i, d.schema.removalCells(cells)})
		case record.OpAdd, record.OpChange:
			cells, err := cellsOf(ch.Fields)
			if err != nil {
				out.fail(i, fmt.Errorf("facebook: %w", err), true)
				continue
			}
			var prev []string
			if ch.Op == record.OpChange && ch.Previous.Len() > 0 {
				prev, _ = cellsOf(ch.Previous) // unusable before: never added, nothing to remove
			}
			moved := prev != nil && !d.schema.sameIdentifiers(prev, cells)
			if moved {
				m.removes = append(m.removes, entry{i, d.schema.removalCells(prev)})
			}
			if replacing {
				m.session = append(m.session, entry{i, cells})
			}
			switch {
			case replacing && ch.Op == record.OpChange && !moved:
				// Already a member with these identifiers: the session carries it.
			case skipSame && prev != nil && slices.Equal(prev, cells):
				// Meta holds nothing of a row but its identifiers (and value),
				// which did not change: there is nothing to send.
			default:
				m.adds = append(m.adds, entry{i, cells})
			}
		}
	}
	return m
}

// operation is a membership request's kind.
type operation struct {
	method  string
	edge    string
	removal bool
	action  string // for messages: "add users to"
}

var (
	opAdd    = operation{http.MethodPost, "/users", false, "add users to"}
	opRemove = operation{http.MethodDelete, "/users", true, "remove users from"}
)

// errReplaceInProgress is Meta refusing /users while a replace session is open.
var errReplaceInProgress = errors.New("a replace session is open on the audience")

// send makes op's requests for entries, at most batch_size rows each, and
// records the rows Meta refused. It returns an error when a request failed in a
// way the engine should retry or split; a permanent refusal of a request fails
// its rows.
func (d *Destination) send(ctx context.Context, b *connector.Batch, op operation, entries []entry, out *outcome) error {
	what := fmt.Sprintf("%s audience %s", op.action, d.audience)
	scratch := make([]byte, 0, 1024)
	for lo := 0; lo < len(entries); lo += d.limits.BatchRecords {
		part := entries[lo:min(lo+d.limits.BatchRecords, len(entries))]
		body, js := d.schema.formBody(part, op.removal, nil, scratch)
		scratch = js[:0]
		resp, err := d.do(ctx, b, op.method, "/"+d.audience+op.edge, body)
		if err != nil {
			return fmt.Errorf("facebook: %s: %w", what, err)
		}
		if resp.Status != http.StatusOK {
			ferr := d.failure(what, resp)
			if e, ok := parseGraphError(resp.Body); ok && e.Code == 2650 && strings.Contains(e.UserTitle, "Replace In Progress") {
				return fmt.Errorf("%w: %v", errReplaceInProgress, ferr)
			}
			if !connector.IsPermanent(ferr) || connector.IsDivisible(ferr) {
				return ferr
			}
			out.request = ferr
			for _, e := range part {
				out.fail(e.row, ferr, false)
			}
			continue
		}
		d.tally(b, what, resp, part, op.removal, out)
	}
	return nil
}

// replaceRefusesDirect reports whether err is Meta refusing /users while the
// run's replace session is open; the session then carries the run alone.
func (d *Destination) replaceRefusesDirect(rs *replaceSession, err error) bool {
	if rs == nil || !errors.Is(err, errReplaceInProgress) {
		return false
	}
	if rs.refuseDirect() {
		d.log.Info("Meta refuses membership changes while a replace session is open: the session alone carries this run's rows")
	}
	return true
}

// do sends one membership request, paced by the usage headers.
func (d *Destination) do(ctx context.Context, b *connector.Batch, method, path string, body []byte) (*saas.Response, error) {
	ctx, err := d.usage.pace(ctx)
	if err != nil {
		return nil, err
	}
	seq, _ := ctx.Value(seqKey{}).(int64)
	defer d.usage.pacer.done(seq)
	return d.client.Do(ctx, b, saas.Request{
		Method: method, Path: path, Query: d.query(nil), Body: body,
		ContentType: "application/x-www-form-urlencoded",
	})
}

// query adds appsecret_proof to q when app_secret is set.
func (d *Destination) query(q url.Values) url.Values {
	if d.proof == "" {
		return q
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("appsecret_proof", d.proof)
	return q
}

// tally reads a successful answer: Meta's invalid entries are counted for the
// run (num_invalid_entries), and those its samples name fail with its reason.
func (d *Destination) tally(b *connector.Batch, what string, resp *saas.Response, part []entry, removal bool, out *outcome) {
	ans, err := parseUsersAnswer(resp.Body)
	if err != nil {
		// Meta took the request (200): its rows are applied.
		d.log.Warn("Meta's answer could not be read; its rows are taken as applied", "action", what, "error", err)
		return
	}
	invalid := int64(ans.NumInvalidEntries)
	if invalid <= 0 {
		return
	}
	b.Count("num_invalid_entries", invalid)
	named := d.schema.refused(part, removal, ans.samples())
	for k, reason := range named {
		out.fail(part[k].row, fmt.Errorf("facebook: %w: %s", errInvalidEntry, reason), true)
	}
	if rest := invalid - int64(len(named)); rest > 0 {
		d.log.Warn("Meta counted invalid entries it did not name: they are counted in num_invalid_entries, not failed",
			"action", what, "invalid", invalid, "named", len(named))
	}
}
