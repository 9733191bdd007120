package cli

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	hssim "github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/simkit"
)

// hubspotProject is a project whose destination is the HubSpot simulator.
type hubspotProject struct {
	*project
	sim *hssim.Server
	url string

	rejected rejections // by email
}

const hsToken = "pat-na1-e2e-0123456789abcdef"

// newHubSpotProject writes sluice.yaml from tmpl, where {{URL}} is the simulator's
// address and {{MODE}} the sync's mode, and runs setup against the warehouse. The
// token is in HUBSPOT_TOKEN; the account has the plan_tier property the mappings use.
func newHubSpotProject(t *testing.T, tmpl, mode, setup string, opts hssim.Options, wrap ...func(http.Handler) http.Handler) *hubspotProject {
	t.Helper()
	p := &hubspotProject{}
	opts.Tokens = []string{hsToken}
	opts.KeepBodies = true
	opts.Reject = func(object string, props map[string]string) string {
		return p.rejected.reason(props["email"])
	}
	p.sim = hssim.New(opts)
	require.NoError(t, p.sim.AddProperty("contacts", hssim.Property{Name: "plan_tier", Label: "Plan tier", Type: "string"}))
	p.url = serve(t, p.sim, wrap...)
	t.Setenv("HUBSPOT_TOKEN", hsToken)
	p.project = projectAt(t, tmpl, setup, "{{URL}}", p.url, "{{MODE}}", mode)
	return p
}

// crm is what HubSpot holds: email → the synced properties.
func (p *hubspotProject) crm() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range p.sim.Records("contacts") {
		out[r.Properties["email"]] = map[string]string{"firstname": r.Properties["firstname"], "plan_tier": r.Properties["plan_tier"]}
	}
	return out
}

// model is what the warehouse holds, in the same shape.
func (p *hubspotProject) model() map[string]map[string]string {
	p.t.Helper()
	db, err := sql.Open("duckdb", p.warehouse)
	require.NoError(p.t, err)
	defer db.Close()
	rows, err := db.Query(`select email, coalesce(name, ''), coalesce(plan, '') from users`)
	require.NoError(p.t, err)
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var email, name, plan string
		require.NoError(p.t, rows.Scan(&email, &name, &plan))
		out[email] = map[string]string{"firstname": name, "plan_tier": plan}
	}
	require.NoError(p.t, rows.Err())
	return out
}

