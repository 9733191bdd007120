package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/postgres"
)

var usersInfo = connector.SyncInfo{
	Name: "users", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id",
	Fields: []string{"id", "email", "plan_tier"},
}

func TestOpenRefusesTablesThatDoNotFit(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users_copy (id text PRIMARY KEY, email text, "Plan_Tier" text)`)
	db.exec(t, `CREATE TABLE no_unique (id text, email text, plan_tier text)`)
	db.exec(t, `CREATE TABLE composite (id text, email text, plan_tier text, PRIMARY KEY (id, email))`)
	db.exec(t, `CREATE TABLE partial (id text, email text, plan_tier text)`)
	db.exec(t, `CREATE UNIQUE INDEX ON partial (id) WHERE email IS NOT NULL`)
	db.exec(t, `CREATE VIEW users_view AS SELECT * FROM no_unique`)
	db.exec(t, `CREATE TABLE gen (id text PRIMARY KEY, email text, plan_tier text GENERATED ALWAYS AS (upper(email)) STORED)`)

	for _, tc := range []struct {
		name, table string
		info        connector.SyncInfo
		want        string
	}{
		{"missing table", "users_missing", usersInfo,
			"postgres: table public.users_missing does not exist: create it, or fix the destination's table"},
		{"missing table in a schema", "crm.users", usersInfo,
			"postgres: table crm.users does not exist: create it, or fix the destination's table"},
		{"missing column", "users_copy", usersInfo,
			"postgres: column plan_tier (from the sync's mappings) is not in public.users_copy: add it or change the mapping (did you mean Plan_Tier? names are case-sensitive)"},
		{"missing columns", "users_copy", withFields(usersInfo, "id", "a", "b"),
			"postgres: columns a, b (from the sync's mappings) are not in public.users_copy: add them or change the mappings"},
		{"missing key column", "users_copy", withKey(withFields(usersInfo, "email"), "user_id"),
			"postgres: key column user_id is not in public.users_copy"},
		{"key without constraint", "no_unique", usersInfo,
			"postgres: key column id of public.no_unique has no PRIMARY KEY or UNIQUE constraint of its own"},
		{"key in a composite key only", "composite", usersInfo,
			"has no PRIMARY KEY or UNIQUE constraint of its own"},
		{"partial unique index", "partial", usersInfo,
			"has no PRIMARY KEY or UNIQUE constraint of its own"},
		{"view", "users_view", usersInfo,
			"postgres: public.users_view is a view, not a table"},
		{"generated column", "gen", usersInfo,
			"postgres: column plan_tier of public.gen is generated and cannot be written"},
		{"duplicate field", "no_unique", withFields(usersInfo, "id", "email", "email"),
			"postgres: field email appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.tryOpen(postgres.Config{Table: tc.table}, tc.info)
			require.Error(t, err)
			require.True(t, connector.IsPermanent(err), "want a permanent error: %v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func withFields(info connector.SyncInfo, fields ...string) connector.SyncInfo {
	info.Fields = fields
	return info
}

func withKey(info connector.SyncInfo, key string) connector.SyncInfo {
	info.KeyColumn, info.KeyField = key, key
	return info
}

func TestOpenFindsTables(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE SCHEMA crm`)
	db.exec(t, `CREATE TABLE crm.users (id text PRIMARY KEY, email text, plan_tier text)`)
	db.exec(t, `CREATE TABLE "Mixed Case" (id text UNIQUE, email text, plan_tier text)`)
	db.exec(t, `CREATE TABLE lower_case (id text PRIMARY KEY, email text, plan_tier text)`)
	for _, table := range []string{"crm.users", `"crm"."users"`, `"Mixed Case"`, `public."Mixed Case"`, "lower_case", "LOWER_CASE", "public.lower_case"} {
		t.Run(table, func(t *testing.T) {
			d, err := db.tryOpen(postgres.Config{Table: table}, usersInfo)
			require.NoError(t, err)
			require.NoError(t, d.Close())
		})
	}
}

