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
	estimated int64     // rows the session will carry
	planned   int64     // changes the run plans
	opened    time.Time // when its first batch was sent: Meta times it out from then

	send_ sync.Mutex // held while a batch is sent: batch_seq follows arrival
	next  int64      // the batch_seq of the next batch; taken when Meta accepts it

	mu       sync.Mutex
	broken   error // the session can no longer complete
	noDirect bool  // Meta refuses /users while the session is open
	// excused holds the keys of the rows whose final outcome is a failure the
	// replace may complete without (see outcome.excused): true for a change
	// deferred to the session, false for a row failed for its own values.
	excused map[string]bool
}

// replaceTimeout is how long Meta keeps a replace session open: about 90
// minutes (not documented; the simulator's default). replaceMargin is kept
// for the closing batch to arrive before then.
const (
	replaceTimeout = 90 * time.Minute
	replaceMargin  = 2 * time.Minute
)

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
		next: 1, excused: map[string]bool{}, opened: d.now(),
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
// failed for its own values, which cannot be in an audience, or failed though
// the session carries it): Meta then swaps the audience's members for the
// session's. Otherwise the session is left to expire, and the audience keeps
// its previous members. A cancelled run's session is left so too, at once: the
// replace is what the user stopped, and closing it could wait out Meta's
// throttling for an hour on a context Ctrl-C no longer reaches.
func (d *Destination) FinishRun(ctx context.Context, r connector.RunResult) error {
	d.mu.Lock()
	rs := d.replace
	d.replace = nil
	d.mu.Unlock()
	if rs == nil {
		return nil
	}
	rs.mu.Lock()
	broken, noDirect := rs.broken, rs.noDirect
	excused, deferred := int64(len(rs.excused)), 0
	for _, isDeferred := range rs.excused {
		if isDeferred {
			deferred++
		}
	}
	rs.mu.Unlock()
	applied := "with this run's changes applied directly"
	if noDirect {
		applied = "without the changes Meta refused to apply directly while the session was open: those rows are recorded as failed, and the next run sends them again (Meta takes them once the session times out)"
	}
	if r.Cancelled {
		if !noDirect {
			applied = "with the changes this run wrote before it was cancelled applied directly"
		}
		d.log.Info("the run was cancelled: the replace session is left open, and Meta abandons it when it times out",
			logSession, rs.id)
		return connector.Permanent(fmt.Errorf("facebook: the run was cancelled, so replace session %d was not closed: audience %s keeps its previous members, %s; Meta abandons the session when it times out. Run the sync with --full-resync again to replace the members",
			rs.id, d.audience, applied))
	}
	if broken == nil && r.Succeeded+r.Failed == rs.planned && r.Failed == excused {
		if _, err := d.control(ctx, "complete the replace session on audience "+d.audience, rs, true); err != nil {
			return fmt.Errorf("%w: Meta keeps the audience's previous members, %s; run the sync with --full-resync again", err, applied)
		}
		d.log.Info("replaced the audience's members with the model's", logSession, rs.id, "batches", rs.next-1)
		if deferred > 0 {
			d.log.Info("the replace applied the changes Meta refused directly during the session; their rows are recorded as failed, and the next run sends them again (which changes nothing)",
				logSession, rs.id, "changes", deferred)
		}
		return nil
	}
	why := fmt.Sprintf("%d of %d changes failed", r.Failed-excused, rs.planned)
	switch {
	case broken != nil:
		why = broken.Error()
	case r.Succeeded+r.Failed < rs.planned:
		why = fmt.Sprintf("%d of %d changes were not sent", rs.planned-r.Succeeded-r.Failed, rs.planned)
	}
	return connector.Permanent(fmt.Errorf("facebook: the full resync did not complete (%s), so replace session %d was not closed: audience %s keeps its previous members, %s; Meta abandons the session when it times out. Run the sync with --full-resync again once the failures are fixed",
		why, rs.id, d.audience, applied))
}

// control sends the session's empty first or last batch, retrying what is worth
// retrying as the engine retries writes. The last batch completes a whole run:
// Meta's throttling (estimated_time_to_regain_access is in minutes) is waited
// out for as long as the session stays open.
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
			if last && attempt > 1 && sessionFinished(e) {
				// An earlier attempt reached Meta but its answer did not reach
				// Sluice: only the last batch finishes a session, so the replace
				// is done.
				rs.next++
				return resp, nil
			}
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
		limit := maxControlWait
		if last {
			// Waiting is worth it while the session is open: the alternative is
			// to throw the whole run away.
			limit = max(limit, replaceTimeout-replaceMargin-d.now().Sub(rs.opened))
		}
		if wait > limit {
			if last {
				return nil, fmt.Errorf("%w (Meta asks to wait %s, but the replace session times out before then, about %.0f minutes after it opened)", err, wait.Round(time.Second), replaceTimeout.Minutes())
			}
			return nil, err
		}
		if last && wait > maxControlWait {
			d.log.Info("Meta throttles the ad account: waiting for it to close the replace session", logSession, rs.id, "wait", wait.Round(time.Second))
		}
		if err := d.sleep(ctx, wait); err != nil {
			return nil, err
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
	request := func(ctx context.Context, part []entry) (*saas.Response, error) {
		return rs.post(ctx, d, b, what, part)
	}
	for lo := 0; lo < len(entries); lo += d.limits.BatchRecords {
		part := entries[lo:min(lo+d.limits.BatchRecords, len(entries))]
		resp, err := request(ctx, part)
		if err != nil {
			if !connector.IsPermanent(err) || connector.IsDivisible(err) {
				return err
			}
			out.request = err
			for _, e := range part {
				out.fail(e.row, err, false)
			}
			continue
		}
		d.tally(ctx, b, what, resp, part, false, out, request)
	}
	return nil
}

// post sends entries as the session's next batch (send_ held). When Meta says
// the session ended, it is broken: its later batches cannot land.
func (rs *replaceSession) post(ctx context.Context, d *Destination, b *connector.Batch, what string, entries []entry) (*saas.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := d.sessionRequest(ctx, b, rs, entries, false)
		if err != nil {
			// Meta may have taken the batch: the next one carries the same
			// batch_seq, which Meta accepts again (or says it has, see resync).
			return nil, fmt.Errorf("facebook: %s: %w", what, err)
		}
		if resp.Status == http.StatusOK {
			rs.next++
			return resp, nil
		}
		e, _ := parseGraphError(resp.Body)
		if rs.resync(e) && attempt < 3 {
			continue
		}
		ferr := d.sessionFailure(what, resp, e)
		if sessionEnded(e) {
			rs.mu.Lock()
			rs.broken = ferr
			rs.mu.Unlock()
		}
		return nil, ferr
	}
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
		strings.Contains(text, "abandoned") || sessionFinished(e))
}

// sessionFinished reports whether Meta says the session received its last
// batch and was applied.
func sessionFinished(e graphError) bool {
	return e.Code == 2650 && strings.Contains(strings.ToLower(e.UserTitle+" "+e.UserMsg), "finished")
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

// settle takes in a Write's outcome (see Destination.settle): the batch's rows
// are excused or not by their latest Write alone, so that a row excused in an
// attempt the engine retried, and then written, does not stand for another
// row's failure.
func (rs *replaceSession) settle(b *connector.Batch, out *outcome, final bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.excused) > 0 {
		for i := range b.Changes {
			delete(rs.excused, b.Changes[i].Key)
		}
	}
	if !final {
		return
	}
	for _, row := range out.excused {
		rs.excused[strings.Clone(b.Changes[row].Key)] = out.deferred != nil && out.deferred[row]
	}
}
