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

create table purchases as
select i as purchase_id,
       1 + (hash(i * 23) % 5000)::int as user_id,
       (20 + (hash(i * 29) % 300000) / 100.0)::decimal(10, 2) as amount,
       date '2026-01-01' + (hash(i * 31) % 320)::int as purchased_on
from range(1, 12001) t(i);

-- Customers who spent over $5,000: the seed of a lookalike audience.
create view high_value_customers as
select u.user_id as id, u.email, u.first_name, u.last_name,
       '+1 (415) 555-' || lpad((u.user_id % 10000)::varchar, 4, '0') as phone,
       'US' as country, sum(p.amount) as total_spent
from users u join purchases p using (user_id)
group by u.user_id, u.email, u.first_name, u.last_name
having sum(p.amount) > 5000;

-- School districts of an edtech customer base, with the students online right now.
create table districts as
select 'D-' || lpad(i::varchar, 3, '0') as district_id,
       (['Maple','Cedar','Lakeside','Riverside','Summit','Harbor','Prairie','Granite'])[1 + (hash(i) % 8)::int]
         || ' Unified School District ' || i as name,
       (hash(i * 37) % 4000)::int as students_online
from range(1, 41) t(i);

-- Accounts paying for seats nobody uses: customer success should call them.
create view at_risk_accounts as
select a.account_id, a.name, a.seats - count(distinct u.user_id) as unused_seats,
       'owner' || a.account_id || '@example.com' as owner_email
from accounts a left join users u using (account_id)
group by a.account_id, a.name, a.seats
having a.seats - count(distinct u.user_id) >= 184;

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

// projectYAML is the demo's project file; {{…}} are filled in by Setup with the
// receiver's and simulators' URLs and the files holding the credentials.
const projectYAML = `# The Sluice demo project: a SaaS company's warehouse, synced to the tools its teams use.
sources:
  warehouse:
    type: duckdb
    path: warehouse.duckdb

models:
  user_profiles:
    source: warehouse
    table: user_profiles
    primary_key: id
  account_usage:
    source: warehouse
    query: |
      select a.account_id, a.name, a.plan, a.seats, count(distinct u.user_id) as active_users
      from accounts a left join users u using (account_id)
      group by a.account_id, a.name, a.plan, a.seats
    primary_key: account_id
  product_events:
    source: warehouse
    table: product_events
    primary_key: event_id
  at_risk_accounts:
    source: warehouse
    table: at_risk_accounts
    primary_key: account_id
  high_value_customers:
    source: warehouse
    table: high_value_customers
    primary_key: id
  districts:
    source: warehouse
    table: districts
    primary_key: district_id

destinations:
  crm_webhook:
    type: webhook
    url: {{RECEIVER_URL}}
    batch_size: 500
    max_in_flight: 4
    signing_secret: ${file:{{WEBHOOK_SECRET_FILE}}}

  # Local simulators of the vendors' APIs (sluice simulate hubspot|mixpanel|slack|
  # facebook|salesforce): the same paths, limits, headers and errors as the real ones.
  crm:
    type: hubspot
    access_token: ${file:{{HUBSPOT_TOKEN_FILE}}}
    tier: professional
    base_url: {{HUBSPOT_URL}}
  product:
    type: mixpanel
    project_id: "2195193"
    service_account: {username: sync-bot, secret: ${file:{{MIXPANEL_SECRET_FILE}}}}
    project_token: ${file:{{MIXPANEL_TOKEN_FILE}}}   # /engage (profiles) authenticates with it
    base_url: {{MIXPANEL_URL}}
  alerts:
    type: slack
    bot_token: ${file:{{SLACK_TOKEN_FILE}}}
    base_url: {{SLACK_URL}}
  ads:
    type: facebook_audience
    access_token: ${file:{{META_TOKEN_FILE}}}
    ad_account_id: act_1234567
    base_url: {{META_URL}}
  sfdc:
    type: salesforce
    instance_url: {{SALESFORCE_URL}}
    access_token: ${file:{{SALESFORCE_TOKEN_FILE}}}
    api_version: "62.0"
    edition: enterprise
    licenses: 50

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

  # Product usage into the CRM, so that sales and lifecycle emails act on fresh data.
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
  accounts_to_hubspot:
    model: account_usage
    destination: crm
    object: companies
    id_property: sluice_account_id
    mode: upsert
    mappings:
      - {from: account_id, to: sluice_account_id}
      - {from: name, to: name}
      - {from: seats, to: numberofemployees}
      - {from: active_users, to: active_users}

  # Accounts paying for seats nobody uses: one Slack message each, for customer success.
  at_risk_to_slack:
    model: at_risk_accounts
    destination: alerts
    channel: C0123ABCD
    mode: insert
    template: "{{ row.name }} has {{ row.unused_seats }} unused seats (owner {{ row.owner_email }})"

  # Customers who spent over $5,000, kept exact as purchases change: a lookalike seed.
  big_spenders_audience:
    model: high_value_customers
    destination: ads
    audience_id: "23851234567890123"
    mode: mirror
    identifiers: {EMAIL: email, PHONE: phone, FN: first_name, LN: last_name, COUNTRY: country}

  # Students online right now, per district, on the Salesforce account sales reps open.
  districts_to_salesforce:
    model: districts
    destination: sfdc
    object: Account
    external_id_field: District_Id__c
    mode: upsert
    api: auto
    mappings:
      - {from: district_id, to: District_Id__c}
      - {from: name, to: Name}
      - {from: students_online, to: Students_Online__c}

  # Product events and user profiles into product analytics.
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
