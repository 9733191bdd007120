package mixpanel

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// split must find every field's JSON exactly, whatever the values hold (quotes,
// backslashes, brackets, a JSON document of nested objects), and must not panic on
// a JSON column whose text is not JSON.
func FuzzSplit(f *testing.F) {
	f.Add("plain", `{"a":[1,{"b":"}"}],"c":null}`, `quote " and \ backslash`, int64(7))
	f.Add(`,"user_id":`, `[]`, "", int64(-1))
	f.Add("]}", `"text"`, "{", int64(0))
	f.Add("x", `{"unterminated`, "y", int64(1))
	f.Add("x", ` 1 `, "y", int64(1))
	names := []string{"s1", "doc", "s2", "n"}
	l := &layout{names: names, roles: make([]role, len(names))}
	for _, n := range names {
		l.qlen = append(l.qlen, len(record.AppendJSONString(nil, n))+1)
	}
	f.Fuzz(func(t *testing.T, s1, doc, s2 string, n int64) {
		values := []record.Value{s1, record.JSON(doc), s2, n}
		for _, fields := range []record.Fields{
			record.MakeFields(names, values),
			record.EncodedFields(names, record.AppendValues(nil, values)),
		} {
			obj := fields.AppendJSON(nil)
			spans, ok := l.split(obj, nil)
			if !json.Valid(obj) {
				continue // a JSON column that is not JSON: split may refuse it, without panicking
			}
			require.True(t, ok, "%s", obj)
			for i, v := range values {
				require.Equal(t, string(record.AppendJSON(nil, v)), string(obj[spans[i].start:spans[i].end]), "field %d of %s", i, obj)
			}
		}
	})
}

func TestParseUTCTimestamp(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC),
		time.Date(2025, 6, 1, 12, 30, 0, 123456789, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500000000, time.UTC),
		time.Date(2025, 6, 1, 0, 0, 0, 100000000, time.UTC),
	} {
		text := record.AppendJSON(nil, ts)
		ms, err := eventTime(text)
		require.NoError(t, err, "%s", text)
		require.Equal(t, ts.UnixMilli(), ms, "%s", text)
	}
	for _, bad := range []string{"2025-02-30T00:00:00Z", "2025-13-01T00:00:00Z", "2025-06-01T24:00:00Z", "2025-06-01T00:00:00.Z", "2025-06-01 00:00:00Z"} {
		_, ok := parseUTCTimestamp(bad)
		require.False(t, ok, bad)
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	fields := []string{"plan", "path", "mobile", "revenue", "event_name", "user_id", "occurred_at"}
	info := connector.SyncInfo{Name: "events", Fields: fields, ColumnFields: map[string]int{"event": 4, "distinct_id": 5, "time": 6}}
	l, err := newLayout(info, &SyncConfig{Object: ObjectEvents, Event: "event_name", DistinctID: "user_id", Time: "occurred_at"})
	require.NoError(b, err)
	d := &Destination{layout: l}
	values := []record.Value{"team", "/reports/42", false, record.NewDecimalInt64(1999, 2), "Viewed Report", "user-42", time.Now().UTC()}
	c := record.Change{Op: record.OpAdd, Key: "42", Fields: record.EncodedFields(fields, record.AppendValues(nil, values))}
	var e encoder
	b.ReportAllocs()
	for b.Loop() {
		e.items.reset()
		if err := e.appendEvent(d, &c); err != nil {
			b.Fatal(err)
		}
	}
}
