package mixpanel_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/mixpanel"
)

// A test starts the simulator, lets the code under test send to it, and reads
// the final state.
func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	sim := mixpanel.New(mixpanel.Options{Token: "tok", Now: func() time.Time { return now }})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	post := func(path, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("tok", "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(b))
	}
	event := `{"event":"Signup","properties":{"time":1767265200,"distinct_id":"u-1","$insert_id":"a-1","plan":"pro"}}`
	post("/import?strict=1", "["+event+","+event+"]") // a duplicate
	post("/import?strict=1", `[{"event":"Signup","properties":{"time":1767265200,"distinct_id":"u-1","$insert_id":"a:2"}}]`)
	post("/engage", `[{"$token":"tok","$distinct_id":"u-1","$set":{"plan":"pro"}}]`)

	for _, e := range sim.Events() {
		fmt.Println(e.Name, e.DistinctID, e.InsertID, e.Time.Format(time.RFC3339), e.Properties["plan"])
	}
	p, _ := sim.Profile("u-1")
	fmt.Println(p.Properties)
	// Output:
	// 200 {"code":200,"num_records_imported":2,"status":"OK"}
	// 400 {"code":400,"error":"some data points in the request failed validation","failed_records":[{"index":0,"insert_id":"a:2","field":"$insert_id","message":"'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters"}],"num_records_imported":0,"status":"Bad Request"}
	// 200 1
	// Signup u-1 a-1 2026-01-01T11:00:00Z pro
	// map[plan:pro]
}
