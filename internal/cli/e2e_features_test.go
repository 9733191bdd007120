package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/demo"
)

func withMode(mode string) string {
	return strings.Replace(usersProject, "mode: mirror", "mode: "+mode, 1)
}

func eventTypes(p *project) map[string]int {
	out := map[string]int{}
	for _, e := range p.recv.Events() {
		out[e.Type]++
	}
	return out
}

func TestModesSendTheirChangeTypes(t *testing.T) {
	change := `update users set plan = 'x' where id <= 10;
		delete from users where id > 990;
		insert into users select i, 'n' || i, 'free', 0 from range(2001, 2006) t(i);`
	cases := map[string]struct {
		first  [3]int
		second [3]int
		events map[string]int
	}{
		"insert": {first: [3]int{1000, 0, 0}, second: [3]int{5, 0, 0}, events: map[string]int{"added": 1005}},
		"update": {first: [3]int{0, 0, 0}, second: [3]int{0, 0, 0}, events: map[string]int{}},
		"upsert": {first: [3]int{1000, 0, 0}, second: [3]int{5, 10, 0}, events: map[string]int{"added": 1005, "changed": 10}},
		"mirror": {first: [3]int{1000, 0, 0}, second: [3]int{5, 10, 10}, events: map[string]int{"added": 1005, "changed": 10, "removed": 10}},
	}
	for mode, tc := range cases {
		t.Run(mode, func(t *testing.T) {
			p := newProject(t, withMode(mode), usersSetup)
			run, code := p.syncJSON("users_to_hook")
			require.Equal(t, 0, code)
			require.Equal(t, tc.first, counts(run))
			p.sql(change)
			run, code = p.syncJSON("users_to_hook")
			require.Equal(t, 0, code)
			require.Equal(t, tc.second, counts(run))
			require.Equal(t, tc.events, eventTypes(p))
		})
	}
}

// Update mode sends rows that changed since they were synced by this sync: seed its
// baseline with a full resync, then only changes go.
func TestUpdateModeAfterAFullResync(t *testing.T) {
	p := newProject(t, withMode("update"), usersSetup)
	run, code := p.syncJSON("users_to_hook", "--full-resync")
	require.Equal(t, 0, code)
	require.Equal(t, 1000, num64(run, "succeeded"))
	p.sql(`update users set plan = 'x' where id <= 3; insert into users values (3000, 'n', 'free', 0)`)
	run, _ = p.syncJSON("users_to_hook")
	require.Equal(t, [3]int{0, 3, 0}, counts(run))
}

func TestFullResyncSendsEveryRowAgain(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	_, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code)
	p.sql(`delete from users where id = 1`)
	run, code := p.syncJSON("users_to_hook", "--full-resync")
	require.Equal(t, 0, code)
	require.Equal(t, true, run["full_resync"])
	require.Equal(t, [3]int{0, 999, 1}, counts(run), "rows already synced go again as changes, and mirror still removes")
	require.Equal(t, map[string]int{"added": 1000, "changed": 999, "removed": 1}, eventTypes(p))
	run, _ = p.syncJSON("users_to_hook")
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

func TestPlanSendsNothing(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	plan := p.planJSON("users_to_hook")
	require.Equal(t, [3]int{1000, 0, 0}, counts(plan))
	require.Equal(t, 0, num64(plan, "invalid"))
	require.Len(t, plan["samples"], 3)
	sample := plan["samples"].([]any)[0].(map[string]any)
	require.Equal(t, "added", sample["type"])
	require.Contains(t, sample["fields"], "plan_tier")
	require.Equal(t, int64(0), p.recv.Requests())
	require.Equal(t, [3]int{1000, 0, 0}, counts(p.planJSON("users_to_hook")), "a plan changes nothing")
	out, _, code := p.sluice("runs", "users_to_hook")
	require.Equal(t, 0, code)
	require.Contains(t, out, "no runs yet", "a plan is not a run")

	out, _, code = p.sluice("plan", "users_to_hook")
	require.Equal(t, 0, code)
	require.Contains(t, out, "would send 1,000 added, 0 changed, 0 removed")
}

