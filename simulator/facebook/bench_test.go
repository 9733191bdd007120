package facebook

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// benchBody is a form-encoded /users body of n rows of schema EMAIL, PHONE
// (hashed), unique by seq, as a destination sends them.
func benchBody(seq, n int) []byte {
	var data strings.Builder
	data.WriteString(`{"schema":["EMAIL","PHONE"],"data":[`)
	for i := range n {
		if i > 0 {
			data.WriteByte(',')
		}
		fmt.Fprintf(&data, `["%s","%s"]`, HashValue("EMAIL", fmt.Sprintf("u%d-%d@example.com", seq, i)),
			HashValue("PHONE", fmt.Sprintf("1555%07d", seq*n+i)))
	}
	data.WriteString(`]}`)
	return []byte(url.Values{"payload": {data.String()}}.Encode())
}

func benchRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v21.0/"+testAud+"/users?access_token=t", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func benchServer() *Server {
	return New(Options{Audiences: map[string]string{testAud: testAccount}, CallsPerWindow: -1, MaxScore: -1})
}

// BenchmarkAddUsers is POST /users with 10,000 two-key rows per request, every
// row new. It reports rows/s.
func BenchmarkAddUsers(b *testing.B) {
	sim := benchServer()
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBody(i, 10_000)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		body := bodies[i%len(bodies)]
		if i >= len(bodies) {
			body = benchBody(i, 10_000)
		}
		b.StartTimer()
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(body))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAddUsersParallel sends from every P at once; bodies repeat after 64
// requests, so later rows are already members.
func BenchmarkAddUsersParallel(b *testing.B) {
	sim := benchServer()
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = benchBody(i, 10_000)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, benchRequest(bodies[next.Add(1)%int64(len(bodies))]))
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "rows/s")
}
