package bench

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/simulator/mixpanel"
)

var cases = []Case{mixpanelCase}

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
