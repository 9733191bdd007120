package facebook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/simulator/facebook"
)

// A test starts the simulator, lets the code under test send to it, and reads
// each audience's final membership.
func Example() {
	sim := facebook.New(facebook.Options{Tokens: []string{"EAAtest"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	post := func(method, path string, form url.Values) {
		form.Set("access_token", "EAAtest")
		req, _ := http.NewRequest(method, srv.URL+"/v21.0"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(b))
	}
	ann, bob := facebook.HashValue("EMAIL", "Ann@example.com"), facebook.HashValue("EMAIL", "bob@example.com")
	post("POST", "/act_1234/customaudiences", url.Values{"name": {"Churned"}, "subtype": {"CUSTOM"}, "customer_file_source": {"USER_PROVIDED_ONLY"}})
	post("POST", "/23850000000000001/users", url.Values{
		"payload": {`{"schema":"EMAIL_SHA256","data":["` + ann + `","` + bob + `","not-a-hash"]}`},
		"session": {`{"session_id":9778993,"batch_seq":1,"last_batch_flag":true}`},
	})
	post("DELETE", "/23850000000000001/users", url.Values{
		"payload": {`{"schema":["EMAIL"],"data":[["` + bob + `"]]}`},
		"session": {`{"session_id":9778994,"batch_seq":1,"last_batch_flag":true}`},
	})

	for _, m := range sim.Members("23850000000000001") {
		fmt.Println(m.Identifiers["EMAIL"] == ann)
	}
	fmt.Println(sim.Has("23850000000000001", "EMAIL", bob))
	// Output:
	// 200 {"id":"23850000000000001"}
	// 200 {"audience_id":"23850000000000001","session_id":"9778993","num_received":3,"num_invalid_entries":1,"invalid_entry_samples":{"not-a-hash":"EMAIL: not a lower-case hex SHA-256 digest"}}
	// 200 {"audience_id":"23850000000000001","session_id":"9778994","num_received":1,"num_invalid_entries":0,"invalid_entry_samples":{}}
	// true
	// false
}
