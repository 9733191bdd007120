package demo

import (
	"encoding/base64"
	"strings"
)

func signingKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}

// warehouseSQL builds a deterministic sample warehouse: 300 accounts, 5,000 users,
// 60,000 product events, and one user row whose id an import lost.
const warehouseSQL = `
create table accounts as
select i as account_id,
       (['Acme','Globex','Initech','Umbrella','Hooli','Vandelay','Stark','Wayne','Tyrell','Soylent'])[1 + (hash(i) % 10)::int]
         || ' ' || (['Labs','Systems','Health','Logistics','Media','Foods','Energy','Bank'])[1 + (hash(i * 7) % 8)::int]
         || ' ' || i as name,
       (['free','starter','team','business','enterprise'])[1 + (hash(i * 3) % 5)::int] as plan,
       (5 + hash(i * 11) % 200)::int as seats,
       date '2022-01-01' + (hash(i * 13) % 1000)::int as created_on
from range(1, 301) t(i);

create table users as
select i as user_id,
       1 + (hash(i) % 300)::int as account_id,
       (['ada','grace','alan','edsger','barbara','donald','margaret','ken','dennis','frances'])[1 + (hash(i * 5) % 10)::int] as first_name,
       (['lovelace','hopper','turing','dijkstra','liskov','knuth','hamilton','thompson','ritchie','allen'])[1 + (hash(i * 17) % 10)::int] as last_name,
       date '2023-01-01' + (hash(i * 19) % 1000)::int as signed_up_on
from range(1, 5001) t(i);
alter table users add column email varchar;
update users set email = first_name || '.' || last_name || user_id ||
       case when user_id % 997 = 0 then '@example.invalid' else '@example.com' end;
insert into users values (null, 1, 'lost', 'row', date '2024-01-01', 'lost.row@example.com');

create table product_usage as
select i as event_id,
       1 + (hash(i) % 5000)::int as user_id,
       (['login','report_viewed','dashboard_created','export','invite_sent'])[1 + (hash(i * 3) % 5)::int] as event,
       timestamp '2026-09-01 00:00:00' + to_minutes((hash(i * 11) % (60 * 24 * 85))::bigint) as occurred_at
from range(1, 60001) t(i);

create view user_profiles as
select u.user_id as id,
       u.email,
       u.first_name || ' ' || u.last_name as name,
       u.first_name,
       u.last_name,
       a.name as company,
       a.plan,
       a.seats,
       (a.seats * case a.plan when 'free' then 0 when 'starter' then 8 when 'team' then 15
                               when 'business' then 32 else 55 end)::decimal(12, 2) as account_mrr,
       count(p.event) filter (where p.occurred_at >= timestamp '2026-10-26') as events_30d,
       max(p.occurred_at) as last_seen_at,
       u.signed_up_on
from users u
join accounts a using (account_id)
left join product_usage p using (user_id)
group by all;

create view product_events as
select p.event_id, p.event, p.user_id, p.occurred_at, a.plan
from product_usage p
left join users u using (user_id)
left join accounts a using (account_id);
`

// changesSQL is a day of business; FIXED_USER is the user whose email gets fixed.
const changesSQL = `
update accounts set plan = 'enterprise' where account_id in (7, 42, 99);
delete from users where user_id % 250 = 0;
insert into users
select i, 1 + (hash(i) % 300)::int, 'new', 'signup', date '2026-11-25', 'new.signup' || i || '@example.com'
from range(5001, 5031) t(i);
insert into product_usage
select 60000 + i, 1 + (hash(i * 7) % 400)::int, 'report_viewed', timestamp '2026-11-25 09:00:00'
from range(1, 301) t(i);
update users set email = replace(email, '@example.invalid', '@example.com') where user_id = FIXED_USER;
`

// projectYAML is the demo's project file; %s are the receiver's URL and the secret's file.
const projectYAML = `# The Sluice demo project: a warehouse of users, synced to a CRM's webhook.
sources:
  warehouse:
    type: duckdb
    path: warehouse.duckdb

models:
  user_profiles:
    source: warehouse
    table: user_profiles
    primary_key: id
  product_events:
    source: warehouse
    table: product_events
    primary_key: event_id

destinations:
  crm_webhook:
    type: webhook
    url: %s
    batch_size: 500
    max_in_flight: 4
    signing_secret: ${file:%s}

  # Local simulators of HubSpot's and Mixpanel's APIs (sluice simulate hubspot|mixpanel):
  # the same paths, limits, headers and errors as the real services.
  crm:
    type: hubspot
    access_token: ${file:%s}
    tier: professional
    base_url: %s
  product:
    type: mixpanel
    project_id: "2195193"
    service_account: {username: sync-bot, secret: ${file:%s}}
    project_token: ${file:%s}          # /engage (profiles) authenticates with it
    base_url: %s

syncs:
  profiles_to_crm:
    model: user_profiles
    destination: crm_webhook
    mode: mirror
    mappings:
      - {from: email, to: email}
      - {from: name, to: full_name}
      - {from: company, to: company}
      - {from: plan, to: plan_tier}
      - {from: account_mrr, to: account_mrr}
      - {from: events_30d, to: events_last_30_days}
      - {from: last_seen_at, to: last_seen_at}

  users_to_hubspot:
    model: user_profiles
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

  events_to_mixpanel:
    model: product_events
    destination: product
    object: events
    mode: insert
    event: event
    distinct_id: user_id
    time: occurred_at
    mappings:
      - {from: plan, to: plan}

  users_to_mixpanel:
    model: user_profiles
    destination: product
    object: profiles
    mode: mirror
    distinct_id: id
    mappings:
      - {from: email, to: $email}
      - {from: name, to: $name}
      - {from: plan, to: plan}
      - {from: events_30d, to: events_last_30_days}
`
