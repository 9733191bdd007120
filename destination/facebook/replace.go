package facebook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// replaceInFlight bounds the batches of a replace run in flight: the session's
// requests go one at a time (Meta applies a replace once every batch_seq up to
// the last has arrived, and does not document that they may come out of
// order), and a second batch is normalised meanwhile.
const replaceInFlight = 2

// replaceSession is a mirror sync's full resync: every row of the model goes to
// one usersreplace session, opened by PlanRun with an empty first batch and
// closed by FinishRun with an empty last one, and Meta swaps the audience's
// members for the session's then, and only then.
type replaceSession struct {
	id        int64
	estimated int64 // rows the session will carry
	planned   int64 // changes the run plans

	send_ sync.Mutex // held while a batch is sent: batch_seq follows arrival
	next  int64      // the batch_seq of the next batch; taken when Meta accepts it

	mu       sync.Mutex
	broken   error               // the session can no longer complete
	noDirect bool                // Meta refuses /users while the session is open
	invalid  map[string]struct{} // keys of rows failed for their own values
}

// PlanRun learns whether the run is a full resync; on a mirror sync it opens a
// replace session (batch 1, empty) so that the audience becomes exactly the
// model. Other modes resend every row with POST /users: they never take members
// away.
func (d *Destination) PlanRun(ctx context.Context, p connector.RunPlan) error {
	d.mu.Lock()
	d.planned, d.full = true, p.FullResync
	d.mu.Unlock()
	if !p.FullResync || d.mode != connector.ModeMirror {
		return nil
	}
	rs := &replaceSession{
		id: newSessionID(), estimated: p.Added + p.Changed, planned: p.Total(),
		next: 1, invalid: map[string]struct{}{},
	}
	if _, err := d.control(ctx, "open a replace session on audience "+d.audience, rs, false); err != nil {
		return err
	}
	d.mu.Lock()
	d.replace = rs
	d.mu.Unlock()
	d.log.Info("opened a replace session: the audience's members are swapped for the model's when the run completes",
		logSession, rs.id, "rows", rs.estimated)
	return nil
}

// FinishRun closes the replace session when every row of the run is in it (or
// failed for its own values, which cannot be in an audience): Meta then swaps
// the audience's members for the session's. Otherwise the session is left to
// expire, and the audience keeps its previous members.
func (d *Destination) FinishRun(ctx context.Context, r connector.RunResult) error {
	d.mu.Lock()
	rs := d.replace
	d.replace = nil
	d.mu.Unlock()
	if rs == nil {
		return nil
	}
	rs.mu.Lock()
	broken, invalid := rs.broken, int64(len(rs.invalid))
	rs.mu.Unlock()
	if broken == nil && r.Succeeded+r.Failed == rs.planned && r.Failed == invalid {
		if _, err := d.control(ctx, "complete the replace session on audience "+d.audience, rs, true); err != nil {
			return fmt.Errorf("%w: Meta keeps the audience's previous members (with this run's changes applied directly); run the sync with --full-resync again", err)
		}
		d.log.Info("replaced the audience's members with the model's", logSession, rs.id, "batches", rs.next-1)
		return nil
	}
	why := fmt.Sprintf("%d of %d changes failed", r.Failed-invalid, rs.planned)
	switch {
	case broken != nil:
		why = broken.Error()
	case r.Succeeded+r.Failed < rs.planned:
		why = fmt.Sprintf("%d of %d changes were not sent", rs.planned-r.Succeeded-r.Failed, rs.planned)
	}
	return connector.Permanent(fmt.Errorf("facebook: the full resync did not complete (%s), so replace session %d was not closed: audience %s keeps its previous members, with this run's changes applied directly; Meta abandons the session when it times out. Run the sync with --full-resync again once the failures are fixed",
		why, rs.id, d.audience))
}

