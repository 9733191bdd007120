package cli

import (
	"bytes"
	"database/sql"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/destination/facebook"
	fbsim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// facebookProject is a project whose destination is the Meta Marketing API
// simulator, with the audience of the example in ad account 1234567.
type facebookProject struct {
	*project
	sim *fbsim.Server
	url string

	rejected rejections // by hashed email
	// wrap, when set, stands between the server and the simulator.
	wrap func(http.Handler) http.Handler
}

const (
	fbToken    = "EAAB-e2e-system-user-0123456789"
	fbAudience = "23851234567890123"
	fbAccount  = "1234567"
)

// newFacebookProject writes sluice.yaml from tmpl, where {{URL}} is the
// simulator's address and {{MODE}} the sync's mode, and runs setup against the
// warehouse. The token is in META_TOKEN.
func newFacebookProject(t *testing.T, tmpl, mode, setup string, opts fbsim.Options) *facebookProject {
	t.Helper()
	p := &facebookProject{}
	opts.Tokens = []string{fbToken}
	opts.Audiences = map[string]string{fbAudience: fbAccount}
	opts.Reject = func(_ string, ids map[string]string) string {
		return p.rejected.reason(ids["EMAIL"])
	}
	p.sim = fbsim.New(opts)
	srv := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.wrap != nil {
			p.wrap(p.sim).ServeHTTP(w, r)
			return
		}
		p.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	t.Setenv("META_TOKEN", fbToken)
	p.project = projectAt(t, tmpl, setup, "{{URL}}", srv.URL, "{{MODE}}", mode)
	return p
}

func (p *facebookProject) reject(email, reason string) {
	h, err := facebook.Normalize("EMAIL", email)
	require.NoError(p.t, err)
	p.rejected.set(h, reason)
}

func (p *facebookProject) requests() int64 { return p.sim.Counters().Requests.Load() }

const facebookYAML = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  high_value_customers: {source: warehouse, table: customers, primary_key: id}
destinations:
  ads:
    type: facebook_audience
    access_token: ${env:META_TOKEN}
    ad_account_id: act_1234567
    base_url: {{URL}}/v21.0
    batch_size: 100
    max_in_flight: 4
    max_attempts: 4
syncs:
  big_spenders_audience:
    model: high_value_customers
    destination: ads
    audience_id: "23851234567890123"
    mode: {{MODE}}
    identifiers: {EMAIL: email, PHONE: phone, FN: first_name, LN: last_name, COUNTRY: country}
`

// fbCustomers creates customers 1…n who spent over $5,000.
func fbCustomers(n int) string {
	return `create table customers as
select i as id, 'customer' || i || '@example.com' as email,
       '+1 650 555 ' || lpad(i::varchar, 4, '0') as phone,
       (['Ada','Grace','Alan'])[1 + (i % 3)::int] as first_name,
       'Smith' as last_name, 'US' as country, 5000 + i as total_spent
from range(1, ` + itoa(n+1) + `) t(i);`
}

// identifierColumns are the model's identifier columns by schema key.
var identifierColumns = [][2]string{{"EMAIL", "email"}, {"PHONE", "phone"}, {"FN", "first_name"}, {"LN", "last_name"}, {"COUNTRY", "country"}}

// tuples are the identifier tuples Meta should hold for the rows query returns,
// normalised and hashed by the destination's rules, one string each.
func (p *facebookProject) tuples(query string) []string {
	p.t.Helper()
	db, err := sql.Open("duckdb", p.warehouse)
	require.NoError(p.t, err)
	defer db.Close()
	rows, err := db.Query(query)
	require.NoError(p.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		values := make([]sql.NullString, len(identifierColumns))
		ptrs := make([]any, len(values))
		for i := range values {
			ptrs[i] = &values[i]
		}
		require.NoError(p.t, rows.Scan(ptrs...))
		ids := map[string]string{}
		for i, kc := range identifierColumns {
			h, err := facebook.Normalize(kc[0], values[i].String)
			require.NoError(p.t, err)
			if h != "" {
				ids[kc[0]] = h
			}
		}
		out = append(out, tupleText(ids))
	}
	require.NoError(p.t, rows.Err())
	slices.Sort(out)
	return out
}

const selectIdentifiers = "select email, phone, first_name, last_name, country from "

func tupleText(ids map[string]string) string {
	var parts []string
	for k, v := range ids {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// members is the audience's membership, one string per identifier tuple.
func (p *facebookProject) members() []string {
	var out []string
	for _, m := range p.sim.Members(fbAudience) {
		out = append(out, tupleText(m.Identifiers))
	}
	slices.Sort(out)
	return out
}

// Each mode keeps the audience as it promises: insert adds, upsert also moves
// a customer whose identifiers changed, mirror also removes who left the model.
func TestFacebookAudienceFollowsTheModel(t *testing.T) {
	change := `create table before as select * from customers;
	           update customers set email = 'ada.new@example.com' where id = 1;
	           update customers set total_spent = total_spent + 100 where id between 20 and 29;
	           delete from customers where id in (10, 11);
	           insert into customers values (500, 'new@example.com', '+44 20 7946 0500', 'Zoë', 'Ångström', 'GB', 9000);`
	cases := map[string]struct {
		want    string // the rows whose identifiers the audience holds
		members int
	}{
		"insert": {want: selectIdentifiers + "before union all " + selectIdentifiers + "customers where id = 500", members: 301},
		"upsert": {want: selectIdentifiers + "customers union all " + selectIdentifiers + "before where id in (10, 11)", members: 301},
		"mirror": {want: selectIdentifiers + "customers", members: 299},
	}
	for mode, w := range cases {
		t.Run(mode, func(t *testing.T) {
			p := newFacebookProject(t, facebookYAML, mode, fbCustomers(300), fbsim.Options{})
			run, code := p.syncJSON("big_spenders_audience")
			require.Equal(t, 0, code, "%v", run)
			require.Equal(t, 300, num64(run, "succeeded"))
			require.Equal(t, p.tuples(selectIdentifiers+"customers"), p.members())

			p.sql(change)
			before := p.requests()
			run, code = p.syncJSON("big_spenders_audience")
			require.Equal(t, 0, code, "%v", run)
			members := p.members()
			require.Len(t, members, w.members)
			require.Equal(t, p.tuples(w.want), members)
			switch mode {
			case "insert":
				require.Equal(t, before+2, p.requests(), "the check and one add")
			case "upsert":
				// The spend of 20…29 changed, not their identifiers: nothing to send.
				require.Equal(t, before+3, p.requests(), "the check, the old email's removal, one add")
			}
		})
	}
}

// A mirror sync's --full-resync replaces the audience with the model through a
// replace session: members nobody synced leave it too.
func TestFacebookFullResyncReplacesTheAudience(t *testing.T) {
	p := newFacebookProject(t, facebookYAML, "mirror", fbCustomers(250), fbsim.Options{})
	run, code := p.syncJSON("big_spenders_audience")
	require.Equal(t, 0, code, "%v", run)
	stranger := fbsim.Member{Identifiers: map[string]string{"EMAIL": fbsim.HashValue("EMAIL", "uploaded.by.hand@example.com")}}
	require.NoError(t, p.sim.SeedMembers(fbAudience, stranger))
	p.sql(`delete from customers where id <= 5; insert into customers values (900, 'late@example.com', '+1 415 555 0900', 'Alan', 'Turing', 'GB', 6000);`)

	run, code = p.syncJSON("big_spenders_audience", "--full-resync")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, "succeeded", run["status"])
	require.Equal(t, true, run["full_resync"])
	require.Equal(t, p.tuples(selectIdentifiers+"customers"), p.members(), "exactly the model: the stranger is gone")
	var replaces []fbsim.Session
	for _, s := range p.sim.Sessions(fbAudience) {
		if s.Op == "replace" {
			replaces = append(replaces, s)
		}
	}
	require.Len(t, replaces, 1)
	require.Equal(t, fbsim.SessionComplete, replaces[0].State)
	require.Equal(t, 246, replaces[0].Received)
	require.Len(t, replaces[0].Batches, 5, "the empty first, three of rows, the empty last")

	run, code = p.syncJSON("big_spenders_audience")
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

// A full resync that does not complete (here Meta fails the session's third
// batch on every try) leaves the audience's previous members, and says so.
func TestFacebookIncompleteFullResyncSaysSo(t *testing.T) {
	p := newFacebookProject(t, facebookYAML, "mirror", fbCustomers(250), fbsim.Options{})
	run, code := p.syncJSON("big_spenders_audience")
	require.Equal(t, 0, code, "%v", run)
	stranger := fbsim.Member{Identifiers: map[string]string{"EMAIL": fbsim.HashValue("EMAIL", "uploaded.by.hand@example.com")}}
	require.NoError(t, p.sim.SeedMembers(fbAudience, stranger))
	p.wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if strings.HasSuffix(r.URL.Path, "/usersreplace") && bytes.Contains(body, []byte("%22batch_seq%22%3A3")) {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`{"error":{"message":"Service temporarily unavailable","code":2,"is_transient":true}}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	run, code = p.syncJSON("big_spenders_audience", "--full-resync")
	require.Equal(t, 1, code, "%v", run)
	failed := num64(run, "failed")
	require.GreaterOrEqual(t, failed, 100, "the rows of the batch that failed, and of those after it")
	require.Contains(t, run["error"], "the full resync did not complete ("+itoa(failed)+" of 250 changes failed)")
	require.Contains(t, run["error"], "keeps its previous members")
	require.Contains(t, run["error"], "--full-resync again")
	require.Len(t, p.members(), 251, "the stranger is still there")
}

