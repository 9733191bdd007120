package facebook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// fullResync runs a mirror sync's full resync as the engine does: PlanRun, the
// batches (removals first), FinishRun with the outcome. It returns FinishRun's
// error and the rows that failed.
func fullResync(t *testing.T, d connector.Destination, removes []record.Change, rows []record.Change, per int) (error, int) {
	t.Helper()
	ctx := context.Background()
	var added, changed int64
	for _, ch := range rows {
		if ch.Op == record.OpAdd {
			added++
		} else {
			changed++
		}
	}
	plan := connector.RunPlan{Added: added, Changed: changed, Removed: int64(len(removes)), FullResync: true}
	require.NoError(t, d.(connector.RunPlanner).PlanRun(ctx, plan))
	require.LessOrEqual(t, d.Capabilities().MaxInFlight, 2, "a replace session's batches go one at a time")
	var succeeded, failed int64
	var mu sync.Mutex
	send := func(batch []record.Change) {
		err := d.Write(ctx, connector.NewBatch("s", "run-1", "b", batch, nil))
		mu.Lock()
		defer mu.Unlock()
		switch be := (*connector.BatchError)(nil); {
		case err == nil:
			succeeded += int64(len(batch))
		case asBatchError(err, &be):
			failed += int64(be.Len())
			succeeded += int64(len(batch) - be.Len())
		default:
			failed += int64(len(batch))
		}
	}
	if len(removes) > 0 {
		send(removes)
	}
	var wg sync.WaitGroup
	for lo := 0; lo < len(rows); lo += per {
		batch := rows[lo:min(lo+per, len(rows))]
		wg.Add(1)
		go func() { defer wg.Done(); send(batch) }()
	}
	wg.Wait()
	res := connector.RunResult{Succeeded: succeeded, Failed: failed}
	res.Complete = failed == 0 && succeeded == plan.Total()
	return d.(connector.Finisher).FinishRun(ctx, res), int(failed)
}

// A mirror sync's full resync makes the audience exactly the model: members
// nobody synced (uploaded by hand, or by another tool) leave it too. When Meta
// refuses /users while the session is open, the changes (3 removed, 4…40
// added) are applied by the replace alone, and their rows fail so that the
// next run sends them again: they could not be reported written before the
// session was complete.
func TestFullResyncReplacesTheAudience(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opts   sim.Options
		failed int
	}{
		"default":              {},
		"strict batch order":   {opts: sim.Options{StrictBatchOrder: true}},
		"duplicates refused":   {opts: sim.Options{RejectDuplicateBatch: true}},
		"no /users in session": {opts: sim.Options{RejectUsersDuringReplace: true}, failed: 38},
	} {
		t.Run(name, func(t *testing.T) {
			opts := tc.opts
			t.Parallel()
			tb := setup(t, opts)
			d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), func(c *facebook.Config) { c.BatchSize = 7 })
			require.NoError(t, first(write(d, []record.Change{person(1).add(), person(2).add(), person(3).add()})))
			stranger := sim.Member{Identifiers: map[string]string{"EMAIL": sim.HashValue("EMAIL", "someone@else.example")}}
			require.NoError(t, tb.sim.SeedMembers(audienceID, stranger))

			// 1 and 2 unchanged, 3 left the model, 4…40 are new.
			rows := []record.Change{person(1).changeTo(person(1)), person(2).changeTo(person(2))}
			want := []customer{person(1), person(2)}
			for n := 4; n <= 40; n++ {
				rows = append(rows, person(n).add())
				want = append(want, person(n))
			}
			err, failed := fullResync(t, d, []record.Change{person(3).remove()}, rows, 10)
			require.NoError(t, err)
			require.Equal(t, tc.failed, failed)
			tb.requireMembers(t, want...)
			sessions := tb.sim.Sessions(audienceID)
			var replace *sim.Session
			for i := range sessions {
				if sessions[i].Op == "replace" {
					replace = &sessions[i]
				}
			}
			require.NotNil(t, replace)
			require.Equal(t, sim.SessionComplete, replace.State)
			require.Equal(t, int64(39), replace.EstimatedTotal)
		})
	}
}

