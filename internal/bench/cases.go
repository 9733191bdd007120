package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/mixpanel"
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
