package mixpanel

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

	"github.com/sluicehq/sluice/simulator/simkit"
)

const unauthorized = `{"code":401,"error":"Invalid credentials","status":"Unauthorized"}`

func TestImportAuth(t *testing.T) {
	t.Parallel()
	body := func(t *testing.T) []byte { return jsonArray(t, ev("Signup", "u-1", "i-1", nil)) }
	tests := []struct {
		name     string
		user     string
		password string
		query    string
		noAuth   bool
		secret   string
		want     int
	}{
		{name: "service account", user: "sa", password: "sa-secret", query: "project_id=42", want: 200},
		{name: "service account wrong secret", user: "sa", password: "nope", query: "project_id=42", want: 401},
		{name: "service account without project_id", user: "sa", password: "sa-secret", want: 401},
		{name: "service account other project", user: "sa", password: "sa-secret", query: "project_id=43", want: 401},
		{name: "project token", user: "tok", want: 200},
		{name: "project token with its project_id", user: "tok", query: "project_id=42", want: 200},
		{name: "project token with another project_id", user: "tok", query: "project_id=7", want: 401},
		{name: "unknown user", user: "someone", password: "x", want: 401},
		{name: "no credentials", noAuth: true, want: 401},
		{name: "empty username", user: "", password: "sa-secret", query: "project_id=42", want: 401},
		{name: "legacy secret", user: "old-secret", secret: "old-secret", want: 200},
		{name: "legacy secret unset", user: "old-secret", want: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{Secret: tc.secret})
			a := tb.do(t, call{path: "/import", query: tc.query, body: body(t), user: tc.user, password: tc.password, noAuth: tc.noAuth})
			require.Equal(t, tc.want, a.status, a.body)
			if tc.want == 401 {
				require.JSONEq(t, unauthorized, a.body)
				require.Equal(t, 0, tb.sim.EventCount())
				return
			}
			require.Equal(t, okBody(1), a.body)
			require.Equal(t, 1, tb.sim.EventCount())
		})
	}
}

func TestImportFormats(t *testing.T) {
	t.Parallel()
	events := []any{ev("Signup", "u-1", "i-1", map[string]any{"plan": "pro"}), ev("Purchase", "u-1", "i-2", map[string]any{"amount": 5.5})}
	tests := []struct {
		name  string
		body  func(t *testing.T) []byte
		ctype string
		gzip  bool
	}{
		{name: "json array", body: func(t *testing.T) []byte { return jsonArray(t, events...) }},
		{name: "ndjson", ctype: "application/x-ndjson", body: func(t *testing.T) []byte { return ndjson(t, events...) }},
		{name: "gzip json", gzip: true, body: func(t *testing.T) []byte { return jsonArray(t, events...) }},
		{name: "gzip ndjson", gzip: true, ctype: "application/x-ndjson", body: func(t *testing.T) []byte { return ndjson(t, events...) }},
		{name: "ndjson with CRLF and blank lines", ctype: "application/x-ndjson", body: func(t *testing.T) []byte {
			return bytes.ReplaceAll(append([]byte("\n"), ndjson(t, events...)...), []byte("\n"), []byte("\r\n\r\n"))
		}},
		{name: "pretty-printed array", body: func(t *testing.T) []byte {
			b, err := json.MarshalIndent(events, " ", "\t")
			require.NoError(t, err)
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{})
			a := tb.do(t, call{path: "/import", query: "strict=1&project_id=42", body: tc.body(t), ctype: tc.ctype, gzip: tc.gzip, user: "sa", password: "sa-secret"})
			require.Equal(t, 200, a.status, a.body)
			require.Equal(t, okBody(2), a.body)
			require.Equal(t, "application/json", a.header.Get("Content-Type"))
			got := tb.sim.Events()
			require.Len(t, got, 2)
			require.Equal(t, "Signup", got[0].Name)
			require.Equal(t, "u-1", got[0].DistinctID)
			require.Equal(t, "i-1", got[0].InsertID)
			require.Equal(t, testTime, got[0].Time)
			require.Equal(t, "pro", got[0].Properties["plan"])
			require.Equal(t, 5.5, got[1].Properties["amount"])
			require.Equal(t, int64(2), tb.sim.Imported())
		})
	}
}

