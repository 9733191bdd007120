package salesforce

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchCSV returns n Contact rows for an upsert by Ext_Id__c, unique by seq:
// ~110 bytes each, like a Reverse ETL sync's.
func benchCSV(seq, n int) []byte {
	var b bytes.Buffer
	b.WriteString("Ext_Id__c,FirstName,LastName,Email,Phone,Title,Score__c\n")
	for i := range n {
		id := seq*n + i
		fmt.Fprintf(&b, "u-%d,Ada,Lovelace %d,ada.%d@example.com,+44 20 7946 0%03d,\"Engineer, Analytical\",%d.5\n", id, id, id, id%1000, id%1000)
	}
	return b.Bytes()
}

func benchRequest(method, path, contentType string, body []byte) *http.Request {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", contentType)
	return req
}

// BenchmarkBulkIngest is the simulator's own cost of a Bulk API 2.0 upsert job of
// 100,000 new records (upload, close, processing, results), with the processing
// rate unbounded. It reports records/s: far above any BulkRecordsPerSecond a
// benchmark sets, the simulator is never what limits a run.
func BenchmarkBulkIngest(b *testing.B) {
	const n = 100_000
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sim := New(Options{
		Now: func() time.Time { return now }, BulkRecordsPerSecond: 1e12, DailyRequests: 1 << 40,
		BulkDailyRecords: 1 << 40, BulkDailyBatches: 1 << 40,
		CustomFields: extOptions.CustomFields,
	})
	b.ReportAllocs()
	var records int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data := benchCSV(i, n)
		b.SetBytes(int64(len(data)))
		b.StartTimer()
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(http.MethodPost, base+"/jobs/ingest", "application/json",
			[]byte(`{"object":"Contact","operation":"upsert","externalIdFieldName":"Ext_Id__c"}`)))
		id := w.Body.String()[7:25]
		w = httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(http.MethodPut, base+"/jobs/ingest/"+id+"/batches", "text/csv", data))
		if w.Code != http.StatusCreated {
			b.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		w = httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(http.MethodPatch, base+"/jobs/ingest/"+id, "application/json", []byte(`{"state":"UploadComplete"}`)))
		now = now.Add(time.Second)
		w = httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(http.MethodGet, base+"/jobs/ingest/"+id, "", nil))
		if !strings.Contains(w.Body.String(), `"state":"JobComplete"`) || strings.Contains(w.Body.String(), `"numberRecordsFailed":1`) {
			b.Fatalf("job: %s", w.Body)
		}
		records += n
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCollectionsCreate is one sObject Collections create of 200 Contacts.
func BenchmarkCollectionsCreate(b *testing.B) {
	sim := New(Options{DailyRequests: 1 << 40})
	var body bytes.Buffer
	body.WriteString(`{"allOrNone":false,"records":[`)
	for i := range 200 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"attributes":{"type":"Contact"},"FirstName":"Ada","LastName":"Lovelace %d","Email":"ada.%d@example.com","Title":"Engineer"}`, i, i)
	}
	body.WriteString(`]}`)
	b.ReportAllocs()
	b.SetBytes(int64(body.Len()))
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(http.MethodPost, base+"/composite/sobjects", "application/json", body.Bytes()))
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*200)/b.Elapsed().Seconds(), "records/s")
}
