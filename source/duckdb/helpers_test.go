package duckdb

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

type testBundle struct {
	src connector.Source
	dir string // the project directory
}

// setup opens a source for cfg with a fresh project directory, closed with the test.
func setup(t *testing.T, cfg Config) testBundle {
	t.Helper()
	return setupIn(t, t.TempDir(), cfg)
}

func setupIn(t *testing.T, dir string, cfg Config) testBundle {
	t.Helper()
	src, err := Spec.Open(context.Background(), connector.SourceParams{Name: "warehouse", Config: &cfg, BaseDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, src.Close()) })
	return testBundle{src: src, dir: dir}
}

// readAll reads a model to the end through small batches, so that batch boundaries
// are crossed.
func readAll(t *testing.T, src connector.Source, m connector.Model) ([]connector.Column, []record.Row, error) {
	t.Helper()
	r, err := src.Query(context.Background(), m)
	if err != nil {
		return nil, nil, err
	}
	defer func() { require.NoError(t, r.Close()) }()
	var out []record.Row
	batch := make([]record.Row, 3)
	for {
		n, err := r.Next(batch)
		for _, row := range batch[:n] {
			out = append(out, append(record.Row(nil), row...))
		}
		if errors.Is(err, io.EOF) {
			require.Zero(t, n)
			return r.Columns(), out, nil
		}
		if err != nil {
			return r.Columns(), out, err
		}
	}
}

// row returns the only row of sql.
func row(t *testing.T, src connector.Source, sql string) record.Row {
	t.Helper()
	_, rows, err := readAll(t, src, connector.Model{Name: "m", SQL: sql})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	return rows[0]
}

// values returns the single column of sql, one value a row.
func values(t *testing.T, src connector.Source, sql string) []record.Value {
	t.Helper()
	cols, rows, err := readAll(t, src, connector.Model{Name: "m", SQL: sql})
	require.NoError(t, err)
	require.Len(t, cols, 1)
	out := make([]record.Value, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	return out
}

// requireCanonical checks that every value of the row is one of record.Value's types,
// all the way down.
func requireCanonical(t *testing.T, v record.Value) {
	t.Helper()
	_, err := record.KindOf(v)
	require.NoError(t, err)
	switch v := v.(type) {
	case []record.Value:
		for _, e := range v {
			requireCanonical(t, e)
		}
	case record.Struct:
		for _, f := range v {
			requireCanonical(t, f.Value)
		}
	}
}

func decimal(t *testing.T, s string) record.Decimal {
	t.Helper()
	d, err := record.ParseDecimal(s)
	require.NoError(t, err)
	return d
}