func TestImportSingleObject(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	b, err := json.Marshal(ev("Signup", "u-1", "i-1", nil))
	require.NoError(t, err)
	a := tb.importEvents(t, "", b)
	require.Equal(t, okBody(1), a.body)
}

func TestImportValidation(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20)
	manyProps := map[string]any{}
	for i := range 252 { // plus time, distinct_id, $insert_id: 255
		manyProps[fmt.Sprintf("p%d", i)] = i
	}
	manyKeys := map[string]any{}
	for i := range 255 {
		manyKeys[fmt.Sprintf("k%d", i)] = i
	}
	tests := []struct {
		name    string
		event   any    // the invalid event, sent second after a valid one
		raw     string // or its raw JSON
		insert  string // expected insert_id in failed_records
		field   string
		message string
	}{
		{name: "no event name", event: ev("", "u", "bad-1", nil), insert: "bad-1", field: "event", message: "'event' is invalid: must be a non-empty string"},
		{name: "event name not a string", raw: `{"event":7,"properties":{"time":1700000000,"distinct_id":"u","$insert_id":"bad-1"}}`, insert: "bad-1", field: "event", message: "'event' is invalid: must be a non-empty string"},
		{name: "no properties", raw: `{"event":"E"}`, field: "properties", message: "'properties' is invalid: must be a JSON object"},
		{name: "properties not an object", raw: `{"event":"E","properties":[1]}`, field: "properties", message: "'properties' is invalid: must be a JSON object"},
		{name: "no time", event: ev("E", "u", "bad-1", map[string]any{"time": nil}), insert: "bad-1", field: "properties.time", message: "'properties.time' is invalid: must be specified as seconds since epoch"},
		{name: "time as a string", event: ev("E", "u", "bad-1", map[string]any{"time": "2024-01-01"}), insert: "bad-1", field: "properties.time", message: "'properties.time' is invalid: must be specified as seconds since epoch"},
		{name: "time before 1971", event: ev("E", "u", "bad-1", map[string]any{"time": 31535999}), insert: "bad-1", field: "properties.time", message: "'properties.time' is invalid: must be after 1971-01-01"},
		{name: "time over an hour ahead", event: ev("E", "u", "bad-1", map[string]any{"time": testNow.Add(time.Hour + time.Second).UnixMilli()}), insert: "bad-1", field: "properties.time", message: "'properties.time' is invalid: must not be more than 1h in the future"},
		{name: "no distinct_id", event: ev("E", "u", "bad-1", map[string]any{"distinct_id": nil}), insert: "bad-1", field: "properties.distinct_id", message: "'properties.distinct_id' is invalid: must be specified"},
		{name: "distinct_id null", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":null,"$insert_id":"bad-1"}}`, insert: "bad-1", field: "properties.distinct_id", message: "'properties.distinct_id' is invalid: must be a string"},
		{name: "distinct_id placeholder", event: ev("E", "Undefined", "bad-1", nil), insert: "bad-1", field: "properties.distinct_id", message: `'properties.distinct_id' is invalid: "Undefined" is not allowed`},
		{name: "distinct_id zero", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":0,"$insert_id":"bad-1"}}`, insert: "bad-1", field: "properties.distinct_id", message: `'properties.distinct_id' is invalid: "0" is not allowed`},
		{name: "no $insert_id", event: ev("E", "u", "", map[string]any{"$insert_id": nil}), field: "$insert_id", message: "'$insert_id' is invalid: must be specified"},
		{name: "$insert_id too long", event: ev("E", "u", strings.Repeat("a", 37), nil), insert: strings.Repeat("a", 37), field: "$insert_id", message: "'$insert_id' is invalid: must be at most 36 bytes"},
		{name: "$insert_id with a colon", event: ev("E", "u", "ajs:1", nil), insert: "ajs:1", field: "$insert_id", message: "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters"},
		{name: "$insert_id placeholder", event: ev("E", "u", "none", nil), insert: "none", field: "$insert_id", message: `'$insert_id' is invalid: "none" is not allowed`},
		{name: "255 properties", event: ev("E", "u", "bad-1", manyProps), insert: "bad-1", field: "properties", message: "'properties' is invalid: must have fewer than 255 properties"},
		{name: "nesting of 4", event: ev("E", "u", "bad-1", map[string]any{"deep": map[string]any{"a": map[string]any{"b": []any{map[string]any{}}}}}), insert: "bad-1", field: "properties.deep", message: "'properties.deep' is invalid: nesting depth must be at most 3"},
		{name: "list of 255", event: ev("E", "u", "bad-1", map[string]any{"tags": make([]int, 255)}), insert: "bad-1", field: "properties.tags", message: "'properties.tags' is invalid: list must have fewer than 255 elements"},
		{name: "object of 255 keys", event: ev("E", "u", "bad-1", map[string]any{"obj": manyKeys}), insert: "bad-1", field: "properties.obj", message: "'properties.obj' is invalid: object must have fewer than 255 keys"},
		{name: "invalid utf8", raw: "{\"event\":\"E\",\"properties\":{\"time\":1700000000,\"distinct_id\":\"u\",\"$insert_id\":\"bad-1\",\"utm_source\":\"\xff\"}}", insert: "bad-1", field: "properties.utm_source", message: "'properties.utm_source' is invalid: string should be valid utf8"},
		{name: "event of 1 MB", event: ev("E", "u", "bad-1", map[string]any{"blob": big}), insert: "bad-1", message: "event is invalid: must be smaller than 1048576 bytes of uncompressed JSON"},
		{name: "not an object", raw: `42`, message: "event must be a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{})
			bad := []byte(tc.raw)
			if tc.event != nil {
				var err error
				bad, err = json.Marshal(tc.event)
				require.NoError(t, err)
			}
			good, err := json.Marshal(ev("Signup", "u-1", "good-1", nil))
			require.NoError(t, err)
			body := []byte("[" + string(good) + "," + string(bad) + "]")

			a := tb.importEvents(t, "strict=1", body)
			require.Equal(t, http.StatusBadRequest, a.status)
			require.Equal(t, failedBody(t, 1, map[string]any{"index": 1, "insert_id": tc.insert, "field": tc.field, "message": tc.message}), a.body)
			require.Equal(t, 1, tb.sim.EventCount(), "the valid event is ingested")
			_, ok := tb.sim.Event("good-1")
			require.True(t, ok)
			rejs := tb.sim.Rejections()
			require.Len(t, rejs, 1)
			require.Equal(t, Rejection{Time: testNow, Path: "/import", Index: 1, InsertID: tc.insert, Field: tc.field, Message: tc.message}, rejs[0])

			// Without strict the invalid event is dropped silently.
			tb.sim.Reset()
			a = tb.importEvents(t, "strict=0", body)
			require.Equal(t, http.StatusOK, a.status)
			require.Equal(t, okBody(1), a.body)
			require.Equal(t, 1, tb.sim.EventCount())
			require.Len(t, tb.sim.Rejections(), 1)
		})
	}
}

func TestImportValidEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		raw   string
		check func(t *testing.T, e Event)
	}{
		{name: "time in milliseconds", raw: fmt.Sprintf(`{"event":"E","properties":{"time":%d,"distinct_id":"u","$insert_id":"a"}}`, testTime.UnixMilli()+123),
			check: func(t *testing.T, e Event) { require.Equal(t, testTime.Add(123*time.Millisecond), e.Time) }},
		{name: "time in fractional seconds", raw: fmt.Sprintf(`{"event":"E","properties":{"time":%d.5,"distinct_id":"u","$insert_id":"a"}}`, testTime.Unix()),
			check: func(t *testing.T, e Event) { require.Equal(t, testTime.Add(500*time.Millisecond), e.Time) }},
		{name: "future within the hour becomes now", raw: fmt.Sprintf(`{"event":"E","properties":{"time":%d,"distinct_id":"u","$insert_id":"a"}}`, testNow.Add(30*time.Minute).Unix()),
			check: func(t *testing.T, e Event) { require.Equal(t, testNow, e.Time) }},
		{name: "empty distinct_id", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":"","$insert_id":"a"}}`,
			check: func(t *testing.T, e Event) { require.Equal(t, "", e.DistinctID) }},
		{name: "numeric distinct_id", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":12345,"$insert_id":"a"}}`,
			check: func(t *testing.T, e Event) { require.Equal(t, "12345", e.DistinctID) }},
		{name: "escaped strings", raw: `{"event":"Sign\u0075p \"x\"","properties":{"time":1700000000,"distinct_id":"u\u00e9\n","$insert_id":"\u0061-1"}}`,
			check: func(t *testing.T, e Event) {
				require.Equal(t, `Signup "x"`, e.Name)
				require.Equal(t, "ué\n", e.DistinctID)
				require.Equal(t, "a-1", e.InsertID)
			}},
		{name: "escaped $insert_id only", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":"u-1","$insert_id":"\u0061-2"}}`,
			check: func(t *testing.T, e Event) {
				require.Equal(t, "u-1", e.DistinctID)
				require.Equal(t, "a-2", e.InsertID)
			}},
		{name: "escaped distinct_id only", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":"\u0075","$insert_id":"a-2"}}`,
			check: func(t *testing.T, e Event) {
				require.Equal(t, "u", e.DistinctID)
				require.Equal(t, "a-2", e.InsertID)
			}},
		{name: "long strings truncated", raw: `{"event":"` + strings.Repeat("é", 300) + `","properties":{"time":1700000000,"distinct_id":"` + strings.Repeat("d", 300) + `","$insert_id":"a","note":"` + strings.Repeat("n", 256) + `","list":["` + strings.Repeat("l", 400) + `"],"html":"<b>&"}}`,
			check: func(t *testing.T, e Event) {
				require.Equal(t, strings.Repeat("é", 255), e.Name)
				require.Equal(t, strings.Repeat("d", 255), e.DistinctID)
				require.Equal(t, strings.Repeat("n", 255), e.Properties["note"])
				require.Equal(t, []any{strings.Repeat("l", 255)}, e.Properties["list"])
				require.Equal(t, "<b>&", e.Properties["html"])
				require.Equal(t, "a", e.InsertID)
			}},
		{name: "nesting of 3", raw: `{"event":"E","properties":{"time":1700000000,"distinct_id":"u","$insert_id":"a","o":{"a":{"b":[1]}}}}`,
			check: func(t *testing.T, e Event) {
				require.Equal(t, map[string]any{"a": map[string]any{"b": []any{1.0}}}, e.Properties["o"])
			}},
		{name: "unknown top-level keys ignored", raw: `{"event":"E","extra":{"x":[1,2]},"properties":{"time":1700000000,"distinct_id":"u","$insert_id":"a"}}`,
			check: func(t *testing.T, e Event) { require.Equal(t, "E", e.Name) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{})
			a := tb.importEvents(t, "", []byte("["+tc.raw+"]"))
			require.Equal(t, okBody(1), a.body)
			got := tb.sim.Events()
			require.Len(t, got, 1)
			tc.check(t, got[0])
		})
	}
}

