package mixpanel_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

func TestEventsAreImported(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	changes := events(3)
	changes[2].Fields = record.MakeFields(eventFields, []record.Value{nil, "team", "u2", eventTime})
	err, exchanges := write(d, changes)
	require.NoError(t, err)
	require.Len(t, exchanges, 1)
	require.Equal(t, "POST "+tb.srv.URL+"/import?project_id="+projectID+"&strict=1", exchanges[0].Request.Line)

	got := tb.sim.Events()
	require.Len(t, got, 3)
	byID := map[string]sim.Event{}
	for _, e := range got {
		byID[e.DistinctID] = e
	}
	e0 := byID["u0"]
	require.Equal(t, "Signed Up", e0.Name)
	require.Equal(t, eventTime, e0.Time)
	require.Equal(t, mixpanel.InsertID("events_to_mixpanel", "e0", changes[0].Fields), e0.InsertID)
	require.Equal(t, "pro", e0.Properties["plan"])
	require.Equal(t, float64(eventTime.UnixMilli()), e0.Properties["time"])
	require.NotContains(t, e0.Properties, "event_name", "the event's columns are not properties")
	require.NotContains(t, e0.Properties, "occurred_at")
	// A null property is sent as null.
	require.Contains(t, byID["u2"].Properties, "plan")
	require.Nil(t, byID["u2"].Properties["plan"])
	require.Equal(t, "team", byID["u2"].Name)
}

func TestEventTimes(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	sec := eventTime.Unix()
	ms := eventTime.UnixMilli()
	cases := []struct {
		at     record.Value
		wantMs int64  // when the time is usable
		fails  string // otherwise, part of the row's error
	}{
		{at: eventTime, wantMs: ms},
		{at: record.Date{Year: 2025, Month: 6, Day: 1}, wantMs: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()},
		{at: sec, wantMs: sec * 1000},
		{at: ms, wantMs: ms},
		{at: float64(sec) + 0.5, wantMs: sec*1000 + 500},
		{at: record.NewDecimal(big.NewInt(sec*10+2), 1), wantMs: sec*1000 + 200},
		{at: "2025-06-01T14:30:00.25+02:00", wantMs: ms},
		{at: "2025-06-01T12:30:00.25Z", wantMs: ms},
		{at: "2025-06-01", wantMs: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()},
		{at: nil, fails: "time (column occurred_at) is null"},
		{at: "soon", fails: `time (column occurred_at) "soon" is not a time`},
		{at: true, fails: "time (column occurred_at) is true, not a time"},
		{at: []record.Value{int64(1)}, fails: "is a list, not a time"},
	}
	var changes []record.Change
	for i, c := range cases {
		changes = append(changes, eventRow("t"+itoa(i), "Ping", "user-"+itoa(i), c.at, nil))
	}
	err, _ := write(d, changes)
	failed := conformance.FailedRows(t, err)
	byUser := map[string]sim.Event{}
	for _, e := range tb.sim.Events() {
		byUser[e.DistinctID] = e
	}
	for i, c := range cases {
		if c.fails != "" {
			require.Contains(t, failed[i], c.fails, "case %d (%v)", i, c.at)
			require.NotContains(t, byUser, "user-"+itoa(i), "a row that failed is not sent")
			continue
		}
		require.NotContains(t, failed, i, "case %d (%v)", i, c.at)
		require.Equal(t, c.wantMs, byUser["user-"+itoa(i)].Time.UnixMilli(), "case %d (%v)", i, c.at)
	}
}

func TestEventColumnsMustBeUsable(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	changes := []record.Change{
		eventRow("a", "Signed Up", "u-a", eventTime, nil),
		eventRow("b", "", "u-b", eventTime, nil), // Mixpanel's own rule
		{Op: record.OpAdd, Key: "c", Fields: record.MakeFields(eventFields, []record.Value{nil, nil, "u-c", eventTime})},
		{Op: record.OpAdd, Key: "d", Fields: record.MakeFields(eventFields, []record.Value{nil, "Ping", nil, eventTime})},
		{Op: record.OpAdd, Key: "e", Fields: record.MakeFields(eventFields, []record.Value{nil, int64(42), int64(7), eventTime})},
	}
	err, _ := write(d, changes)
	failed := conformance.FailedRows(t, err)
	require.Len(t, failed, 3)
	require.Contains(t, failed[1], "Mixpanel refused the event: 'event' is invalid")
	require.Contains(t, failed[2], "event (column event_name) is null")
	require.Contains(t, failed[3], "distinct_id (column user_id) is null")
	// Numbers are sent as text.
	e, ok := tb.sim.Event(mixpanel.InsertID("events_to_mixpanel", "e", changes[4].Fields))
	require.True(t, ok)
	require.Equal(t, "42", e.Name)
	require.Equal(t, "7", e.DistinctID)
	require.Equal(t, 2, tb.sim.EventCount())
}

