package hubspot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

// stubAnswer is how a stub HubSpot answers a batch write.
type stubAnswer struct {
	echoTraces bool   // results echo their input's objectWriteTraceId
	refuse     string // an input with this email is refused by an error naming no input
	drop       string // an input with this email gets neither a result nor an error
}

// stubHubSpot answers batch writes and archives as HubSpot might, within what its
// docs allow: 207 with results and errors, where an error may name no input and
// results may not echo trace ids. It records the inputs it was sent.
type stubHubSpot struct {
	answer stubAnswer
	mu     sync.Mutex
	sent   [][]string // emails (or ids) of each request's inputs
}

func newStub(t *testing.T, a stubAnswer) (*stubHubSpot, string) {
	t.Helper()
	s := &stubHubSpot{answer: a}
	srv := simtest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *stubHubSpot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Inputs []struct {
			Trace      string            `json:"objectWriteTraceId"`
			ID         string            `json:"id"`
			Properties map[string]string `json:"properties"`
		} `json:"inputs"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var keys, results, errs []string
	for _, in := range req.Inputs {
		key := in.Properties["email"]
		if key == "" {
			key = in.ID
		}
		keys = append(keys, key)
		switch key {
		case s.answer.refuse:
			errs = append(errs, `{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid: plan is not an option","context":{}}`)
		case s.answer.drop:
		default:
			trace := ""
			if s.answer.echoTraces {
				trace = fmt.Sprintf(`,"objectWriteTraceId":%q`, in.Trace)
			}
			results = append(results, fmt.Sprintf(`{"id":"1%03d","properties":{"email":%q}%s}`, len(results), key, trace))
		}
	}
	s.mu.Lock()
	s.sent = append(s.sent, keys)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	status := http.StatusOK
	if strings.HasSuffix(r.URL.Path, "/batch/create") {
		status = http.StatusCreated
	}
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	if strings.HasSuffix(r.URL.Path, "/batch/archive") {
		if len(errs) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		results = nil
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":"COMPLETE","results":[%s],"numErrors":%d,"errors":[%s]}`,
		strings.Join(results, ","), len(errs), strings.Join(errs, ","))
}

func threeContacts() []record.Change {
	return []record.Change{
		contact(record.OpAdd, "1", "a@example.com", "Ann", "lead"),
		contact(record.OpAdd, "2", "b@example.com", "Bea", "lead"),
		contact(record.OpAdd, "3", "c@example.com", "Cy", "lead"),
	}
}

// Every input of a write is accounted for: a 207 with an error that names no
// input never lets its row pass as written. When results echo trace ids the row
// is known and fails with HubSpot's message; when they do not, the batch is
// Divisible and its halves find the row.
func TestEveryInputIsAccountedFor(t *testing.T) {
	t.Parallel()
	for _, mode := range []connector.Mode{connector.ModeInsert, connector.ModeUpsert, connector.ModeUpdate} {
		t.Run(string(mode)+"/results without trace ids", func(t *testing.T) {
			t.Parallel()
			stub, url := newStub(t, stubAnswer{refuse: "b@example.com"})
			d := stubContacts(t, url, mode)
			// 3 inputs, 2 results, 1 error naming no input: which one failed?
			err, _ := write(d, threeContacts()...)
			require.Error(t, err, "a refused row is never reported written")
			require.True(t, connector.IsDivisible(err), "%v", err)
			require.Contains(t, err.Error(), "plan is not an option")

			outcome := conformance.SendSplitting(t, d, threeContacts())
			require.Empty(t, outcome[0])
			require.Contains(t, outcome[1], "hubspot: "+actionOf(mode)+" contacts: VALIDATION_ERROR: Property values were not valid: plan is not an option")
			require.Empty(t, outcome[2])
			require.NotEmpty(t, stub.sent)
		})
		t.Run(string(mode)+"/results with trace ids", func(t *testing.T) {
			t.Parallel()
			stub, url := newStub(t, stubAnswer{refuse: "b@example.com", echoTraces: true})
			d := stubContacts(t, url, mode)
			err, _ := write(d, threeContacts()...)
			failed := batchError(t, err)
			require.Equal(t, []int{1}, keysOf(failed))
			require.Contains(t, failed[1], "VALIDATION_ERROR: Property values were not valid: plan is not an option")
			require.Len(t, stub.sent, 1, "the row at fault is known: nothing is sent again")
		})
		t.Run(string(mode)+"/an input without an answer", func(t *testing.T) {
			t.Parallel()
			_, url := newStub(t, stubAnswer{drop: "c@example.com", echoTraces: true})
			d := stubContacts(t, url, mode)
			err, _ := write(d, threeContacts()...)
			failed := batchError(t, err)
			require.Equal(t, []int{2}, keysOf(failed))
			require.Contains(t, failed[2], "has no result and no error for this input (2 results for 3 inputs)")

			_, url = newStub(t, stubAnswer{drop: "c@example.com"})
			d = stubContacts(t, url, mode)
			err, _ = write(d, threeContacts()...)
			require.True(t, connector.IsDivisible(err), "%v", err)
		})
	}
	t.Run("all results without trace ids", func(t *testing.T) {
		t.Parallel()
		_, url := newStub(t, stubAnswer{})
		d := stubContacts(t, url, connector.ModeInsert)
		err, _ := write(d, threeContacts()...)
		require.NoError(t, err, "as many results as inputs, and no error: all written")
	})
}

// An archive answered with an error naming no record cannot tell which removed
// rows are gone: the batch is Divisible, never taken as archived.
func TestArchiveAnswerAccountsForEveryRow(t *testing.T) {
	t.Parallel()
	stub := &stubHubSpot{answer: stubAnswer{refuse: "20"}}
	srv := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/batch/read") {
			// Every record exists: a@ is 10, b@ is 20, c@ is 30.
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"COMPLETE","results":[`+
				`{"id":"10","properties":{"email":"a@example.com"}},`+
				`{"id":"20","properties":{"email":"b@example.com"}},`+
				`{"id":"30","properties":{"email":"c@example.com"}}]}`)
			return
		}
		stub.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	d := stubContacts(t, srv.URL, connector.ModeMirror)
	removals := threeContacts()
	for i := range removals {
		removals[i].Op = record.OpRemove
	}
	err, _ := write(d, removals...)
	require.True(t, connector.IsDivisible(err), "%v", err)
	require.Contains(t, err.Error(), "hubspot: archive contacts")
	require.Contains(t, err.Error(), "plan is not an option")
}

func stubContacts(t *testing.T, url string, mode connector.Mode) *hubspot.Destination {
	t.Helper()
	tb := &testBundle{url: url}
	return tb.contacts(t, mode, nil)
}

func actionOf(mode connector.Mode) string {
	switch mode {
	case connector.ModeInsert:
		return "create"
	case connector.ModeUpdate:
		return "update"
	}
	return "upsert"
}