// Rows Meta counts as invalid fail with its reason (and are counted in
// num_invalid_entries); rows whose identifiers cannot be used fail before
// sending; the next run sends both again.
func TestFacebookRefusedRowsAreRetriedOnTheNextRun(t *testing.T) {
	p := newFacebookProject(t, facebookYAML, "mirror", fbCustomers(300)+`
		update customers set email = 'not-an-email', phone = null where id = 13;`, fbsim.Options{})
	p.reject("customer42@example.com", "the person opted out")
	p.reject("customer77@example.com", "the person opted out")
	run, code := p.syncJSON("big_spenders_audience")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, 297, num64(run, "succeeded"))
	require.Equal(t, 3, num64(run, "failed"))
	require.Equal(t, map[string]any{"num_invalid_entries": float64(2)}, run["destination"])
	require.Len(t, p.members(), 297)

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, out, "row 42: added failed: facebook: Meta counted the row among the invalid entries: the person opted out")
	require.Contains(t, out, `row 13: added failed: facebook: EMAIL (column email): "not-an-email" is not an email address`)
	out, _, _ = p.sluice("run", "show", run["run_id"].(string), "--key", "42")
	require.Contains(t, out, "POST "+p.url+"/v21.0/"+fbAudience+"/users")
	require.Contains(t, out, "num_invalid_entries")

	p.reject("customer42@example.com", "")
	p.reject("customer77@example.com", "")
	p.sql(`update customers set email = 'customer13@example.com' where id = 13;`)
	run, code = p.syncJSON("big_spenders_audience")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, [3]int{3, 0, 0}, counts(run))
	require.Equal(t, p.tuples(selectIdentifiers+"customers"), p.members())
}