// Mixpanel's failed_records name events by their place in the request; the rows
// that failed before sending are not in it, so the places differ from the batch's.
func TestFailedRecordsMapToTheirRows(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Reject: func(e sim.Event) string {
		if e.DistinctID == "u3" || e.DistinctID == "u7" {
			return "user " + e.DistinctID + " is blocked"
		}
		return ""
	}})
	d := tb.open(t, eventInfo, eventSync, nil)
	changes := events(10)
	changes[1].Fields = record.MakeFields(eventFields, []record.Value{"pro", "Signed Up", "u1", nil}) // fails before sending
	err, exchanges := write(d, changes)
	require.Len(t, exchanges, 1)
	require.Equal(t, "HTTP 400", exchanges[0].Response.Line)
	failed := conformance.FailedRows(t, err)
	require.Len(t, failed, 3)
	require.Contains(t, failed[1], "time (column occurred_at) is null")
	require.Equal(t, "Mixpanel refused the event: user u3 is blocked (field properties)", failed[3])
	require.Equal(t, "Mixpanel refused the event: user u7 is blocked (field properties)", failed[7])
	require.Equal(t, 7, tb.sim.EventCount(), "the other events were imported")
	require.False(t, connector.IsPermanent(err), "a BatchError fails its rows, not the batch")
}

func TestInsertIDIsDeterministic(t *testing.T) {
	t.Parallel()
	row := eventRow("e1", "Signed Up", "u1", eventTime, "pro").Fields
	id := mixpanel.InsertID("events_to_mixpanel", "e1", row)
	require.Len(t, id, 32)
	require.Regexp(t, `^[0-9a-f]{32}$`, id)
	require.Equal(t, id, mixpanel.InsertID("events_to_mixpanel", "e1", eventRow("e1", "Signed Up", "u1", eventTime, "pro").Fields))
	encoded := record.EncodedFields(eventFields, row.Encoded())
	require.Equal(t, id, mixpanel.InsertID("events_to_mixpanel", "e1", encoded), "values and their encoding give one id")
	require.NotEqual(t, id, mixpanel.InsertID("events_to_mixpanel", "e1", eventRow("e1", "Signed Up", "u1", eventTime, "team").Fields), "changed content")
	require.NotEqual(t, id, mixpanel.InsertID("events_to_mixpanel", "e2", row), "another key")
	require.NotEqual(t, id, mixpanel.InsertID("other_sync", "e1", row), "another sync")

	// A batch sent twice (a retry after a lost answer, a re-send after a crash)
	// leaves one event per row.
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	changes := events(50)
	err, _ := write(d, changes)
	require.NoError(t, err)
	err, _ = write(d, changes)
	require.NoError(t, err)
	require.Equal(t, int64(100), tb.sim.Imported())
	require.Equal(t, 50, tb.sim.EventCount())
	// Another destination for the same sync gives the same ids.
	d2 := tb.open(t, eventInfo, eventSync, nil)
	err, _ = write(d2, changes[:10])
	require.NoError(t, err)
	require.Equal(t, 50, tb.sim.EventCount())
}

func TestImportIsGzipped(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	err, exchanges := write(d, events(20))
	require.NoError(t, err)
	reqs := tb.sim.Log().Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "gzip", reqs[0].Header.Get("Content-Encoding"))
	require.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	// The trace keeps the payload as sent before compression, and its size.
	require.Equal(t, reqs[0].Body, exchanges[0].Request.Body)
	require.Equal(t, int64(len(exchanges[0].Request.Body)), exchanges[0].PayloadBytes)
	require.True(t, bytes.HasPrefix(reqs[0].Body, []byte(`[{"event":"Signed Up","properties":{"time":`)))

	// What went over the wire was smaller.
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(reqs[0].Body)
	zw.Close()
	require.Less(t, zbuf.Len(), len(reqs[0].Body))
}

