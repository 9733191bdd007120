package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/postgres"
	"github.com/sluicehq/sluice/record"
)

// modeBundle is a users table opened in one mode, with two rows already there.
type modeBundle struct {
	db *testDB
	d  connector.Destination
}

func setupMode(t *testing.T, mode connector.Mode) *modeBundle {
	t.Helper()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text, plan_tier text)`)
	db.exec(t, `INSERT INTO users VALUES ('u1', 'old1@x', 'free'), ('u2', 'old2@x', 'free')`)
	return &modeBundle{db: db, d: db.open(t, postgres.Config{Table: "users"}, withMode(usersInfo, mode))}
}

func user(id, email, tier string) record.Fields {
	return fields("id", id, "email", email, "plan_tier", tier)
}

func (b *modeBundle) rows(t *testing.T) []string {
	return b.db.queryStrings(t, `SELECT id, email, plan_tier FROM users ORDER BY id`)
}

func TestInsertKeepsExistingRows(t *testing.T) {
	t.Parallel()
	b := setupMode(t, connector.ModeInsert)
	batch := []record.Change{add("u1", user("u1", "new1@x", "pro")), add("u3", user("u3", "new3@x", "pro"))}
	require.NoError(t, write(t, b.d, batch...))
	require.Equal(t, []string{"u1|old1@x|free", "u2|old2@x|free", "u3|new3@x|pro"}, b.rows(t))
	// A re-send after a crash is harmless.
	require.NoError(t, write(t, b.d, batch...))
	require.Equal(t, []string{"u1|old1@x|free", "u2|old2@x|free", "u3|new3@x|pro"}, b.rows(t))
}

func TestUpdateReportsMissingKeysPerRow(t *testing.T) {
	t.Parallel()
	b := setupMode(t, connector.ModeUpdate)
	err := write(t, b.d,
		change("u1", user("u1", "new1@x", "pro")),
		change("ghost", user("ghost", "g@x", "pro")),
		change("u2", user("u2", "new2@x", "team")),
	)
	require.Equal(t, map[int]string{1: "no row with key ghost in public.users"}, conformance.FailedRows(t, err))
	require.Equal(t, []string{"u1|new1@x|pro", "u2|new2@x|team"}, b.rows(t))
}

func TestUpsertInsertsAndUpdates(t *testing.T) {
	t.Parallel()
	b := setupMode(t, connector.ModeUpsert)
	require.NoError(t, write(t, b.d, change("u1", user("u1", "new1@x", "pro")), add("u3", user("u3", "new3@x", "team"))))
	require.Equal(t, []string{"u1|new1@x|pro", "u2|old2@x|free", "u3|new3@x|team"}, b.rows(t))
}

func TestMirrorDeletes(t *testing.T) {
	t.Parallel()
	b := setupMode(t, connector.ModeMirror)
	var r recorder
	err := b.d.Write(context.Background(), r.batch([]record.Change{
		remove("u1", user("u1", "old1@x", "free")),
		remove("never-synced", user("never-synced", "", "")),
		add("u3", user("u3", "new3@x", "pro")),
		change("u2", user("u2", "new2@x", "pro")),
	}))
	require.NoError(t, err)
	require.Equal(t, []string{"u2|new2@x|pro", "u3|new3@x|pro"}, b.rows(t))
	require.Len(t, r.exchanges, 1, "one transaction")
	ex := r.exchanges[0]
	require.Equal(t, "SQL mirror 4 rows into public.users", ex.Request.Line)
	require.Equal(t, "OK 4 rows (2 written, 1 deleted)", ex.Response.Line)
	body := string(ex.Request.Body)
	for _, want := range []string{"BEGIN", "CREATE TEMP TABLE sluice_stage", "ON COMMIT DROP", "COPY sluice_stage", "FORMAT binary",
		`INSERT INTO "public"."users"`, `ON CONFLICT ("id") DO UPDATE SET`, `DELETE FROM "public"."users" WHERE "id" = ANY($1::text[])`, "COMMIT"} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "new3@x", "traces carry statements, not data")
	require.Positive(t, ex.Duration)
}

func TestRemovalOutsideMirrorFailsItsRow(t *testing.T) {
	t.Parallel()
	b := setupMode(t, connector.ModeUpsert)
	err := write(t, b.d, remove("u1", user("u1", "old1@x", "free")), add("u3", user("u3", "x", "y")))
	require.Equal(t, map[int]string{0: "postgres: mode upsert does not delete rows"}, conformance.FailedRows(t, err))
	require.Equal(t, []string{"u1|old1@x|free", "u2|old2@x|free", "u3|x|y"}, b.rows(t))
}

// The mappings may leave the key out of the record: the batch key then goes into the
// key column, converted to its type.
func TestKeyFromTheBatchKey(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE accounts (account_id bigint PRIMARY KEY, name text)`)
	db.exec(t, `CREATE TABLE blobs (k bytea PRIMARY KEY, name text)`)
	db.exec(t, `CREATE TABLE events (at timestamptz UNIQUE, name text)`)
	for _, mode := range []connector.Mode{connector.ModeUpsert, connector.ModeMirror, connector.ModeUpdate} {
		t.Run(string(mode), func(t *testing.T) {
			db.exec(t, `TRUNCATE accounts, blobs, events`)
			db.exec(t, `INSERT INTO accounts VALUES (7, 'seven')`)
			info := connector.SyncInfo{Mode: mode, KeyColumn: "id", KeyField: "account_id", Fields: []string{"name"}}
			d := db.open(t, postgres.Config{Table: "accounts"}, info)
			err := write(t, d,
				change("7", fields("name", "seven v2")),
				add("42", fields("name", "forty-two")),
				add("x", fields("name", "not a number")))
			rows := conformance.FailedRows(t, err)
			require.Equal(t, `column account_id (bigint): cannot store "x" (string)`, rows[2])
			if mode == connector.ModeUpdate {
				require.Equal(t, "no row with key 42 in public.accounts", rows[1])
				require.Equal(t, []string{"7|seven v2"}, db.queryStrings(t, `SELECT * FROM accounts ORDER BY 1`))
				return
			}
			require.Len(t, rows, 1)
			require.Equal(t, []string{"7|seven v2", "42|forty-two"}, db.queryStrings(t, `SELECT * FROM accounts ORDER BY 1`))
			if mode == connector.ModeMirror {
				require.NoError(t, write(t, d, remove("42", fields("name", "forty-two"))))
				require.Equal(t, []string{"7|seven v2"}, db.queryStrings(t, `SELECT * FROM accounts ORDER BY 1`))
			}
		})
	}
	t.Run("bytes and timestamps", func(t *testing.T) {
		info := connector.SyncInfo{Mode: connector.ModeMirror, KeyColumn: "k", KeyField: "k", Fields: []string{"name"}}
		d := db.open(t, postgres.Config{Table: "blobs"}, info)
		key, _ := record.KeyString([]byte{0, 0xff})
		require.NoError(t, write(t, d, add(key, fields("name", "blob"))))
		require.Equal(t, []string{"[0 255]|blob"}, db.queryStrings(t, `SELECT * FROM blobs`))
		require.NoError(t, write(t, d, remove(key, fields("name", "blob"))))
		require.Empty(t, db.queryStrings(t, `SELECT * FROM blobs`))

		info.KeyField = "at"
		d = db.open(t, postgres.Config{Table: "events"}, info)
		require.NoError(t, write(t, d, add("2024-05-06T07:08:09.5Z", fields("name", "launch"))))
		require.Equal(t, []string{"2024-05-06 07:08:09.5|launch"}, db.queryStrings(t, `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.FF1'), name FROM events`))
	})
}