func TestTestRowLeavesTheBaselineAlone(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	out, errOut, code := p.sluice("test-row", "users_to_hook", "7")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "row 7 (added)")
	require.Contains(t, out, "> POST "+p.recv.URL)
	require.Contains(t, out, `"key": "7"`)
	require.Contains(t, out, "< HTTP 200 OK")
	require.Contains(t, out, "Authorization: [REDACTED]")
	require.Equal(t, map[string]string{"email": `"user7@example.com"`, "plan_tier": `"pro"`}, p.contents()["7"])
	require.Equal(t, [3]int{1000, 0, 0}, counts(p.planJSON("users_to_hook")), "the baseline did not move")
	runs, _, _ := p.sluice("runs")
	require.Contains(t, runs, "no runs yet")

	p.recv.Reject("8", "no such mailbox")
	out, _, code = p.sluice("test-row", "users_to_hook", "8", "--json")
	require.Equal(t, 1, code)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, "failed", res["status"])
	require.Equal(t, "no such mailbox", res["error"])

	_, errOut, code = p.sluice("test-row", "users_to_hook", "999999")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no row with primary key "999999"`)
}

func TestSecretsNeverAppear(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	p.recv.Reject("3", "rejected")
	var all strings.Builder
	run := func(args ...string) {
		out, errOut, _ := p.sluice(append([]string{"-vv"}, args...)...)
		all.WriteString(out)
		all.WriteString(errOut)
	}
	run("validate")
	run("plan", "users_to_hook")
	run("sync", "users_to_hook")
	run("sync", "users_to_hook", "--json")
	last := lastRun(t, p)["run_id"].(string)
	run("run", "show", last, "--failed", "--full")
	run("run", "show", last, "--key", "3", "--json")
	run("test-row", "users_to_hook", "5")
	text := all.String()
	require.Contains(t, text, "[REDACTED]", "the Authorization header is shown, redacted")
	for _, secret := range []string{"tok-abcdef-0123456789", hookSecret, strings.TrimPrefix(hookSecret, "whsec_")} {
		require.NotContains(t, text, secret)
	}
	// Nor does the state directory hold them.
	filepath.Walk(filepath.Join(p.dir, ".sluice"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		require.NotContains(t, string(b), "tok-abcdef-0123456789", path)
		return nil
	})
}

func TestValidateReportsEveryProblem(t *testing.T) {
	bad := `
sources:
  warehouse:
    type: duckdb
    path: warehouse.duckdb
models:
  users:
    source: warehose
    table: users
    primary_key: id
destinations:
  hook:
    type: webhook
    url: http://127.0.0.1:1/x
    batch_sise: 10
    max_in_flight: 500
    headers: {Authorization: "Bearer ${env:SURELY_UNSET_VAR}"}
syncs:
  s:
    model: users
    destination: hook
    mode: mirorr