func TestImportOptions(t *testing.T) {
	t.Parallel()
	t.Run("keep future times", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{KeepFutureTimes: true})
		at := testNow.Add(30 * time.Minute)
		require.Equal(t, okBody(1), tb.importEvents(t, "", jsonArray(t, ev("E", "u", "a", map[string]any{"time": at.Unix()}))).body)
		require.Equal(t, at, tb.sim.Events()[0].Time)
	})
	t.Run("missing distinct_id allowed", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{AllowMissingDistinctID: true})
		require.Equal(t, okBody(1), tb.importEvents(t, "", jsonArray(t, ev("E", "", "a", map[string]any{"distinct_id": nil}))).body)
		require.Equal(t, "", tb.sim.Events()[0].DistinctID)
	})
	t.Run("strict by default", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{StrictByDefault: true})
		a := tb.do(t, call{path: "/import", query: "project_id=42", body: jsonArray(t, ev("E", "u", "a:b", nil)), user: "sa", password: "sa-secret"})
		require.Equal(t, 400, a.status)
	})
	t.Run("failed record key", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{FailedRecordIDKey: "$insert_id"})
		a := tb.importEvents(t, "", jsonArray(t, ev("E", "u", "a:b", nil)))
		require.Contains(t, a.body, `"$insert_id":"a:b"`)
	})
	t.Run("reject chosen events", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{Reject: func(e Event) string {
			if e.Properties["plan"] == "bad" {
				return "plan is refused by the test"
			}
			return ""
		}})
		body := jsonArray(t, ev("E", "u", "a", map[string]any{"plan": "ok"}), ev("E", "u", "b", map[string]any{"plan": "bad"}), ev("E", "u", "c", nil))
		a := tb.importEvents(t, "", body)
		require.Equal(t, failedBody(t, 2, map[string]any{"index": 1, "insert_id": "b", "field": "properties", "message": "plan is refused by the test"}), a.body)
		require.Equal(t, 2, tb.sim.EventCount())
	})
	t.Run("failures sorted by index", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{Reject: func(e Event) string {
			if e.InsertID == "a" {
				return "refused"
			}
			return ""
		}})
		a := tb.importEvents(t, "", jsonArray(t, ev("E", "u", "a", nil), ev("E", "u", "b:1", nil)))
		require.Equal(t, failedBody(t, 0,
			map[string]any{"index": 0, "insert_id": "a", "field": "properties", "message": "refused"},
			map[string]any{"index": 1, "insert_id": "b:1", "field": "$insert_id", "message": "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters"},
		), a.body)
	})
}