// control sends the session's empty first or last batch, retrying what is worth
// retrying as the engine retries writes.
func (d *Destination) control(ctx context.Context, action string, rs *replaceSession, last bool) (*saas.Response, error) {
	rs.send_.Lock()
	defer rs.send_.Unlock()
	for attempt := 1; ; attempt++ {
		resp, err := d.sessionRequest(ctx, nil, rs, nil, last)
		switch {
		case err != nil:
			err = fmt.Errorf("facebook: %s: %w", action, err)
		case resp.Status == http.StatusOK:
			rs.next++
			return resp, nil
		default:
			e, _ := parseGraphError(resp.Body)
			if rs.resync(e) && attempt < 3 {
				continue
			}
			err = d.sessionFailure(action, resp, e)
		}
		if connector.IsPermanent(err) || ctx.Err() != nil || attempt >= d.limits.Attempts {
			return nil, err
		}
		wait := 250 * time.Millisecond << min(attempt-1, 6)
		if delay, ok := connector.RetryDelay(err); ok && delay > 0 {
			wait = delay
		}
		if wait > maxControlWait {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// newSessionID makes up a replace session's id: Meta takes the advertiser's,
// unique within the ad account.
var newSessionID = func() int64 { return rand.Int64N(1<<62) + 1 }

// maxControlWait is the longest a check or a session's control batch waits
// before retrying; the run fails rather than wait longer.
const maxControlWait = 5 * time.Minute

// sessionRequest posts entries to the session as its next batch.
func (d *Destination) sessionRequest(ctx context.Context, b *connector.Batch, rs *replaceSession, entries []entry, last bool) (*saas.Response, error) {
	sess := &session{ID: rs.id, Seq: rs.next, Last: last, Estimated: rs.estimated}
	body, _ := d.schema.formBody(entries, false, sess, nil)
	return d.do(ctx, b, http.MethodPost, "/"+d.audience+"/usersreplace", body)
}

// send adds a batch's rows to the session, one request at a time.
func (rs *replaceSession) send(ctx context.Context, d *Destination, b *connector.Batch, entries []entry, out *outcome) error {
	rs.send_.Lock()
	defer rs.send_.Unlock()
	what := fmt.Sprintf("add users to replace session %d of audience %s", rs.id, d.audience)
	if err := rs.err(); err != nil {
		for _, e := range entries {
			out.fail(e.row, err, false)
		}
		return nil
	}
	for lo := 0; lo < len(entries); lo += d.limits.BatchRecords {
		part := entries[lo:min(lo+d.limits.BatchRecords, len(entries))]
		for attempt := 1; ; attempt++ {
			resp, err := d.sessionRequest(ctx, b, rs, part, false)
			if err != nil {
				// Meta may have taken the batch: the next one carries the same
				// batch_seq, which Meta accepts again (or says it has, see resync).
				return fmt.Errorf("facebook: %s: %w", what, err)
			}
			if resp.Status == http.StatusOK {
				rs.next++
				d.tally(b, what, resp, part, false, out)
				break
			}
			e, _ := parseGraphError(resp.Body)
			if rs.resync(e) && attempt < 3 {
				continue
			}
			ferr := d.sessionFailure(what, resp, e)
			if !connector.IsPermanent(ferr) || connector.IsDivisible(ferr) {
				return ferr
			}
			if sessionEnded(e) {
				rs.mu.Lock()
				rs.broken = ferr
				rs.mu.Unlock()
			}
			out.request = ferr
			for _, e := range part {
				out.fail(e.row, ferr, false)
			}
			break
		}
	}
	return nil
}

var expectedBatchRE = regexp.MustCompile(`expected batch (\d+)`)

// resync moves the next batch_seq to where Meta is when it refused one for
// that: a batch_seq already received (an earlier attempt's answer was lost) or
// out of order. It reports whether the batch is worth sending again at once.
func (rs *replaceSession) resync(e graphError) bool {
	text := e.UserMsg + " " + e.Message
	switch {
	case strings.Contains(text, "was already received"):
		rs.next++
		return true
	case strings.Contains(text, "out of order"):
		if m := expectedBatchRE.FindStringSubmatch(text); m != nil {
			if n, err := strconv.ParseInt(m[1], 10, 64); err == nil && n > 0 && n != rs.next {
				rs.next = n
				return true
			}
		}
	}
	return false
}

// sessionEnded reports whether Meta says the session is over (timed out,
// superseded by another, or already applied): its later batches cannot land.
func sessionEnded(e graphError) bool {
	text := strings.ToLower(e.UserTitle + " " + e.UserMsg)
	return e.Code == 2650 && (strings.Contains(text, "timed out") || strings.Contains(text, "superseded") ||
		strings.Contains(text, "abandoned") || strings.Contains(text, "finished"))
}

// sessionFailure is failure with what a refused session batch means for the
// audience.
func (d *Destination) sessionFailure(action string, resp *saas.Response, e graphError) error {
	err := d.failure(action, resp)
	switch {
	case sessionEnded(e):
		return connector.Permanent(fmt.Errorf("%w: the replace session ended before the run did (Meta abandons one after about 90 minutes, or when another starts)", err))
	case e.Code == 2650 && strings.Contains(strings.ToLower(e.UserTitle), "in progress"):
		return connector.Permanent(fmt.Errorf("%w: another replace session is open on the audience: wait for it to finish or expire, then run --full-resync again", err))
	}
	return err
}

func (rs *replaceSession) err() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.broken
}

func (rs *replaceSession) directRefused() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.noDirect
}

// refuseDirect records that Meta refuses /users during the session; it reports
// whether that is news.
func (rs *replaceSession) refuseDirect() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	news := !rs.noDirect
	rs.noDirect = true
	return news
}

// recordInvalid remembers the rows of a batch that failed for their own values:
// a replace without them is still the model's audience.
func (rs *replaceSession) recordInvalid(b *connector.Batch, out *outcome) {
	if len(out.data) == 0 {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, row := range out.data {
		rs.invalid[strings.Clone(b.Changes[row].Key)] = struct{}{}
	}
}
