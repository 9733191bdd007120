package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

func TestSpec(t *testing.T) {
	t.Parallel()
	require.Equal(t, "duckdb", Spec.Type)
	require.NotEmpty(t, Spec.Summary)
	require.IsType(t, &Config{}, Spec.NewConfig())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, (&Config{}).Validate())
	require.NoError(t, (&Config{Path: "w.duckdb", Threads: 4, MemoryLimit: "1GB"}).Validate())

	err := (&Config{Path: "a?b", Threads: -1}).Validate()
	var fe *connector.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "path", fe.Field)
	require.ErrorContains(t, err, "threads: must not be negative")

	_, err = Spec.Open(context.Background(), connector.SourceParams{Name: "w", Config: &Config{Threads: -2}})
	require.ErrorContains(t, err, "duckdb: source w: threads: must not be negative")
}

func TestOpenRejectsOtherConfigTypes(t *testing.T) {
	t.Parallel()
	_, err := Spec.Open(context.Background(), connector.SourceParams{Name: "w", Config: Config{}})
	require.ErrorContains(t, err, "duckdb: source w: configuration is a duckdb.Config, not a *duckdb.Config")
}

func TestThreadsAndMemoryLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{Threads: 3, MemoryLimit: "1GB"})
	got := row(t, b.src, "select current_setting('threads'), current_setting('memory_limit')")
	require.Equal(t, int64(3), got[0])
	require.Contains(t, got[1], "MiB") // DuckDB reports 1GB as 953.6 MiB

	_, err := Spec.Open(context.Background(), connector.SourceParams{Name: "w", Config: &Config{MemoryLimit: "lots"}})
	require.ErrorContains(t, err, "duckdb: source w: open the database")
}

// createDatabase writes a DuckDB file through a separate read-write connection.
func createDatabase(t *testing.T, path string, statements ...string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	for _, s := range statements {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
	require.NoError(t, db.Close())
}

func TestTableModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	createDatabase(t, filepath.Join(dir, "warehouse.duckdb"),
		"create table users (id integer, email varchar, doc json)",
		`insert into users values (1, 'a@example.com', '{"b":1,"a":2}'), (2, 'b@example.com', null)`,
		"create schema crm",
		`create table crm."My Users" (id bigint)`,
		`insert into crm."My Users" values (7)`,
	)
	b := setupIn(t, dir, Config{Path: "warehouse.duckdb"})

	for _, table := range []string{"users", "main.users", "warehouse.main.users", `"users"`} {
		cols, rows, err := readAll(t, b.src, connector.Model{Name: "users", Table: table})
		require.NoError(t, err, table)
		require.Equal(t, []connector.Column{{Name: "id", Type: "INTEGER"}, {Name: "email", Type: "VARCHAR"}, {Name: "doc", Type: "JSON"}}, cols)
		require.Equal(t, []record.Row{{int64(1), "a@example.com", record.JSON(`{"b":1,"a":2}`)}, {int64(2), "b@example.com", nil}}, rows)
	}
	_, rows, err := readAll(t, b.src, connector.Model{Name: "crm", Table: "crm.My Users"})
	require.NoError(t, err)
	require.Equal(t, []record.Row{{int64(7)}}, rows)

	_, _, err = readAll(t, b.src, connector.Model{Name: "ghost", Table: "nobody"})
	require.ErrorContains(t, err, "model ghost: query failed: Catalog Error: Table with name nobody does not exist")
}

func TestDatabaseFileIsReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	createDatabase(t, filepath.Join(dir, "w.duckdb"), "create table t (a int)")
	b := setupIn(t, dir, Config{Path: "w.duckdb"})
	require.Equal(t, record.Row{"read_only"}, row(t, b.src, "select current_setting('access_mode')"))
	_, _, err := readAll(t, b.src, connector.Model{Name: "sneaky", SQL: "create table x as select 1"})
	require.ErrorContains(t, err, "model sneaky:")
	_, rows, err := readAll(t, b.src, connector.Model{Name: "check", SQL: "select count(*) from duckdb_tables() where table_name = 'x'"})
	require.NoError(t, err)
	require.Equal(t, []record.Row{{int64(0)}}, rows)
}

func TestMissingDatabaseFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Spec.Open(context.Background(), connector.SourceParams{Name: "w", Config: &Config{Path: "data/missing.duckdb"}, BaseDir: dir})
	require.ErrorContains(t, err, "duckdb: source w: database file "+filepath.Join(dir, "data", "missing.duckdb")+" does not exist")
	require.ErrorContains(t, err, "omit path")

	_, err = Spec.Open(context.Background(), connector.SourceParams{Name: "w", Config: &Config{Path: "."}, BaseDir: dir})
	require.ErrorContains(t, err, "is a directory")
}