func TestImportRequestErrors(t *testing.T) {
	t.Parallel()
	many := make([]any, 2001)
	for i := range many {
		many[i] = ev("E", "u", fmt.Sprintf("i-%d", i), nil)
	}
	tests := []struct {
		name   string
		opts   Options
		body   func(t *testing.T) []byte
		gzip   bool
		status int
		want   string
	}{
		{name: "2,001 events", body: func(t *testing.T) []byte { return jsonArray(t, many...) }, status: 413,
			want: `{"code":413,"error":"request exceeds max limit of 2000 events","status":"Request Entity Too Large"}`},
		{name: "2,001 ndjson events", body: func(t *testing.T) []byte { return ndjson(t, many...) }, status: 413,
			want: `{"code":413,"error":"request exceeds max limit of 2000 events","status":"Request Entity Too Large"}`},
		{name: "too many events as a 400", opts: Options{TooManyEventsStatus: 400, MaxEvents: 2}, body: func(t *testing.T) []byte { return jsonArray(t, many[:3]...) }, status: 400,
			want: `{"code":400,"error":"request exceeds max limit of 2 events","status":"Bad Request"}`},
		{name: "over 10 MB", body: func(t *testing.T) []byte {
			return jsonArray(t, ev("E", "u", "a", map[string]any{"blob": strings.Repeat("x", 10<<20)}))
		}, status: 413, want: `{"code":413,"error":"request exceeds max limit of 10485760 bytes","status":"Request Entity Too Large"}`},
		{name: "over 10 MB uncompressed, gzipped", gzip: true, body: func(t *testing.T) []byte {
			return jsonArray(t, ev("E", "u", "a", map[string]any{"blob": strings.Repeat("x", 10<<20)}))
		}, status: 413, want: `{"code":413,"error":"request exceeds max limit of 10485760 bytes","status":"Request Entity Too Large"}`},
		{name: "malformed array", body: func(t *testing.T) []byte { return []byte(`[{"event":"E","properties":{}},`) }, status: 400,
			want: `{"code":400,"error":"unable to parse request body: invalid JSON at offset 31: invalid value","status":"Bad Request"}`},
		{name: "empty array", body: func(t *testing.T) []byte { return []byte(`[]`) }, status: 400,
			want: `{"code":400,"error":"no events in request body","status":"Bad Request"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, tc.opts)
			a := tb.do(t, call{path: "/import", query: "strict=1&project_id=42", body: tc.body(t), gzip: tc.gzip, user: "sa", password: "sa-secret"})
			require.Equal(t, tc.status, a.status, a.body)
			require.Equal(t, tc.want, a.body)
			require.Equal(t, 0, tb.sim.EventCount())
		})
	}
}

func TestImportMalformedLine(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	body := append(ndjson(t, ev("E", "u", "a", nil)), []byte("{\"event\":\"E\",\n")...)
	body = append(body, ndjson(t, ev("E", "u", "b", nil))...)
	a := tb.importEvents(t, "", body)
	require.Equal(t, 400, a.status)
	require.Equal(t, failedBody(t, 2, map[string]any{"index": 1, "insert_id": "", "field": "", "message": "invalid JSON at offset 13: expected object key"}), a.body)
	require.Equal(t, 2, tb.sim.EventCount())
}

func TestImportDedup(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	first := jsonArray(t,
		ev("Signup", "u-1", "i-1", map[string]any{"v": 1}),
		ev("Signup", "u-2", "i-2", map[string]any{"v": 1}),
		ev("Signup", "u-1", "i-1", map[string]any{"v": 2}), // same request: the later wins
	)
	require.Equal(t, okBody(3), tb.importEvents(t, "", first).body)
	second := jsonArray(t,
		ev("Signup", "u-2", "i-2", map[string]any{"v": 3}),                                   // a retry with new properties
		ev("Signup", "u-2", "i-2", map[string]any{"time": testTime.Unix() + 1}),              // another time: another event
		ev("Login", "u-2", "i-2", nil),                                                       // another name: another event
		ev("Signup", "u-3", "i-2", nil),                                                      // another user: another event
		ev("Signup", "u-1", "i-1", map[string]any{"time": testTime.UnixMilli(), "v": 4}),     // same time in ms: duplicate
		ev("Signup", "u-1", "i-1", map[string]any{"time": testTime.UnixMilli() + 1, "v": 5}), // 1 ms later: another
	)
	require.Equal(t, okBody(6), tb.importEvents(t, "", second).body)

	got := tb.sim.Events()
	type row struct {
		name, distinct, insert string
		ms                     int64
		v                      any
	}
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.Name, e.DistinctID, e.InsertID, e.Time.UnixMilli() - testTime.UnixMilli(), e.Properties["v"]})
	}
	require.Equal(t, []row{
		{"Signup", "u-1", "i-1", 0, 4.0},
		{"Signup", "u-2", "i-2", 0, 3.0},
		{"Signup", "u-2", "i-2", 1000, nil},
		{"Login", "u-2", "i-2", 0, nil},
		{"Signup", "u-3", "i-2", 0, nil},
		{"Signup", "u-1", "i-1", 1, 5.0},
	}, rows)
	require.Equal(t, 6, tb.sim.EventCount())
	require.Equal(t, int64(9), tb.sim.Imported())
}

func TestImportDedupEscaped(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	escaped := `[{"event":"E","properties":{"time":1700000000,"distinct_id":"u","$insert_id":"\u0061-1","v":1}}]`
	plain := `[{"event":"E","properties":{"time":1700000000,"distinct_id":"u","$insert_id":"a-1","v":2}}]`
	require.Equal(t, okBody(1), tb.importEvents(t, "", []byte(escaped)).body)
	require.Equal(t, okBody(1), tb.importEvents(t, "", []byte(plain)).body)
	got := tb.sim.Events()
	require.Len(t, got, 1)
	require.Equal(t, 2.0, got[0].Properties["v"])
	require.Equal(t, "a-1", got[0].InsertID)
	require.Equal(t, okBody(1), tb.importEvents(t, "", []byte(escaped)).body)
	got = tb.sim.Events()
	require.Len(t, got, 1)
	require.Equal(t, 1.0, got[0].Properties["v"])
}

// TestStoreHashCollision forces every key onto one hash to exercise the overflow.
func TestStoreHashCollision(t *testing.T) {
	t.Parallel()
	st := newEventStore()
	ps := []pending{
		{name: "a", insertID: "1", props: "{}", owned: true},
		{name: "b", insertID: "1", props: "{}", owned: true},
		{name: "a", insertID: "1", props: `{"v":2}`, owned: true},
		{name: "b", insertID: "1", props: `{"v":2}`, owned: true},
		{name: "c", insertID: "1", props: "{}", owned: true},
	}
	st.add(ps, []uint64{7, 7, 7, 7, 7})
	got := st.pendings()
	require.Len(t, got, 3)
	require.Equal(t, `{"v":2}`, got[0].props)
	require.Equal(t, "a", got[0].name)
	require.Equal(t, `{"v":2}`, got[1].props)
	require.Equal(t, "b", got[1].name)
	require.Equal(t, "c", got[2].name)
}

func TestImportRateLimit(t *testing.T) {
	t.Parallel()
	body := func(t *testing.T, id string) []byte { return jsonArray(t, ev("E", "u", id, nil)) }
	size := int64(len(body(t, "a")))
	const throttled = `{"code":429,"error":"Project exceeded rate limits. Please retry the request with exponential backoff.","status":"Too Many Requests"}`

	t.Run("rolling minute of bytes", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BytesPerMinute: 2 * size})
		require.Equal(t, 200, tb.importEvents(t, "", body(t, "a")).status)
		tb.clock.Advance(30 * time.Second)
		require.Equal(t, 200, tb.importEvents(t, "", body(t, "b")).status)
		a := tb.importEvents(t, "", body(t, "c"))
		require.Equal(t, 429, a.status)
		require.Equal(t, throttled, a.body)
		require.Empty(t, a.header.Get("Retry-After"))
		require.Equal(t, 2, tb.sim.EventCount(), "a throttled request stores nothing")
		tb.clock.Advance(31 * time.Second) // the first request left the window
		require.Equal(t, 200, tb.importEvents(t, "", body(t, "c")).status)
		require.Equal(t, int64(1), tb.sim.Counters().Throttled.Load())
	})
	t.Run("a 400 counts", func(t *testing.T) {
		t.Parallel()
		bad1, bad2 := body(t, "a:1"), body(t, "a:2")
		tb := setup(t, Options{BytesPerMinute: int64(len(bad1) + len(bad2))})
		require.Equal(t, 400, tb.importEvents(t, "", bad1).status)
		require.Equal(t, 400, tb.importEvents(t, "", bad2).status)
		require.Equal(t, 429, tb.importEvents(t, "", body(t, "c")).status)
	})
	t.Run("gzip counts uncompressed bytes", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BytesPerMinute: size + size/2})
		a := tb.do(t, call{path: "/import", query: "project_id=42", body: body(t, "a"), gzip: true, user: "sa", password: "sa-secret"})
		require.Equal(t, 200, a.status)
		a = tb.do(t, call{path: "/import", query: "project_id=42", body: body(t, "b"), gzip: true, user: "sa", password: "sa-secret"})
		require.Equal(t, 429, a.status)
	})
	t.Run("retry-after when asked", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BytesPerMinute: size, RetryAfter: true})
		require.Equal(t, 200, tb.importEvents(t, "", body(t, "a")).status)
		tb.clock.Advance(20 * time.Second)
		a := tb.importEvents(t, "", body(t, "b"))
		require.Equal(t, 429, a.status)
		require.Equal(t, "40", a.header.Get("Retry-After"))
	})
	t.Run("throttled requests count when asked", func(t *testing.T) {
		t.Parallel()
		small := body(t, "a")
		big := jsonArray(t, ev("E", "u", "b", map[string]any{"pad": strings.Repeat("p", 100)}))
		for _, count := range []bool{false, true} {
			tb := setup(t, Options{BytesPerMinute: int64(len(small) + len(big) - 1), Count429: count})
			require.Equal(t, 200, tb.importEvents(t, "", small).status)
			tb.clock.Advance(10 * time.Second)
			require.Equal(t, 429, tb.importEvents(t, "", big).status)
			tb.clock.Advance(51 * time.Second) // the first request left the window
			want := 200
			if count {
				want = 429 // the refused one is still in it
			}
			require.Equal(t, want, tb.importEvents(t, "", big).status, "Count429 %v", count)
		}
	})
	t.Run("events per second", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{EventsPerSecond: 1}) // 60 per rolling minute
		var events []any
		for i := range 50 {
			events = append(events, ev("E", "u", fmt.Sprint("a", i), nil))
		}
		require.Equal(t, 200, tb.importEvents(t, "", jsonArray(t, events...)).status)
		a := tb.importEvents(t, "", jsonArray(t, events[:11]...))
		require.Equal(t, 429, a.status)
		require.Equal(t, throttled, a.body)
		require.Equal(t, 200, tb.importEvents(t, "", jsonArray(t, events[:10]...)).status)
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BytesPerMinute: -1})
		for _, id := range []string{"a", "b", "c"} {
			require.Equal(t, 200, tb.importEvents(t, "", body(t, id)).status)
		}
	})
}

func TestImportFaults(t *testing.T) {
	t.Parallel()
	body := func(t *testing.T) []byte { return jsonArray(t, ev("E", "u", "a", nil)) }
	t.Run("5xx", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{})
		tb.sim.SetFaults(simkit.Faults{Fail5xx: 2})
		a := tb.importEvents(t, "", body(t))
		require.Equal(t, 503, a.status)
		require.Contains(t, a.body, "503 Service Unavailable")
		require.Equal(t, "text/html; charset=UTF-8", a.header.Get("Content-Type"))
		require.Equal(t, 500, tb.importEvents(t, "", body(t)).status)
		require.Equal(t, 0, tb.sim.EventCount(), "a 5xx applies nothing")
		require.Equal(t, 200, tb.importEvents(t, "", body(t)).status)
		require.Equal(t, int64(2), tb.sim.Counters().ServerErrors.Load())
		require.Equal(t, 0, tb.sim.Faults().Fail5xx)
	})
	t.Run("forced 429", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{RetryAfter: true})
		tb.sim.SetFaults(simkit.Faults{Force429: 1})
		a := tb.importEvents(t, "", body(t))
		require.Equal(t, 429, a.status)
		require.Equal(t, `{"code":429,"error":"Project exceeded rate limits. Please retry the request with exponential backoff.","status":"Too Many Requests"}`, a.body)
		require.Equal(t, "1", a.header.Get("Retry-After"))
		require.Equal(t, 0, tb.sim.EventCount())
		require.Equal(t, 200, tb.importEvents(t, "", body(t)).status)
	})
	t.Run("error rate", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{})
		tb.sim.SetFaults(simkit.Faults{ErrorRate: 1})
		for range 3 {
			require.GreaterOrEqual(t, tb.importEvents(t, "", body(t)).status, 500)
		}
		require.Equal(t, 0, tb.sim.EventCount())
	})
	t.Run("latency and slow responses", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{})
		tb.sim.SetFaults(simkit.Faults{Latency: 30 * time.Millisecond, SlowEvery: 2, SlowDelay: 60 * time.Millisecond})
		start := time.Now()
		require.Equal(t, 200, tb.importEvents(t, "", body(t)).status)
		first := time.Since(start)
		require.GreaterOrEqual(t, first, 30*time.Millisecond)
		start = time.Now()
		require.Equal(t, 200, tb.importEvents(t, "", body(t)).status)
		require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
	})
}

func TestLogAndRouting(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{KeepBodies: true})
	body := jsonArray(t, ev("E", "u", "a", nil))
	a := tb.do(t, call{path: "/import", query: "strict=1&project_id=42", body: body, gzip: true, user: "sa", password: "sa-secret"})
	require.Equal(t, 200, a.status)
	require.Equal(t, 405, tb.do(t, call{method: http.MethodGet, path: "/import", user: "sa", password: "sa-secret"}).status)
	nf := tb.do(t, call{path: "/track"})
	require.Equal(t, 404, nf.status)
	require.Equal(t, `{"code":404,"error":"not found","status":"Not Found"}`, nf.body)

	reqs := tb.sim.Log().Requests()
	require.Len(t, reqs, 3)
	require.Equal(t, "/import", reqs[0].Path)
	require.Equal(t, "strict=1&project_id=42", reqs[0].RawQuery)
	require.Equal(t, body, reqs[0].Body, "the log keeps the decompressed body")
	require.Equal(t, "gzip", reqs[0].Header.Get("Content-Encoding"))
	require.Equal(t, 200, reqs[0].Status)
	require.Equal(t, testNow, reqs[0].Time)
	require.Equal(t, 405, reqs[1].Status)
	require.Equal(t, int64(3), tb.sim.Counters().Requests.Load())
	require.Equal(t, int64(2), tb.sim.Counters().ClientErrors.Load())
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d := New(Options{}).Describe()
	require.Equal(t, "Mixpanel: POST /import (project_id 1, token simtoken, service accounts [sim-sa]; ≤2000 events, ≤10 MiB per request; 2 GiB/min rolling), POST /engage (≤2000 updates)", d)
}

func TestConcurrentImports(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	const workers, per = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				body, _ := json.Marshal([]any{ev("E", "u", fmt.Sprintf("w%d-%d", w, i), nil), ev("E", "u", "shared", nil)})
				req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/import?strict=1", bytes.NewReader(body))
				req.SetBasicAuth("tok", "")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, workers*per+1, tb.sim.EventCount())
	require.Equal(t, int64(workers*per*2), tb.sim.Imported())
}
