package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/slack"
)

var cases = []Case{hubspotCase, mixpanelCase, mixpanelPacedCase, salesforceCase, facebookCase, slackCase}

// hubspotCase upserts contacts by email at the professional tier: 190 requests per
// rolling 10 s, 100 inputs per request, so a 1,900 records/s ceiling.
var hubspotCase = Case{
	Name:        "hubspot",
	Description: "contacts via batch/upsert by email, professional tier",
	Rows:        100_000,
	Target:      "≥ 90% of 1,900 records/s, < 1% 429s",
	sync:        "users_to_hubspot",
	setup: func(ctx context.Context, db *sql.DB, n int) error {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`
create table users as
select i as id,
       'user' || i || '@example.com' as email,
       (['Ada','Grace','Alan','Edsger','Barbara'])[1 + (i %% 5)::int] as first_name,
       (['Lovelace','Hopper','Turing','Dijkstra','Liskov'])[1 + ((i // 5) %% 5)::int] as last_name,
       'Company ' || (i %% 3000) as company,
       (['free','starter','team','business'])[1 + (i %% 4)::int] as plan
from range(1, %d) t(i)`, n+1))
		return err
	},
	start: func() (simulator, error) {
		s := hubspot.New(hubspot.Options{Tier: hubspot.TierProfessional, Tokens: []string{"pat-bench"}})
		// A property the account's admin created for the sync, as users do.
		if err := s.AddProperty("contacts", hubspot.Property{Name: "plan_tier", Label: "Plan tier", Type: "string", FieldType: "text", GroupName: "contactinformation"}); err != nil {
			return simulator{}, err
		}
		return simulator{handler: s, state: s}, nil
	},
	project: func(warehouse, url string) string {
		return fmt.Sprintf(`sources:
  warehouse: {type: duckdb, path: %q}
models:
  users: {source: warehouse, table: users, primary_key: id}
destinations:
  crm:
    type: hubspot
    access_token: pat-bench
    tier: professional
    base_url: %s
syncs:
  users_to_hubspot:
    model: users
    destination: crm
    object: contacts
    id_property: email
    mode: upsert
    mappings:
      - {from: email, to: email}
      - {from: first_name, to: firstname}
      - {from: last_name, to: lastname}
      - {from: company, to: company}
      - {from: plan, to: plan_tier}
`, warehouse, url)
	},
	verify: func(sim simulator, n int) error {
		s := sim.state.(*hubspot.Server)
		if got := len(s.Records("contacts")); got != n {
			return fmt.Errorf("the simulator holds %d contacts, want %d", got, n)
		}
		if r, ok := s.Find("contacts", "email", fmt.Sprintf("user%d@example.com", n)); !ok || r.Properties["plan_tier"] == "" {
			return fmt.Errorf("contact user%d@example.com is missing or has no plan_tier", n)
		}
		return nil
	},
}

// mixpanelCase imports product events through /import at Mixpanel's documented
// 2 GB/min, 2,000 events per request.
var mixpanelCase = Case{
	Name:        "mixpanel",
	Description: "events via /import, 2,000 per request, gzip",
	Rows:        2_000_000,
	Target:      "≥ 25,000 events/s, < 1% 429s",
	sync:        "events_to_mixpanel",
	setup: func(ctx context.Context, db *sql.DB, n int) error {
		// Events of the last days, never in the future (Mixpanel refuses those).
		start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		_, err := db.ExecContext(ctx, fmt.Sprintf(`
create table product_events as
select i as event_id,
       (['Signed Up','Viewed Report','Exported CSV','Invited Teammate','Upgraded Plan'])[1 + (i %% 5)::int] as event_name,
       'user-' || (i %% 50000) as user_id,
       TIMESTAMP '%s' - to_seconds(i %% 2000000) as occurred_at,
       (['free','starter','team','business'])[1 + (i %% 4)::int] as plan,
       '/reports/' || (i %% 977) as path,
       (i %% 7 = 0) as mobile,
       round((i %% 10000) / 100.0, 2) as revenue
from range(1, %d) t(i)`, start.Format("2006-01-02 15:04:05"), n+1))
		return err
	},
	start: func() (simulator, error) {
		s := mixpanel.New(mixpanel.Options{ProjectID: "2195193", ServiceAccounts: map[string]string{"sync-bot": "bench-secret"}})
		return simulator{handler: s, state: s}, nil
	},
	project: func(warehouse, url string) string {
		return fmt.Sprintf(`sources:
  warehouse: {type: duckdb, path: %q}
models:
  product_events: {source: warehouse, table: product_events, primary_key: event_id}
destinations:
  product:
    type: mixpanel
    project_id: "2195193"
    service_account: {username: sync-bot, secret: bench-secret}
    base_url: %s
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
      - {from: path, to: path}
      - {from: mobile, to: mobile}
      - {from: revenue, to: revenue}
`, warehouse, url)
	},
	verify: func(sim simulator, n int) error {
		s := sim.state.(*mixpanel.Server)
		if got := s.EventCount(); got != n {
			return fmt.Errorf("the simulator holds %d events, want %d", got, n)
		}
		return nil
	},
}

