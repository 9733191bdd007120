package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	mpsim "github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/simkit"
)

// mixpanelProject is a project whose destination is the Mixpanel simulator.
type mixpanelProject struct {
	*project
	sim *mpsim.Server
	url string
}

const (
	mpProjectID = "2195193"
	mpSecret    = "sa-secret-e2e-0123"
	mpToken     = "tok-e2e-abcdef012345"
)

// newMixpanelProject writes sluice.yaml from tmpl, where {{URL}} is the
// simulator's address, and runs setup against the warehouse. The secret and the
// token are in MIXPANEL_SECRET and MIXPANEL_TOKEN.
func newMixpanelProject(t *testing.T, tmpl, setup string, opts mpsim.Options) *mixpanelProject {
	t.Helper()
	opts.ProjectID = mpProjectID
	opts.Token = mpToken
	opts.ServiceAccounts = map[string]string{"sync-bot": mpSecret}
	s := mpsim.New(opts)
	url := serve(t, s)
	t.Setenv("MIXPANEL_SECRET", mpSecret)
	t.Setenv("MIXPANEL_TOKEN", mpToken)
	p := projectAt(t, tmpl, setup, "{{URL}}", url)
	return &mixpanelProject{project: p, sim: s, url: url}
}

func (p *mixpanelProject) requests() int64 { return p.sim.Counters().Requests.Load() }

const mixpanelYAML = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  product_events: {source: warehouse, table: product_events, primary_key: event_id}
  users: {source: warehouse, table: users, primary_key: id}
destinations:
  product:
    type: mixpanel
    project_id: "2195193"
    service_account:
      username: sync-bot
      secret: ${env:MIXPANEL_SECRET}
    project_token: ${env:MIXPANEL_TOKEN}
    base_url: {{URL}}
    batch_size: 500
    max_in_flight: 4
    max_attempts: 4
syncs:
  events_to_mixpanel:
    model: product_events
    destination: product
    object: events
    mode: insert
    event: event_name
    distinct_id: user_id
    time: occurred_at
    mappings:
      - {from: plan, to: plan}
  users_to_mixpanel:
    model: users
    destination: product
    object: profiles
    mode: mirror
    distinct_id: id
    mappings:
      - {from: email, to: $email}
      - {from: plan, to: plan}
`

// productEvents creates n events, keyed 1…n, a second apart in the past.
func productEvents(n int) string {
	return `create table product_events as
select i as event_id,
       (['Signed Up','Viewed Report','Upgraded Plan'])[1 + (i % 3)::int] as event_name,
       'user-' || i as user_id,
       TIMESTAMP '2025-06-01 00:00:00' + to_seconds(i) as occurred_at,
       (['free','pro','team'])[1 + (i % 3)::int] as plan
from range(1, ` + itoa(n+1) + `) t(i);`
}

const mpUsersSetup = `
create table users as
select i as id, 'user' || i || '@example.com' as email,
       (['free','pro','team'])[1 + (i % 3)::int] as plan