// Rows whose identifiers cannot be used fail, and the replace still completes
// without them: they could not be in the audience anyway.
func TestFullResyncCompletesWithoutUnusableRows(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	bad := person(2)
	bad.email, bad.phone = "nobody", nil
	err, failed := fullResync(t, d, nil, []record.Change{person(1).add(), bad.add(), person(3).add()}, 10)
	require.NoError(t, err)
	require.Equal(t, 1, failed)
	tb.requireMembers(t, person(1), person(3))
}

// A full resync with failures (here Meta's errors on every retry of a batch)
// does not close its session: the audience keeps its previous members, with
// the run's changes applied directly, and the run says to resync again.
func TestIncompleteFullResyncKeepsTheAudience(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(1).add(), person(2).add()})))
	stranger := sim.Member{Identifiers: map[string]string{"EMAIL": sim.HashValue("EMAIL", "someone@else.example")}}
	require.NoError(t, tb.sim.SeedMembers(audienceID, stranger))

	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 2, Changed: 1, Removed: 1, FullResync: true}))
	require.NoError(t, first(write(d, []record.Change{person(2).remove()})))
	require.NoError(t, first(write(d, []record.Change{person(3).add(), person(1).changeTo(person(1))})))
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 100})
	err, _, _ := write(d, []record.Change{person(4).add()})
	require.Error(t, err)
	tb.sim.SetFaults(simkit.Faults{})

	err = d.FinishRun(ctx, connector.RunResult{Succeeded: 3, Failed: 1})
	require.ErrorContains(t, err, "the full resync did not complete (1 of 4 changes failed)")
	require.ErrorContains(t, err, "keeps its previous members")
	require.ErrorContains(t, err, "--full-resync again")
	members := tb.members()
	require.Len(t, members, 3, "1, 3 and the stranger: 2 was removed directly, 3 added directly")
	require.Contains(t, members, tuple(stranger.Identifiers))
	require.Contains(t, members, tupleOf(t, person(3)))
	require.NotContains(t, members, tupleOf(t, person(2)))
}

// Another replace session open on the audience fails the run before any row is
// sent, saying what to do.
func TestFullResyncWaitsForAnotherReplace(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{RejectConcurrentReplace: true})
	tb.post(t, "/"+audienceID+"/usersreplace", url.Values{"payload": {`{"schema":["EMAIL"],"data":[]}`}, "session": {`{"session_id":7,"batch_seq":1}`}})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	err := d.PlanRun(context.Background(), connector.RunPlan{Added: 1, FullResync: true})
	require.ErrorContains(t, err, "another replace session is open on the audience: wait for it to finish or expire, then run --full-resync again")
	require.True(t, connector.IsPermanent(err))
}

// Upsert and insert syncs never take members away: their full resync sends
// every row again with /users.
func TestFullResyncOfUpsertAddsEveryRow(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	stranger := sim.Member{Identifiers: map[string]string{"EMAIL": sim.HashValue("EMAIL", "someone@else.example")}}
	require.NoError(t, tb.sim.SeedMembers(audienceID, stranger))
	require.NoError(t, d.PlanRun(context.Background(), connector.RunPlan{Changed: 2, FullResync: true}))
	require.Equal(t, 8, d.Capabilities().MaxInFlight)
	require.NoError(t, first(write(d, []record.Change{person(1).changeTo(person(1)), person(2).changeTo(person(2))})))
	require.NoError(t, d.FinishRun(context.Background(), connector.RunResult{Complete: true, Succeeded: 2}))
	require.Len(t, tb.members(), 3)
	for _, s := range tb.sim.Sessions(audienceID) {
		require.NotEqual(t, "replace", s.Op)
	}
}