func TestNullKeyFailsItsRow(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text UNIQUE, email text, plan_tier text)`)
	d := db.open(t, postgres.Config{Table: "users"}, usersInfo)
	err := write(t, d, add("u1", user("u1", "a", "b")), add("u2", fields("id", nil, "email", "c", "plan_tier", "d")))
	require.Equal(t, map[int]string{1: "column id (text): the key cannot be null"}, conformance.FailedRows(t, err))
}

// Rows PostgreSQL refuses are found by splitting the batch; only they fail, each with
// PostgreSQL's own message.
func TestRefusedRowsAreIsolatedBySplitting(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text NOT NULL UNIQUE, plan_tier text CHECK (plan_tier <> 'banned'))`)
	db.exec(t, `INSERT INTO users VALUES ('taken', 'taken@x', 'free')`)
	d := db.open(t, postgres.Config{Table: "users"}, usersInfo)
	var batch []record.Change
	for i := range 40 {
		id := fmt.Sprintf("u%02d", i)
		batch = append(batch, add(id, user(id, id+"@x", "free")))
	}
	batch[3].Fields.Values()[1] = nil        // NOT NULL
	batch[17].Fields.Values()[1] = "taken@x" // another row's unique email
	batch[30].Fields.Values()[2] = "banned"  // CHECK
	batch[31].Fields.Values()[1] = 12.5      // converted in Go: text takes any value's text
	var r recorder
	err := d.Write(context.Background(), r.batch(batch))
	rows := conformance.FailedRows(t, err)
	require.Len(t, rows, 3, "%v", rows)
	require.Equal(t, `postgres: null value in column "email" of relation "users" violates not-null constraint: Failing row contains (u03, null, free). (SQLSTATE 23502)`, rows[3])
	require.Equal(t, `postgres: duplicate key value violates unique constraint "users_email_key": Key (email)=(taken@x) already exists. (SQLSTATE 23505)`, rows[17])
	require.Contains(t, rows[30], `violates check constraint "users_plan_tier_check"`)
	require.Contains(t, rows[30], "(SQLSTATE 23514)")
	require.Equal(t, []string{"38"}, db.queryStrings(t, `SELECT count(*) FROM users`), "37 rows written beside the seeded one")
	require.Equal(t, []string{"12.5"}, db.queryStrings(t, `SELECT email FROM users WHERE id = 'u31'`))

	require.Greater(t, len(r.exchanges), 3, "one transaction per attempt")
	require.Equal(t, "SQL upsert 40 rows into public.users", r.exchanges[0].Request.Line)
	require.True(t, strings.HasPrefix(r.exchanges[0].Response.Line, "ERROR 23"), r.exchanges[0].Response.Line)
	var refused int
	for _, ex := range r.exchanges {
		if strings.HasPrefix(ex.Request.Line, "SQL upsert 1 rows") && strings.HasPrefix(ex.Response.Line, "ERROR") {
			refused++
		}
	}
	require.Equal(t, 3, refused)
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text, plan_tier text)`)
	d := db.open(t, postgres.Config{Table: "users", MaxInFlight: 4, BatchSize: 100}, withMode(usersInfo, connector.ModeMirror))
	const writers, batches, per = 12, 5, 100 // more writers than connections: Write waits for one
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var changes []record.Change
				for i := range per {
					id := fmt.Sprintf("w%d-b%d-%d", w, b, i)
					changes = append(changes, add(id, user(id, id+"@x", "free")))
				}
				if b > 0 { // and remove one row of the previous batch
					id := fmt.Sprintf("w%d-b%d-0", w, b-1)
					changes = append(changes[1:], remove(id, user(id, "", "")))
				}
				errs <- write(t, d, changes...)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, []string{fmt.Sprint(writers * batches * (per - 1))}, db.queryStrings(t, `SELECT count(*) FROM users`))
}