func TestDatabasePathWithSpaces(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "my project")
	require.NoError(t, os.Mkdir(dir, 0o755))
	createDatabase(t, filepath.Join(dir, "ware house.duckdb"), "create table t as select 1 as a")
	b := setupIn(t, dir, Config{Path: "ware house.duckdb"})
	_, rows, err := readAll(t, b.src, connector.Model{Name: "t", Table: "t"})
	require.NoError(t, err)
	require.Equal(t, []record.Row{{int64(1)}}, rows)
}

// Relative paths inside model SQL resolve against the project directory, whatever the
// process's working directory. Not parallel: it changes the working directory.
func TestRelativePathsResolveAgainstProjectDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "users.csv"), []byte("id,email\n1,a@example.com\n2,b@example.com\n"), 0o644))
	createDatabase(t, filepath.Join(dir, "w.duckdb"), "create table t as select 1 as a")
	t.Chdir(t.TempDir())

	for _, cfg := range []Config{{}, {Path: "w.duckdb"}} {
		b := setupIn(t, dir, cfg)
		_, rows, err := readAll(t, b.src, connector.Model{Name: "users", SQL: "select * from read_csv('data/users.csv') order by id"})
		require.NoError(t, err)
		require.Equal(t, []record.Row{{int64(1), "a@example.com"}, {int64(2), "b@example.com"}}, rows)
	}
}

func TestBrokenCSV(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	// The bad line lies beyond the sniffer's sample, so DuckDB meets it while reading.
	var csv strings.Builder
	csv.WriteString("id,email\n")
	for i := range 30_000 {
		fmt.Fprintf(&csv, "%d,user%d@example.com\n", i, i)
	}
	csv.WriteString("30000,extra@example.com,surprise\n")
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "users.csv"), []byte(csv.String()), 0o644))

	_, _, err := readAll(t, b.src, connector.Model{Name: "users", SQL: "select * from read_csv('users.csv')"})
	require.ErrorContains(t, err, "model users: query failed: Invalid Input Error: CSV Error on Line: 30002")
	require.ErrorContains(t, err, "Expected Number of Columns: 2 Found: 3")

	csv.Reset()
	csv.WriteString("id,email\n")
	for i := range 30_000 {
		fmt.Fprintf(&csv, "%d,\"user%d@example.com\"\n", i, i)
	}
	csv.WriteString("30000,\"unterminated@example.com\n30001,\"last@example.com\"\n")
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "quote.csv"), []byte(csv.String()), 0o644))
	_, _, err = readAll(t, b.src, connector.Model{Name: "quoted", SQL: "select * from read_csv('quote.csv')"})
	require.ErrorContains(t, err, "model quoted: query failed: Invalid Input Error: CSV Error on Line: 30002")
	require.ErrorContains(t, err, "unterminated quote")
	require.NotContains(t, err.Error(), "DESCRIBE")
}

func TestBadSQL(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	for _, tc := range []struct{ sql, want string }{
		{"selec 1", "model bad: query failed: Parser Error: syntax error at or near \"selec\""},
		{"select nope from range(3)", "model bad: query failed: Binder Error: Referenced column \"nope\" not found"},
		{"select 'x'::INTEGER", "model bad: query failed: Conversion Error: Could not convert string 'x' to INT32"},
		{"  ;  ", "model bad: sql is empty"},
		{"explain select 1", "model bad: query failed: DuckDB cannot tell the columns this statement returns; a model must be a query"},
	} {
		_, _, err := readAll(t, b.src, connector.Model{Name: "bad", SQL: tc.sql})
		require.ErrorContains(t, err, tc.want, tc.sql)
	}
	_, err := b.src.Query(context.Background(), connector.Model{Name: "both", SQL: "select 1", Table: "t"})
	require.EqualError(t, err, "model both: both sql and table are set")
	_, err = b.src.Query(context.Background(), connector.Model{Name: "neither"})
	require.EqualError(t, err, "model neither: neither sql nor table is set")
}

// Statements DESCRIBE does not take are read as subqueries.
func TestStatementsDescribedAsSubqueries(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	cols, rows, err := readAll(t, b.src, connector.Model{Name: "m", SQL: "summarize select 1 as a"})
	require.NoError(t, err)
	require.Equal(t, connector.Column{Name: "column_name", Type: "VARCHAR"}, cols[0])
	require.Len(t, rows, 1)
	require.Equal(t, "a", rows[0][0])
}

