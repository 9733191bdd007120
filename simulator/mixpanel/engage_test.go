package mixpanel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// upd builds a profile update with the test token.
func upd(distinctID, op string, value any) map[string]any {
	return map[string]any{"$token": "tok", "$distinct_id": distinctID, op: value}
}

func (tb *testBundle) engage(t *testing.T, query string, updates ...any) answer {
	t.Helper()
	b, err := json.Marshal(updates)
	require.NoError(t, err)
	return tb.do(t, call{path: "/engage", query: query, body: b, noAuth: true})
}

func TestEngageOperations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		updates []any
		want    map[string]any // the profile of u-1; nil when it should not exist
	}{
		{name: "$set creates and overwrites", updates: []any{
			upd("u-1", "$set", map[string]any{"$email": "a@x.com", "plan": "free"}),
			upd("u-1", "$set", map[string]any{"plan": "pro"}),
		}, want: map[string]any{"$email": "a@x.com", "plan": "pro"}},
		{name: "$set_once keeps the first value", updates: []any{
			upd("u-1", "$set_once", map[string]any{"first": "a"}),
			upd("u-1", "$set_once", map[string]any{"first": "b", "other": 1}),
		}, want: map[string]any{"first": "a", "other": 1.0}},
		{name: "$add adds to 0 and to the value", updates: []any{
			upd("u-1", "$add", map[string]any{"logins": 2}),
			upd("u-1", "$add", map[string]any{"logins": -0.5, "coins": 13}),
		}, want: map[string]any{"logins": 1.5, "coins": 13.0}},
		{name: "$union adds missing values once", updates: []any{
			upd("u-1", "$union", map[string]any{"tags": []any{"a", "b", "a"}}),
			upd("u-1", "$union", map[string]any{"tags": []any{"b", "c", 1}}),
		}, want: map[string]any{"tags": []any{"a", "b", "c", 1.0}}},
		{name: "$append appends one value", updates: []any{
			upd("u-1", "$append", map[string]any{"seen": "x"}),
			upd("u-1", "$append", map[string]any{"seen": "x"}),
			upd("u-1", "$append", map[string]any{"seen": []any{"y"}}),
		}, want: map[string]any{"seen": []any{"x", "x", []any{"y"}}}},
		{name: "$remove removes every occurrence", updates: []any{
			upd("u-1", "$set", map[string]any{"tags": []any{"a", "b", "a"}, "n": 1}),
			upd("u-1", "$remove", map[string]any{"tags": "a", "missing": "x", "n": 1}),
		}, want: map[string]any{"tags": []any{"b"}, "n": 1.0}},
		{name: "$unset deletes properties", updates: []any{
			upd("u-1", "$set", map[string]any{"a": 1, "b": 2, "c": 3}),
			upd("u-1", "$unset", []string{"a", "c", "zz"}),
		}, want: map[string]any{"b": 2.0}},
		{name: "$unset and $remove do not create a profile", updates: []any{
			upd("u-1", "$unset", []string{"a"}),
			upd("u-1", "$remove", map[string]any{"a": 1}),
		}},
		{name: "$delete removes the profile", updates: []any{
			upd("u-1", "$set", map[string]any{"a": 1}),
			map[string]any{"$token": "tok", "$distinct_id": "u-1", "$delete": "null", "$ignore_alias": true},
		}},
		{name: "$delete then $set starts afresh", updates: []any{
			upd("u-1", "$set", map[string]any{"a": 1}),
			upd("u-1", "$delete", ""),
			upd("u-1", "$set", map[string]any{"b": 2}),
		}, want: map[string]any{"b": 2.0}},
		{name: "long strings truncated", updates: []any{
			upd("u-1", "$set", map[string]any{"bio": strings.Repeat("é", 300)}),
		}, want: map[string]any{"bio": strings.Repeat("é", 255)}},
		{name: "numeric distinct id", updates: []any{
			map[string]any{"$token": "tok", "$distinct_id": 7, "$set": map[string]any{"a": 1}},
			upd("u-1", "$set", map[string]any{"a": 2}),
		}, want: map[string]any{"a": 2.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{})
			a := tb.engage(t, "", tc.updates...)
			require.Equal(t, 200, a.status)
			require.Equal(t, "1", a.body)
			p, ok := tb.sim.Profile("u-1")
			if tc.want == nil {
				require.False(t, ok, "%v", p)
				return
			}
			require.True(t, ok)
			require.Equal(t, Profile{DistinctID: "u-1", Properties: tc.want}, p)
			require.Empty(t, tb.sim.Rejections())
		})
	}
}

func TestEngageFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		update  any
		field   string
		message string
	}{
		{name: "wrong token", update: map[string]any{"$token": "other", "$distinct_id": "u-2", "$set": map[string]any{"a": 1}}, field: "$token", message: "'$token' is invalid: not this project's token"},
		{name: "no token", update: map[string]any{"$distinct_id": "u-2", "$set": map[string]any{"a": 1}}, field: "$token", message: "'$token' is invalid: must be specified"},
		{name: "no distinct id", update: map[string]any{"$token": "tok", "$set": map[string]any{"a": 1}}, field: "$distinct_id", message: "'$distinct_id' is invalid: must be a non-empty string"},
		{name: "no operation", update: map[string]any{"$token": "tok", "$distinct_id": "u-2"}, message: "update has no operation: one of $set, $set_once, $add, $union, $append, $remove, $unset, $delete"},
		{name: "two operations", update: map[string]any{"$token": "tok", "$distinct_id": "u-2", "$set": map[string]any{"a": 1}, "$unset": []string{"b"}}, field: "$unset", message: "update has more than one operation ($set and $unset)"},
		{name: "$set not an object", update: upd("u-2", "$set", []int{1}), field: "$set", message: "'$set' is invalid: must be an object"},
		{name: "$add not a number", update: upd("u-2", "$add", map[string]any{"n": "1"}), field: "$add", message: `'$add' is invalid: "n" must be a number`},
		{name: "$union not a list", update: upd("u-2", "$union", map[string]any{"l": "a"}), field: "$union", message: `'$union' is invalid: "l" must be a list`},
		{name: "$unset not names", update: upd("u-2", "$unset", map[string]any{"a": 1}), field: "$unset", message: "'$unset' is invalid: must be a list of property names"},
		{name: "$add to a string", update: upd("u-1", "$add", map[string]any{"n": 1, "name": 1}), field: "$add", message: `'$add' is invalid: property "name" is not a number`},
		{name: "$append to a string", update: upd("u-1", "$append", map[string]any{"name": 1}), field: "$append", message: `'$append' is invalid: property "name" is not a list`},
		{name: "not an object", update: 5, message: "update must be a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{})
			require.Equal(t, "1", tb.engage(t, "", upd("u-1", "$set", map[string]any{"name": "ada", "n": 1})).body)

			// Alone, the update fails the request.
			a := tb.engage(t, "", tc.update)
			require.Equal(t, 200, a.status)
			require.Equal(t, "0", a.body)
			require.Equal(t, "text/plain; charset=utf-8", a.header.Get("Content-Type"))
			v := tb.engage(t, "verbose=1", tc.update)
			require.Equal(t, 200, v.status)
			want, err := json.Marshal(map[string]any{"status": 0, "error": tc.message})
			require.NoError(t, err)
			require.JSONEq(t, string(want), v.body)

			// With a good update, the request succeeds and only the good one applies.
			a = tb.engage(t, "verbose=1", tc.update, upd("u-3", "$set", map[string]any{"ok": true}))
			require.Equal(t, `{"status":1,"error":null}`, a.body)
			_, ok := tb.sim.Profile("u-3")
			require.True(t, ok)
			_, ok = tb.sim.Profile("u-2")
			require.False(t, ok)
			p, _ := tb.sim.Profile("u-1")
			require.Equal(t, map[string]any{"name": "ada", "n": 1.0}, p.Properties, "a failed update changes nothing")
			rejs := tb.sim.Rejections()
			require.Len(t, rejs, 3)
			require.Equal(t, "/engage", rejs[2].Path)
			require.Equal(t, 0, rejs[2].Index)
			require.Equal(t, tc.field, rejs[2].Field)
			require.Equal(t, tc.message, rejs[2].Message)
		})
	}
}

