package facebook_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit"
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
// nobody synced (uploaded by hand, or by another tool) leave it too.
func TestFullResyncReplacesTheAudience(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]sim.Options{
		"default":              {},
		"strict batch order":   {StrictBatchOrder: true},
		"duplicates refused":   {RejectDuplicateBatch: true},
		"no /users in session": {RejectUsersDuringReplace: true},
	} {
		t.Run(name, func(t *testing.T) {
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
			require.Zero(t, failed)
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

func asBatchError(err error, be **connector.BatchError) bool {
	b, ok := err.(*connector.BatchError)
	*be = b
	return ok
}