`
	p := newProject(t, bad, "")
	out, errOut, code := p.sluice("validate")
	require.Equal(t, 2, code, out)
	for _, want := range []string{
		"sluice.yaml:8:13", "warehose",
		"sluice.yaml:15:5", "batch_sise", `did you mean "batch_size"`,
		"SURELY_UNSET_VAR",
		"sluice.yaml:16:5: destinations.hook.max_in_flight: must be between 1 and 64",
		"sluice.yaml:22:11", `unknown mode "mirorr"`,
	} {
		require.Contains(t, errOut, want)
	}

	good := newProject(t, usersProject, usersSetup)
	out, _, code = good.sluice("validate")
	require.Equal(t, 0, code)
	require.Contains(t, out, "is valid")
}

func TestValidateChecksModelColumns(t *testing.T) {
	bad := strings.Replace(strings.Replace(usersProject, "{from: plan, to: plan_tier}", "{from: plna, to: plan_tier}", 1), "primary_key: id", "primary_key: user_id", 1)
	p := newProject(t, bad, usersSetup)
	_, errOut, code := p.sluice("validate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `sluice.yaml:10:18: models.users.primary_key: model users has no column "user_id"`)
	require.Contains(t, errOut, `sluice.yaml:27:9: syncs.users_to_hook.mappings[1].from: syncs.users_to_hook maps column "plna"`)
	require.Contains(t, errOut, "the columns are id, email, plan, unmapped_score")
	out, _, code := p.sluice("validate", "--offline")
	require.Equal(t, 0, code, "the file itself is fine")
	require.Contains(t, out, "is valid")
	require.Equal(t, int64(0), p.recv.Requests())
}

// A secret that reaches a database's error message (here, inside a model's SQL) is
// removed from what validate, plan and sync print and from the run log.
func TestSecretsInErrorsAreRedacted(t *testing.T) {
	tmpl := strings.Replace(usersProject, "table: users", `query: "select id, email, plan from users where email = '${env:TEST_HOOK_TOKEN}' and nope"`, 1)
	p := newProject(t, tmpl, usersSetup)
	var all strings.Builder
	for _, args := range [][]string{{"validate"}, {"plan", "users_to_hook"}, {"sync", "users_to_hook"}, {"sync", "users_to_hook", "--json"}, {"runs", "--json"}} {
		out, errOut, code := p.sluice(args...)
		if args[0] != "runs" {
			require.NotEqual(t, 0, code, "%v should fail", args)
		}
		all.WriteString(out + errOut)
	}
	require.Contains(t, all.String(), "nope", "the database's error is shown")
	require.NotContains(t, all.String(), "tok-abcdef-0123456789")
	require.Contains(t, all.String(), "[REDACTED]")
}

func TestUnknownSyncIsAUsageError(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	for _, args := range [][]string{{"sync", "nope"}, {"plan", "nope"}, {"test-row", "nope", "1"}, {"runs", "nope"}} {
		_, errOut, code := p.sluice(args...)
		require.Equal(t, 2, code, "%v", args)
		require.Contains(t, errOut, `no sync named "nope"`)
		require.Contains(t, errOut, "the syncs are users_to_hook")
	}
	var out, errb strings.Builder
	code := Main([]string{"--config", p.dir + "/missing.yaml", "plan", "x"}, &out, &errb)
	require.Equal(t, 2, code)
	require.Contains(t, errb.String(), "no project file at")
}

// Relative paths in models mean the project file's directory, wherever sluice runs.
func TestRelativePathsResolveAgainstTheProject(t *testing.T) {
	tmpl := strings.Replace(usersProject, "table: users", `query: "select * from read_csv('users.csv')"`, 1)
	p := newProject(t, tmpl, "")
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "users.csv"), []byte("id,email,plan\n1,a@x,free\n2,b@x,pro\n3,c@x,team\n"), 0o644))
	elsewhere := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "users.csv"), []byte("id,email,plan\n9,z@x,free\n"), 0o644))
	t.Chdir(elsewhere)
	require.Equal(t, [3]int{3, 0, 0}, counts(p.planJSON("users_to_hook")))
	wd, _ := os.Getwd()
	require.Equal(t, elsewhere, wd, "the caller's directory is restored")
}

// The README's first command: the demo runs end to end with nothing set up.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errb strings.Builder
	code := Main([]string{"demo", "--dir", dir}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	text := out.String()
	for _, want := range []string{
		"1. Build a sample warehouse",
		"2. First sync: every profile is new",
		"5,000 added, 0 changed, 0 removed",
		"4,995 succeeded, 5 failed",
		"4. Second sync: only what changed is sent",
		"35 added, 219 changed, 20 removed",
		"5. The debugger: why was a row refused?",
		"email domain example.invalid does not accept mail",
		"> POST http://127.0.0.1:",
		"< HTTP 200 OK",
		"Webhook-Signature: v1,",
		"6. What teams do with it",
		"users_to_hubspot         succeeded: 5,010 sent (0 failed)",
		"accounts_to_hubspot      succeeded: 300 sent (0 failed)",
		"at_risk_to_slack         succeeded: 8 sent (0 failed)",
		"big_spenders_audience    succeeded: 1,406 sent (0 failed)",
		"districts_to_salesforce  succeeded: 40 sent (0 failed)",
		"events_to_mixpanel       succeeded: 60,300 sent (0 failed)",
		"users_to_mixpanel        succeeded: 5,010 sent (0 failed)",
		"big_spenders_audience    1 added, 1 removed: succeeded: 2 sent",
		"Now HubSpot holds 5,010 contacts and 300 companies; Slack #general 8 messages; the audience",
		"1,406 members; Salesforce 40 accounts; Mixpanel 60,300 events and 5,010 profiles.",
	} {
		require.Contains(t, text, want)
	}
	require.Regexp(t, `users_to_hubspot .* 0 answered 429; [\d,]+ changes/s; the API's limits \(1,900/s sustained\) did not slow this run`, text)
	require.Regexp(t, `at_risk_to_slack .* 0 answered 429, [\d.]+m?s waiting on limits; 1 changes/s of a 1/s ceiling: \d+% efficiency`, text, "Slack's one message a second binds")
	require.NotContains(t, text, "whsec_", "the signing secret is never printed")
	for _, secret := range demo.Credentials() {
		require.NotContains(t, text, secret, "no credential is printed")
	}
	// What it leaves behind works without the demo's process.
	out.Reset()
	code = Main([]string{"--config", filepath.Join(dir, "sluice.yaml"), "runs"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Equal(t, 2, strings.Count(out.String(), "profiles_to_crm"), "two runs: %s", out.String())
	require.Contains(t, out.String(), "users_to_hubspot")
}

// Reading the run log needs no credentials: `runs` and `run show` load a project
// whose secrets are not set, while `sync` still refuses it.
func TestRunLogReadsWithoutSecrets(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code, "%v", run)
	t.Setenv("TEST_HOOK_TOKEN", "")
	os.Unsetenv("TEST_HOOK_TOKEN")
	out, errOut, code := p.sluice("runs")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "users_to_hook")
	out, errOut, code = p.sluice("run", "show", run["run_id"].(string))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "succeeded")
	_, errOut, code = p.sluice("sync", "users_to_hook")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "TEST_HOOK_TOKEN is not set")
}