from range(1, 301) t(i);`

func TestMixpanelEventsAreAppendedOnce(t *testing.T) {
	p := newMixpanelProject(t, mixpanelYAML, productEvents(1000), mpsim.Options{})
	run, code := p.syncJSON("events_to_mixpanel")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, "succeeded", run["status"])
	require.Equal(t, 1000, num64(run, "succeeded"))
	require.Equal(t, 1000, p.sim.EventCount())

	events := map[string]mpsim.Event{}
	for _, e := range p.sim.Events() {
		events[e.DistinctID] = e
	}
	e7 := events["user-7"]
	require.Equal(t, "Viewed Report", e7.Name)
	require.Equal(t, time.Date(2025, 6, 1, 0, 0, 7, 0, time.UTC), e7.Time)
	require.Equal(t, "pro", e7.Properties["plan"])
	// The $insert_id is the row's: the sync, the key and what the engine carries.
	fields := record.MakeFields([]string{"plan", "event_name", "user_id", "occurred_at"},
		[]record.Value{"pro", "Viewed Report", "user-7", time.Date(2025, 6, 1, 0, 0, 7, 0, time.UTC)})
	require.Equal(t, mixpanel.InsertID("events_to_mixpanel", "7", fields), e7.InsertID)

	// New rows are appended; a changed row is not sent again (events are immutable).
	p.sql(`insert into product_events
	       select i, 'Exported CSV', 'user-' || i, TIMESTAMP '2025-06-02 00:00:00' + to_seconds(i), 'team'
	       from range(1001, 1201) t(i);
	       update product_events set plan = 'business' where event_id <= 5;`)
	run, code = p.syncJSON("events_to_mixpanel")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 200, num64(run, "succeeded"))
	require.Equal(t, 1200, p.sim.EventCount())
	require.Equal(t, int64(1200), p.sim.Imported(), "no event was sent twice")

	before := p.requests()
	run, code = p.syncJSON("events_to_mixpanel")
	require.Equal(t, 0, code)
	require.Equal(t, 0, num64(run, "succeeded"))
	require.Equal(t, before+1, p.requests(), "only the credential check: nothing new to send")
	require.Equal(t, 1200, p.sim.EventCount())
}

func TestMixpanelProfilesFollowTheModel(t *testing.T) {
	change := `update users set plan = 'enterprise' where id = 1;
	           update users set plan = null where id = 4;
	           delete from users where id in (10, 11);
	           insert into users values (500, 'new@example.com', 'free');`
	type want struct {
		one, four map[string]any // profiles 1 and 4 after the second run
		ten, new  bool           // whether profiles 10 and 500 exist
		count     int
	}
	old1 := map[string]any{"$email": "user1@example.com", "plan": "pro"}
	new1 := map[string]any{"$email": "user1@example.com", "plan": "enterprise"}
	old4 := map[string]any{"$email": "user4@example.com", "plan": "pro"}
	new4 := map[string]any{"$email": "user4@example.com"}
	cases := map[string]want{
		"insert": {one: old1, four: old4, ten: true, new: true, count: 301},
		"update": {one: new1, four: new4, ten: true, new: false, count: 300},
		"upsert": {one: new1, four: new4, ten: true, new: true, count: 301},
		"mirror": {one: new1, four: new4, ten: false, new: true, count: 299},
	}
	for mode, w := range cases {
		t.Run(mode, func(t *testing.T) {
			p := newMixpanelProject(t, strings.Replace(mixpanelYAML, "mode: mirror", "mode: "+mode, 1), mpUsersSetup, mpsim.Options{})
			args := []string{"users_to_mixpanel"}
			if mode == "update" {
				args = append(args, "--full-resync") // update mode sends only rows this sync synced before
			}
			run, code := p.syncJSON(args...)
			require.Equal(t, 0, code, "%v", run)
			require.Equal(t, 300, p.sim.ProfileCount())
			p.sql(change)
			run, code = p.syncJSON("users_to_mixpanel")
			require.Equal(t, 0, code, "%v", run)

			profiles := p.sim.Profiles()
			require.Len(t, profiles, w.count)
			require.Equal(t, w.one, profiles["1"].Properties)
			require.Equal(t, w.four, profiles["4"].Properties)
			require.Equal(t, map[string]any{"$email": "user2@example.com", "plan": "team"}, profiles["2"].Properties)
			_, ok := profiles["10"]
			require.Equal(t, w.ten, ok, "profile 10")
			_, ok = profiles["500"]
			require.Equal(t, w.new, ok, "profile 500")
		})
	}
}

// Events Mixpanel refuses fail alone, with Mixpanel's message, and are sent again
// by the next run.
func TestMixpanelRefusedEventsAreRetriedOnTheNextRun(t *testing.T) {
	var blocked atomic.Bool
	blocked.Store(true)
	p := newMixpanelProject(t, mixpanelYAML, productEvents(1000), mpsim.Options{Reject: func(e mpsim.Event) string {
		if blocked.Load() && (e.DistinctID == "user-42" || e.DistinctID == "user-777") {
			return "the user is on the block list"
		}
		return ""
	}})
	run, code := p.syncJSON("events_to_mixpanel")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, 998, num64(run, "succeeded"))
	require.Equal(t, 2, num64(run, "failed"))
	require.Equal(t, 998, p.sim.EventCount())

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--key", "42")
	require.Contains(t, out, "row 42: added failed: Mixpanel refused the event: the user is on the block list (field properties)")
	require.Contains(t, out, "POST "+p.url+"/import?project_id=2195193&strict=1")
	require.Contains(t, out, "failed_records")

	blocked.Store(false)
	run, code = p.syncJSON("events_to_mixpanel")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, [3]int{2, 0, 0}, counts(run))
	require.Equal(t, 1000, p.sim.EventCount())
}

// Rows whose time cannot be an event's fail with the reason and are never sent.
func TestMixpanelUnusableTimesFailTheirRows(t *testing.T) {
	p := newMixpanelProject(t, strings.Replace(mixpanelYAML, "time: occurred_at", "time: happened", 1), productEvents(100)+`
		alter table product_events add column happened varchar;
		update product_events set happened = strftime(occurred_at, '%Y-%m-%dT%H:%M:%SZ');
		update product_events set happened = 'yesterday' where event_id = 3;
		update product_events set happened = null where event_id = 4;`, mpsim.Options{})
	run, code := p.syncJSON("events_to_mixpanel")
	require.Equal(t, 1, code)
	require.Equal(t, 98, num64(run, "succeeded"))
	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, out, `row 3: added failed: time (column happened) "yesterday" is not a time`)
	require.Contains(t, out, "row 4: added failed: time (column happened) is null")
	require.Equal(t, 98, p.sim.EventCount())
}

func TestMixpanelRetriesThrottlingAndServerErrors(t *testing.T) {
	p := newMixpanelProject(t, mixpanelYAML, productEvents(2000), mpsim.Options{})
	// The first 429 answers the credential check, which does not fail for it.
	p.sim.SetFaults(simkit.Faults{Force429: 2, Fail5xx: 2})
	run, code := p.syncJSON("events_to_mixpanel")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 2000, num64(run, "succeeded"))
	require.Equal(t, 3, num64(run, "retries"))
	require.Equal(t, 1, num64(run, "rate_limited"))
	require.Equal(t, 2000, p.sim.EventCount())
}

// A sync killed with SIGKILL in the middle of sending loses no event and shows none
// twice: the next run re-sends what was not acknowledged, and Mixpanel keeps one
// event per $insert_id.
func TestMixpanelKilledSyncLosesNothing(t *testing.T) {
	const n = 20000
	tmpl := strings.Replace(mixpanelYAML, "batch_size: 500", "batch_size: 100", 1)
	p := newMixpanelProject(t, tmpl, productEvents(n), mpsim.Options{})
	p.sim.SetFaults(simkit.Faults{Latency: 15 * time.Millisecond})
	cmd := exec.Command(os.Args[0], "--config", filepath.Join(p.dir, "sluice.yaml"), "sync", "events_to_mixpanel", "--json")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for p.sim.EventCount() < 6000 {
		require.True(t, time.Now().Before(deadline), "the sync did not get going")
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // requests the simulator was still answering finish
	delivered := p.sim.EventCount()
	require.Less(t, delivered, n, "the kill came before the end")

	p.sim.SetFaults(simkit.Faults{})
	run, code := p.syncJSON("events_to_mixpanel")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, n, p.sim.EventCount(), "no event is lost, none is counted twice")
	require.LessOrEqual(t, num64(run, "succeeded")-(n-delivered), 4*100, "at most max_in_flight batches are sent again")
	require.GreaterOrEqual(t, p.sim.Imported(), int64(n))

	run, _ = p.syncJSON("events_to_mixpanel")
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

// Configuration mistakes fail the sync with the key to fix, before any request
// reaches Mixpanel.
func TestMixpanelBadConfigFailsBeforeSending(t *testing.T) {
	cases := map[string]struct {
		edit  func(string) string
		sync  string
		unset string // an environment variable the project needs, left unset
		want  string
	}{
		"missing secret": {
			sync: "events_to_mixpanel", unset: "MIXPANEL_SECRET",
			want: "MIXPANEL_SECRET",
		},
		"missing token for profiles": {
			edit: func(s string) string { return strings.Replace(s, "    project_token: ${env:MIXPANEL_TOKEN}\n", "", 1) },
			sync: "users_to_mixpanel",
			want: "project_token: profiles are written through /engage",
		},
		"missing time column key": {
			edit: func(s string) string { return strings.Replace(s, "    time: occurred_at\n", "", 1) },
			sync: "events_to_mixpanel",
			want: "events need the column holding when each happened: add time: <column>",
		},
		"missing event column key": {
			edit: func(s string) string { return strings.Replace(s, "    event: event_name\n", "", 1) },
			sync: "events_to_mixpanel",
			want: "add event: <column>",
		},
		"a column the model lacks": {
			edit: func(s string) string { return strings.Replace(s, "event: event_name", "event: kind", 1) },
			sync: "events_to_mixpanel",
			want: `syncs.events_to_mixpanel.event: names column "kind", which model product_events does not return`,
		},
		"events in upsert mode": {
			edit: func(s string) string { return strings.Replace(s, "mode: insert", "mode: upsert", 1) },
			sync: "events_to_mixpanel",
			want: "events are immutable in Mixpanel",
		},
		"batch_size over Mixpanel's": {
			edit: func(s string) string { return strings.Replace(s, "batch_size: 500", "batch_size: 5000", 1) },
			sync: "events_to_mixpanel",
			want: "batch_size: must be between 1 and 2000",
		},
		"unknown object": {
			edit: func(s string) string { return strings.Replace(s, "object: events", "object: groups", 1) },
			sync: "events_to_mixpanel",
			want: `unknown object "groups": use events or profiles`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := mixpanelYAML
			if tc.edit != nil {
				tmpl = tc.edit(tmpl)
			}
			p := newMixpanelProject(t, tmpl, productEvents(10)+mpUsersSetup, mpsim.Options{})
			if tc.unset != "" {
				os.Unsetenv(tc.unset)
			}
			out, errOut, code := p.sluice("sync", tc.sync)
			require.NotEqual(t, 0, code)
			require.Contains(t, out+errOut, tc.want)
			require.Equal(t, int64(0), p.requests(), "nothing reached Mixpanel")
		})
	}
}

// A wrong secret is found by the credential check, before any row is sent.
func TestMixpanelWrongSecretIsFoundByTheCheck(t *testing.T) {
	p := newMixpanelProject(t, mixpanelYAML, productEvents(10), mpsim.Options{})
	t.Setenv("MIXPANEL_SECRET", "not-the-secret")
	run, code := p.syncJSON("events_to_mixpanel")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "Mixpanel refused the credentials (HTTP 401")
	require.Contains(t, run["error"], "check service_account")
	require.NotContains(t, run["error"], "not-the-secret")
	require.Equal(t, int64(1), p.requests(), "only the check")
	require.Equal(t, 0, p.sim.EventCount())
}
