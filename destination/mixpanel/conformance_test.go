package mixpanel_test

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/mixpanel"
)

// The suite runs against profiles, which take every mode. Events take insert
// only and need an event name, a user and a time in every row, which the suite's
// rows do not carry: events_test.go covers them.
//
// Refused keys (the suite's partial-failure test) are refused by the simulator's
// RejectUpdate hook: /engage then answers the request with status 0, and the
// engine's halving isolates the refused profiles.
func TestConformanceProfiles(t *testing.T) {
	conformance.TestDestination(t, mixpanel.Spec, conformance.Harness{
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			tb := setup(t, sim.Options{})
			// The key column is the profile's distinct_id.
			sc := &mixpanel.SyncConfig{Object: mixpanel.ObjectProfiles, DistinctID: info.KeyField}
			d := tb.open(t, info, sc, nil)
			var rejectMu sync.Mutex
			rejected := map[string]bool{}
			tb.sim.SetRejectUpdate(func(id, op string) string {
				rejectMu.Lock()
				defer rejectMu.Unlock()
				if rejected[id] {
					return "profile " + id + " is refused by the test"
				}
				return ""
			})
			return conformance.Target{
				Destination: d,
				RejectKey: func(key string) {
					rejectMu.Lock()
					rejected[key] = true
					rejectMu.Unlock()
				},
				Contents: func(t *testing.T) map[string]record.Fields {
					out := map[string]record.Fields{}
					for id, p := range tb.sim.Profiles() {
						values := make([]record.Value, len(info.Fields))
						for i, name := range info.Fields {
							if name == info.KeyField {
								values[i] = id
								continue
							}
							if v, ok := p.Properties[name]; ok {
								values[i] = record.JSON(marshal(t, v))
							}
						}
						out[id] = record.MakeFields(info.Fields, values)
					}
					return out
				},
				Seed: func(t *testing.T, rows map[string]record.Fields) {
					profiles := map[string]map[string]any{}
					for key, f := range rows {
						props := map[string]any{}
						for i, name := range f.Names {
							if name != info.KeyField {
								props[name] = json.RawMessage(record.AppendJSON(nil, f.Values()[i]))
							}
						}
						profiles[key] = props
					}
					tb.seedProfiles(t, profiles)
				},
			}
		},
		// Mixpanel holds numbers as doubles and objects without their key order:
		// integers beyond 2^53, exact decimals, JSON documents and structs do not
		// come back as they were sent.
		Kinds: []record.Kind{record.KindBool, record.KindFloat, record.KindString, record.KindBytes,
			record.KindDate, record.KindTimestamp, record.KindList},
	})
}

func marshal(t *testing.T, v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
