package cli

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sfsim "github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/simkit"
)

// salesforceProject is a project whose destination is a simulated Salesforce org.
type salesforceProject struct {
	*project
	sim *sfsim.Server
	url string

	rejected rejections // by District_Id__c

	clock atomic.Int64 // the org's clock offset, to move it a day on
}

const sfToken = "00D5g000004SIMU!AQ8AQ.e2e-access-token"

// newSalesforceProject writes sluice.yaml from tmpl, where {{URL}} is the org's
// address, {{MODE}} the sync's mode and {{API}} its api, and runs setup against
// the warehouse. The token is in SF_TOKEN; Account has the custom fields the
// mappings write.
func newSalesforceProject(t *testing.T, tmpl, mode, api, setup string, opts sfsim.Options, wrap ...func(http.Handler) http.Handler) *salesforceProject {
	t.Helper()
	p := &salesforceProject{}
	opts.Tokens = []string{sfToken}
	opts.KeepBodies = true
	opts.CustomFields = map[string][]sfsim.Field{"Account": {
		{Name: "District_Id__c", Label: "District Id", Type: sfsim.TypeString, ExternalID: true, Unique: true},
		{Name: "Students_Online__c", Label: "Students Online", Type: sfsim.TypeInt},
		{Name: "Region__c", Label: "Region", Type: sfsim.TypeString},
	}}
	opts.Reject = func(object string, fields map[string]any) (string, string) {
		if msg := p.rejected.reason(fmt.Sprint(fields["District_Id__c"])); msg != "" {
			return "FIELD_CUSTOM_VALIDATION_EXCEPTION", msg
		}
		return "", ""
	}
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(p.clock.Load())) }
	p.sim = sfsim.New(opts)
	p.url = serve(t, p.sim, wrap...)
	t.Setenv("SF_TOKEN", sfToken)
	p.project = projectAt(t, tmpl, setup, "{{URL}}", p.url, "{{MODE}}", mode, "{{API}}", api)
	return p
}

// org is what Salesforce holds: District_Id__c → the synced fields as text.
func (p *salesforceProject) org() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range p.sim.Records("Account") {
		id, _ := r.Fields["District_Id__c"].(string)
		out[id] = map[string]string{"Name": fmt.Sprint(r.Fields["Name"]), "Students_Online__c": text(r.Fields["Students_Online__c"])}
	}
	return out
}

func text(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// model is what the warehouse holds, in the same shape.
func (p *salesforceProject) model() map[string]map[string]string {
	p.t.Helper()
	db, err := sql.Open("duckdb", p.warehouse)
	require.NoError(p.t, err)
	defer db.Close()
	rows, err := db.Query(`select district_id, name, coalesce(cast(students_online as varchar), '') from districts`)
	require.NoError(p.t, err)
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var id, name, students string
		require.NoError(p.t, rows.Scan(&id, &name, &students))
		out[id] = map[string]string{"Name": name, "Students_Online__c": students}
	}
	require.NoError(p.t, rows.Err())
	return out
}

// writes counts the requests that could change the org (not Check's describe,
// lookups or polls).
func (p *salesforceProject) writes() int {
	n := 0
	for _, r := range p.sim.Log().Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

// sluiceProcess runs the command line as a separate process (a fresh budget, as
// the next scheduled run would have).
func (p *salesforceProject) sluiceProcess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"--config", filepath.Join(p.dir, "sluice.yaml")}, args...)...)
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	return cmd
}

const salesforceYAML = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  districts: {source: warehouse, table: districts, primary_key: district_id}
destinations:
  sfdc:
    type: salesforce
    instance_url: {{URL}}
    access_token: ${env:SF_TOKEN}
    api_version: "62.0"
    edition: enterprise
    licenses: 50
syncs:
  districts_to_salesforce:
    model: districts
    destination: sfdc
    object: Account
    external_id_field: District_Id__c
    mode: {{MODE}}
    api: {{API}}
    mappings:
      - {from: district_id, to: District_Id__c}
      - {from: name, to: Name}
      - {from: students_online, to: Students_Online__c}