// mixpanelPacedCase is a project on a lower ingestion allowance (40 MB of JSON a
// minute, set in the project file as a plan would require): the byte budget binds,
// and pacing by payload bytes must keep the run at that ceiling without 429s.
var mixpanelPacedCase = Case{
	Name:        "mixpanel-paced",
	Description: "events via /import, rate_limit 40 MB/min (simulator likewise)",
	Rows:        300_000,
	Target:      "≥ 90% of the byte ceiling, < 1% 429s",
	sync:        "events_to_mixpanel",
	setup:       mixpanelCase.setup,
	start: func() (simulator, error) {
		s := mixpanel.New(mixpanel.Options{ProjectID: "2195193", ServiceAccounts: map[string]string{"sync-bot": "bench-secret"},
			BytesPerMinute: 40_000_000})
		return simulator{handler: s, state: s}, nil
	},
	project: func(warehouse, url string) string {
		return strings.Replace(mixpanelCase.project(warehouse, url), "    base_url:", "    rate_limit: {bytes: 40000000, per: 1m}\n    base_url:", 1)
	},
	verify: mixpanelCase.verify,
}

// salesforceBulkRate is the records a second the simulated org processes Bulk
// API 2.0 ingest at (the simulator's default: Salesforce publishes no rate, and
// its documented daily limits, 150 million records and 15,000 batches, cannot
// slow one run).
const salesforceBulkRate = 5000

// salesforceCase upserts accounts by an external ID: 200,000 changes are far above
// the 2,000 at which api: auto picks Bulk API 2.0, so the run is jobs of 10,000
// records, and the org's processing rate is the ceiling.
var salesforceCase = Case{
	Name:        "salesforce",
	Description: "accounts via Bulk API 2.0 upsert by external ID, api: auto",
	Rows:        200_000,
	Target:      "≥ 90% of the org's Bulk processing rate (5,000 records/s in the simulator)",
	sync:        "accounts_to_salesforce",
	setup: func(ctx context.Context, db *sql.DB, n int) error {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`
create table accounts as
select 'acct-' || i as account_id,
       'Account ' || i as name,
       (['free','starter','team','business'])[1 + (i %% 4)::int] as plan,
       (i %% 500) as seats
from range(1, %d) t(i)`, n+1))
		return err
	},
	start: func() (simulator, error) {
		s := salesforce.New(salesforce.Options{Tokens: []string{"sf-bench"}, Edition: salesforce.EditionEnterprise, Licenses: 50,
			BulkRecordsPerSecond: salesforceBulkRate})
		for _, spec := range []string{"Account.Account_Id__c:string:external", "Account.Plan__c:string", "Account.Seats__c:double"} {
			object, field, err := salesforce.ParseField(spec)
			if err == nil {
				err = s.AddField(object, field)
			}
			if err != nil {
				return simulator{}, err
			}
		}
		return simulator{handler: s, state: s}, nil
	},
	project: func(warehouse, url string) string {
		return fmt.Sprintf(`sources:
  warehouse: {type: duckdb, path: %q}
models:
  accounts: {source: warehouse, table: accounts, primary_key: account_id}
destinations:
  sfdc:
    type: salesforce
    instance_url: %s
    access_token: sf-bench
    edition: enterprise
    licenses: 50
syncs:
  accounts_to_salesforce:
    model: accounts
    destination: sfdc
    object: Account
    external_id_field: Account_Id__c
    mode: upsert
    api: auto
    mappings:
      - {from: account_id, to: Account_Id__c}
      - {from: name, to: Name}
      - {from: plan, to: Plan__c}
      - {from: seats, to: Seats__c}
`, warehouse, url)
	},
	verify: func(sim simulator, n int) error {
		s := sim.state.(*salesforce.Server)
		if got := len(s.Records("Account")); got != n {
			return fmt.Errorf("the simulator holds %d accounts, want %d", got, n)
		}
		r, ok := s.Find("Account", "Account_Id__c", fmt.Sprintf("acct-%d", n))
		if !ok || r.Fields["Plan__c"] == nil {
			return fmt.Errorf("account acct-%d is missing or has no Plan__c", n)
		}
		if len(s.Jobs()) == 0 {
			return fmt.Errorf("no Bulk API job was created: api: auto should pick Bulk for %d changes", n)
		}
		return nil
	},
	simCeiling: func(n int) (time.Duration, float64, string) {
		return time.Duration(float64(n) / salesforceBulkRate * float64(time.Second)), salesforceBulkRate,
			"the simulated org's Bulk processing rate, 5,000 records/s (Salesforce publishes none; its daily limits cannot slow one run)"
	},
}

