package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/postgres"
	"github.com/sluicehq/sluice/internal/pgtest"
	"github.com/sluicehq/sluice/record"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	db := setup(t)
	var tables atomic.Int64
	conformance.TestDestination(t, postgres.Spec, conformance.Harness{
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			table := fmt.Sprintf("conformance_%d", tables.Add(1))
			var cols []string
			for i, f := range info.Fields {
				def := pgx.Identifier{f}.Sanitize() + " " + sqlTypeFor(kinds[i])
				if f == info.KeyField {
					def += " PRIMARY KEY"
				}
				cols = append(cols, def)
			}
			db.exec(t, fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(cols, ", ")))
			d := db.open(t, postgres.Config{Table: table}, info)
			var rejected int
			return conformance.Target{
				Destination: d,
				Contents: func(t *testing.T) map[string]record.Fields {
					return db.contents(t, table, info.KeyField, info.Fields, kinds)
				},
				RejectKey: func(key string) {
					rejected++
					db.exec(t, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT reject_%d CHECK (%s <> %s)",
						table, rejected, pgx.Identifier{info.KeyField}.Sanitize(), quoteLiteral(key)))
				},
				Seed: func(t *testing.T, rows map[string]record.Fields) {
					db.seed(t, table, rows)
				},
			}
		},
	})
}

// sqlTypeFor is the column type the conformance tables use for a kind; json rather
// than jsonb so that key order survives.
func sqlTypeFor(k record.Kind) string {
	switch k {
	case record.KindBool:
		return "boolean"
	case record.KindInt:
		return "bigint"
	case record.KindFloat:
		return "double precision"
	case record.KindDecimal:
		return "numeric"
	case record.KindBytes:
		return "bytea"
	case record.KindDate:
		return "date"
	case record.KindTimestamp:
		return "timestamptz"
	case record.KindJSON, record.KindList, record.KindStruct:
		return "json"
	}
	return "text"
}

// testDB is one fresh database of the shared test server.
type testDB struct {
	url  string
	conn *pgx.Conn
}

func setup(t testing.TB) *testDB {
	t.Helper()
	url := pgtest.Start(t)
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &testDB{url: url, conn: conn}
}

func (db *testDB) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	_, err := db.conn.Exec(context.Background(), sql, args...)
	require.NoError(t, err, sql)
}

// open opens the destination on the table in cfg (URL filled in) for info.
func (db *testDB) open(t testing.TB, cfg postgres.Config, info connector.SyncInfo) connector.Destination {
	t.Helper()
	d, err := db.tryOpen(cfg, info)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func (db *testDB) tryOpen(cfg postgres.Config, info connector.SyncInfo) (connector.Destination, error) {
	if cfg.URL == "" {
		cfg.URL = db.url
	}
	if info.Name == "" {
		info.Name = "test"
	}
	return postgres.Spec.Open(context.Background(), connector.DestinationParams{Name: "pg", Config: &cfg, Sync: info})
}

// contents reads a table back as canonical values of the given kinds, by key.
func (db *testDB) contents(t *testing.T, table, keyField string, fields []string, kinds []record.Kind) map[string]record.Fields {
	t.Helper()
	var sel []string
	for i, f := range fields {
		c := pgx.Identifier{f}.Sanitize()
		switch kinds[i] {
		case record.KindDecimal, record.KindJSON, record.KindList, record.KindStruct:
			c += "::text" // exact digits and the stored JSON text
		}
		sel = append(sel, c)
	}
	rows, err := db.conn.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), table))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]record.Fields{}
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		values := make([]record.Value, len(fields))
		for i, v := range vals {
			values[i] = canonical(t, v, kinds[i])
		}
		f := record.MakeFields(fields, values)
		kv, _ := f.Get(keyField)
		key, err := record.KeyString(kv)
		require.NoError(t, err)
		out[key] = f
	}
	require.NoError(t, rows.Err())
	return out
}

func canonical(t *testing.T, v any, k record.Kind) record.Value {
	if v == nil {
		return nil
	}
	switch k {
	case record.KindDecimal:
		d, err := record.ParseDecimal(v.(string))
		require.NoError(t, err)
		return d
	case record.KindJSON, record.KindList, record.KindStruct:
		return record.JSON(v.(string))
	case record.KindDate:
		return record.DateOf(v.(time.Time))
	case record.KindTimestamp:
		return v.(time.Time).UTC()
	}
	return v
}

// seed inserts rows with plain INSERTs, as an earlier sync would have left them.
func (db *testDB) seed(t *testing.T, table string, rows map[string]record.Fields) {
	t.Helper()
	for _, f := range rows {
		var names, params []string
		var args []any
		for i, n := range f.Names {
			names = append(names, pgx.Identifier{n}.Sanitize())
			params = append(params, fmt.Sprintf("$%d", i+1))
			args = append(args, param(f.Values()[i]))
		}
		db.exec(t, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(names, ", "), strings.Join(params, ", ")), args...)
	}
}

func param(v record.Value) any {
	switch v := v.(type) {
	case record.Decimal, record.Date:
		return fmt.Sprint(v)
	case record.JSON, []record.Value, record.Struct:
		return string(record.AppendJSON(nil, v))
	}
	return v
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// queryStrings runs sql and returns each row's columns as text, joined by "|", with
// NULL as "NULL".
func (db *testDB) queryStrings(t testing.TB, sql string, args ...any) []string {
	t.Helper()
	rows, err := db.conn.Query(context.Background(), sql, args...)
	require.NoError(t, err, sql)
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		var parts []string
		for _, v := range vals {
			if v == nil {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	require.NoError(t, rows.Err())
	return out
}

// recorder collects a batch's exchanges.
type recorder struct{ exchanges []connector.Exchange }

func (r *recorder) batch(changes []record.Change) *connector.Batch {
	return connector.NewBatch("test", "run-1", "batch-1", changes, func(ex connector.Exchange) {
		r.exchanges = append(r.exchanges, ex)
	})
}

func write(t testing.TB, d connector.Destination, changes ...record.Change) error {
	t.Helper()
	var r recorder
	return d.Write(context.Background(), r.batch(changes))
}

// fields builds a record from alternating names and values.
func fields(kv ...any) record.Fields {
	var names []string
	var values []record.Value
	for i := 0; i < len(kv); i += 2 {
		names = append(names, kv[i].(string))
		values = append(values, kv[i+1])
	}
	return record.MakeFields(names, values)
}

func add(key string, f record.Fields) record.Change {
	return record.Change{Op: record.OpAdd, Key: key, Fields: f}
}

func change(key string, f record.Fields) record.Change {
	return record.Change{Op: record.OpChange, Key: key, Fields: f}
}

func remove(key string, f record.Fields) record.Change {
	return record.Change{Op: record.OpRemove, Key: key, Fields: f}
}