func TestEngageBodies(t *testing.T) {
	t.Parallel()
	updates := []any{upd("u-1", "$set", map[string]any{"a": 1}), upd("u-2", "$set", map[string]any{"a": 2})}
	raw, err := json.Marshal(updates)
	require.NoError(t, err)
	form := func(data string, extra ...string) []byte {
		v := url.Values{"data": {data}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return []byte(v.Encode())
	}
	tests := []struct {
		name   string
		c      call
		want   string
		stored int
	}{
		{name: "json array", c: call{body: raw}, want: "1", stored: 2},
		{name: "single object", c: call{body: raw[1 : len(raw)-1][:strings.Index(string(raw), "},{")]}, want: "1", stored: 1},
		{name: "form with raw json", c: call{ctype: "application/x-www-form-urlencoded", body: form(string(raw))}, want: "1", stored: 2},
		{name: "form with base64", c: call{ctype: "application/x-www-form-urlencoded", body: form(base64.StdEncoding.EncodeToString(raw))}, want: "1", stored: 2},
		{name: "form with verbose", c: call{ctype: "application/x-www-form-urlencoded", body: form(string(raw), "verbose", "1")}, want: `{"status":1,"error":null}`, stored: 2},
		{name: "GET with data", c: call{method: http.MethodGet, query: "data=" + url.QueryEscape(base64.StdEncoding.EncodeToString(raw))}, want: "1", stored: 2},
		{name: "gzip refused", c: call{body: raw, gzip: true}, want: "0"},
		{name: "malformed", c: call{body: []byte(`[{"$token":`), query: "verbose=1"}, want: `{"status":0,"error":"unable to parse data: unexpected end of JSON input"}`},
		{name: "empty", c: call{body: nil, query: "verbose=1"}, want: `{"status":0,"error":"no data: send a JSON list of updates"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, Options{})
			tc.c.path, tc.c.noAuth = "/engage", true
			a := tb.do(t, tc.c)
			require.Equal(t, 200, a.status)
			require.Equal(t, tc.want, a.body)
			require.Equal(t, tc.stored, tb.sim.ProfileCount())
		})
	}
	t.Run("gzip accepted when asked", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{EngageGzip: true})
		a := tb.do(t, call{path: "/engage", body: raw, gzip: true, noAuth: true})
		require.Equal(t, "1", a.body)
		require.Equal(t, 2, tb.sim.ProfileCount())
	})
}

func TestEngageLimits(t *testing.T) {
	t.Parallel()
	t.Run("2,001 updates", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{})
		updates := make([]any, 2001)
		for i := range updates {
			updates[i] = upd(fmt.Sprint("u-", i), "$set", map[string]any{"a": 1})
		}
		a := tb.engage(t, "verbose=1", updates...)
		require.Equal(t, `{"status":0,"error":"too many updates: at most 2000 per request"}`, a.body)
		require.Equal(t, 0, tb.sim.ProfileCount())
		require.Equal(t, "1", tb.engage(t, "", updates[:2000]...).body)
		require.Equal(t, 2000, tb.sim.ProfileCount())
	})
	t.Run("update over 1 MB", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{})
		a := tb.engage(t, "verbose=1", upd("u-1", "$set", map[string]any{"blob": strings.Repeat("x", 1<<20)}))
		require.Equal(t, `{"status":0,"error":"update is invalid: must be at most 1048576 bytes"}`, a.body)
	})
	t.Run("shared rate limit", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BytesPerMinute: 300})
		require.Equal(t, 200, tb.importEvents(t, "", jsonArray(t, ev("E", "u", "a", nil))).status)
		a := tb.engage(t, "", upd("u-1", "$set", map[string]any{"blob": strings.Repeat("x", 200)}))
		require.Equal(t, 429, a.status)
		require.Equal(t, `{"code":429,"error":"Project exceeded rate limits. Please retry the request with exponential backoff.","status":"Too Many Requests"}`, a.body)
		require.Equal(t, 0, tb.sim.ProfileCount())
	})
	t.Run("own rate limit", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BytesPerMinute: 300, EngageOwnBucket: true})
		require.Equal(t, 200, tb.importEvents(t, "", jsonArray(t, ev("E", "u", "a", nil))).status)
		require.Equal(t, "1", tb.engage(t, "", upd("u-1", "$set", map[string]any{"blob": strings.Repeat("x", 200)})).body)
	})
}

func TestEngageOptions(t *testing.T) {
	t.Parallel()
	t.Run("403 when every token is wrong", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{BadToken403: true})
		bad := map[string]any{"$token": "other", "$distinct_id": "u-1", "$set": map[string]any{"a": 1}}
		a := tb.engage(t, "", bad)
		require.Equal(t, 403, a.status)
		require.Equal(t, `{"error":"Invalid project token","status":"error"}`, a.body)
		require.Equal(t, "1", tb.engage(t, "", bad, upd("u-1", "$set", map[string]any{"a": 1})).body)
	})
	t.Run("strict report", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{})
		a := tb.engage(t, "strict=1", upd("u-1", "$set", map[string]any{"a": 1}), upd("u-2", "$add", map[string]any{"a": "x"}))
		require.Equal(t, 400, a.status)
		require.Equal(t, `{"code":400,"error":"some data points in the request failed validation","failed_records":[{"index":1,"$distinct_id":"u-2","field":"$add","message":"'$add' is invalid: \"a\" must be a number"}],"num_records_imported":1,"status":"Bad Request"}`, a.body)
		a = tb.engage(t, "strict=1", upd("u-1", "$set", map[string]any{"a": 1}))
		require.Equal(t, `{"code":200,"num_records_imported":1,"status":"OK"}`, a.body)
	})
	t.Run("strict ignored on request", func(t *testing.T) {
		t.Parallel()
		tb := setup(t, Options{EngageIgnoreStrict: true})
		require.Equal(t, "1", tb.engage(t, "strict=1", upd("u-1", "$set", map[string]any{"a": 1})).body)
	})
}

// TestFinalState runs a mixed sequence, as a connector's test would, and checks
// what Mixpanel would show at the end.
func TestFinalState(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	require.Equal(t, "1", tb.engage(t, "",
		upd("u-1", "$set", map[string]any{"$email": "ada@x.com", "plan": "free"}),
		upd("u-2", "$set", map[string]any{"$email": "bob@x.com", "plan": "team"}),
		upd("u-3", "$set", map[string]any{"$email": "eve@x.com"}),
	).body)
	require.Equal(t, okBody(2), tb.importEvents(t, "", jsonArray(t,
		ev("Plan Changed", "u-1", "r1-u1", map[string]any{"plan": "pro"}),
		ev("Plan Changed", "u-2", "r1-u2", map[string]any{"plan": "team"}),
	)).body)
	// A retry of the first batch, as after a timeout, and the next run's changes.
	require.Equal(t, okBody(2), tb.importEvents(t, "", jsonArray(t,
		ev("Plan Changed", "u-1", "r1-u1", map[string]any{"plan": "pro"}),
		ev("Plan Changed", "u-2", "r1-u2", map[string]any{"plan": "team"}),
	)).body)
	tb.clock.Advance(10 * 60e9)
	require.Equal(t, "1", tb.engage(t, "",
		upd("u-1", "$set", map[string]any{"plan": "pro"}),
		upd("u-1", "$add", map[string]any{"changes": 1}),
		upd("u-3", "$delete", nil),
	).body)

	require.Equal(t, 2, tb.sim.EventCount())
	require.Equal(t, int64(4), tb.sim.Imported())
	require.Equal(t, map[string]Profile{
		"u-1": {DistinctID: "u-1", Properties: map[string]any{"$email": "ada@x.com", "plan": "pro", "changes": 1.0}},
		"u-2": {DistinctID: "u-2", Properties: map[string]any{"$email": "bob@x.com", "plan": "team"}},
	}, tb.sim.Profiles())
	reqs := tb.sim.Log().Requests()
	require.Len(t, reqs, 4)
	require.Equal(t, []string{"/engage", "/import", "/import", "/engage"}, []string{reqs[0].Path, reqs[1].Path, reqs[2].Path, reqs[3].Path})
}

func TestEngageRejectUpdateAndAnswerOptions(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{})
	tb.sim.SetRejectUpdate(func(id, op string) string {
		if id == "u-2" {
			return "refused by the test"
		}
		return ""
	})
	a := tb.engage(t, "verbose=1", upd("u-1", "$set", map[string]any{"a": 1}), upd("u-2", "$set", map[string]any{"a": 1}), upd("u-3", "$delete", ""))
	require.JSONEq(t, `{"status":1,"error":null}`, a.body, "one or more updates were valid")
	a = tb.engage(t, "strict=1", upd("u-1", "$set", map[string]any{"a": 1}), upd("u-2", "$set", map[string]any{"a": 1}))
	require.Equal(t, 400, a.status)
	require.JSONEq(t, `{"code":400,"error":"some data points in the request failed validation","failed_records":[{"index":1,"$distinct_id":"u-2","field":"$distinct_id","message":"refused by the test"}],"num_records_imported":1,"status":"Bad Request"}`, a.body)
	_, ok := tb.sim.Profile("u-1")
	require.True(t, ok, "the good update applied")
	_, ok = tb.sim.Profile("u-2")
	require.False(t, ok)
	rejs := tb.sim.Rejections()
	require.Equal(t, "$distinct_id", rejs[len(rejs)-1].Field)

	tb.sim.SetRejectUpdate(nil)
	require.JSONEq(t, `{"status":1,"error":null}`, tb.engage(t, "verbose=1", upd("u-2", "$set", map[string]any{"a": 1})).body)

	strictest := setup(t, Options{EngageFailIfAnyFailed: true, EngageIgnoreStrict: true, RejectUpdate: func(id, op string) string {
		if id == "u-2" {
			return "no"
		}
		return ""
	}})
	require.Equal(t, "0", strictest.engage(t, "strict=1", upd("u-1", "$set", map[string]any{"a": 1}), upd("u-2", "$set", map[string]any{"a": 1})).body)
	require.Equal(t, "1", strictest.engage(t, "", upd("u-1", "$set", map[string]any{"a": 1})).body)
}

func TestAnyCredentials(t *testing.T) {
	t.Parallel()
	tb := setup(t, Options{AnyCredentials: true})
	req := httptest.NewRequest("POST", "/import?strict=1&project_id=2195193", strings.NewReader(`[{"event":"e","properties":{"time":1700000000000,"distinct_id":"u","$insert_id":"i1"}}]`))
	req.SetBasicAuth("sync-bot", "whatever")
	w := httptest.NewRecorder()
	tb.sim.ServeHTTP(w, req)
	require.Equal(t, 200, w.Code, w.Body.String())

	req = httptest.NewRequest("POST", "/import?strict=1", strings.NewReader(`[]`))
	w = httptest.NewRecorder()
	tb.sim.ServeHTTP(w, req)
	require.Equal(t, 401, w.Code, "credentials are still needed")

	a := tb.engage(t, "verbose=1", map[string]any{"$token": "any-project-token", "$distinct_id": "u", "$set": map[string]any{"a": 1}})
	require.JSONEq(t, `{"status":1,"error":null}`, a.body)
	a = tb.engage(t, "verbose=1", map[string]any{"$token": "", "$distinct_id": "u", "$set": map[string]any{"a": 1}})
	require.Contains(t, a.body, `"status":0`)
}