// facebookAudience is the bench's audience, on ad account act_1234567.
const facebookAudience = "23851234567890123"

// facebookScore is the ad account's score the bench's simulator is set to: 30
// points a rolling minute (Meta's standard tier allows 9,000 per 300 s), a GET
// costing 1 and a POST or DELETE 3, so ten writes a minute. Meta reports the
// score's use and window in X-Ad-Account-Usage, which the pacer learns from.
const (
	facebookMaxScore    = 30
	facebookScoreWindow = time.Minute
	facebookReadPoints  = 1
	facebookWritePoints = 3
)

// facebookCase adds customers to a Custom Audience in mirror mode, 10,000 rows a
// call, five identifiers each normalised and hashed, against an ad account whose
// score allows ten writes a minute: the pacer must learn the score's size and
// window from Meta's usage headers and spend it without a throttling error
// (going over blocks the account for a minute).
var facebookCase = Case{
	Name:        "facebook",
	Description: "Custom Audience mirror, 10,000 rows per call, ad account score 30 points/min (simulator)",
	Rows:        150_000,
	Target:      "≥ 90% of the simulator's configured throughput, no throttling errors",
	sync:        "customers_to_audience",
	setup: func(ctx context.Context, db *sql.DB, n int) error {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`
create table customers as
select i as customer_id,
       'Customer' || i || '@Example.com ' as email,
       '+1 (415) 555-' || lpad((i %% 10000)::varchar, 4, '0') as phone,
       (['Ada','Grace','Alan','Edsger','Barbara'])[1 + (i %% 5)::int] as first_name,
       (['Lovelace','Hopper','Turing','Dijkstra','Liskov'])[1 + ((i // 5) %% 5)::int] as last_name,
       (['US','GB','FR','DE'])[1 + (i %% 4)::int] as country
from range(1, %d) t(i)`, n+1))
		return err
	},
	start: func() (simulator, error) {
		s := facebook.New(facebook.Options{Tokens: []string{"meta-bench"}, Audiences: map[string]string{facebookAudience: "act_1234567"},
			MaxScore: facebookMaxScore, ScoreDecay: facebookScoreWindow, ReadPoints: facebookReadPoints, WritePoints: facebookWritePoints})
		return simulator{handler: s, state: s}, nil
	},
	project: func(warehouse, url string) string {
		return fmt.Sprintf(`sources:
  warehouse: {type: duckdb, path: %q}
models:
  customers: {source: warehouse, table: customers, primary_key: customer_id}
destinations:
  ads:
    type: facebook_audience
    access_token: meta-bench
    ad_account_id: act_1234567
    base_url: %s
syncs:
  customers_to_audience:
    model: customers
    destination: ads
    audience_id: %q
    mode: mirror
    identifiers: {EMAIL: email, PHONE: phone, FN: first_name, LN: last_name, COUNTRY: country}
`, warehouse, url, facebookAudience)
	},
	verify: func(sim simulator, n int) error {
		s := sim.state.(*facebook.Server)
		if got := s.MemberCount(facebookAudience); got != n {
			return fmt.Errorf("the audience has %d members, want %d", got, n)
		}
		return nil
	},
	simCeiling: func(n int) (time.Duration, float64, string) {
		// The check reads the audience once (a GET), then each call adds 10,000 rows.
		costs := []int64{facebookReadPoints}
		for range (n + 9_999) / 10_000 {
			costs = append(costs, facebookWritePoints)
		}
		return leastTime(costs, facebookMaxScore, facebookScoreWindow),
			10_000 * float64(facebookMaxScore/facebookWritePoints) / facebookScoreWindow.Seconds(),
			"the ad account's score the simulator is set to, 30 points a rolling minute: the check's read (1 point) and ten writes of 10,000 rows (3 points each) a minute"
	},
}