// When Meta refuses /users while the run's replace session is open, a change
// the session alone carries is not reported written: if the run then fails to
// complete the session, nothing of it reached the audience, and the next run
// must send it again. FinishRun says so instead of claiming the changes were
// applied directly.
func TestChangesRefusedDuringTheSessionAreNotReportedWritten(t *testing.T) {
	t.Parallel()
	clock := simtest.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	tb := setup(t, sim.Options{RejectUsersDuringReplace: true, Now: clock.Now})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(1).add(), person(2).add()})))

	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 2, Changed: 1, Removed: 1, FullResync: true}))
	notApplied := "not applied yet: Meta refuses changes to audience " + audienceID + " while replace session"
	err, _, _ := write(d, []record.Change{person(2).remove()})
	require.Len(t, conformance.FailedRows(t, err), 1)
	require.Contains(t, conformance.FailedRows(t, err)[0], notApplied)
	err, _, _ = write(d, []record.Change{person(3).add(), person(1).changeTo(person(1))})
	rows := conformance.FailedRows(t, err)
	require.Len(t, rows, 1, "person 1 is unchanged: nothing to apply")
	require.Contains(t, rows[0], notApplied)
	require.Contains(t, rows[0], "the next run sends it again")
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 100})
	err, _, _ = write(d, []record.Change{person(4).add()})
	require.Error(t, err)
	tb.sim.SetFaults(simkit.Faults{})

	err = d.FinishRun(ctx, connector.RunResult{Succeeded: 1, Failed: 3})
	require.ErrorContains(t, err, "the full resync did not complete (1 of 4 changes failed)")
	require.ErrorContains(t, err, "without the changes Meta refused to apply directly while the session was open")
	require.NotContains(t, err.Error(), "applied directly;")
	tb.requireMembers(t, person(1), person(2))

	// The next run sends the failed rows again; Meta takes them once the
	// abandoned session has timed out.
	clock.Advance(91 * time.Minute)
	require.NoError(t, first(write(d, []record.Change{person(2).remove(), person(3).add(), person(4).add()})))
	tb.requireMembers(t, person(1), person(3), person(4))
}

// A changed row whose value changed, or that was never added (its identifiers
// were unusable before), goes to the audience directly on a full resync too:
// the session applies nothing unless the run completes it.
func TestFullResyncSendsChangedRowsDirectly(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(1).add()})))
	unusable := person(2)
	unusable.email, unusable.phone = "nobody", nil

	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Changed: 2, FullResync: true}))
	err, exchanges, _ := write(d, []record.Change{person(1).changeTo(person(1)), unusable.changeTo(person(2))})
	require.NoError(t, err)
	require.Len(t, exchanges, 2, "person 2 directly, then both into the session")
	require.Equal(t, "POST "+tb.srv.URL+"/v21.0/"+audienceID+"/users", exchanges[0].Request.Line)
	form, perr := url.ParseQuery(string(exchanges[0].Request.Body))
	require.NoError(t, perr)
	require.Contains(t, form.Get("payload"), tupleOf(t, person(2))["EMAIL"])
	require.NotContains(t, form.Get("payload"), tupleOf(t, person(1))["EMAIL"], "person 1 is already a member as it is")
	tb.requireMembers(t, person(1), person(2))
}

// Meta's custom-audience throttling (80003) asks to wait in minutes: the
// closing batch of a full resync waits it out, for as long as the session
// stays open, rather than throw the whole run away.
func TestFinishRunWaitsOutLongThrottling(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	var throttled atomic.Int32
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if _, last := sessionOf(body); !last || throttled.Add(1) > 1 {
			return false
		}
		throttle(w, 10)
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	ft := newFakeTime(d)
	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 1, FullResync: true}))
	require.NoError(t, first(write(d, []record.Change{person(1).add()})))
	require.NoError(t, d.FinishRun(ctx, connector.RunResult{Complete: true, Succeeded: 1}))
	require.Equal(t, 10*time.Minute, ft.longest(), "the wait Meta asked for")
	require.Equal(t, sim.SessionComplete, replaceSession(t, tb).State)
	tb.requireMembers(t, person(1))
}

// A throttling that lasts beyond the session's timeout is not waited out:
// FinishRun says why the audience keeps its members.
func TestFinishRunDoesNotWaitPastTheSessionTimeout(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if _, last := sessionOf(body); !last {
			return false
		}
		throttle(w, 10)
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	ft := newFakeTime(d)
	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 1, FullResync: true}))
	require.NoError(t, first(write(d, []record.Change{person(1).add()})))
	ft.Advance(80 * time.Minute)
	err := d.FinishRun(ctx, connector.RunResult{Complete: true, Succeeded: 1})
	require.ErrorContains(t, err, "Meta asks to wait 10m0s, but the replace session times out before then")
	require.ErrorContains(t, err, "--full-resync again")
	require.Zero(t, ft.longest())
}