func TestOpenChecksPrivileges(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text, plan_tier text)`)
	db.exec(t, `CREATE ROLE reader LOGIN PASSWORD 'reader-pw'`)
	db.exec(t, `GRANT SELECT, INSERT ON users TO reader`)
	t.Cleanup(func() { db.exec(t, `DROP OWNED BY reader; DROP ROLE reader`) })
	u, err := url.Parse(db.url)
	require.NoError(t, err)
	u.User = url.UserPassword("reader", "reader-pw")
	readerURL := u.String()

	_, err = db.tryOpen(postgres.Config{URL: readerURL, Table: "users"}, withMode(usersInfo, connector.ModeInsert))
	require.NoError(t, err, "insert needs only INSERT")
	_, err = db.tryOpen(postgres.Config{URL: readerURL, Table: "users"}, withMode(usersInfo, connector.ModeMirror))
	require.Error(t, err)
	require.True(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "postgres: role reader lacks UPDATE and DELETE on public.users, which mode mirror needs: GRANT UPDATE, DELETE ON \"public\".\"users\" TO \"reader\"")
}

func withMode(info connector.SyncInfo, m connector.Mode) connector.SyncInfo {
	info.Mode = m
	return info
}

func TestCheckRerunsTheChecks(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text, plan_tier text)`)
	d := db.open(t, postgres.Config{Table: "users"}, usersInfo)
	checker, ok := d.(connector.Checker)
	require.True(t, ok, "the destination implements connector.Checker")
	require.NoError(t, checker.Check(context.Background()))

	db.exec(t, `ALTER TABLE users DROP COLUMN plan_tier`)
	err := checker.Check(context.Background())
	require.Error(t, err)
	require.True(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "column plan_tier (from the sync's mappings) is not in public.users")

	// A write after the column went away fails the batch permanently.
	err = write(t, d, add("u1", fields("id", "u1", "email", "a@x", "plan_tier", "pro")))
	require.Error(t, err)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.Contains(t, err.Error(), "42703")
}

func TestConfig(t *testing.T) {
	t.Parallel()
	valid := func() postgres.Config {
		var c postgres.Config
		c.SetDefaults()
		c.URL, c.Table = "postgres://sluice:pw@localhost:5432/app", "public.users"
		return c
	}
	c := valid()
	require.NoError(t, c.Validate())
	require.Equal(t, 5000, c.BatchSize)
	require.Equal(t, 4, c.MaxInFlight)

	for _, tc := range []struct {
		field  string
		change func(*postgres.Config)
	}{
		{"batch_size", func(c *postgres.Config) { c.BatchSize = 0 }},
		{"batch_size", func(c *postgres.Config) { c.BatchSize = 50_001 }},
		{"max_in_flight", func(c *postgres.Config) { c.MaxInFlight = -1 }},
		{"max_in_flight", func(c *postgres.Config) { c.MaxInFlight = 33 }},
		{"url", func(c *postgres.Config) { c.URL = "" }},
		{"url", func(c *postgres.Config) { c.URL = "postgres://sluice:hunter22@localhost:notaport/app" }},
		{"table", func(c *postgres.Config) { c.Table = "" }},
		{"table", func(c *postgres.Config) { c.Table = "a.b.c" }},
		{"table", func(c *postgres.Config) { c.Table = `"unterminated` }},
	} {
		c := valid()
		tc.change(&c)
		err := c.Validate()
		var fe *connector.FieldError
		require.True(t, errors.As(err, &fe), "%+v: want a FieldError, got %v", c, err)
		require.Equal(t, tc.field, fe.Field)
		require.NotContains(t, err.Error(), "hunter22")
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text, plan_tier text)`)
	d := db.open(t, postgres.Config{Table: "users", BatchSize: 700, MaxInFlight: 3}, usersInfo)
	require.Equal(t, connector.Capabilities{MaxBatchRecords: 700, MaxInFlight: 3, MaxAttempts: 5}, d.Capabilities())
	d = db.open(t, postgres.Config{Table: "users"}, usersInfo)
	require.Equal(t, connector.Capabilities{MaxBatchRecords: 5000, MaxInFlight: 4, MaxAttempts: 5}, d.Capabilities())
}