`

const districtsSetup = `
create table districts as
select 'D-' || i as district_id, 'District ' || i as name, (i * 7 % 500)::integer as students_online
from range(1, 1001) t(i);
`

const districtChanges = `
update districts set students_online = students_online + 1000 where district_id in ('D-1','D-2','D-3','D-4','D-5','D-6','D-7','D-8','D-9','D-10');
update districts set students_online = null where district_id = 'D-11';
delete from districts where district_id in ('D-990','D-991','D-992','D-993','D-994','D-995');
insert into districts values ('D-5000', 'New district', 12), ('D-5001', 'Another new district', 34);`

// The org ends up as the model says in every mode and through both APIs, run
// after run: districts changed and removed between runs are updated and deleted
// (mirror), or left alone where the mode does not send them.
func TestSyncToSalesforce(t *testing.T) {
	for _, tc := range []struct{ mode, api string }{
		{"insert", "auto"}, {"upsert", "auto"}, {"mirror", "auto"}, {"upsert", "bulk"}, {"mirror", "bulk"},
	} {
		t.Run(tc.mode+"_"+tc.api, func(t *testing.T) {
			p := newSalesforceProject(t, salesforceYAML, tc.mode, tc.api, districtsSetup, sfsim.Options{})
			run, code := p.syncJSON("districts_to_salesforce")
			require.Equal(t, 0, code, "%v", run)
			require.Equal(t, 1000, num64(run, "succeeded"))
			if tc.api == "auto" {
				require.Equal(t, 5, p.writes(), "1,000 changes go through sObject Collections, 200 a request")
			} else {
				require.Len(t, p.sim.Jobs(), 1, "one Bulk job for the batch")
			}
			require.Equal(t, p.model(), p.org())

			before := p.org()
			p.sql(districtChanges)
			run, code = p.syncJSON("districts_to_salesforce")
			require.Equal(t, 0, code, "%v", run)
			got, model := p.org(), p.model()
			switch tc.mode {
			case "mirror":
				require.Equal(t, [3]int{2, 11, 6}, counts(run))
				require.Equal(t, model, got)
				require.Len(t, p.sim.Deleted("Account"), 6, "removed districts are in the Recycle Bin")
			case "upsert":
				require.Equal(t, [3]int{2, 11, 0}, counts(run))
				for id, fields := range model {
					require.Equal(t, fields, got[id], id)
				}
				require.Len(t, got, 1002, "upsert leaves removed districts in Salesforce")
			case "insert":
				require.Equal(t, [3]int{2, 0, 0}, counts(run))
				require.Equal(t, before["D-1"], got["D-1"], "insert does not update")
				require.Equal(t, model["D-5000"], got["D-5000"])
				require.Len(t, got, 1002)
			}
			if tc.mode != "insert" {
				require.Empty(t, got["D-11"]["Students_Online__c"], "null clears the field")
			}

			run, code = p.syncJSON("districts_to_salesforce")
			require.Equal(t, 0, code)
			require.Equal(t, [3]int{0, 0, 0}, counts(run))
		})
	}

	t.Run("update", func(t *testing.T) {
		p := newSalesforceProject(t, salesforceYAML, "update", "auto", districtsSetup, sfsim.Options{})
		// The accounts exist in Salesforce already (created by hand or by another tool).
		var recs []string
		for i := 1; i <= 1000; i++ {
			recs = append(recs, fmt.Sprintf(`{"attributes":{"type":"Account"},"District_Id__c":"D-%d","Name":"Old name %d"}`, i, i))
			if len(recs) == 200 {
				req := httptest.NewRequest(http.MethodPost, "/services/data/v62.0/composite/sobjects", strings.NewReader(`{"allOrNone":true,"records":[`+strings.Join(recs, ",")+`]}`))
				req.Header.Set("Authorization", "Bearer "+sfToken)
				rec := httptest.NewRecorder()
				p.sim.ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				recs = nil
			}
		}
		run, code := p.syncJSON("districts_to_salesforce", "--full-resync")
		require.Equal(t, 0, code, "%v", run)
		require.Equal(t, p.model(), p.org())
		p.sql(districtChanges)
		run, code = p.syncJSON("districts_to_salesforce")
		require.Equal(t, 0, code, "%v", run)
		require.Equal(t, [3]int{0, 11, 0}, counts(run), "update sends changed rows only")
		got := p.org()
		require.Len(t, got, 1000, "update creates nothing")
		require.Equal(t, "1070", got["D-10"]["Students_Online__c"])
		require.Empty(t, got["D-11"]["Students_Online__c"])
		require.NotContains(t, got, "D-5000")
	})

	// A run of more than 2,000 changes goes through Bulk API 2.0 on its own.
	t.Run("auto chooses bulk", func(t *testing.T) {
		p := newSalesforceProject(t, salesforceYAML, "upsert", "auto", strings.Replace(districtsSetup, "range(1, 1001)", "range(1, 5001)", 1), sfsim.Options{})
		run, code := p.syncJSON("districts_to_salesforce")
		require.Equal(t, 0, code, "%v", run)
		require.Equal(t, 5000, num64(run, "succeeded"))
		require.Len(t, p.sim.Jobs(), 1, "one job of 5,000 records")
		require.Equal(t, p.model(), p.org())
		require.Equal(t, float64(1), run["destination"].(map[string]any)["bulk_jobs"])
	})
}

// A record Salesforce refuses fails alone, recorded with Salesforce's statusCode
// and message and the exchange that carried it, and is sent again (and written)
// on the next run, through either API.
func TestSalesforcePartialFailureIsRetriedNextRun(t *testing.T) {
	for _, api := range []string{"collections", "bulk"} {
		t.Run(api, func(t *testing.T) {
			p := newSalesforceProject(t, salesforceYAML, "upsert", api, districtsSetup+`
				update districts set name = null where district_id = 'D-7';`, sfsim.Options{})
			p.rejected.set("D-42", "Districts under review cannot be synced")
			run, code := p.syncJSON("districts_to_salesforce")
			require.Equal(t, 1, code)
			require.Equal(t, "partial", run["status"])
			require.Equal(t, 998, num64(run, "succeeded"))
			require.Equal(t, 2, num64(run, "failed"))
			require.NotContains(t, p.org(), "D-42")

			out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "D-42")
			require.Contains(t, out, "row D-42: added failed: salesforce: upsert Account: FIELD_CUSTOM_VALIDATION_EXCEPTION: Districts under review cannot be synced")
			out, _, _ = p.sluice("run", "show", run["run_id"].(string), "--failed")
			require.Contains(t, out, "row D-7: added failed: salesforce: upsert Account: REQUIRED_FIELD_MISSING: Required fields are missing: [Name]")
			require.NotContains(t, out, sfToken, "the token never reaches the run log")

			p.rejected.set("D-42", "")
			p.sql(`update districts set name = 'District 7' where district_id = 'D-7'`)
			run, code = p.syncJSON("districts_to_salesforce")
			require.Equal(t, 0, code, "%v", run)
			require.Equal(t, [3]int{2, 0, 0}, counts(run), "the failed rows go again, the model unchanged otherwise")
			require.Equal(t, p.model(), p.org())
		})
	}
}

// Locked records are sent again within the run, server errors retried by the
// engine; what still fails goes again on the next run, until the org matches.
func TestSalesforceRetriesLocksAndServerErrors(t *testing.T) {
	var p *salesforceProject
	var once sync.Once
	// The faults start with the first write (Check retries its own reads).
	faultsOnFirstWrite := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				once.Do(func() { p.sim.SetFaults(simkit.Faults{Fail5xx: 2}) })
			}
			next.ServeHTTP(w, r)
		})
	}
	p = newSalesforceProject(t, salesforceYAML, "upsert", "collections", districtsSetup, sfsim.Options{LockErrorRate: 0.05, Seed: 3}, faultsOnFirstWrite)
	run, _ := p.syncJSON("districts_to_salesforce")
	require.Equal(t, 1000, num64(run, "succeeded")+num64(run, "failed"))
	require.Positive(t, run["destination"].(map[string]any)["locked_records_retried"])
	require.Equal(t, 2, num64(run, "retries"), "the 5xx answers were retried")
	for attempt := 0; attempt < 3 && run["status"] != "succeeded"; attempt++ {
		run, _ = p.syncJSON("districts_to_salesforce")
	}
	require.Equal(t, "succeeded", run["status"], "%v", run)
	require.Equal(t, p.model(), p.org())
}

// A spent daily allocation stops the run without a 403: Sforce-Limit-Info told
// the budget none was left. The rows that were not sent fail with the reason,
// and the next run (a day later) sends them.
func TestSalesforceDailyAllocationStopsTheRun(t *testing.T) {
	p := newSalesforceProject(t, salesforceYAML, "upsert", "collections", districtsSetup, sfsim.Options{DailyRequests: 4})
	run, code := p.syncJSON("districts_to_salesforce")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, 600, num64(run, "succeeded"), "the describe and three requests of 200")
	require.Equal(t, 400, num64(run, "failed"))
	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, out, "the API's daily request limit is used up")
	require.Zero(t, p.sim.Counters().Throttled.Load(), "no request was refused")

	p.clock.Add(int64(25 * time.Hour))
	out2, err := p.sluiceProcess("sync", "--json", "districts_to_salesforce").Output()
	require.NoError(t, err, string(out2))
	var next map[string]any
	require.NoError(t, json.Unmarshal(out2, &next))
	require.Equal(t, 400, num64(next, "succeeded"))
	require.Equal(t, p.model(), p.org())
}

// A sync killed with SIGKILL in the middle of sending loses no account: the
// next run sends what Salesforce did not acknowledge, and upserting by external
// ID makes the records sent twice harmless, through either API.
func TestSalesforceKilledSyncLosesNothing(t *testing.T) {
	for _, api := range []string{"collections", "bulk"} {
		t.Run(api, func(t *testing.T) {
			tmpl := strings.Replace(salesforceYAML, "    licenses: 50\n", "    licenses: 50\n    bulk_batch_size: 1000\n", 1)
			p := newSalesforceProject(t, tmpl, "upsert", api, strings.Replace(districtsSetup, "range(1, 1001)", "range(1, 20001)", 1),
				sfsim.Options{BulkRecordsPerSecond: 20_000})
			p.sim.SetFaults(simkit.Faults{Latency: 20 * time.Millisecond})
			cmd := p.sluiceProcess("sync", "districts_to_salesforce", "--json")
			require.NoError(t, cmd.Start())
			deadline := time.Now().Add(60 * time.Second)
			for p.sim.Counters().Requests.Load() < 40 {
				require.True(t, time.Now().Before(deadline), "the sync did not get going")
				time.Sleep(2 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			cmd.Wait()
			time.Sleep(100 * time.Millisecond) // requests the org was still answering finish
			delivered := len(p.sim.Records("Account"))
			require.Less(t, delivered, 20000, "the kill came before the end")

			p.sim.SetFaults(simkit.Faults{})
			run, code := p.syncJSON("districts_to_salesforce")
			require.Equal(t, 0, code, "%v", run)
			require.Equal(t, p.model(), p.org(), "no account is lost, none is duplicated")

			out, _, _ := p.sluice("runs", "districts_to_salesforce")
			require.NotContains(t, out, "running")
			run, _ = p.syncJSON("districts_to_salesforce")
			require.Equal(t, [3]int{0, 0, 0}, counts(run))
		})
	}
}

// Configuration Salesforce cannot take fails with a clear message before any
// record reaches it.
func TestSalesforceBadConfigFailsBeforeSending(t *testing.T) {
	cases := map[string]struct {
		edit     func(string) string
		unsetEnv bool
		code     int
		want     []string
	}{
		"unknown field": {
			edit: func(y string) string { return strings.Replace(y, "to: Students_Online__c", "to: Students_Onlin__c", 1) },
			code: 1,
			want: []string{`destination sfdc: salesforce: sync districts_to_salesforce: maps a column to field "Students_Onlin__c", which Account does not have (did you mean "Students_Online__c"?)`},
		},
		"external id that is not one": {
			edit: func(y string) string {
				y = strings.Replace(y, "external_id_field: District_Id__c", "external_id_field: Region__c", 1)
				return strings.Replace(y, "to: Name}", "to: Name}\n      - {from: name, to: Region__c}", 1)
			},
			code: 1,
			want: []string{"external_id_field Region__c is not an External ID field of Account", "the External ID fields of Account are District_Id__c"},
		},
		"unknown object": {
			edit: func(y string) string { return strings.Replace(y, "object: Account", "object: Acount", 1) },
			code: 1,
			want: []string{`Salesforce has no object "Acount" (did you mean "Account"?)`},
		},
		"unknown edition": {
			edit: func(y string) string { return strings.Replace(y, "edition: enterprise", "edition: enterprize", 1) },
			code: 2,
			want: []string{"destinations.sfdc.edition", `unknown edition "enterprize" (did you mean "enterprise"?)`},
		},
		"licenses without edition": {
			edit: func(y string) string { return strings.Replace(y, "    edition: enterprise\n", "", 1) },
			code: 2,
			want: []string{"destinations.sfdc.licenses", "needs edition"},
		},
		"unknown api": {
			edit: func(y string) string { return strings.Replace(y, "api: {{API}}", "api: soap", 1) },
			code: 2,
			want: []string{"syncs.districts_to_salesforce.api", `unknown api "soap": use auto, collections or bulk`},
		},
		"no external id": {
			edit: func(y string) string { return strings.Replace(y, "    external_id_field: District_Id__c\n", "", 1) },
			code: 2,
			want: []string{"syncs.districts_to_salesforce.external_id_field: is required in upsert mode"},
		},
		"batch size above 200": {
			edit: func(y string) string {
				return strings.Replace(y, "licenses: 50", "licenses: 50\n    batch_size: 500", 1)
			},
			code: 2,
			want: []string{"destinations.sfdc.batch_size", "must be between 1 and 200"},
		},
		"missing token": {
			edit: func(y string) string { return strings.Replace(y, "    access_token: ${env:SF_TOKEN}\n", "", 1) },
			code: 2,
			want: []string{"destinations.sfdc.access_token", "required key is missing"},
		},
		"token variable not set": {
			unsetEnv: true,
			code:     2,
			want:     []string{"destinations.sfdc.access_token", "SF_TOKEN"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := salesforceYAML
			if tc.edit != nil {
				tmpl = tc.edit(tmpl)
			}
			p := newSalesforceProject(t, tmpl, "upsert", "auto", districtsSetup, sfsim.Options{})
			if tc.unsetEnv {
				os.Unsetenv("SF_TOKEN")
			}
			out, errOut, code := p.sluice("sync", "districts_to_salesforce")
			t.Logf("sluice sync:\n%s%s", out, errOut)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errOut)
			for _, w := range tc.want {
				require.Contains(t, out+errOut, w)
			}
			require.NotContains(t, out+errOut, sfToken)
			require.Zero(t, p.writes(), "no record reached Salesforce")
		})
	}
}

// An expired token fails the run at its check, saying what to do.
func TestSalesforceRejectedTokenFailsTheRun(t *testing.T) {
	p := newSalesforceProject(t, salesforceYAML, "upsert", "auto", districtsSetup, sfsim.Options{})
	t.Setenv("SF_TOKEN", "00D-expired-token")
	run, code := p.syncJSON("districts_to_salesforce")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "HTTP 401: INVALID_SESSION_ID")
	require.Contains(t, run["error"], "check access_token")
	require.NotContains(t, fmt.Sprint(run), "00D-expired-token")
	require.Zero(t, p.writes())
	require.Equal(t, [3]int{1000, 0, 0}, counts(p.planJSON("districts_to_salesforce")), "the baseline did not move")
}
