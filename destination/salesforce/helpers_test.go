package salesforce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

const testToken = "00D5g000004SIMU!AQ8AQ.test-access-token"

// testBundle is a simulated org serving over HTTP and what a test needs around it.
type testBundle struct {
	sim *sim.Server
	url string

	rejectMu sync.Mutex
	rejected map[string]string // value of rejectOn → message
	rejectOn string            // the field Reject looks at
}

// accountFields are the custom fields the tests' orgs add to Account: the
// district's external id and the usage figures a sync writes.
func accountFields() []sim.Field {
	return []sim.Field{
		{Name: "District_Id__c", Label: "District Id", Type: sim.TypeString, ExternalID: true, Unique: true},
		{Name: "Students_Online__c", Label: "Students Online", Type: sim.TypeInt},
		{Name: "Plan__c", Label: "Plan", Type: sim.TypeString},
		{Name: "Score__c", Label: "Score", Type: sim.TypeDouble, Precision: 18, Scale: 6},
		{Name: "MRR__c", Label: "MRR", Type: sim.TypeCurrency, Precision: 18, Scale: 2},
		{Name: "Active__c", Label: "Active", Type: sim.TypeBoolean},
		{Name: "Renewal_Date__c", Label: "Renewal Date", Type: sim.TypeDate},
		{Name: "Last_Seen__c", Label: "Last Seen", Type: sim.TypeDateTime},
		{Name: "Tags__c", Label: "Tags", Type: sim.TypeTextArea},
		{Name: "Avatar__c", Label: "Avatar", Type: sim.TypeTextArea},
		{Name: "Notes__c", Label: "Notes", Type: sim.TypeTextArea},
		{Name: "Legacy_Code__c", Label: "Legacy Code", Type: sim.TypeString, ExternalID: true},
		{Name: "Health_Score__c", Label: "Health Score", Type: sim.TypeDouble, ReadOnly: true},
		{Name: "Region__c", Label: "Region", Type: sim.TypeString, CreateOnly: true},
	}
}

// setup starts a simulated org (KeepBodies on, Account with accountFields)
// behind an httptest server. Records whose rejectOn field holds a value given
// to reject are refused.
func setup(t *testing.T, opts sim.Options) *testBundle {
	t.Helper()
	tb := &testBundle{rejected: map[string]string{}, rejectOn: "District_Id__c"}
	opts.Tokens = append(opts.Tokens, testToken)
	opts.KeepBodies = true
	if opts.CustomFields == nil && opts.CustomObjects == nil {
		opts.CustomFields = map[string][]sim.Field{"Account": accountFields()}
	}
	opts.Reject = func(object string, fields map[string]any) (string, string) {
		tb.rejectMu.Lock()
		defer tb.rejectMu.Unlock()
		if v, ok := fields[tb.rejectOn]; ok {
			if msg := tb.rejected[fmt.Sprint(v)]; msg != "" {
				return "FIELD_CUSTOM_VALIDATION_EXCEPTION", msg
			}
		}
		return "", ""
	}
	tb.sim = sim.New(opts)
	srv := simtest.NewServer(tb.sim)
	t.Cleanup(srv.Close)
	tb.url = srv.URL
	return tb
}

func (tb *testBundle) reject(value, message string) {
	tb.rejectMu.Lock()
	defer tb.rejectMu.Unlock()
	if message == "" {
		delete(tb.rejected, value)
	} else {
		tb.rejected[value] = message
	}
}