// A mapping's from_template renders a Liquid template against the row; a template
// naming a column the model lacks is a configuration problem found before sending,
// and a row its template cannot render is invalid, not sent, and not removed.
func TestTemplateMappings(t *testing.T) {
	tmpl := strings.Replace(usersProject, "      - {from: email, to: email}", "      - {from: email, to: email}\n      - {from_template: \"{{ row.plan | upcase }} plan for {{ row.email | split: '@' | first }}\", to: label}\n      - {from_template: \"{% if row.plan == 'broken' %}{{ 1 | divided_by: 0 }}{% endif %}ok\", to: check}", 1)
	p := newProject(t, tmpl, usersSetup)
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code, "%v", run)
	got := p.contents()
	require.Equal(t, `"TEAM plan for user2"`, got["2"]["label"], "%v", got["2"])

	// A row whose template fails is invalid, with its key and the reason, and mirror
	// mode does not take it for removed: the destination keeps what it had.
	p.sql("update users set plan = 'broken' where id = 7")
	run, _ = p.syncJSON("users_to_hook")
	require.EqualValues(t, 1, run["invalid"], "%v", run)
	require.EqualValues(t, 0, run["planned"].(map[string]any)["removed"], "%v", run)
	shown, _, _ := p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, shown, "division by zero")
	row7, ok := p.contents()["7"]
	require.True(t, ok, "row 7 is still in the destination")
	require.NotContains(t, row7["plan_tier"], "broken")

	bad := strings.Replace(tmpl, "row.plan | upcase", "row.paln | upcase", 1)
	q := newProject(t, bad, usersSetup)
	out, errOut, code := q.sluice("sync", "users_to_hook")
	require.NotEqual(t, 0, code)
	require.Contains(t, out+errOut, "mappings[1].from_template: reads row.paln, which model users does not return")
	require.Zero(t, q.recv.Requests(), "nothing is sent")
}
