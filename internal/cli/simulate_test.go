package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startSimulator runs `sluice simulate args…` as its own process and returns its URL.
func startSimulator(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"simulate"}, args...)...)
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, "Ctrl-C stops the simulator cleanly")
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("the simulator did not stop on SIGINT")
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("the simulator did not say where it listens")
		return ""
	}
}

func TestSimulateHubSpot(t *testing.T) {
	url := startSimulator(t, "hubspot", "--addr", "127.0.0.1:0", "--tier", "free", "--token", "pat-1", "--property", "contacts.plan_tier:enumeration=free|pro")
	req, _ := http.NewRequest("GET", url+"/account-info/v3/details", nil)
	req.Header.Set("Authorization", "Bearer pat-1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "100", resp.Header.Get("X-HubSpot-RateLimit-Max"), "the free tier's limits")

	req, _ = http.NewRequest("GET", url+"/account-info/v3/details", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode, "only the given token is accepted")

	req, _ = http.NewRequest("GET", url+"/crm/v3/properties/contacts/plan_tier", nil)
	req.Header.Set("Authorization", "Bearer pat-1")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "--property created it: %s", body)
	require.Contains(t, string(body), `"enumeration"`)
}

func TestSimulateMixpanelWithFaults(t *testing.T) {
	url := startSimulator(t, "mixpanel", "--project-id", "42", "--service-account", "bot:s3cret", "--force-429", "1")
	post := func() int {
		req, _ := http.NewRequest("POST", url+"/import?strict=1&project_id=42", bytes.NewReader([]byte(
			`[{"event":"Signup","properties":{"time":1700000000000,"distinct_id":"u1","$insert_id":"a1"}}]`)))
		req.SetBasicAuth("bot", "s3cret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 429, post(), "--force-429 answers the first request with a 429")
	require.Equal(t, 200, post())
}

func TestSimulateUnknownAPI(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"simulate", "salesforce-classic"}, &out, &errb)
	stderr := errb.String()
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `no simulator named "salesforce-classic": the simulators are facebook, hubspot, mixpanel, salesforce, slack`)
}

func TestSimulateRefusesABadTier(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"simulate", "hubspot", "--tier", "platinum"}, &out, &errb)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errb.String(), "platinum")
}

func TestSimulateRefusesABadProperty(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"simulate", "hubspot", "--property", "tickets.x"}, &out, &errb)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errb.String(), "--property tickets.x")
}

