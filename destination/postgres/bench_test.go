package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/postgres"
	"github.com/sluicehq/sluice/record"
)

// BenchmarkUpsert writes 100k rows in batches of 5000 through one destination, as the
// engine would: up to MaxInFlight batches at once. "new" rows take the insert path of
// the upsert, "existing" rows the update path.
func BenchmarkUpsert(b *testing.B) {
	const rows, batchSize = 100_000, 5000
	db := setup(b)
	info := connector.SyncInfo{Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id",
		Fields: []string{"id", "email", "score", "updated_at", "attrs"}}
	names := info.Fields
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	var batches [][]record.Change
	for i := 0; i < rows; i += batchSize {
		var changes []record.Change
		for j := i; j < i+batchSize; j++ {
			key := fmt.Sprintf("user-%07d", j)
			changes = append(changes, record.Change{Op: record.OpAdd, Key: key, Fields: record.MakeFields(names, []record.Value{
				key, key + "@example.com", int64(j), at,
				record.Struct{{Name: "plan", Value: "pro"}, {Name: "seats", Value: int64(j % 50)}},
			})})
		}
		batches = append(batches, changes)
	}

	for _, existing := range []bool{false, true} {
		for _, inFlight := range []int{1, 4} {
			name := fmt.Sprintf("rows=new/in_flight=%d", inFlight)
			if existing {
				name = fmt.Sprintf("rows=existing/in_flight=%d", inFlight)
			}
			b.Run(name, func(b *testing.B) {
				table := fmt.Sprintf("bench_%d_%v", inFlight, existing)
				// b.Run calls this function more than once: start from a fresh table each time.
				db.exec(b, "DROP TABLE IF EXISTS "+table)
				db.exec(b, fmt.Sprintf(`CREATE TABLE %s (id text PRIMARY KEY, email text, score bigint, updated_at timestamptz, attrs json)`, table))
				d := db.open(b, postgres.Config{Table: table, BatchSize: batchSize, MaxInFlight: inFlight}, info)
				writeAll := func() {
					work := make(chan []record.Change)
					var wg sync.WaitGroup
					for range inFlight {
						wg.Go(func() {
							for changes := range work {
								batch := connector.NewBatch("bench", "run", "b", changes, nil)
								if err := d.Write(context.Background(), batch); err != nil {
									b.Error(err)
								}
							}
						})
					}
					for _, changes := range batches {
						work <- changes
					}
					close(work)
					wg.Wait()
				}
				if existing {
					writeAll()
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if !existing {
						b.StopTimer()
						db.exec(b, "TRUNCATE "+table)
						b.StartTimer()
					}
					writeAll()
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
