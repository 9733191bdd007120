package salesforce_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/salesforce"
)

// A test starts the simulator, lets the code under test write to it, and reads
// the org's final state. The clock is the test's: Bulk jobs progress as it moves.
func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	sim := salesforce.New(salesforce.Options{Now: func() time.Time { return now }})
	object, field, err := salesforce.ParseField("Contact.Ext_Id__c:string:external")
	if err != nil {
		panic(err)
	}
	if err := sim.AddField(object, field); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()

	send := func(method, path, contentType, body string) string {
		req, _ := http.NewRequest(method, srv.URL+"/services/data/v62.0"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer any-token")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, resp.Header.Get("Sforce-Limit-Info"))
		return string(b)
	}
	fmt.Println(send(http.MethodPatch, "/composite/sobjects/Contact/Ext_Id__c", "application/json",
		`{"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"Ext_Id__c":"u-1","LastName":"Lovelace"},
		                               {"attributes":{"type":"Contact"},"Ext_Id__c":"u-2"}]}`))

	job := send(http.MethodPost, "/jobs/ingest", "application/json", `{"object":"Contact","operation":"upsert","externalIdFieldName":"Ext_Id__c"}`)
	id := job[strings.Index(job, `"id":"`)+6:][:18]
	send(http.MethodPut, "/jobs/ingest/"+id+"/batches", "text/csv", "Ext_Id__c,FirstName\nu-1,Ada\n")
	send(http.MethodPatch, "/jobs/ingest/"+id, "application/json", `{"state":"UploadComplete"}`)
	now = now.Add(time.Second) // the job is processed by then

	info, _ := sim.Job(id)
	fmt.Println(info.State, info.RecordsProcessed, info.RecordsFailed)
	for _, r := range sim.Records("Contact") {
		fmt.Println(r.Fields["Ext_Id__c"], r.Fields["FirstName"], r.Fields["LastName"])
	}
	// Output:
	// 200 api-usage=1/100000
	// [{"id":"0035g000015ftgGAAQ","success":true,"errors":[],"created":true},{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [LastName]","fields":["LastName"]}],"created":false}]
	// 200 api-usage=2/100000
	// 201 api-usage=3/100000
	// 200 api-usage=4/100000
	// JobComplete 1 0
	// u-1 Ada Lovelace
}
