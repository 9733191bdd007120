package mixpanel

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchBody returns a gzip'd JSON array of n events, unique by seq, and its
// uncompressed size. Events look like a Reverse ETL sync's: ~230 bytes each.
func benchBody(tb testing.TB, seq, n int, at time.Time) ([]byte, int) {
	raw := make([]byte, 0, n*260)
	raw = append(raw, '[')
	ms := at.UnixMilli()
	for i := range n {
		if i > 0 {
			raw = append(raw, ',')
		}
		id := seq*n + i
		raw = append(raw, `{"event":"Plan Changed","properties":{"time":`...)
		raw = strconv.AppendInt(raw, ms+int64(i), 10)
		raw = append(raw, `,"distinct_id":"user-`...)
		raw = strconv.AppendInt(raw, int64(id%50_000), 10)
		raw = fmt.Appendf(raw, `","$insert_id":"%08x-5f3c-4d2a-9e1b-%012x"`, seq, id)
		raw = append(raw, `,"plan":"pro","previous_plan":"free","mrr":49.5,"seats":3,"country":"FR","source":"sluice","trial":false}}`...)
	}
	raw = append(raw, ']')
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := zw.Write(raw); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), len(raw)
}

func benchRequest(body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/import?strict=1", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.SetBasicAuth("tok", "")
	return req
}

// BenchmarkImport is the /import handler on gzip'd 2,000-event requests, every
// event new. It reports events/s and the heap each stored event costs.
func BenchmarkImport(b *testing.B) {
	sim := New(Options{Token: "tok", BytesPerMinute: -1})
	at := time.Now().Add(-time.Hour)
	b.ReportAllocs()
	var raw int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		body, n := benchBody(b, i, 2000, at)
		raw += n
		req := benchRequest(body)
		w := httptest.NewRecorder()
		b.StartTimer()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	b.SetBytes(int64(raw / b.N))
	b.ReportMetric(float64(sim.EventCount())/b.Elapsed().Seconds(), "events/s")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/float64(sim.EventCount()), "heapB/event")
}

// BenchmarkImportParallel sends from every P at once (run with -cpu 2 for the
// 2-core figure). Bodies are prepared beforehand and reused after 256 requests,
// so later requests replace events instead of adding them.
func BenchmarkImportParallel(b *testing.B) {
	sim := New(Options{Token: "tok", BytesPerMinute: -1})
	at := time.Now().Add(-time.Hour)
	bodies := make([][]byte, 256)
	for i := range bodies {
		bodies[i], _ = benchBody(b, i, 2000, at)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)%int64(len(bodies))]
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, benchRequest(body))
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(sim.Imported())/b.Elapsed().Seconds(), "events/s")
}
