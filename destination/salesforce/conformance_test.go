package salesforce_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

// The kinds Salesforce holds and gives back exactly. Strings are left out
// because Salesforce holds an empty text as null; timestamps because datetime
// fields keep milliseconds.
var salesforceKinds = []record.Kind{
	record.KindBool, record.KindInt, record.KindFloat, record.KindDecimal, record.KindBytes,
	record.KindDate, record.KindJSON, record.KindList, record.KindStruct,
}

// TestConformance runs the destination suite against the simulator twice: with
// sObject Collections and with Bulk API 2.0 forced. Each target is a custom
// object whose fields are typed as a user would create them, the sync's key a
// unique External ID. The suite's field names become custom fields' API names
// (id → Id__c), as a sync's mappings would write them.
func TestConformance(t *testing.T) {
	for _, api := range []string{"collections", "bulk"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			conformance.TestDestination(t, salesforce.Spec, harness(api))
		})
	}
}

func harness(api string) conformance.Harness {
	return conformance.Harness{
		Kinds: salesforceKinds,
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			const object = "Row__c"
			apiName := func(name string) string { return strings.ToUpper(name[:1]) + name[1:] + "__c" }
			var fields []sim.Field
			sfInfo := info
			sfInfo.Fields = nil
			for i, name := range info.Fields {
				f := fieldFor(apiName(name), kinds[i])
				if name == info.KeyField {
					f = sim.Field{Name: apiName(name), Type: sim.TypeString, ExternalID: true, Unique: true}
				}
				fields = append(fields, f)
				sfInfo.Fields = append(sfInfo.Fields, apiName(name))
			}
			key := apiName(info.KeyField)
			sfInfo.KeyField = key
			tb := setup(t, sim.Options{CustomObjects: map[string][]sim.Field{object: fields}, BulkRecordsPerSecond: 1e6})
			tb.rejectOn = key
			d := tb.open(t, tb.config(nil), sfInfo, salesforce.SyncConfig{Object: object, ExternalIDField: key, API: api})
			require.NoError(t, d.Check(context.Background()))
			return conformance.Target{
				Destination: d,
				Contents: func(t *testing.T) map[string]record.Fields {
					out := map[string]record.Fields{}
					for _, r := range tb.sim.Records(object) {
						values := make([]record.Value, len(info.Fields))
						for i := range info.Fields {
							values[i] = readBack(t, r.Fields[sfInfo.Fields[i]], kinds[i])
						}
						out[fmt.Sprint(r.Fields[key])] = record.MakeFields(info.Fields, values)
					}
					return out
				},
				RejectKey: func(k string) { tb.reject(k, "refused by the test's validation rule") },
				Seed: func(t *testing.T, rows map[string]record.Fields) {
					var recs []map[string]any
					for _, f := range rows {
						rec := map[string]any{}
						for i, v := range f.Values() {
							rec[sfInfo.Fields[i]] = seedValue(v)
						}
						recs = append(recs, rec)
					}
					tb.seed(t, object, recs)
				},
			}
		},
	}
}

// fieldFor is the field a user would create for a value kind. Integers and
// decimals go to text fields: the simulator's number fields are float64, and
// the suite's values have more digits than a double keeps.
func fieldFor(name string, k record.Kind) sim.Field {
	switch k {
	case record.KindBool:
		return sim.Field{Name: name, Type: sim.TypeBoolean}
	case record.KindFloat:
		return sim.Field{Name: name, Type: sim.TypeDouble, Precision: 18, Scale: 6}
	case record.KindDate:
		return sim.Field{Name: name, Type: sim.TypeDate}
	case record.KindTimestamp:
		return sim.Field{Name: name, Type: sim.TypeDateTime}
	case record.KindString, record.KindInt, record.KindDecimal:
		return sim.Field{Name: name, Type: sim.TypeString}
	}
	return sim.Field{Name: name, Type: sim.TypeTextArea}
}

// readBack reads a stored value as a canonical value of kind k: the inverse of
// the destination's formatting. An absent field is null.
func readBack(t *testing.T, v any, k record.Kind) record.Value {
	t.Helper()
	if v == nil {
		return nil
	}
	s := fmt.Sprint(v)
	var out record.Value
	var err error
	switch k {
	case record.KindBool:
		out = v.(bool)
	case record.KindInt:
		out, err = strconv.ParseInt(s, 10, 64)
	case record.KindFloat:
		out = v.(float64)
	case record.KindDecimal:
		out, err = record.ParseDecimal(s)
	case record.KindBytes:
		out, err = base64.StdEncoding.DecodeString(s)
	case record.KindDate:
		var tm time.Time
		tm, err = time.Parse(time.DateOnly, s)
		out = record.DateOf(tm)
	case record.KindJSON, record.KindList, record.KindStruct:
		out = record.JSON(s)
	default:
		out = s
	}
	require.NoError(t, err, "field value %q as %s", s, k)
	return out
}

// seedValue is a value as an earlier sync would have written it.
func seedValue(v record.Value) any {
	switch v := v.(type) {
	case nil, string, bool, float64:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return string(record.AppendJSON(nil, v))
}
