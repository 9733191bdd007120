package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

const (
	benchQuery = "select i as id, 'user' || i as email, i % 7 as plan, now() as ts from range(1000000) t(i)"
	benchRows  = 1_000_000
)

// BenchmarkQuery reads the benchmark model through the source, conversion included.
func BenchmarkQuery(b *testing.B) {
	src, err := Spec.Open(context.Background(), connector.SourceParams{Name: "bench", Config: &Config{}, BaseDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst := make([]record.Row, 1024)
	b.ReportAllocs()
	for b.Loop() {
		r, err := src.Query(context.Background(), connector.Model{Name: "bench", SQL: benchQuery})
		if err != nil {
			b.Fatal(err)
		}
		total := 0
		for {
			n, err := r.Next(dst)
			total += n
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		if total != benchRows {
			b.Fatalf("read %d rows, want %d", total, benchRows)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPlainScan reads the same query through database/sql into typed variables,
// the floor that BenchmarkQuery's conversion overhead is measured against.
func BenchmarkPlainScan(b *testing.B) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var (
		id, plan int64
		email    string
		ts       time.Time
	)
	b.ReportAllocs()
	for b.Loop() {
		rows, err := db.QueryContext(context.Background(), benchQuery)
		if err != nil {
			b.Fatal(err)
		}
		total := 0
		for rows.Next() {
			if err := rows.Scan(&id, &email, &plan, &ts); err != nil {
				b.Fatal(err)
			}
			total++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		if total != benchRows {
			b.Fatalf("read %d rows, want %d", total, benchRows)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}