// Meta's throttling (a Graph error code in an HTTP 400) and transient errors are
// retried; nothing is lost.
func TestFacebookRetriesThrottlingAndServerErrors(t *testing.T) {
	var once sync.Once
	p := newFacebookProject(t, facebookYAML, "mirror", fbCustomers(1000), fbsim.Options{})
	// The faults start with the first write: the check is not what is tested.
	p.wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/users") {
				once.Do(func() { p.sim.SetFaults(simkit.Faults{Force429: 1, Fail5xx: 2}) })
			}
			next.ServeHTTP(w, r)
		})
	}
	run, code := p.syncJSON("big_spenders_audience")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 1000, num64(run, "succeeded"))
	require.Equal(t, 3, num64(run, "retries"))
	require.Equal(t, 1, num64(run, "rate_limited"))
	require.Equal(t, p.tuples(selectIdentifiers+"customers"), p.members())
}

// A sync killed with SIGKILL in the middle of sending loses nothing: the next
// run sends what was not acknowledged, and adding a member twice is harmless.
func TestFacebookKilledSyncLosesNothing(t *testing.T) {
	const n = 20000
	p := newFacebookProject(t, facebookYAML, "mirror", fbCustomers(n), fbsim.Options{})
	p.sim.SetFaults(simkit.Faults{Latency: 15 * time.Millisecond})
	cmd := exec.Command(os.Args[0], "--config", filepath.Join(p.dir, "sluice.yaml"), "sync", "big_spenders_audience", "--json")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for p.sim.MemberCount(fbAudience) < 6000 {
		require.True(t, time.Now().Before(deadline), "the sync did not get going")
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // requests the simulator was still answering finish
	delivered := p.sim.MemberCount(fbAudience)
	require.Less(t, delivered, n, "the kill came before the end")

	p.sim.SetFaults(simkit.Faults{})
	run, code := p.syncJSON("big_spenders_audience")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, p.tuples(selectIdentifiers+"customers"), p.members(), "every customer is a member, once")
	require.LessOrEqual(t, num64(run, "succeeded")-(n-delivered), 4*100, "at most max_in_flight batches are sent again")

	run, _ = p.syncJSON("big_spenders_audience")
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

// Configuration mistakes fail the sync with the key to fix, before any request
// reaches Meta.
func TestFacebookBadConfigFailsBeforeSending(t *testing.T) {
	cases := map[string]struct {
		edit  func(string) string
		mode  string
		unset string // an environment variable the project needs, left unset
		want  string
	}{
		"unknown identifier key": {
			edit: func(s string) string { return strings.Replace(s, "FN: first_name", "FIRST_NAME: first_name", 1) },
			want: `syncs.big_spenders_audience.identifiers.FIRST_NAME: "FIRST_NAME" is not one of Meta's schema keys (did you mean FN?): use EXTERN_ID, EMAIL, PHONE`,
		},
		"missing audience_id": {
			edit: func(s string) string { return strings.Replace(s, "    audience_id: \"23851234567890123\"\n", "", 1) },
			want: "audience_id: required key is missing",
		},
		"bad ad_account_id": {
			edit: func(s string) string { return strings.Replace(s, "act_1234567", "Big Spenders Inc", 1) },
			want: `ad_account_id: "Big Spenders Inc" is not an ad account id: write act_ followed by the account's digits`,
		},
		"missing token": {
			unset: "META_TOKEN",
			want:  "META_TOKEN",
		},
		"a column the model lacks": {
			edit: func(s string) string { return strings.Replace(s, "PHONE: phone", "PHONE: mobile", 1) },
			want: `syncs.big_spenders_audience.identifiers.PHONE: names column "mobile", which model high_value_customers does not return`,
		},
		"update mode": {
			mode: "update",
			want: `mode "update" is not supported by destination type "facebook_audience": use one of insert, upsert, mirror`,
		},
		"batch_size over Meta's": {
			edit: func(s string) string { return strings.Replace(s, "batch_size: 100", "batch_size: 50000", 1) },
			want: "batch_size: must be between 1 and 10000",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := facebookYAML
			if tc.edit != nil {
				tmpl = tc.edit(tmpl)
			}
			mode := tc.mode
			if mode == "" {
				mode = "mirror"
			}
			p := newFacebookProject(t, tmpl, mode, fbCustomers(10), fbsim.Options{})
			if tc.unset != "" {
				os.Unsetenv(tc.unset)
			}
			out, errOut, code := p.sluice("sync", "big_spenders_audience")
			require.NotEqual(t, 0, code)
			require.Contains(t, out+errOut, tc.want)
			require.Equal(t, int64(0), p.requests(), "nothing reached Meta")
		})
	}
}

// An audience the token cannot reach is found by the check, before any row is
// sent; so is a token Meta refuses.
func TestFacebookCheckFailsTheRunBeforeSending(t *testing.T) {
	p := newFacebookProject(t, strings.Replace(facebookYAML, "23851234567890123", "23850000000000999", 1), "mirror", fbCustomers(10), fbsim.Options{})
	run, code := p.syncJSON("big_spenders_audience")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "audience 23850000000000999 does not exist, was deleted, or the token cannot reach it: check audience_id")
	require.Equal(t, int64(1), p.requests(), "only the check")

	t.Setenv("META_TOKEN", "EAAB-not-the-token")
	run, code = p.syncJSON("big_spenders_audience")
	require.Equal(t, 1, code)
	require.Contains(t, run["error"], "check access_token")
	require.NotContains(t, run["error"], "EAAB-not-the-token")
	require.Empty(t, p.members())
}
