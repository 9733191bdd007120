package slack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/slack"
)

// A channel is not a table, but the suite can read it as one: each message is
// rendered by a template that writes the row's fields as JSON, and the
// channel's contents are, per key, the fields of the last message about it — a
// removed row's message (templates.removed) takes its key out. Resending a batch
// posts its messages again (Slack has no idempotency key); the last message per
// key is the same, which is what a reader of the channel sees.
//
// Refused keys (the partial-failure test) are refused by the simulator's Reject
// hook with msg_too_long, an error of the message's own.
func TestConformance(t *testing.T) {
	conformance.TestDestination(t, slack.Spec, conformance.Harness{
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			tb := setup(t, unpaced())
			fieldsJSON := func(op string) string {
				var b strings.Builder
				fmt.Fprintf(&b, `{"op":%q`, op)
				for _, name := range info.Fields {
					fmt.Fprintf(&b, `,%q:{{ row.%s | json }}`, name, name)
				}
				return b.String() + "}"
			}
			sc := &slack.SyncConfig{Channel: alerts, Template: fieldsJSON("set")}
			if info.Mode.Sends(record.OpRemove) {
				sc.Templates.Removed = fmt.Sprintf(`{"op":"removed","%s":{{ row.%s | json }}}`, info.KeyField, info.KeyField)
			}
			cfg := tb.botConfig(fast)
			require.NoError(t, sc.Validate())
			require.NoError(t, sc.ValidateMode(info.Mode))
			d, err := slack.Spec.Open(t.Context(), connector.DestinationParams{Name: "alerts", Config: cfg, SyncConfig: sc, Sync: info})
			require.NoError(t, err)
			require.NoError(t, d.(connector.Checker).Check(t.Context()))

			var rejectMu sync.Mutex
			rejected := map[string]bool{}
			tb.sim.SetReject(func(m sim.Message) string {
				var v map[string]any
				if json.Unmarshal([]byte(m.Text), &v) != nil {
					return ""
				}
				rejectMu.Lock()
				defer rejectMu.Unlock()
				if key, _ := v[info.KeyField].(string); rejected[key] {
					return "msg_too_long"
				}
				return ""
			})
			return conformance.Target{
				Destination: d,
				Contents: func(t *testing.T) map[string]record.Fields {
					out := map[string]record.Fields{}
					for _, m := range tb.sim.Messages(alerts) {
						dec := json.NewDecoder(strings.NewReader(m.Text))
						dec.UseNumber()
						var v map[string]any
						require.NoError(t, dec.Decode(&v), m.Text)
						key := v[info.KeyField].(string)
						if v["op"] == "removed" {
							delete(out, key)
							continue
						}
						values := make([]record.Value, len(info.Fields))
						for i, name := range info.Fields {
							values[i] = fromJSON(t, v[name], kinds[i])
						}
						out[key] = record.MakeFields(info.Fields, values)
					}
					return out
				},
				RejectKey: func(key string) {
					rejectMu.Lock()
					rejected[key] = true
					rejectMu.Unlock()
				},
				// Seed posts the messages an earlier sync would have posted,
				// straight to the simulator.
				Seed: func(t *testing.T, rows map[string]record.Fields) {
					for _, f := range rows {
						obj := map[string]json.RawMessage{"op": json.RawMessage(`"set"`)}
						for i, name := range f.Names {
							obj[name] = record.AppendJSON(nil, f.Values()[i])
						}
						text, err := json.Marshal(obj)
						require.NoError(t, err)
						body, err := json.Marshal(map[string]string{"channel": alerts, "text": string(text)})
						require.NoError(t, err)
						req, err := http.NewRequest(http.MethodPost, tb.srv.URL+"/chat.postMessage", bytes.NewReader(body))
						require.NoError(t, err)
						req.Header.Set("Content-Type", "application/json; charset=utf-8")
						req.Header.Set("Authorization", "Bearer "+testToken)
						resp, err := http.DefaultClient.Do(req)
						require.NoError(t, err)
						resp.Body.Close()
						require.Equal(t, http.StatusOK, resp.StatusCode)
					}
				},
			}
		},
		// A message is text: templates see exact decimals as floating point,
		// bytes as text, JSON and structs as objects whose keys Liquid's json
		// filter sorts, so those kinds do not come back as they were.
		Kinds: []record.Kind{record.KindBool, record.KindInt, record.KindFloat, record.KindString,
			record.KindDate, record.KindTimestamp, record.KindList},
	})
}

// fromJSON turns a value the json filter wrote back into the kind it was.
func fromJSON(t *testing.T, v any, kind record.Kind) record.Value {
	t.Helper()
	if v == nil {
		return nil
	}
	switch kind {
	case record.KindInt:
		n, err := v.(json.Number).Int64()
		require.NoError(t, err)
		return n
	case record.KindFloat:
		f, err := v.(json.Number).Float64()
		require.NoError(t, err)
		return f
	case record.KindDate:
		ts, err := time.Parse(time.RFC3339, v.(string))
		require.NoError(t, err)
		return record.Date{Year: ts.Year(), Month: ts.Month(), Day: ts.Day()}
	case record.KindTimestamp:
		ts, err := time.Parse(time.RFC3339Nano, v.(string))
		require.NoError(t, err)
		return ts
	case record.KindList:
		var out []record.Value
		for _, x := range v.([]any) {
			out = append(out, fromJSON(t, x, record.KindInt))
		}
		if out == nil {
			out = []record.Value{}
		}
		return out
	}
	return v
}
