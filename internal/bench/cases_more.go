package bench

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/slack"
)

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