// slackChannel is the bench's channel.
const slackChannel = "C0BENCH01"

// slackCase posts one message per row to one channel: Slack allows about one a
// second, so 60 messages take a minute, and every one must arrive, in order.
var slackCase = Case{
	Name:        "slack",
	Description: "one chat.postMessage per row, one channel",
	Rows:        60,
	Target:      "≥ 95% of 1 message/s per channel, no message lost",
	sync:        "at_risk_to_slack",
	setup: func(ctx context.Context, db *sql.DB, n int) error {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`
create table at_risk_accounts as
select i as account_id,
       'Account ' || i as name,
       (i * 7) %% 100 as unused_seats,
       'owner' || i || '@example.com' as owner_email
from range(1, %d) t(i)`, n+1))
		return err
	},
	start: func() (simulator, error) {
		s := slack.New(slack.Options{Tokens: []string{"xoxb-bench"},
			Channels: map[string]slack.Channel{slackChannel: {Name: "at-risk", Member: true}}})
		return simulator{handler: s, state: s}, nil
	},
	project: func(warehouse, url string) string {
		return fmt.Sprintf(`sources:
  warehouse: {type: duckdb, path: %q}
models:
  at_risk_accounts: {source: warehouse, table: at_risk_accounts, primary_key: account_id}
destinations:
  alerts:
    type: slack
    bot_token: xoxb-bench
    base_url: %s
syncs:
  at_risk_to_slack:
    model: at_risk_accounts
    destination: alerts
    channel: %s
    mode: insert
    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"
`, warehouse, url, slackChannel)
	},
	verify: func(sim simulator, n int) error {
		s := sim.state.(*slack.Server)
		msgs := s.Messages(slackChannel)
		if len(msgs) != n {
			return fmt.Errorf("the channel has %d messages, want %d", len(msgs), n)
		}
		seen := map[string]bool{}
		for _, m := range msgs {
			seen[m.Text] = true
		}
		for i := 1; i <= n; i++ {
			want := fmt.Sprintf("Account %d has %d unused seats (owner owner%d@example.com)", i, (i*7)%100, i)
			if !seen[want] {
				return fmt.Errorf("message %q is missing from the channel", want)
			}
		}
		return nil
	},
}

// leastTime is the least time a sequence of requests with the given costs takes
// on a rolling window that admits capacity per window: each request leaves as
// soon as the window holds room for it, so the last one leaves no sooner than
// the result.
func leastTime(costs []int64, capacity int64, window time.Duration) time.Duration {
	type sent struct {
		at   time.Duration
		cost int64
	}
	var inWindow []sent
	var used int64
	var now time.Duration
	for _, c := range costs {
		for used+c > capacity && len(inWindow) > 0 {
			// Wait for the oldest request to leave the window.
			now = max(now, inWindow[0].at+window)
			used -= inWindow[0].cost
			inWindow = inWindow[1:]
		}
		inWindow = append(inWindow, sent{now, c})
		used += c
	}
	return now
}
