package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSyncSendsOnlyWhatChanged(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)

	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code)
	require.Equal(t, "succeeded", run["status"])
	require.Equal(t, [3]int{1000, 0, 0}, counts(run))
	require.Equal(t, 1000, num64(run, "rows_read"))
	require.Equal(t, 1000, num64(run, "succeeded"))
	require.Equal(t, 0, num64(run, "failed"))
	require.Equal(t, 0, num64(run, "invalid"))
	require.NotEmpty(t, run["run_id"])
	require.Equal(t, "users_to_hook", run["sync"])
	require.Contains(t, run, "duration_ms")
	got := p.contents()
	require.Len(t, got, 1000)
	require.Equal(t, map[string]string{"email": `"user7@example.com"`, "plan_tier": `"pro"`}, got["7"])

	// Nothing changed: nothing is sent.
	reqs := p.recv.Requests()
	run, code = p.syncJSON("users_to_hook")
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
	require.Equal(t, reqs, p.recv.Requests(), "an unchanged model sends no request")

	// One update, one delete, one insert, and a change to a column no mapping uses.
	p.sql(`update users set plan = 'enterprise' where id = 7;
	       delete from users where id = 8;
	       insert into users values (5000, 'new@example.com', 'free', 0);
	       update users set unmapped_score = unmapped_score + 1;`)
	run, code = p.syncJSON("users_to_hook")
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{1, 1, 1}, counts(run))
	got = p.contents()
	require.Len(t, got, 1000)
	require.Equal(t, `"enterprise"`, got["7"]["plan_tier"])
	require.NotContains(t, got, "8")
	require.Contains(t, got, "5000")

	// The events follow the contract: previous on changed, last fields on removed.
	events := p.recv.Events()
	byKey := map[string]string{}
	for _, e := range events[len(events)-3:] {
		b, _ := json.Marshal(e)
		byKey[e.Key] = string(b)
	}
	require.JSONEq(t, `{"type":"changed","key":"7","fields":{"email":"user7@example.com","plan_tier":"enterprise"},"previous":{"email":"user7@example.com","plan_tier":"pro"}}`, byKey["7"])
	require.JSONEq(t, `{"type":"removed","key":"8","fields":{"email":"user8@example.com","plan_tier":"team"}}`, byKey["8"])
	require.JSONEq(t, `{"type":"added","key":"5000","fields":{"email":"new@example.com","plan_tier":"free"}}`, byKey["5000"])
}

func TestInvalidRowsAreCountedAndNeverSent(t *testing.T) {
	p := newProject(t, usersProject, usersSetup+`
		insert into users values (null, 'nokey@example.com', 'free', 0);
		insert into users values (10, 'dup@example.com', 'free', 0);
		insert into users values (2000, 'a@example.com', 'free', 0), (2000, 'b@example.com', 'pro', 0);`)
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code, "invalid rows do not fail a run")
	require.Equal(t, "succeeded", run["status"])
	require.Equal(t, 5, num64(run, "invalid"), "one null key and two keys carried by two rows each")
	require.Equal(t, [3]int{999, 0, 0}, counts(run))
	got := p.contents()
	require.NotContains(t, got, "10")
	require.NotContains(t, got, "2000")

	out, _, code := p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Equal(t, 0, code)
	require.Contains(t, out, "primary key is null (row 1001 of the model")
	require.Contains(t, out, "row 10: invalid: 2 rows share this primary key")
	require.Contains(t, out, "row 2000: invalid: 2 rows share this primary key")

	plan := p.planJSON("users_to_hook")
	require.Equal(t, 5, num64(plan, "invalid"))
	require.Equal(t, [3]int{0, 0, 0}, counts(plan))

	// Once the duplicate is gone, key 10 is synced.
	p.sql(`delete from users where email = 'dup@example.com'`)
	run, _ = p.syncJSON("users_to_hook")
	require.Equal(t, [3]int{1, 0, 0}, counts(run))
	require.Contains(t, p.contents(), "10")
}

func TestRejectedRowsAreRetriedOnTheNextRun(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	p.recv.Reject("42", "email bounced")
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, 999, num64(run, "succeeded"))
	require.Equal(t, 1, num64(run, "failed"))
	require.NotContains(t, p.contents(), "42")

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "42")
	require.Contains(t, out, "row 42: added failed: email bounced")
	require.Contains(t, out, "POST "+p.recv.URL)
	require.Contains(t, out, `"failed"`)

	// The model did not change, but the rejected row is sent again.
	p.recv.Accept("42")
	run, code = p.syncJSON("users_to_hook")
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{1, 0, 0}, counts(run))
	require.Contains(t, p.contents(), "42")
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	p.recv.FailNext(2, 429, "0")
	p.recv.FailNext(1, 503, "")
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 1000, num64(run, "succeeded"))
	require.Equal(t, 3, num64(run, "retries"))
	require.Equal(t, 2, num64(run, "rate_limited"))
	require.Equal(t, 13, num64(run, "requests"))
	require.Len(t, p.contents(), 1000)
}

func TestExhaustedRetriesFailRowsAndKeepTheBaseline(t *testing.T) {
	p := newProject(t, strings.Replace(usersProject, "batch_size: 100", "batch_size: 20", 1), usersSetup)
	p.recv.FailNext(1000, 500, "0")
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Equal(t, 1000, num64(run, "failed"))
	require.Contains(t, run["error"], "batches in a row failed")
	// 50 batches of 3 attempts would be 150 requests; the run stops after a few batches fail in a row.
	require.LessOrEqual(t, p.recv.Requests(), int64(2*4*3), "the run stops instead of hammering a failing destination")

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--failed", "--limit", "0")
	require.Equal(t, 1000, strings.Count(out, "\nrow "), "every row has an outcome")

	// The baseline did not move: the next run sends every row again.
	p.recv.ClearFailures()
	run, code = p.syncJSON("users_to_hook")
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{1000, 0, 0}, counts(run))
	require.Len(t, p.contents(), 1000)
}