// batchRequests counts the writes the simulator received (not Check's reads).
func (p *hubspotProject) batchRequests() int {
	n := 0
	for _, r := range p.sim.Log().Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

const hubspotYAML = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  users: {source: warehouse, table: users, primary_key: id}
destinations:
  crm:
    type: hubspot
    access_token: ${env:HUBSPOT_TOKEN}
    tier: professional
    base_url: {{URL}}
syncs:
  users_to_hubspot:
    model: users
    destination: crm
    object: contacts
    id_property: email
    mode: {{MODE}}
    mappings:
      - {from: email, to: email}
      - {from: name, to: firstname}
      - {from: plan, to: plan_tier}
`

const hubspotSetup = `
create table users as
select i as id, 'user' || i || '@example.com' as email, 'User ' || i as name,
       (['free','pro','team'])[1 + (i % 3)::int] as plan
from range(1, 1001) t(i);
`

// The CRM ends up as the model says in every mode, run after run: rows changed
// and removed in the model between runs are updated and archived (mirror), or
// left alone where the mode does not send them.
func TestSyncToHubSpot(t *testing.T) {
	const changes = `
		update users set plan = 'enterprise' where id <= 10;
		update users set name = null where id = 11;
		delete from users where id between 990 and 995;
		insert into users values (5000, 'new1@example.com', 'New', 'free'), (5001, 'new2@example.com', 'New', 'pro');`
	for _, mode := range []string{"insert", "upsert", "mirror"} {
		t.Run(mode, func(t *testing.T) {
			p := newHubSpotProject(t, hubspotYAML, mode, hubspotSetup, hssim.Options{})
			run, code := p.syncJSON("users_to_hubspot")
			require.Equal(t, 0, code, "%v", run)
			require.Equal(t, 1000, num64(run, "succeeded"))
			require.Equal(t, 10, num64(run, "requests"), "ten batches of 100")
			require.Equal(t, p.model(), p.crm())
			require.Equal(t, "pro", p.crm()["user1@example.com"]["plan_tier"])

			before := p.crm()
			p.sql(changes)
			run, code = p.syncJSON("users_to_hubspot")
			require.Equal(t, 0, code, "%v", run)
			got, model := p.crm(), p.model()
			switch mode {
			case "mirror":
				require.Equal(t, [3]int{2, 11, 6}, counts(run))
				require.Equal(t, model, got)
				require.Len(t, p.sim.Archived("contacts"), 6)
			case "upsert":
				require.Equal(t, [3]int{2, 11, 0}, counts(run))
				for email, props := range model {
					require.Equal(t, props, got[email], email)
				}
				require.Len(t, got, 1002, "upsert leaves removed rows in HubSpot")
			case "insert":
				require.Equal(t, [3]int{2, 0, 0}, counts(run))
				require.Equal(t, before["user1@example.com"], got["user1@example.com"], "insert does not update")
				require.Equal(t, model["new1@example.com"], got["new1@example.com"])
				require.Len(t, got, 1002)
			}
			if mode != "insert" {
				require.Empty(t, got["user11@example.com"]["firstname"], "null clears the property")
			}

			run, code = p.syncJSON("users_to_hubspot")
			require.Equal(t, 0, code)
			require.Equal(t, [3]int{0, 0, 0}, counts(run))
		})
	}

	t.Run("update", func(t *testing.T) {
		p := newHubSpotProject(t, hubspotYAML, "update", hubspotSetup, hssim.Options{})
		// The contacts exist in HubSpot already (created by hand or another tool).
		var inputs []string
		for i := 1; i <= 1000; i++ {
			inputs = append(inputs, fmt.Sprintf(`{"idProperty":"email","id":"user%d@example.com","properties":{"firstname":"Old"}}`, i))
			if len(inputs) == 100 {
				req := httptest.NewRequest(http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", strings.NewReader(`{"inputs":[`+strings.Join(inputs, ",")+`]}`))
				req.Header.Set("Authorization", "Bearer "+hsToken)
				rec := httptest.NewRecorder()
				p.sim.ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				inputs = nil
			}
		}
		run, code := p.syncJSON("users_to_hubspot", "--full-resync")
		require.Equal(t, 0, code, "%v", run)
		require.Equal(t, p.model(), p.crm())
		p.sql(changes)
		run, code = p.syncJSON("users_to_hubspot")
		require.Equal(t, 0, code, "%v", run)
		require.Equal(t, [3]int{0, 11, 0}, counts(run), "update sends changed rows only")
		got := p.crm()
		require.Len(t, got, 1000, "update creates nothing")
		require.Equal(t, "enterprise", got["user10@example.com"]["plan_tier"])
		require.Equal(t, "", got["user11@example.com"]["firstname"])
		require.NotContains(t, got, "new1@example.com")
	})
}

// A record HubSpot refuses fails alone, recorded with HubSpot's message and the
// exchange that carried it, and is sent again (and written) on the next run.
func TestHubSpotPartialFailureIsRetriedNextRun(t *testing.T) {
	p := newHubSpotProject(t, hubspotYAML, "upsert", hubspotSetup+`
		update users set email = 'not-an-email' where id = 7;`, hssim.Options{})
	p.rejected.set("user42@example.com", "Contacts from example.com need approval")
	run, code := p.syncJSON("users_to_hubspot")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, 998, num64(run, "succeeded"))
	require.Equal(t, 2, num64(run, "failed"))
	require.Equal(t, 10, num64(run, "requests"), "the refused records did not fail their batches")
	require.NotContains(t, p.crm(), "user42@example.com")

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "42")
	require.Contains(t, out, "row 42: added failed: hubspot: upsert contacts: VALIDATION_ERROR: Contacts from example.com need approval")
	require.Contains(t, out, "POST "+p.url+"/crm/v3/objects/contacts/batch/upsert")
	out, _, _ = p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, out, "row 7: added failed: hubspot: upsert contacts: VALIDATION_ERROR: Property values were not valid")
	require.Contains(t, out, "INVALID_EMAIL")
	require.NotContains(t, out, hsToken, "the token never reaches the run log")

	p.rejected.set("user42@example.com", "")
	p.sql(`update users set email = 'user7@example.com' where id = 7`)
	run, code = p.syncJSON("users_to_hubspot")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, [3]int{2, 0, 0}, counts(run), "the failed rows go again, the model unchanged otherwise")
	require.Equal(t, p.model(), p.crm())
}

// Throttling and server errors are retried within the run, paced by HubSpot's
// Retry-After, and the run ends with every row written.
func TestHubSpotRetriesThrottlingAndServerErrors(t *testing.T) {
	var p *hubspotProject
	var once sync.Once
	// The faults start with the first batch request (Check retries its own reads).
	faultsOnFirstWrite := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				once.Do(func() { p.sim.SetFaults(simkit.Faults{Force429: 1, Fail5xx: 2}) })
			}
			next.ServeHTTP(w, r)
		})
	}
	p = newHubSpotProject(t, hubspotYAML, "upsert", hubspotSetup, hssim.Options{}, faultsOnFirstWrite)
	run, code := p.syncJSON("users_to_hubspot")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 1000, num64(run, "succeeded"))
	require.Equal(t, 3, num64(run, "retries"))
	require.GreaterOrEqual(t, num64(run, "rate_limited"), 1)
	require.Equal(t, p.model(), p.crm())
}

// A sync killed with SIGKILL in the middle of sending loses no contact: the next
// run sends what HubSpot did not acknowledge, and upserting by email makes the
// batches sent twice harmless.
func TestHubSpotKilledSyncLosesNothing(t *testing.T) {
	tmpl := strings.Replace(hubspotYAML, "    tier: professional\n", "    max_in_flight: 4\n", 1)
	p := newHubSpotProject(t, tmpl, "upsert", strings.Replace(hubspotSetup, "range(1, 1001)", "range(1, 20001)", 1),
		// A fast account, so that the run is cut by the kill rather than by pacing.
		hssim.Options{PerInterval: 100_000, Interval: 10 * time.Second})
	p.sim.SetFaults(simkit.Faults{Latency: 20 * time.Millisecond})
	cmd := exec.Command(os.Args[0], "--config", filepath.Join(p.dir, "sluice.yaml"), "sync", "users_to_hubspot", "--json")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for p.sim.Counters().Requests.Load() < 2+60 {
		require.True(t, time.Now().Before(deadline), "the sync did not get going")
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // requests the simulator was still answering finish
	delivered := len(p.sim.Records("contacts"))
	require.Less(t, delivered, 20000, "the kill came before the end")

	p.sim.SetFaults(simkit.Faults{})
	run, code := p.syncJSON("users_to_hubspot")
	require.Equal(t, 0, code, "%v", run)
	sentAgain := num64(run, "succeeded") - (20000 - delivered)
	require.GreaterOrEqual(t, sentAgain, 0)
	require.LessOrEqual(t, sentAgain, 4*100, "at most max_in_flight batches of 100 are sent twice")
	got := p.crm()
	require.Len(t, got, 20000, "no contact is lost, none is duplicated")
	require.Equal(t, p.model(), got)

	out, _, _ := p.sluice("runs", "users_to_hubspot")
	require.NotContains(t, out, "running")
	run, _ = p.syncJSON("users_to_hubspot")
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

// Configuration HubSpot cannot take fails with a clear message before any batch
// request reaches it.
func TestHubSpotBadConfigFailsBeforeSending(t *testing.T) {
	cases := map[string]struct {
		edit     func(string) string
		unsetEnv bool
		code     int
		want     []string
	}{
		"unknown property": {
			edit: func(y string) string { return strings.Replace(y, "to: plan_tier", "to: plan_teir", 1) },
			code: 1,
			want: []string{`destination crm: hubspot: sync users_to_hubspot: maps a column to property "plan_teir", which contacts does not have in HubSpot (did you mean "plan_tier"?)`, "create the property in HubSpot"},
		},
		"read-only property": {
			edit: func(y string) string { return strings.Replace(y, "to: firstname", "to: hs_email_domain", 1) },
			code: 1,
			want: []string{`property "hs_email_domain" of contacts, which is read-only in HubSpot`},
		},
		"id property that is not unique": {
			edit: func(y string) string { return strings.Replace(y, "id_property: email", "id_property: firstname", 1) },
			code: 1,
			want: []string{`id_property "firstname" is not a unique property of contacts`, "the unique properties of contacts are email"},
		},
		"unknown object": {
			edit: func(y string) string { return strings.Replace(y, "object: contacts", "object: contact_s", 1) },
			code: 1,
			want: []string{`HubSpot has no object "contact_s"`},
		},
		"wrong tier": {
			edit: func(y string) string { return strings.Replace(y, "tier: professional", "tier: pro", 1) },
			code: 2,
			want: []string{"destinations.crm.tier", `unknown tier "pro": use one of free, starter, professional, enterprise`},
		},
		"batch size above HubSpot's": {
			edit: func(y string) string {
				return strings.Replace(y, "tier: professional", "tier: professional\n    batch_size: 500", 1)
			},
			code: 2,
			want: []string{"destinations.crm.batch_size", "must be between 1 and 100"},
		},
		"rate limit above the tier": {
			edit: func(y string) string {
				return strings.Replace(y, "tier: professional", "tier: free\n    rate_limit: {requests: 150, per: 10s}", 1)
			},
			code: 2,
			want: []string{"destinations.crm.rate_limit.requests", "more than HubSpot (free tier) allows (100 per 10s)"},
		},
		"missing token": {
			edit: func(y string) string { return strings.Replace(y, "    access_token: ${env:HUBSPOT_TOKEN}\n", "", 1) },
			code: 2,
			want: []string{"destinations.crm.access_token", "required key is missing: add it (A private app's access token"},
		},
		"token variable not set": {
			unsetEnv: true,
			code:     2,
			want:     []string{"destinations.crm.access_token", "HUBSPOT_TOKEN"},
		},
		"no id property": {
			edit: func(y string) string { return strings.Replace(y, "    id_property: email\n", "", 1) },
			code: 2, // found by the project loader, as sluice validate finds it
			want: []string{"syncs.users_to_hubspot.id_property: is required in upsert mode", "email, for contacts"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := hubspotYAML
			if tc.edit != nil {
				tmpl = tc.edit(tmpl)
			}
			p := newHubSpotProject(t, tmpl, "upsert", hubspotSetup, hssim.Options{})
			if tc.unsetEnv {
				os.Unsetenv("HUBSPOT_TOKEN")
			}
			out, errOut, code := p.sluice("sync", "users_to_hubspot")
			t.Logf("sluice sync:\n%s%s", out, errOut)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errOut)
			for _, w := range tc.want {
				require.Contains(t, out+errOut, w)
			}
			require.NotContains(t, out+errOut, hsToken)
			require.Zero(t, p.batchRequests(), "no batch request reached HubSpot")
		})
	}
}

// An account whose API access is revoked fails the run at its check, saying what to do.
func TestHubSpotRejectedTokenFailsTheRun(t *testing.T) {
	p := newHubSpotProject(t, hubspotYAML, "upsert", hubspotSetup, hssim.Options{})
	t.Setenv("HUBSPOT_TOKEN", "pat-na1-revoked")
	run, code := p.syncJSON("users_to_hubspot")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "HTTP 401")
	require.Contains(t, run["error"], "check access_token")
	require.NotContains(t, fmt.Sprint(run), "pat-na1-revoked")
	require.Zero(t, p.batchRequests())
	require.Equal(t, [3]int{1000, 0, 0}, counts(p.planJSON("users_to_hubspot")), "the baseline did not move")
}

// Keys that depend on the mode are checked by `sluice validate`, with their
// position, before anything is opened.
func TestValidateChecksModeDependentKeys(t *testing.T) {
	dir := t.TempDir()
	project := `sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  users: {source: warehouse, table: users, primary_key: id}
  events: {source: warehouse, table: events, primary_key: id}
destinations:
  crm: {type: hubspot, access_token: pat-x, tier: professional}
  product: {type: mixpanel, project_id: "1", service_account: {username: u, secret: s}}
syncs:
  users_to_hubspot:
    model: users
    destination: crm
    object: contacts
    mode: upsert
  events_to_mixpanel:
    model: events
    destination: product
    object: events
    mode: upsert
    event: name
    distinct_id: user_id
    time: at
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte(project), 0o644))
	var out, errb bytes.Buffer
	code := Main([]string{"--config", filepath.Join(dir, "sluice.yaml"), "validate", "--offline"}, &out, &errb)
	require.Equal(t, exitUsage, code, out.String())
	require.Contains(t, errb.String(), "sluice.yaml:10:3: syncs.users_to_hubspot.id_property: is required in upsert mode")
	require.Contains(t, errb.String(), "is required in upsert mode")
	require.Contains(t, errb.String(), "sluice.yaml:18:5: syncs.events_to_mixpanel.object: events are immutable in Mixpanel")
}

