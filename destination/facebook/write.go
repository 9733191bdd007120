package facebook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// excused are the failed rows a replace is still the model's audience
	// with: rows failed for their own values (not usable as identifiers, or
	// named by Meta as invalid entries), which cannot be in an audience, and
	// rows the session carries though they failed: among invalid entries Meta
	// counted without naming them (it took the valid ones), or whose change
	// Meta refused while the run's replace session is open (see deferred). The
	// others failed with a request.
	excused []int
	// deferred marks the rows whose direct change Meta refused because the
	// run's replace session is open: only the session carries them, so they
	// are applied only if the run completes it (see Write).
	deferred []bool
	// refused marks the rows whose identifiers Meta named among the invalid
	// entries of an addition (in its samples, or pinned down): they cannot be
	// in an audience, so a replace session need not carry them.
	refused []bool
	invalid int64 // rows failed as Meta's invalid entries, for num_invalid_entries
	request error // a permanent failure of a whole request
}

// fail records a row's failure unless it failed already; it reports whether it
// did now.
func (o *outcome) fail(row int, err error, excused bool) bool {
	if o.failed[row] {
		return false
	}
	o.failed[row] = true
	o.be.Fail(row, err)
	if excused {
		o.excused = append(o.excused, row)
	}
	return true
}

// invalidEntry fails a row Meta named among the invalid entries of a request:
// an addition's, or a removal's (which says nothing of the identifiers the row
// has now).
func (o *outcome) invalidEntry(row int, reason string, removal bool) {
	if !removal {
		if o.refused == nil {
			o.refused = make([]bool, len(o.failed))
		}
		o.refused[row] = true
	}
	if o.fail(row, fmt.Errorf("facebook: %w: %s", errInvalidEntry, reason), true) {
		o.invalid++
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

// carried drops the entries of the rows Meta named invalid in an addition:
// whatever else failed, a row goes into the replace session, which is the
// audience the run leaves behind. A row that failed for a request, or among
// invalid entries Meta did not name (most of which it took), and is left out
// would be taken out of the audience by the replace.
func (o *outcome) carried(entries []entry) []entry {
	if o.refused == nil {
		return entries
	}
	out := entries[:0]
	for _, e := range entries {
		if !o.refused[e.row] {
			out = append(out, e)
		}
	}
	return out
}

// deferRows marks the rows of entries whose direct change was not applied.
func (o *outcome) deferRows(entries []entry) {
	if o.deferred == nil {
		o.deferred = make([]bool, len(o.failed))
	}
	for _, e := range entries {
		o.deferred[e.row] = true
	}
}

// Write applies a batch: removals first (a changed row's previous identifiers,
// a mirror sync's removed rows), then additions, then, on a mirror sync's full
// resync, the rows of the replace session. Rows whose identifiers cannot be
// used fail with the reason and are not sent; rows Meta counts as invalid
// entries fail with Meta's reason (see tally).
//
// A row is reported written only when its change is applied: a row whose
// change Meta refused to apply directly while the run's replace session is
// open fails, saying so, even though the session carries it. The engine
// records a written row in the baseline at once, and the session applies
// nothing unless the run completes it: were such a row reported written, a run
// that fails to complete its session would lose the change for good, since
// later runs see nothing to send. Failed, it is sent again by the next run.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	skipSame := d.planned && !d.full
	rs := d.replace
	d.mu.Unlock()

	out := &outcome{failed: make([]bool, len(b.Changes))}
	m := d.plan(b, rs != nil, skipSame, out)
	defer func() { d.settle(b, rs, out, err) }()
	// On a full resync the changes also go to the audience directly, so that a
	// run that never completes its session (killed, failed) leaves the audience
	// with them, as the baseline records.
	direct := rs == nil || !rs.directRefused()
	if len(m.removes) > 0 {
		if !direct {
			out.deferRows(m.removes)
		} else if err := d.send(ctx, b, opRemove, m.removes, out); err != nil {
			if !d.refusedDuringReplace(rs, err, out) {
				return err
			}
			direct = false
		}
		// A changed row whose previous identifiers could not be removed keeps
		// them: adding the new ones too would leave it in the audience twice.
		// The session carries it all the same: a replace leaves out its
		// previous identifiers whatever became of them.
		m.adds = out.keep(m.adds)
	}
	if len(m.adds) > 0 {
		if !direct {
			out.deferRows(m.adds)
		} else if err := d.send(ctx, b, opAdd, m.adds, out); err != nil && !d.refusedDuringReplace(rs, err, out) {
			return err
		}
	}
	if rs != nil && len(m.session) > 0 {
		if err := rs.send(ctx, d, b, out.carried(m.session), out); err != nil {
			return err
		}
	}
	if out.deferred != nil {
		refused := fmt.Errorf("facebook: not applied yet: Meta refuses changes to audience %s while replace session %d is open; the session carries this change and applies it if the full resync completes, and the next run sends it again either way", d.audience, rs.id)
		for row, deferred := range out.deferred {
			if deferred && !out.fail(row, refused, true) {
				out.deferred[row] = false // it failed for another reason first
			}
		}
	}
	return out.result(len(b.Changes))
}

// settle takes in the outcome of a Write once the engine will not retry it
// (nil or a BatchError: the engine retries or splits a batch on any other
// error, and then the rows' outcome is that of a later Write): Meta's invalid
// entries are counted once per row, and the replace session learns which rows
// failed excused.
func (d *Destination) settle(b *connector.Batch, rs *replaceSession, out *outcome, err error) {
	var be *connector.BatchError
	final := err == nil || errors.As(err, &be)
	if final && out.invalid > 0 {
		b.Count("num_invalid_entries", out.invalid)
	}
	if rs != nil {
		rs.settle(b, out, final)
	}
}

// result is Write's answer: nil, the error of a request that failed every row
// of the batch, or a BatchError naming the failed rows.
func (o *outcome) result(n int) error {
	if o.be.Len() == 0 {
		return nil
	}
	if o.request != nil && o.be.Len() == n && len(o.excused) == 0 {
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
			if (replacing || skipSame) && prev != nil && slices.Equal(prev, cells) {
				// Meta holds nothing of a row but its identifiers (and value),
				// which did not change: there is nothing to send directly (on a
				// full resync the session carries it). A row whose value changed,
				// or that was never added (unusable before), is sent: the session
				// applies nothing unless the run completes it.
				continue
			}
			m.adds = append(m.adds, entry{i, cells})
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
var errReplaceInProgress = errors.New("a replace session is open on the audience, and Meta refuses membership changes until it completes or times out (about 90 minutes)")

// replaceRefusal is Meta refusing a /users request because a replace session
// is open on the audience: the request's entries and those after it were not
// applied.
type replaceRefusal struct {
	err    error
	unsent []entry
}

func (r *replaceRefusal) Error() string { return r.err.Error() }
func (r *replaceRefusal) Unwrap() error { return r.err }

// replaceInProgress reports whether e is Meta refusing /users during a replace.
func replaceInProgress(e graphError) bool {
	return e.Code == 2650 && strings.Contains(e.UserTitle, "Replace In Progress")
}

// post sends entries in one request and returns Meta's answer when it took
// them (200), else the failure in the engine's terms.
type post func(ctx context.Context, entries []entry) (*saas.Response, error)

// send makes op's requests for entries, at most batch_size rows each, and
// records the rows Meta refused. It returns an error when a request failed in a
// way the engine should retry or split, or Meta refused it during a replace (a
// *replaceRefusal); a permanent refusal of a request fails its rows.
func (d *Destination) send(ctx context.Context, b *connector.Batch, op operation, entries []entry, out *outcome) error {
	what := fmt.Sprintf("%s audience %s", op.action, d.audience)
	scratch := make([]byte, 0, 1024)
	request := func(ctx context.Context, part []entry) (*saas.Response, error) {
		body, js := d.schema.formBody(part, op.removal, nil, scratch)
		scratch = js[:0]
		resp, err := d.do(ctx, b, op.method, "/"+d.audience+op.edge, body)
		if err != nil {
			return nil, fmt.Errorf("facebook: %s: %w", what, err)
		}
		if resp.Status != http.StatusOK {
			ferr := d.failure(what, resp)
			if e, ok := parseGraphError(resp.Body); ok && replaceInProgress(e) {
				return nil, &replaceRefusal{err: fmt.Errorf("%w: %v", errReplaceInProgress, ferr)}
			}
			return nil, ferr
		}
		return resp, nil
	}
	for lo := 0; lo < len(entries); lo += d.limits.BatchRecords {
		part := entries[lo:min(lo+d.limits.BatchRecords, len(entries))]
		resp, err := request(ctx, part)
		var refusal *replaceRefusal
		switch {
		case errors.As(err, &refusal):
			refusal.unsent = entries[lo:]
			return refusal
		case err != nil && (!connector.IsPermanent(err) || connector.IsDivisible(err)):
			return err
		case err != nil:
			out.request = err
			for _, e := range part {
				out.fail(e.row, err, false)
			}
			continue
		}
		d.tally(ctx, b, what, resp, part, op.removal, out, request)
	}
	return nil
}

// refusedDuringReplace reports whether err is Meta refusing /users while the
// run's replace session is open; the rows not applied then are deferred to the
// session (see Write).
func (d *Destination) refusedDuringReplace(rs *replaceSession, err error, out *outcome) bool {
	var refusal *replaceRefusal
	if rs == nil || !errors.As(err, &refusal) {
		return false
	}
	if rs.refuseDirect() {
		d.log.Info("Meta refuses membership changes while the replace session is open: this run's changes are carried by the session alone, and fail until it completes so that the next run sends them again",
			logSession, rs.id)
	}
	out.deferRows(refusal.unsent)
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
		Method: method, Path: path, Body: body,
		ContentType: "application/x-www-form-urlencoded",
	})
}

// maxPinRequests bounds the requests spent pinning down the invalid entries of
// one answer that its samples did not name (see tally).
const maxPinRequests = 32

// suspects are rows among which Meta counted invalid entries it did not name.
type suspects struct {
	entries []entry
	invalid int64
}

// pinning is what is left for pinning down one answer's invalid entries: the
// requests it may still make and, once it stopped, why.
type pinning struct {
	left    int
	stopped string
}

// tally reads a successful answer: the rows Meta counted among the invalid
// entries fail, with Meta's reason. Meta names them in invalid_entry_samples,
// but samples only a few (10, as seen): when it counted more than its samples
// name, the rows left unnamed are sent again in halves (adding or removing a
// member twice changes nothing) until each half's answer names its invalid
// entries, holds none, or holds nothing else. Rows still unidentified after
// maxPinRequests requests, or once a request to pin them down failed in any
// way, fail with the count: a row Meta refused is never reported written.
// Meta took the request: nothing that happens while pinning fails the batch,
// which the engine would then send again whole.
func (d *Destination) tally(ctx context.Context, b *connector.Batch, what string, resp *saas.Response, part []entry, removal bool, out *outcome, send post) {
	ans, err := parseUsersAnswer(resp.Body)
	if err != nil {
		// Meta took the request (200): its rows are applied.
		d.log.Warn("Meta's answer could not be read; its rows are taken as applied", "action", what, "error", err)
		return
	}
	s, ok := d.named(part, removal, ans, out)
	if !ok {
		return
	}
	p := &pinning{left: maxPinRequests}
	d.pin(ctx, s, removal, out, send, p)
	if p.stopped != "" {
		d.log.Warn("Meta counted more invalid entries than its samples name, and Sluice could not pin them all down: the rows left unidentified fail with the count",
			"action", what, "invalid", int64(ans.NumInvalidEntries), "reason", p.stopped)
	}
}

// named fails the rows of part that Meta's answer names as invalid entries and
// returns the others, when Meta counted invalid entries among them too.
func (d *Destination) named(part []entry, removal bool, ans usersAnswer, out *outcome) (suspects, bool) {
	invalid := int64(ans.NumInvalidEntries)
	if invalid <= 0 {
		return suspects{}, false
	}
	names := d.schema.refused(part, removal, ans.samples())
	for k, reason := range names {
		out.invalidEntry(part[k].row, reason, removal)
	}
	rest := invalid - int64(len(names))
	if rest <= 0 {
		return suspects{}, false
	}
	s := suspects{invalid: rest}
	for k, e := range part {
		if _, ok := names[k]; !ok {
			s.entries = append(s.entries, e)
		}
	}
	return s, true
}

// pin finds the invalid entries among s by sending its halves again.
func (d *Destination) pin(ctx context.Context, s suspects, removal bool, out *outcome, send post, p *pinning) {
	if s.invalid >= int64(len(s.entries)) {
		for _, e := range s.entries {
			out.invalidEntry(e.row, "Meta gave no reason (its answers name only a sample of the invalid entries)", removal)
		}
		return
	}
	half := len(s.entries) / 2
	var found int64
	for i, h := range [][]entry{s.entries[:half], s.entries[half:]} {
		if i == 1 && found >= s.invalid {
			return // the first half held them all
		}
		rest := suspects{s.entries[i*half:], s.invalid - found}
		if p.stopped == "" && p.left <= 0 {
			p.stopped = "pinning them down took too many requests"
		}
		if p.stopped != "" {
			d.unidentified(rest, p.stopped, out)
			return
		}
		p.left--
		resp, err := send(ctx, h)
		var ans usersAnswer
		if err == nil {
			ans, err = parseUsersAnswer(resp.Body)
		}
		if err != nil {
			// Refused, throttled, cut off or unreadable alike: the rows were
			// applied but for the invalid ones, and retrying the batch would
			// send them all again (throttling waits in minutes, longer than
			// the engine's retries wait) for nothing better.
			p.stopped = "the request to pin them down failed: " + err.Error()
			d.unidentified(rest, p.stopped, out)
			return
		}
		found += int64(ans.NumInvalidEntries)
		if sub, ok := d.named(h, removal, ans, out); ok {
			d.pin(ctx, sub, removal, out, send, p)
		}
	}
}

// unidentified fails the rows of s: Meta counted invalid entries among them
// without naming which. They are applied but for those, and are sent again by
// the next run. They are not refused (see outcome.carried): most of them are
// valid, and a replace session carries them.
func (d *Destination) unidentified(s suspects, why string, out *outcome) {
	err := fmt.Errorf("facebook: %w: Meta counted %d of %d rows sent with this one as invalid entries without naming them, and Sluice could not tell which (%s); check the row's identifiers: it is sent again on the next run",
		errInvalidEntry, s.invalid, len(s.entries), why)
	failed := int64(0)
	for _, e := range s.entries {
		if out.fail(e.row, err, true) {
			failed++
		}
	}
	out.invalid += min(failed, s.invalid)
}