func TestTrailingSemicolonAndComment(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	for _, sql := range []string{
		"select 1 as a, '[1]'::JSON as j;",
		"select 1 as a, '[1]'::JSON as j ; \n",
		"-- leading comment\nselect 1 as a, '[1]'::JSON as j -- trailing comment",
	} {
		_, rows, err := readAll(t, b.src, connector.Model{Name: "m", SQL: sql})
		require.NoError(t, err, sql)
		require.Equal(t, []record.Row{{int64(1), record.JSON("[1]")}}, rows, sql)
	}
}

func TestSetupStatements(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	_, rows, err := readAll(t, b.src, connector.Model{Name: "m", SQL: `
		SET VARIABLE greeting = 'hi;there';
		CREATE TEMP TABLE t AS SELECT 1 AS a, '{"z":1}'::JSON AS j;
		SELECT a, j, getvariable('greeting') AS g FROM t;
	`})
	require.NoError(t, err)
	require.Equal(t, []record.Row{{int64(1), record.JSON(`{"z":1}`), "hi;there"}}, rows)

	// Each query has its own connection: the temporary table is gone.
	_, _, err = readAll(t, b.src, connector.Model{Name: "next", SQL: "select * from t"})
	require.ErrorContains(t, err, "model next: query failed: Catalog Error: Table with name t does not exist")

	_, _, err = readAll(t, b.src, connector.Model{Name: "m", SQL: "SET nonsense = 1; select 1"})
	require.ErrorContains(t, err, "model m: query failed: Catalog Error: unrecognized configuration parameter \"nonsense\"")
}

func TestCancelInterruptsQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := b.src.Query(ctx, connector.Model{Name: "slow",
		SQL: "select sum(hash(a.range * b.range)) from range(1000000) a, range(1000000) b"})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "model slow: query failed")
	require.Less(t, time.Since(start), 10*time.Second)
}

func TestCancelStopsReading(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	r, err := b.src.Query(ctx, connector.Model{Name: "m", SQL: "select * from range(10)"})
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Close()) }()
	dst := make([]record.Row, 4)
	n, err := r.Next(dst)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	cancel()
	_, err = r.Next(dst)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "model m: read rows")
}

func TestNextReusesRowsAndEndsWithEOF(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	r, err := b.src.Query(context.Background(), connector.Model{Name: "m", SQL: "select range as i, 'x' || range as s from range(5)"})
	require.NoError(t, err)
	require.Equal(t, []connector.Column{{Name: "i", Type: "BIGINT"}, {Name: "s", Type: "VARCHAR"}}, r.Columns())

	backing := make([]record.Value, 8)
	dst := []record.Row{backing[:0], backing[4:4], nil}
	n, err := r.Next(dst)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Same(t, &backing[0], &dst[0][0])
	require.Same(t, &backing[4], &dst[1][0])
	require.Equal(t, []record.Row{{int64(0), "x0"}, {int64(1), "x1"}, {int64(2), "x2"}}, dst)

	n, err = r.Next(dst)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []record.Row{{int64(3), "x3"}, {int64(4), "x4"}}, dst[:2])

	for range 2 {
		n, err = r.Next(dst)
		require.ErrorIs(t, err, io.EOF)
		require.Zero(t, n)
	}
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err = r.Next(dst)
	require.ErrorContains(t, err, "rows read after Close")
}

func TestEmptyResult(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	cols, rows, err := readAll(t, b.src, connector.Model{Name: "m", SQL: "select 1 as a, '{}'::JSON as j where false"})
	require.NoError(t, err)
	require.Equal(t, []connector.Column{{Name: "a", Type: "INTEGER"}, {Name: "j", Type: "JSON"}}, cols)
	require.Empty(t, rows)
}

func TestConcurrentQueries(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			r, err := b.src.Query(context.Background(), connector.Model{Name: "m", SQL: fmt.Sprintf("select range + %d from range(10000)", i)})
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			dst := make([]record.Row, 512)
			total := 0
			for {
				n, err := r.Next(dst)
				total += n
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					errs <- err
					return
				}
			}
			if total != 10000 {
				errs <- fmt.Errorf("read %d rows", total)
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}

func TestManyRowsAcrossChunks(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})
	_, rows, err := readAll(t, b.src, connector.Model{Name: "m", SQL: "select range, {'v': range::VARCHAR}, ('{\"n\":' || range || '}')::JSON from range(5000)"})
	require.NoError(t, err)
	require.Len(t, rows, 5000)
	for i, r := range rows {
		require.Equal(t, record.Row{int64(i), record.Struct{{Name: "v", Value: fmt.Sprint(i)}}, record.JSON(fmt.Sprintf(`{"n":%d}`, i))}, r)
	}
}
