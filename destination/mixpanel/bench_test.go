package mixpanel_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
)

// benchFields are the bench's event columns: four properties, then the event's
// own columns, as the engine carries them.
var benchFields = []string{"plan", "path", "mobile", "revenue", "event_name", "user_id", "occurred_at"}

// benchBatches returns n batches of size events, encoded as the engine hands them over.
func benchBatches(n, size int) [][]record.Change {
	names := []string{"Signed Up", "Viewed Report", "Exported CSV", "Invited Teammate", "Upgraded Plan"}
	plans := []string{"free", "starter", "team", "business"}
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	out := make([][]record.Change, n)
	i := 0
	for b := range out {
		out[b] = make([]record.Change, size)
		for j := range out[b] {
			i++
			values := []record.Value{
				plans[i%4], fmt.Sprintf("/reports/%d", i%977), i%7 == 0, record.NewDecimalInt64(int64(i%10000), 2),
				names[i%5], fmt.Sprintf("user-%d", i%50000), start.Add(-time.Duration(i) * time.Second),
			}
			out[b][j] = record.Change{Op: record.OpAdd, Key: fmt.Sprint(i), Fields: record.EncodedFields(benchFields, record.AppendValues(nil, values))}
		}
	}
	return out
}

// BenchmarkImport measures events per second through Write into the simulator
// over HTTP in the same process, with the default requests in flight.
func BenchmarkImport(b *testing.B) {
	tb := newBundle(b, sim.Options{}) // bodies are not kept, as in a real run
	info := connector.SyncInfo{Name: "events_to_mixpanel", Mode: connector.ModeInsert, KeyColumn: "event_id", KeyField: "event_id",
		Fields: benchFields, ColumnFields: map[string]int{"event": 4, "distinct_id": 5, "time": 6}}
	d := tb.open(b, info, eventSync, nil)
	batches := benchBatches(100, 2000)
	b.ReportAllocs()
	b.SetParallelism(max(1, d.Capabilities().MaxInFlight/runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			batch := batches[int(next.Add(1))%len(batches)]
			if err := d.Write(context.Background(), connector.NewBatch("events_to_mixpanel", "run-1", "b", batch, nil)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*2000)/time.Since(start).Seconds(), "events/s")
}