// A run the rate limit binds is paced without 429s, and its JSON reports the
// requests, the wait and its efficiency against the ceiling.
func TestHubSpotPacedRunReportsEfficiency(t *testing.T) {
	tmpl := strings.Replace(hubspotYAML, "tier: professional", "tier: professional\n    rate_limit: {requests: 4, per: 1s}", 1)
	p := newHubSpotProject(t, tmpl, "upsert", hubspotSetup, hssim.Options{PerInterval: 4, Interval: time.Second})
	run, code := p.syncJSON("users_to_hubspot")
	require.Equal(t, 0, code, "%v", run)
	require.EqualValues(t, 1000, run["succeeded"])
	require.EqualValues(t, 10, run["requests"], "100 contacts per request")
	require.EqualValues(t, 0, run["rate_limited"], "paced, not throttled")
	require.Zero(t, p.sim.Counters().Throttled.Load(), "the simulator answered no 429, the check's requests included")
	require.Positive(t, num64(run, "rate_limit_wait_ms"))
	require.Equal(t, true, run["limits_binding"])
	require.InDelta(t, 1000/2.0, run["ceiling_ops_per_second"], 0.01, "10 requests at 4 per second: the last leaves 2 s after the first")
	eff, ok := run["efficiency"].(float64)
	require.True(t, ok, "efficiency is a number: %v", run["efficiency"])
	require.Greater(t, eff, 0.3)
	require.LessOrEqual(t, eff, 1.05)
	require.Len(t, p.sim.Records("contacts"), 1000)

	// A run the limits cannot slow says so, with efficiency null.
	p.sql("update users set plan = 'team' where id <= 50")
	run, code = p.syncJSON("users_to_hubspot")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, false, run["limits_binding"])
	require.Contains(t, run, "efficiency")
	require.Nil(t, run["efficiency"])
}