// The issue's own project file works against `sluice simulate` as started with no
// flags: the simulators accept the file's credentials as they are.
func TestIssueProjectAgainstStandaloneSimulators(t *testing.T) {
	hsURL := startSimulator(t, "hubspot", "--property", "contacts.plan_tier")
	mpURL := startSimulator(t, "mixpanel")
	t.Setenv("HUBSPOT_TOKEN", "pat-na1-try-it")
	t.Setenv("MIXPANEL_SECRET", "sa-secret")
	t.Setenv("MIXPANEL_PROJECT_TOKEN", "proj-token")
	dir := t.TempDir()
	p := &project{t: t, dir: dir, warehouse: filepath.Join(dir, "warehouse.duckdb")}
	p.sql(`create table users as select i as id, 'u' || i || '@example.com' as email, (['free','pro'])[1 + (i % 2)::int] as plan from range(1, 301) t(i);
create table product_events as select i as event_id, 'Viewed Report' as event_name, 'u' || (i % 50) as user_id,
  now()::timestamp - to_seconds(i) as occurred_at, 'pro' as plan from range(1, 2001) t(i);`)
	yaml := `sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  users: {source: warehouse, table: users, primary_key: id}
  product_events: {source: warehouse, table: product_events, primary_key: event_id}
destinations:
  crm:
    type: hubspot
    access_token: ${env:HUBSPOT_TOKEN}
    tier: professional
    base_url: ` + hsURL + `
  product:
    type: mixpanel
    project_id: "2195193"
    service_account: {username: sync-bot, secret: ${env:MIXPANEL_SECRET}}
    project_token: ${env:MIXPANEL_PROJECT_TOKEN}
    base_url: ` + mpURL + `
syncs:
  users_to_hubspot:
    model: users
    destination: crm
    object: contacts
    id_property: email
    mode: upsert
    mappings:
      - {from: email, to: email}
      - {from: plan, to: plan_tier}
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
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte(yaml), 0o644))
	out, errOut, code := p.sluice("validate")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	for sync, n := range map[string]int{"users_to_hubspot": 300, "events_to_mixpanel": 2000, "users_to_mixpanel": 300} {
		run, code := p.syncJSON(sync)
		require.Equal(t, 0, code, "%s: %v", sync, run)
		require.EqualValues(t, n, run["succeeded"], sync)
	}
}

// Issue 4's project file, as written there, works against `sluice simulate`
// salesforce, facebook and slack: only the fields the org's admin would have
// created are given to the Salesforce simulator.
func TestIssue4ProjectAgainstStandaloneSimulators(t *testing.T) {
	sfURL := startSimulator(t, "salesforce", "--field", "Account.District_Id__c:string:external", "--field", "Account.Students_Online__c:double")
	fbURL := startSimulator(t, "facebook")
	slURL := startSimulator(t, "slack")
	t.Setenv("SF_TOKEN", "00D000000000001!sf-token")
	t.Setenv("META_TOKEN", "EAAB-meta-token")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-slack-token")
	dir := t.TempDir()
	p := &project{t: t, dir: dir, warehouse: filepath.Join(dir, "warehouse.duckdb")}
	p.sql(`create table districts as select 'D-' || i as district_id, 'District ' || i as name, i * 7 as students_online from range(1, 41) t(i);
create table high_value_customers as select i as customer_id, 'c' || i || '@example.com' as email, '+1 415 555 ' || lpad(i::varchar, 4, '0') as phone,
  'Ada' as first_name, 'Lovelace' as last_name, 'US' as country from range(1, 101) t(i);
create table at_risk_accounts as select i as account_id, 'Account ' || i as name, i as unused_seats, 'owner' || i || '@example.com' as owner_email from range(1, 4) t(i);`)
	yaml := `sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  districts: {source: warehouse, table: districts, primary_key: district_id}
  high_value_customers: {source: warehouse, table: high_value_customers, primary_key: customer_id}
  at_risk_accounts: {source: warehouse, table: at_risk_accounts, primary_key: account_id}
destinations:
  sfdc:
    type: salesforce
    instance_url: ` + sfURL + `   # the org's My Domain URL
    access_token: ${env:SF_TOKEN}
    api_version: "62.0"
    edition: enterprise                   # with licenses: sets the daily allocation
    licenses: 50
  ads:
    type: facebook_audience
    access_token: ${env:META_TOKEN}
    ad_account_id: act_1234567
    base_url: ` + fbURL + `       # default https://graph.facebook.com/v21.0
  alerts:
    type: slack
    bot_token: ${env:SLACK_BOT_TOKEN}     # or webhook_url: ${env:SLACK_WEBHOOK}
    base_url: ` + slURL + `       # default https://slack.com/api
syncs:
  districts_to_salesforce:
    model: districts
    destination: sfdc
    object: Account
    external_id_field: District_Id__c
    mode: upsert
    api: auto                             # auto | collections | bulk
    mappings:
      - {from: district_id, to: District_Id__c}
      - {from: students_online, to: Students_Online__c}
  big_spenders_audience:
    model: high_value_customers
    destination: ads
    audience_id: "23851234567890123"
    mode: mirror
    identifiers: {EMAIL: email, PHONE: phone, FN: first_name, LN: last_name, COUNTRY: country}
  at_risk_to_slack:
    model: at_risk_accounts
    destination: alerts
    channel: C0123ABCD
    mode: insert
    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte(yaml), 0o644))
	out, errOut, code := p.sluice("validate")
	require.Equal(t, 0, code, "%s%s", out, errOut)

	// The example maps no Name, which Salesforce requires of a new Account: the
	// first run fails each district with Salesforce's reason.
	run, code := p.syncJSON("districts_to_salesforce")
	require.NotEqual(t, 0, code)
	require.EqualValues(t, 40, run["failed"])
	out, _, _ = p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, out, "REQUIRED_FIELD_MISSING")
	// Sales reps' accounts exist already: the sync keeps their numbers fresh.
	var recs []string
	for i := 1; i <= 40; i++ {
		recs = append(recs, fmt.Sprintf(`{"attributes":{"type":"Account"},"District_Id__c":"D-%d","Name":"District %d"}`, i, i))
	}
	req, _ := http.NewRequest(http.MethodPost, sfURL+"/services/data/v62.0/composite/sobjects", strings.NewReader(`{"allOrNone":true,"records":[`+strings.Join(recs, ",")+`]}`))
	req.Header.Set("Authorization", "Bearer any")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	for sync, n := range map[string]int{"districts_to_salesforce": 40, "big_spenders_audience": 100, "at_risk_to_slack": 3} {
		run, code := p.syncJSON(sync)
		require.Equal(t, 0, code, "%s: %v", sync, run)
		require.EqualValues(t, n, run["succeeded"], sync)
		require.EqualValues(t, 0, run["failed"], sync)
	}
}

func TestSimulateSlack(t *testing.T) {
	url := startSimulator(t, "slack")
	req, _ := http.NewRequest("POST", url+"/api/chat.postMessage", strings.NewReader(`{"channel":"C0123ABCD","text":"hello"}`))
	req.Header.Set("Authorization", "Bearer xoxb-anything")
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), `"ok":true`)
}

func TestSimulateFacebook(t *testing.T) {
	url := startSimulator(t, "facebook")
	resp, err := http.Get(url + "/v21.0/23851234567890123?fields=id,name&access_token=any")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"23851234567890123"`)
}

func TestSimulateSalesforce(t *testing.T) {
	url := startSimulator(t, "salesforce", "--field", "Account.District_Id__c:string:external", "--licenses", "10")
	req, _ := http.NewRequest("GET", url+"/services/data/v62.0/sobjects/Account/describe", nil)
	req.Header.Set("Authorization", "Bearer any")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"District_Id__c"`)
	require.Contains(t, resp.Header.Get("Sforce-Limit-Info"), "/110000", "enterprise: 100,000 + 1,000 per licence")
}