func TestThrottledImportBacksOff(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.sim.SetFaults(simkit.Faults{Force429: 1})
	d := tb.open(t, eventInfo, eventSync, nil)
	err, exchanges := write(d, events(5))
	require.Error(t, err)
	require.True(t, connector.RateLimited(err), "%v", err)
	require.True(t, exchanges[0].Throttled)
	delay, ok := connector.RetryDelay(err)
	require.True(t, ok)
	// No Retry-After: the first backoff is 2 s with jitter.
	require.GreaterOrEqual(t, delay, time.Second)
	require.LessOrEqual(t, delay, 2*time.Second)
	require.False(t, connector.IsPermanent(err))

	err, _ = write(d, events(5))
	require.NoError(t, err, "the budget waited out the pause before sending again")
	require.Equal(t, 5, tb.sim.EventCount())
}

func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 2})
	d := tb.open(t, eventInfo, eventSync, nil)
	for range 2 {
		err, _ := write(d, events(5))
		require.Error(t, err)
		require.False(t, connector.IsPermanent(err), "a 5xx is transient: %v", err)
		require.False(t, connector.IsDivisible(err))
		require.Contains(t, err.Error(), "mixpanel: import events: HTTP 50")
	}
	err, _ := write(d, events(5))
	require.NoError(t, err)
	require.Equal(t, 5, tb.sim.EventCount())
}

// A 400 that names no event is the request's fault: it is never retried, because
// a retry fails the same way and counts toward the rate limit.
func TestBadRequestIsNeverRetried(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{MaxEvents: 3, TooManyEventsStatus: http.StatusBadRequest})
	d := tb.open(t, eventInfo, eventSync, nil)
	err, exchanges := write(d, events(5))
	require.Error(t, err)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.Contains(t, err.Error(), "HTTP 400: request exceeds max limit of 3 events")
	require.Len(t, exchanges, 1)
	require.Equal(t, int64(1), tb.sim.Counters().Requests.Load())
}

// A request too large for the server is halved by the engine.
func TestTooLargeRequestIsDivisible(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{MaxEvents: 3})
	d := tb.open(t, eventInfo, eventSync, nil)
	err, _ := write(d, events(5))
	require.True(t, connector.IsDivisible(err), "%v", err)
}

func TestAuthFailureNamesTheKeyToFix(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	cases := map[string]struct {
		mutate func(*mixpanel.Config)
		sync   *mixpanel.SyncConfig
		info   connector.SyncInfo
		want   string
	}{
		"wrong service account secret": {
			mutate: func(c *mixpanel.Config) { c.ServiceAccount.Secret = "wrong" },
			sync:   eventSync, info: eventInfo,
			want: `check service_account (username "sync-bot" and its secret)`,
		},
		"service account of another project": {
			mutate: func(c *mixpanel.Config) { c.ProjectID = "1" },
			sync:   eventSync, info: eventInfo,
			want: "member of project 1",
		},
		"wrong token for events": {
			mutate: func(c *mixpanel.Config) { c.ServiceAccount = mixpanel.ServiceAccount{}; c.ProjectToken = "nope" },
			sync:   eventSync, info: eventInfo,
			want: "check project_token",
		},
		"wrong token for profiles": {
			mutate: func(c *mixpanel.Config) { c.ProjectToken = "nope" },
			sync:   profileSync, info: profileInfo(connector.ModeUpsert),
			want: "check project_token",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := tb.open(t, tc.info, tc.sync, tc.mutate)
			err := d.(connector.Checker).Check(context.Background())
			require.Error(t, err)
			require.Contains(t, err.Error(), "Mixpanel refused the credentials (HTTP 401")
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "wrong", "no secret in the message")
		})
	}
	// Writes refused for the credentials fail the batch for good.
	d := tb.open(t, eventInfo, eventSync, func(c *mixpanel.Config) { c.ServiceAccount.Secret = "wrong" })
	err, _ := write(d, events(2))
	require.True(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "check service_account")

	// Right credentials pass the check without importing anything.
	for _, sc := range []*mixpanel.SyncConfig{eventSync, profileSync} {
		info := eventInfo
		if sc == profileSync {
			info = profileInfo(connector.ModeMirror)
		}
		d := tb.open(t, info, sc, nil)
		require.NoError(t, d.(connector.Checker).Check(context.Background()))
	}
	require.Equal(t, 0, tb.sim.EventCount())
}