// config returns a valid configuration against the simulator.
func (tb *testBundle) config(mutate func(*salesforce.Config)) *salesforce.Config {
	cfg := salesforce.Spec.NewConfig().(*salesforce.Config)
	cfg.SetDefaults()
	cfg.AccessToken = testToken
	cfg.InstanceURL = tb.url
	cfg.Edition, cfg.Licenses = "enterprise", 10
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// open opens the destination for a sync, with short pauses and polls.
func (tb *testBundle) open(t *testing.T, cfg *salesforce.Config, info connector.SyncInfo, sc salesforce.SyncConfig) *salesforce.Destination {
	t.Helper()
	require.NoError(t, cfg.Validate())
	if sc.API == "" {
		sc.API = "auto"
	}
	d, err := salesforce.Spec.Open(context.Background(), connector.DestinationParams{
		Name: "sfdc", Config: cfg, SyncConfig: &sc, Sync: info,
	})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	sd := d.(*salesforce.Destination)
	sd.SetTimings(5*time.Millisecond, 5*time.Millisecond, 50*time.Millisecond)
	return sd
}

var districtFields = []string{"District_Id__c", "Name", "Students_Online__c"}

func districtInfo(mode connector.Mode) connector.SyncInfo {
	return connector.SyncInfo{Name: "districts_to_salesforce", Mode: mode, KeyColumn: "district_id", KeyField: "District_Id__c", Fields: districtFields}
}

// districts opens an Account sync keyed by District_Id__c in mode through api.
func (tb *testBundle) districts(t *testing.T, mode connector.Mode, api string, mutate func(*salesforce.Config)) *salesforce.Destination {
	t.Helper()
	sc := salesforce.SyncConfig{Object: "Account", API: api}
	if mode != connector.ModeInsert || api == "bulk" {
		sc.ExternalIDField = "District_Id__c"
	}
	return tb.open(t, tb.config(mutate), districtInfo(mode), sc)
}

func district(op record.Op, id, name string, students int64) record.Change {
	values := []record.Value{id, name, students}
	if students < 0 {
		values[2] = nil
	}
	return record.Change{Op: op, Key: id, Fields: record.MakeFields(districtFields, values)}
}

// districtsRange returns changes for districts d-from … d-(to-1).
func districtsRange(op record.Op, from, to int, students int64) []record.Change {
	var out []record.Change
	for i := from; i < to; i++ {
		id := fmt.Sprintf("d-%d", i)
		out = append(out, district(op, id, "District "+id, students+int64(i)))
	}
	return out
}

// write sends one batch and returns Write's error and the exchanges traced.
func write(d connector.Destination, changes ...record.Change) (error, int) {
	var mu sync.Mutex
	traced := 0
	b := connector.NewBatch("districts_to_salesforce", "run-1", "batch-1", changes, func(connector.Exchange) {
		mu.Lock()
		traced++
		mu.Unlock()
	})
	err := d.Write(context.Background(), b)
	return err, traced
}

// seed creates records straight in the org (as an earlier sync or a person
// would have), through the simulator's handler with a token of its own.
func (tb *testBundle) seed(t *testing.T, object string, records []map[string]any) {
	t.Helper()
	for start := 0; start < len(records); start += 200 {
		var recs []map[string]any
		for _, r := range records[start:min(start+200, len(records))] {
			rec := map[string]any{"attributes": map[string]string{"type": object}}
			for k, v := range r {
				rec[k] = v
			}
			recs = append(recs, rec)
		}
		body, err := json.Marshal(map[string]any{"allOrNone": true, "records": recs})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/services/data/v62.0/composite/sobjects", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.NotContains(t, rec.Body.String(), `"success":false`)
	}
}

// accounts is what the org holds: District_Id__c → the synced fields as text.
func (tb *testBundle) accounts() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range tb.sim.Records("Account") {
		id, _ := r.Fields["District_Id__c"].(string)
		row := map[string]string{}
		for _, f := range []string{"Name", "Students_Online__c"} {
			if v, ok := r.Fields[f]; ok {
				row[f] = fmt.Sprint(v)
			}
		}
		out[id] = row
	}
	return out
}

// requestLines are the simulator's requests as "METHOD /path", the API version
// prefix cut.
func (tb *testBundle) requestLines() []string {
	var out []string
	for _, r := range tb.sim.Log().Requests() {
		out = append(out, r.Method+" "+strings.TrimPrefix(r.Path, "/services/data/v62.0"))
	}
	return out
}

// intercept serves the org behind a handler that answers the requests handle
// takes (returning true) and passes the others on; it returns the handler's URL,
// for instance_url.
func (tb *testBundle) intercept(t *testing.T, handle func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	srv := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !handle(w, r) {
			tb.sim.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// unavailable answers a 503, which is worth retrying.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(`[{"errorCode":"SERVER_UNAVAILABLE","message":"try later"}]`))
}

// isPoll tells a request for a Bulk job's state (not its results).
func isPoll(r *http.Request) bool {
	_, rest, ok := strings.Cut(r.URL.Path, "/jobs/ingest/")
	return ok && r.Method == http.MethodGet && rest != "" && !strings.Contains(rest, "/")
}