// The closing batch's answer is lost, but Meta received it: the retry (same
// batch_seq) is told the session is finished, which means the replace was
// applied.
func TestLostAnswerToTheClosingBatch(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	var lost atomic.Int32
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if _, last := sessionOf(body); !last || lost.Add(1) > 1 {
			return false
		}
		tb.sim.ServeHTTP(httptest.NewRecorder(), r) // Meta applies it…
		conn, _, err := w.(http.Hijacker).Hijack()  // …and the answer never comes
		require.NoError(t, err)
		conn.Close()
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	newFakeTime(d)
	stranger := sim.Member{Identifiers: map[string]string{"EMAIL": sim.HashValue("EMAIL", "someone@else.example")}}
	require.NoError(t, tb.sim.SeedMembers(audienceID, stranger))
	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 1, FullResync: true}))
	require.NoError(t, first(write(d, []record.Change{person(1).add()})))
	require.NoError(t, d.FinishRun(ctx, connector.RunResult{Complete: true, Succeeded: 1}))
	require.Equal(t, int32(2), lost.Load(), "the closing batch was sent again")
	tb.requireMembers(t, person(1))
}

// A row is excused (failed for its own values) by its last attempt only: a row
// Meta counted invalid in an attempt the engine retried, and accepted on the
// retry, does not stand for another row's failure, which would close the
// session without that row and drop its person from the audience.
func TestFinishRunCountsEachRowByItsLastAttempt(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Reject: optedOut(tupleOf(t, person(1))["EMAIL"])})
	var failedOnce atomic.Int32
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if seq, _ := sessionOf(body); seq != 2 || failedOnce.Add(1) > 1 {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"Service temporarily unavailable","code":2,"is_transient":true}}`)
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(3).add()})))

	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 3, FullResync: true}))
	batch := []record.Change{person(1).add(), person(2).add()}
	err, _, _ := write(d, batch)
	require.Error(t, err, "the session's batch failed: the engine retries the whole batch")
	require.NotErrorAs(t, err, new(*connector.BatchError))
	tb.sim.SetReject(nil)
	require.NoError(t, first(write(d, batch)))
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 100})
	err, _, _ = write(d, []record.Change{person(3).changeTo(person(3))})
	require.Error(t, err)
	tb.sim.SetFaults(simkit.Faults{})

	err = d.FinishRun(ctx, connector.RunResult{Succeeded: 2, Failed: 1})
	require.ErrorContains(t, err, "the full resync did not complete (1 of 3 changes failed)")
	require.NotEqual(t, sim.SessionComplete, replaceSession(t, tb).State)
	tb.requireMembers(t, person(1), person(2), person(3))
}

// Rows among invalid entries Meta counted but did not name, which pinning
// down could not tell apart (here 100 of 200 re-keyed rows, one sample an
// answer), fail with the count, but the replace session carries them: Meta
// takes the valid ones, and the replace must not take them out of the
// audience. Only the rows Meta named invalid are left out of it.
func TestFullResyncKeepsValidRowsAmongUnidentifiedInvalidEntries(t *testing.T) {
	t.Parallel()
	const n = 200
	moved := func(i int) customer { c := person(i); c.email = "Moved" + itoa(i) + "@example.com"; return c }
	rejected := map[string]bool{}
	for i := 0; i < n; i += 2 {
		rejected[tupleOf(t, moved(i))["EMAIL"]] = true
	}
	tb := setup(t, sim.Options{MaxInvalidSamples: 1})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	var adds, changes []record.Change
	var valid []customer
	for i := range n {
		adds = append(adds, person(i).add())
		changes = append(changes, person(i).changeTo(moved(i)))
		if i%2 == 1 {
			valid = append(valid, moved(i))
		}
	}
	require.NoError(t, first(write(d, adds)))
	tb.sim.SetReject(func(_ string, ids map[string]string) string {
		if rejected[ids["EMAIL"]] {
			return "EMAIL: refused"
		}
		return ""
	})

	err, failed := fullResync(t, d, nil, changes, n)
	require.NoError(t, err, "every failure is excused: the rows Meta refused, and the rows the session carries")
	require.Greater(t, failed, n/2, "valid rows failed as unidentified")
	require.Equal(t, sim.SessionComplete, replaceSession(t, tb).State)
	tb.requireMembers(t, valid...)
}

// A changed row whose previous identifiers Meta refuses in the removal fails,
// and is not added directly (it would be in the audience twice), but the
// replace session carries its new identifiers: the replace leaves out the old
// ones anyway.
func TestFullResyncCarriesRowsWhoseRemovalWasRefused(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(1).add(), person(2).add()})))
	old := tupleOf(t, person(1))["EMAIL"]
	tb.sim.SetReject(func(_ string, ids map[string]string) string {
		if ids["EMAIL"] == old {
			return "EMAIL: refused"
		}
		return ""
	})
	moved := person(1)
	moved.email, moved.phone = "moved1@example.com", "+1 650 555 9999"

	ctx := context.Background()
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Changed: 2, FullResync: true}))
	err, _, _ := write(d, []record.Change{person(1).changeTo(moved), person(2).changeTo(person(2))})
	rows := conformance.FailedRows(t, err)
	require.Len(t, rows, 1)
	require.Contains(t, rows[0], "Meta counted the row among the invalid entries: EMAIL: refused")
	require.NoError(t, d.FinishRun(ctx, connector.RunResult{Succeeded: 1, Failed: 1}))
	tb.requireMembers(t, moved, person(2))
}

// A run cancelled before it finished (Ctrl-C) does not close its replace
// session, even when every row reached it: FinishRun's context no longer
// listens to Ctrl-C, and closing could wait out Meta's throttling for an
// hour. The audience keeps its previous members, with the changes written
// directly, and the run says to resync again.
func TestCancelledFullResyncLeavesTheSessionOpen(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	var closing atomic.Int32
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if _, last := sessionOf(body); !last {
			return false
		}
		closing.Add(1)
		throttle(w, 60)
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	ft := newFakeTime(d)
	stranger := sim.Member{Identifiers: map[string]string{"EMAIL": sim.HashValue("EMAIL", "someone@else.example")}}
	require.NoError(t, tb.sim.SeedMembers(audienceID, stranger))
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, d.PlanRun(ctx, connector.RunPlan{Added: 1, FullResync: true}))
	require.NoError(t, first(write(d, []record.Change{person(1).add()})))
	cancel() // Ctrl-C after the last batch, before FinishRun: the engine passes what follows
	err := d.FinishRun(context.WithoutCancel(ctx), connector.RunResult{Cancelled: true, Succeeded: 1})
	require.ErrorContains(t, err, "the run was cancelled, so replace session")
	require.ErrorContains(t, err, "keeps its previous members, with the changes this run wrote before it was cancelled applied directly")
	require.ErrorContains(t, err, "--full-resync again")
	require.Zero(t, ft.longest(), "nothing waited for")
	require.Zero(t, closing.Load(), "the session was not closed")
	require.NotEqual(t, sim.SessionComplete, replaceSession(t, tb).State)
	members := tb.members()
	require.Len(t, members, 2)
	require.Contains(t, members, tuple(stranger.Identifiers))
	require.Contains(t, members, tupleOf(t, person(1)))
}

// throttle answers Meta's custom-audience throttling: code 80003 in an HTTP
// 400, with the wait in the business-use-case header, in minutes.
func throttle(w http.ResponseWriter, minutes int) {
	w.Header().Set("X-Business-Use-Case-Usage", `{"`+account+`":[{"type":"custom_audience","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":`+strconv.Itoa(minutes)+`}]}`)
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `{"error":{"message":"(#80003) There have been too many calls to this ad-account.","type":"OAuthException","code":80003,"error_subcode":2446079,"fbtrace_id":"x"}}`)
}

// replaceSession is the audience's replace session.
func replaceSession(t *testing.T, tb *testBundle) sim.Session {
	t.Helper()
	for _, s := range tb.sim.Sessions(audienceID) {
		if s.Op == "replace" {
			return s
		}
	}
	t.Fatal("no replace session")
	return sim.Session{}
}

func asBatchError(err error, be **connector.BatchError) bool {
	b, ok := err.(*connector.BatchError)
	*be = b
	return ok
}
