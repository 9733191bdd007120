package mixpanel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

const (
	projectID = "2195193"
	saUser    = "sync-bot"
	saSecret  = "sa-secret-123"
	token     = "tok-0123456789abcdef"
)

// testBundle is a simulator behind a real HTTP server.
type testBundle struct {
	sim *sim.Server
	srv *httptest.Server
}

// setup starts a simulator that keeps request bodies; opts may set anything
// but the credentials.
func setup(t testing.TB, opts sim.Options) *testBundle {
	t.Helper()
	opts.KeepBodies = true
	return newBundle(t, opts)
}

// newBundle starts a simulator with the test project's credentials.
func newBundle(t testing.TB, opts sim.Options) *testBundle {
	t.Helper()
	opts.ProjectID = projectID
	opts.Token = token
	if opts.ServiceAccounts == nil {
		opts.ServiceAccounts = map[string]string{saUser: saSecret}
	}
	tb := &testBundle{sim: sim.New(opts)}
	tb.srv = simtest.NewServer(tb.sim)
	t.Cleanup(tb.srv.Close)
	return tb
}

// config is a destination configuration for the bundle's simulator.
func (tb *testBundle) config(mutate func(*mixpanel.Config)) *mixpanel.Config {
	cfg := mixpanel.Spec.NewConfig().(*mixpanel.Config)
	cfg.SetDefaults()
	cfg.ProjectID = projectID
	cfg.ServiceAccount = mixpanel.ServiceAccount{Username: saUser, Secret: saSecret}
	cfg.ProjectToken = token
	cfg.BaseURL = tb.srv.URL
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// open opens a destination for info and sc against the simulator.
func (tb *testBundle) open(t testing.TB, info connector.SyncInfo, sc *mixpanel.SyncConfig, mutate func(*mixpanel.Config)) connector.Destination {
	t.Helper()
	cfg := tb.config(mutate)
	require.NoError(t, cfg.Validate())
	require.NoError(t, sc.Validate())
	d, err := mixpanel.Spec.Open(context.Background(), connector.DestinationParams{Name: "product", Config: cfg, SyncConfig: sc, Sync: info})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

// The events sync of the tests: one mapped property, then the columns the engine
// carries for the sync's keys.
var (
	eventFields = []string{"plan", "event_name", "user_id", "occurred_at"}
	eventInfo   = connector.SyncInfo{
		Name: "events_to_mixpanel", Mode: connector.ModeInsert, KeyColumn: "event_id", KeyField: "event_id",
		Fields: eventFields, ColumnFields: map[string]int{"event": 1, "distinct_id": 2, "time": 3},
	}
	eventSync = &mixpanel.SyncConfig{Object: mixpanel.ObjectEvents, Event: "event_name", DistinctID: "user_id", Time: "occurred_at"}
)

// eventTime is an event time safely in the past, to the millisecond.
var eventTime = time.Date(2025, 6, 1, 12, 30, 0, 250_000_000, time.UTC)

func eventRow(key, name, user string, at record.Value, plan record.Value) record.Change {
	return record.Change{Op: record.OpAdd, Key: key, Fields: record.MakeFields(eventFields, []record.Value{plan, name, user, at})}
}

// events is n events e0…e(n-1) of users u0…, a second apart.
func events(n int) []record.Change {
	out := make([]record.Change, n)
	for i := range out {
		out[i] = eventRow("e"+itoa(i), "Signed Up", "u"+itoa(i), eventTime.Add(time.Duration(i)*time.Second), "pro")
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// write sends changes as one batch and returns Write's error and the exchanges traced.
func write(d connector.Destination, changes []record.Change) (error, []connector.Exchange) {
	var exchanges []connector.Exchange
	b := connector.NewBatch("events_to_mixpanel", "run-1", "batch-1", changes, func(ex connector.Exchange) {
		exchanges = append(exchanges, ex)
	})
	return d.Write(context.Background(), b), exchanges
}

// The profiles sync of the tests: distinct_id travels as its own column.
var (
	profileFields = []string{"$email", "plan", "id"}
	profileSync   = &mixpanel.SyncConfig{Object: mixpanel.ObjectProfiles, DistinctID: "id"}
)

func profileInfo(mode connector.Mode) connector.SyncInfo {
	return connector.SyncInfo{Name: "users_to_mixpanel", Mode: mode, KeyColumn: "id", KeyField: "id",
		Fields: profileFields, ColumnFields: map[string]int{"distinct_id": 2}}
}

func profileRow(op record.Op, id string, email, plan record.Value) record.Change {
	return record.Change{Op: op, Key: id, Fields: record.MakeFields(profileFields, []record.Value{email, plan, id})}
}

// seedProfiles sets profiles in the simulator through its own API, not through
// the destination, as another integration would have.
func (tb *testBundle) seedProfiles(t *testing.T, profiles map[string]map[string]any) {
	t.Helper()
	var updates []map[string]any
	for id, props := range profiles {
		updates = append(updates, map[string]any{"$token": token, "$distinct_id": id, "$set": props})
	}
	body, err := json.Marshal(updates)
	require.NoError(t, err)
	resp, err := http.Post(tb.srv.URL+"/engage?verbose=1", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var ans struct{ Status int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ans))
	require.Equal(t, 1, ans.Status)
}
