package hubspot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

const testToken = "pat-na1-test-0123456789"

var bundles atomic.Int64

// testBundle is a simulator serving over HTTP and what a test needs around it.
type testBundle struct {
	sim *sim.Server
	url string

	rejectMu sync.Mutex
	rejected map[string]string // property value → message
	rejectOn string            // the property Reject looks at
}

// setup starts a simulator (KeepBodies on) behind an httptest server. Reject is
// wired to bundle.reject, which fails records whose rejectOn property holds a
// rejected value.
func setup(t *testing.T, opts sim.Options) *testBundle {
	t.Helper()
	tb := &testBundle{rejected: map[string]string{}, rejectOn: "email"}
	opts.KeepBodies = true
	opts.Reject = func(object string, props map[string]string) string {
		tb.rejectMu.Lock()
		defer tb.rejectMu.Unlock()
		return tb.rejected[props[tb.rejectOn]]
	}
	tb.sim = sim.New(opts)
	srv := simtest.NewServer(tb.sim)
	t.Cleanup(srv.Close)
	tb.url = srv.URL
	return tb
}

func (tb *testBundle) reject(value, message string) {
	tb.rejectMu.Lock()
	tb.rejected[value] = message
	tb.rejectMu.Unlock()
}

// config returns a valid configuration against the simulator.
func (tb *testBundle) config(mutate func(*hubspot.Config)) *hubspot.Config {
	cfg := hubspot.Spec.NewConfig().(*hubspot.Config)
	cfg.SetDefaults()
	// A token of its own per bundle: budgets are shared per base URL and token in
	// the process, and a later test's server may get an earlier one's port.
	cfg.AccessToken = fmt.Sprintf("%s-%d", testToken, bundles.Add(1))
	cfg.BaseURL = tb.url
	cfg.Tier = "professional"
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// open opens the destination for a sync writing fields to object.
func (tb *testBundle) open(t *testing.T, cfg *hubspot.Config, info connector.SyncInfo, sc hubspot.SyncConfig) *hubspot.Destination {
	t.Helper()
	require.NoError(t, cfg.Validate())
	d, err := hubspot.Spec.Open(context.Background(), connector.DestinationParams{
		Name: "crm", Config: cfg, SyncConfig: &sc, Sync: info,
	})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d.(*hubspot.Destination)
}

// contacts opens a contacts sync keyed by email in mode.
func (tb *testBundle) contacts(t *testing.T, mode connector.Mode, mutate func(*hubspot.Config)) *hubspot.Destination {
	t.Helper()
	return tb.open(t, tb.config(mutate), contactInfo(mode), hubspot.SyncConfig{Object: "contacts", IDProperty: "email"})
}

var contactFields = []string{"email", "firstname", "lifecyclestage"}

func contactInfo(mode connector.Mode) connector.SyncInfo {
	return connector.SyncInfo{Name: "users_to_hubspot", Mode: mode, KeyColumn: "id", KeyField: "id", Fields: contactFields}
}

func contact(op record.Op, key, email, name, stage string) record.Change {
	values := []record.Value{email, name, stage}
	if stage == "" {
		values[2] = nil
	}
	return record.Change{Op: op, Key: key, Fields: record.MakeFields(contactFields, values)}
}

// write sends one batch and returns Write's error, counting traced exchanges.
func write(d connector.Destination, changes ...record.Change) (error, int) {
	var mu sync.Mutex
	traced := 0
	b := connector.NewBatch("users_to_hubspot", "run-1", "batch-1", changes, func(connector.Exchange) {
		mu.Lock()
		traced++
		mu.Unlock()
	})
	err := d.Write(context.Background(), b)
	return err, traced
}

// seed writes records straight into the simulator (as an earlier sync would
// have), through its handler with a token of its own.
func (tb *testBundle) seed(t *testing.T, object, idProperty string, rows []map[string]string) {
	t.Helper()
	type input struct {
		IDProperty string            `json:"idProperty"`
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	}
	for start := 0; start < len(rows); start += 100 {
		var inputs []input
		for _, r := range rows[start:min(start+100, len(rows))] {
			inputs = append(inputs, input{IDProperty: idProperty, ID: r[idProperty], Properties: r})
		}
		body, err := json.Marshal(map[string]any{"inputs": inputs})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/crm/v3/objects/"+object+"/batch/upsert", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer seed-token")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		tb.sim.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
}

// propertyFor is the HubSpot property a user would create for a value kind.
func propertyFor(name string, k record.Kind) sim.Property {
	switch k {
	case record.KindBool:
		return sim.Property{Name: name, Type: "bool"}
	case record.KindInt, record.KindFloat, record.KindDecimal:
		return sim.Property{Name: name, Type: "number"}
	case record.KindDate:
		return sim.Property{Name: name, Type: "date"}
	case record.KindTimestamp:
		return sim.Property{Name: name, Type: "datetime"}
	}
	return sim.Property{Name: name, Type: "string", FieldType: "textarea"}
}

// parseAs reads a HubSpot property value back as a canonical value of kind k:
// the inverse of the destination's formatting. "" is null (HubSpot clears).
func parseAs(t *testing.T, s string, k record.Kind) record.Value {
	t.Helper()
	if s == "" {
		return nil
	}
	var v record.Value
	var err error
	switch k {
	case record.KindBool:
		v, err = strconv.ParseBool(s)
	case record.KindInt:
		v, err = strconv.ParseInt(s, 10, 64)
	case record.KindFloat:
		v, err = strconv.ParseFloat(s, 64)
	case record.KindDecimal:
		v, err = record.ParseDecimal(s)
	case record.KindBytes:
		v, err = base64.StdEncoding.DecodeString(s)
	case record.KindDate:
		var tm time.Time
		tm, err = time.Parse(time.DateOnly, s)
		v = record.DateOf(tm)
	case record.KindTimestamp:
		var tm time.Time
		tm, err = time.Parse(time.RFC3339Nano, s)
		v = tm.UTC()
	case record.KindJSON, record.KindList, record.KindStruct:
		v = record.JSON(s)
	default:
		v = s
	}
	require.NoError(t, err, "property value %q as %s", s, k)
	return v
}
