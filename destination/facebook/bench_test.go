package facebook_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
)

// benchBatches returns n batches of size customers, encoded as the engine hands
// them over.
func benchBatches(n, size int) [][]record.Change {
	firsts := []string{"Ada", "Grace", "Alan", "Zoë", "Mary Ann"}
	countries := []string{"US", "GB", "DE", "FR", "Canada"}
	out := make([][]record.Change, n)
	i := 0
	for b := range out {
		out[b] = make([]record.Change, size)
		for j := range out[b] {
			i++
			values := []record.Value{
				fmt.Sprint(i), fmt.Sprintf("Customer.%d@Example.com", i), fmt.Sprintf("+1 (650) 555-%04d", i%10000),
				firsts[i%5], fmt.Sprintf("Smith-%d", i%100), countries[i%5],
			}
			out[b][j] = record.Change{Op: record.OpAdd, Key: fmt.Sprint(i), Fields: record.EncodedFields(customerFields, record.AppendValues(nil, values))}
		}
	}
	return out
}

// BenchmarkAdd measures rows per second through Write (normalising, hashing
// five identifiers a row, 10,000 rows a request) into the simulator over HTTP
// in the same process, with the default requests in flight and no limit binding.
func BenchmarkAdd(b *testing.B) {
	tb := setup(b, sim.Options{MaxScore: -1, CallsPerWindow: -1})
	tb.sim.Log().KeepBodies = false
	d := tb.open(b, customerInfo(connector.ModeUpsert), customerSync(), nil)
	batches := benchBatches(20, 10_000)
	b.ReportAllocs()
	b.SetParallelism(max(1, d.Capabilities().MaxInFlight/runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			batch := batches[int(next.Add(1))%len(batches)]
			if err := d.Write(context.Background(), connector.NewBatch("s", "run-1", "b", batch, nil)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*10_000)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkNormalize is the per-identifier cost of Meta's rules and SHA-256.
func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		facebook.Normalize("EMAIL", "  John_Smith@Gmail.com ")
		facebook.Normalize("PHONE", "+1 (650) 555-1212")
		facebook.Normalize("FN", "Zoë")
		facebook.Normalize("COUNTRY", "United States")
	}
}
