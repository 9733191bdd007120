package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/pgtest"
)

const pgProject = `
sources:
  warehouse: {type: duckdb, path: warehouse.duckdb}
models:
  accounts:
    source: warehouse
    query: select * from accounts
    primary_key: id
destinations:
  copy:
    type: postgres
    url: ${env:TEST_DATABASE_URL}
    table: public.accounts_copy
    batch_size: 250
syncs:
  accounts_to_pg:
    model: accounts
    destination: copy
    mode: mirror
    mappings:
      - {from: id, to: id}
      - {from: name, to: name}
      - {from: mrr, to: mrr}
      - {from: tags, to: tags}
      - {from: owner, to: owner}
      - {from: renews_on, to: renews_on}
      - {from: updated_at, to: updated_at}
`

const pgSetup = `
create table accounts as
select i as id, 'Account ' || i as name, (i * 1.25)::decimal(12, 2) as mrr,
       ['a', 'b'] as tags, {'email': 'owner' || i || '@x.io', 'seats': i} as owner,
       date '2025-01-01' + i::int as renews_on, timestamptz '2025-06-01 12:00:00+00' + to_seconds(i) as updated_at
from range(1, 1001) t(i);
`

// The PostgreSQL destination, end to end from DuckDB: typed values land in typed
// columns, changes update rows, removals delete them, and a row PostgreSQL refuses
// fails alone and is retried on the next run.
func TestSyncToPostgres(t *testing.T) {
	url := pgtest.Start(t)
	t.Setenv("TEST_DATABASE_URL", url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE public.accounts_copy (
		id bigint PRIMARY KEY, name text NOT NULL CHECK (name <> 'Account 13-bad'), mrr numeric(12,2),
		tags text[], owner jsonb, renews_on date, updated_at timestamptz)`)
	require.NoError(t, err)

	p := newProject(t, pgProject, pgSetup)
	run, code := p.syncJSON("accounts_to_pg")
	require.Equal(t, 0, code, "%v", run)
	require.Equal(t, 1000, num64(run, "succeeded"))

	var n int
	var mrr, tags, owner, renews, updated string
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM accounts_copy`).Scan(&n))
	require.Equal(t, 1000, n)
	require.NoError(t, conn.QueryRow(ctx, `SELECT mrr::text, tags::text, owner::text, renews_on::text, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
		FROM accounts_copy WHERE id = 7`).Scan(&mrr, &tags, &owner, &renews, &updated))
	require.Equal(t, "8.75", mrr)
	require.Equal(t, "{a,b}", tags)
	require.JSONEq(t, `{"email": "owner7@x.io", "seats": 7}`, owner)
	require.Equal(t, "2025-01-08", renews)
	require.Equal(t, "2025-06-01 12:00:07", updated)

	p.sql(`update accounts set mrr = 99.99 where id = 7;
	       delete from accounts where id = 8;
	       update accounts set name = 'Account 13-bad' where id = 13;`)
	run, code = p.syncJSON("accounts_to_pg")
	require.Equal(t, 1, code)
	require.Equal(t, "partial", run["status"])
	require.Equal(t, [3]int{0, 2, 1}, counts(run))
	require.Equal(t, 1, num64(run, "failed"))
	require.NoError(t, conn.QueryRow(ctx, `SELECT mrr::text FROM accounts_copy WHERE id = 7`).Scan(&mrr))
	require.Equal(t, "99.99", mrr)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM accounts_copy WHERE id = 8`).Scan(&n))
	require.Zero(t, n)

	out, _, _ := p.sluice("run", "show", run["run_id"].(string), "--failed")
	require.Contains(t, out, "row 13: changed failed")
	require.Contains(t, out, "check constraint")
	require.NotContains(t, out, strings.Split(strings.TrimPrefix(url, "postgres://"), "@")[0], "the URL's credentials never show")

	// The refused change is still pending: the next run sends it again.
	plan := p.planJSON("accounts_to_pg")
	require.Equal(t, [3]int{0, 1, 0}, counts(plan))
	p.sql(`update accounts set name = 'Account 13 (fixed)' where id = 13`)
	run, code = p.syncJSON("accounts_to_pg")
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{0, 1, 0}, counts(run), "only the refused row is sent")
	var name string
	require.NoError(t, conn.QueryRow(ctx, `SELECT name FROM accounts_copy WHERE id = 13`).Scan(&name))
	require.Equal(t, "Account 13 (fixed)", name)
}

func TestPostgresTableMissingIsClearAndSendsNothing(t *testing.T) {
	url := pgtest.Start(t)
	t.Setenv("TEST_DATABASE_URL", url)
	p := newProject(t, pgProject, pgSetup)
	run, code := p.syncJSON("accounts_to_pg")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "accounts_copy")
	require.Contains(t, run["error"], "does not exist")
	require.Equal(t, [3]int{1000, 0, 0}, counts(p.planJSON("accounts_to_pg")), "the baseline is untouched")
}