func TestEventsTakeInsertOnly(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	for _, mode := range []connector.Mode{connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror} {
		info := eventInfo
		info.Mode = mode
		_, err := mixpanel.Spec.Open(context.Background(), connector.DestinationParams{Name: "product", Config: tb.config(nil), SyncConfig: eventSync, Sync: info})
		var fe *connector.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "mode", fe.Field)
		require.Contains(t, fe.Message, "events are immutable in Mixpanel")
		require.Contains(t, fe.Message, "use mode: insert")
	}
	require.Equal(t, int64(0), tb.sim.Counters().Requests.Load())
}

// A batch over the request limits goes in several requests.
func TestLargeBatchIsSplitByBytes(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	long := strings.Repeat("x", 7000)
	var changes []record.Change
	for i := range 2000 {
		changes = append(changes, eventRow("big"+itoa(i), "Viewed", "u"+itoa(i), eventTime, long))
	}
	err, exchanges := write(d, changes)
	require.NoError(t, err)
	require.Len(t, exchanges, 2, "14 MB of events go in two requests under 10 MB")
	for _, ex := range exchanges {
		require.LessOrEqual(t, len(ex.Request.Body), 10_000_000)
	}
	require.Equal(t, 2000, tb.sim.EventCount())
}

func TestRequestBodiesAreNotShared(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, eventInfo, eventSync, nil)
	_, first := write(d, events(3))
	kept := bytes.Clone(first[0].Request.Body)
	_, _ = write(d, events(4))
	require.Equal(t, kept, first[0].Request.Body, "the run log keeps a request's body after Write returns")
	_, _ = io.Copy(io.Discard, bytes.NewReader(kept))
}

// Without mappings every column is a property under its own name; the columns the
// sync's keys name time and distinct_id are Mixpanel's own and go once.
func TestEventsWithoutMappings(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	fields := []string{"id", "event", "distinct_id", "time", "plan", "event", "distinct_id", "time"}
	info := connector.SyncInfo{Name: "raw_events", Mode: connector.ModeInsert, KeyColumn: "id", KeyField: "id",
		Fields: fields, ColumnFields: map[string]int{"event": 5, "distinct_id": 6, "time": 7}}
	sc := &mixpanel.SyncConfig{Object: mixpanel.ObjectEvents, Event: "event", DistinctID: "distinct_id", Time: "time"}
	d := tb.open(t, info, sc, nil)
	err, exchanges := write(d, []record.Change{{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(fields,
		[]record.Value{int64(1), "Signed Up", "u1", eventTime, "pro", "Signed Up", "u1", eventTime})}})
	require.NoError(t, err)
	require.Contains(t, string(exchanges[0].Request.Body), `{"event":"Signed Up","properties":{"time":1748781000250,"distinct_id":"u1","$insert_id":"`)
	require.Contains(t, string(exchanges[0].Request.Body), `","id":1,"event":"Signed Up","plan":"pro"}}]`)
	require.Equal(t, 1, tb.sim.EventCount())
}

// failed_records name an event by its place in the request, by its $insert_id,
// or both; Mixpanel's answers call the id "insert_id", one of its docs' examples
// "$insert_id". An entry with the id and no index still fails its own row.
func TestFailedRecordsByInsertID(t *testing.T) {
	t.Parallel()
	changes := events(3)
	refused := mixpanel.InsertID("events_to_mixpanel", "e1", changes[1].Fields)
	cases := map[string]string{
		"insert_id":            `{"insert_id":%q,"field":"properties.time","message":"'properties.time' is invalid"}`,
		"$insert_id":           `{"$insert_id":%q,"field":"properties.time","message":"'properties.time' is invalid"}`,
		"index and insert_id":  `{"index":1,"insert_id":%q,"field":"properties.time","message":"'properties.time' is invalid"}`,
		"index and $insert_id": `{"index":1,"$insert_id":%q,"field":"properties.time","message":"'properties.time' is invalid"}`,
	}
	for name, entry := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"code":400,"error":"some data points in the request failed validation","failed_records":[`+entry+`],"num_records_imported":2,"status":"Bad Request"}`, refused)
			}))
			t.Cleanup(srv.Close)
			tb := &testBundle{srv: srv}
			d := tb.open(t, eventInfo, eventSync, nil)
			err, _ := write(d, changes)
			failed := conformance.FailedRows(t, err)
			require.Equal(t, map[int]string{1: "Mixpanel refused the event: 'properties.time' is invalid (field properties.time)"}, failed)
		})
	}
}
