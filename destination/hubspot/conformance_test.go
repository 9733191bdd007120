package hubspot_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
)

// The kinds HubSpot holds and gives back exactly. Strings are left out because
// HubSpot treats "" as clearing the property, so an empty string reads back as
// null; timestamps because datetime properties keep milliseconds.
var hubspotKinds = []record.Kind{
	record.KindBool, record.KindInt, record.KindFloat, record.KindDecimal, record.KindBytes,
	record.KindDate, record.KindJSON, record.KindList, record.KindStruct,
}

// TestConformance runs the destination suite against the simulator: each target
// is a custom object whose properties are typed as a user would create them, the
// sync's key field a unique property identifying records.
func TestConformance(t *testing.T) {
	conformance.TestDestination(t, hubspot.Spec, conformance.Harness{
		Kinds: hubspotKinds,
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			const object = "rows"
			var props []sim.Property
			for i, name := range info.Fields {
				p := propertyFor(name, kinds[i])
				if name == info.KeyField {
					p = sim.Property{Name: name, Type: "string", HasUniqueValue: true}
				}
				props = append(props, p)
			}
			tb := setup(t, sim.Options{CustomObjects: map[string][]sim.Property{object: props}})
			tb.rejectOn = info.KeyField
			d := tb.open(t, tb.config(nil), info, hubspot.SyncConfig{Object: object, IDProperty: info.KeyField})
			require.NoError(t, d.Check(context.Background()))
			return conformance.Target{
				Destination: d,
				Contents: func(t *testing.T) map[string]record.Fields {
					out := map[string]record.Fields{}
					for _, r := range tb.sim.Records(object) {
						values := make([]record.Value, len(info.Fields))
						for i, name := range info.Fields {
							values[i] = parseAs(t, r.Properties[name], kinds[i])
						}
						out[r.Properties[info.KeyField]] = record.MakeFields(info.Fields, values)
					}
					return out
				},
				RejectKey: func(key string) { tb.reject(key, "refused by the test's Reject hook") },
				Seed: func(t *testing.T, rows map[string]record.Fields) {
					var seeded []map[string]string
					for _, f := range rows {
						m := map[string]string{}
						for i, name := range f.Names {
							m[name] = text(f.Values()[i])
						}
						seeded = append(seeded, m)
					}
					tb.seed(t, object, info.KeyField, seeded)
				},
			}
		},
	})
}

// text is a value as an earlier sync would have written it.
func text(v record.Value) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	return string(record.AppendJSON(nil, v))
}
