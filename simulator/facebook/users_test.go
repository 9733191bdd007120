package facebook

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddUsers(t *testing.T) {
	t.Parallel()
	ann, bob := person("Ann@X.com", "+1 (555) 123-4567", "Ann"), person("bob@x.com", "", "Bob")
	bob[1] = "" // unknown cell
	tests := []struct {
		name     string
		send     func(b *testBundle) answer
		received int
		members  []Member
	}{
		{
			name: "multi-key, form-encoded",
			send: func(b *testBundle) answer { return b.add(testAud, multi(ann, bob)) },
			members: []Member{
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com"), "PHONE": h("PHONE", "15551234567"), "FN": h("FN", "ann")}},
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "bob@x.com"), "FN": h("FN", "bob")}},
			},
		},
		{
			name: "multi-key, JSON body",
			send: func(b *testBundle) answer {
				return b.do(req{method: http.MethodPost, path: "/" + testAud + "/users", json: map[string]any{"payload": multi(ann)}})
			},
			members: []Member{{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com"), "PHONE": h("PHONE", "15551234567"), "FN": h("FN", "ann")}}},
		},
		{
			name: "single key, flat data",
			send: func(b *testBundle) answer { return b.add(testAud, emails("ann@x.com", "bob@x.com")) },
			members: []Member{
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com")}},
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "bob@x.com")}},
			},
		},
		{
			name: "single key in a list, rows as lists",
			send: func(b *testBundle) answer {
				return b.add(testAud, map[string]any{"schema": []string{"EMAIL_SHA256"}, "data": [][]string{{h("EMAIL", "ann@x.com")}}})
			},
			members: []Member{{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com")}}},
		},
		{
			name: "unhashed keys",
			send: func(b *testBundle) answer {
				return b.add(testAud, map[string]any{"schema": []string{"EXTERN_ID", "MADID", "PAGEUID", "COUNTRY"},
					"data": [][]any{{"crm-42", "6d92078a-8246-4ba4-ae5b-76104861e7dc", "1234567890", h("COUNTRY", "US")}}})
			},
			members: []Member{{Identifiers: map[string]string{"EXTERN_ID": "crm-42", "MADID": "6d92078a-8246-4ba4-ae5b-76104861e7dc",
				"PAGEUID": "1234567890", "COUNTRY": h("COUNTRY", "us")}}},
		},
		{
			name:     "the same row twice is one member",
			send:     func(b *testBundle) answer { return b.add(testAud, multi(ann, ann)) },
			received: 2,
			members: []Member{
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com"), "PHONE": h("PHONE", "15551234567"), "FN": h("FN", "ann")}},
			},
		},
		{
			name: "value-based and data processing options",
			send: func(b *testBundle) answer {
				return b.add(testAud, map[string]any{"schema": []string{"EMAIL", "LOOKALIKE_VALUE", "DATA_PROCESSING_OPTIONS"},
					"data": [][]any{{h("EMAIL", "a@x.com"), 44.5, []string{"LDU"}}, {h("EMAIL", "b@x.com"), "0", []string{}}}})
			},
			members: []Member{
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "a@x.com")}, LookalikeValue: ptr(44.5), DataProcessingOptions: []string{"LDU"}},
				{Identifiers: map[string]string{"EMAIL": h("EMAIL", "b@x.com")}, LookalikeValue: ptr(0.0), DataProcessingOptions: []string{}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			a := tt.send(b)
			received := tt.received
			if received == 0 {
				received = len(tt.members)
			}
			usersOK(t, a, received, 0)
			require.Equal(t, testAud, a.body["audience_id"])
			require.Regexp(t, `^[0-9]+$`, a.body["session_id"], "a session id is made up when none is sent")
			require.Equal(t, map[string]any{}, a.body["invalid_entry_samples"])
			require.Equal(t, tt.members, b.sim.Members(testAud))
		})
	}
}

func ptr(f float64) *float64 { return &f }

func TestInvalidEntries(t *testing.T) {
	t.Parallel()
	good := h("EMAIL", "ok@x.com")
	tests := []struct {
		name    string
		opts    Options
		payload map[string]any
		invalid int
		sample  map[string]any // a subset of invalid_entry_samples
	}{
		{name: "plain-text email", payload: map[string]any{"schema": "EMAIL_SHA256", "data": []any{good, "ann@x.com"}},
			invalid: 1, sample: map[string]any{"ann@x.com": "EMAIL: not a lower-case hex SHA-256 digest"}},
		{name: "upper-case digest", payload: map[string]any{"schema": "EMAIL_SHA256", "data": []any{good, strings.ToUpper(h("EMAIL", "b@x.com"))}},
			invalid: 1},
		{name: "upper-case digest accepted", opts: Options{AcceptUppercase: true},
			payload: map[string]any{"schema": "EMAIL_SHA256", "data": []any{good, strings.ToUpper(h("EMAIL", "b@x.com"))}}},
		{name: "short digest", payload: map[string]any{"schema": []string{"EMAIL", "PHONE"}, "data": [][]any{{good, "abc123"}}},
			invalid: 1, sample: map[string]any{"abc123": "PHONE: not a lower-case hex SHA-256 digest"}},
		{name: "row of the wrong length", payload: map[string]any{"schema": []string{"EMAIL", "PHONE"}, "data": [][]any{{good}}},
			invalid: 1, sample: map[string]any{`["` + good + `"]`: "row has 1 values, schema has 2"}},
		{name: "empty row", payload: map[string]any{"schema": []string{"EMAIL", "PHONE"}, "data": [][]any{{"", ""}, {good, ""}}},
			invalid: 1, sample: map[string]any{`["",""]`: "row has no identifier"}},
		{name: "bad MADID", payload: map[string]any{"schema": "MOBILE_ADVERTISER_ID", "data": []any{"6D92078A-8246-4BA4-AE5B-76104861E7DC", "nope"}},
			invalid: 2},
		{name: "negative lookalike value", payload: map[string]any{"schema": []string{"EMAIL", "LOOKALIKE_VALUE"}, "data": [][]any{{good, -1}}},
			invalid: 1},
		{name: "unknown processing option", payload: map[string]any{"schema": []string{"EMAIL", "DATA_PROCESSING_OPTIONS"}, "data": [][]any{{good, []string{"GDPR"}}}},
			invalid: 1},
		{name: "number in a hashed field", payload: map[string]any{"schema": []string{"EMAIL", "DOBY"}, "data": [][]any{{good, 1990}}},
			invalid: 1, sample: map[string]any{"1990": "DOBY: not a lower-case hex SHA-256 digest"}},
		{name: "rejected by the test", opts: Options{Reject: func(_ string, ids map[string]string) string {
			if ids["EMAIL"] == good {
				return "blocked by the test"
			}
			return ""
		}}, payload: map[string]any{"schema": "EMAIL_SHA256", "data": []any{good}}, invalid: 1,
			sample: map[string]any{`"` + good + `"`: "blocked by the test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			var rows int
			switch d := tt.payload["data"].(type) {
			case []any:
				rows = len(d)
			case [][]any:
				rows = len(d)
			}
			a := usersOK(t, b.add(testAud, tt.payload), rows, tt.invalid)
			samples := a.body["invalid_entry_samples"].(map[string]any)
			require.Len(t, samples, tt.invalid)
			for k, v := range tt.sample {
				require.Equal(t, v, samples[k], "%s", a.raw)
			}
			require.Equal(t, rows-tt.invalid, b.sim.MemberCount(testAud), "invalid rows are not applied")
		})
	}
}

func TestInvalidSamplesAreCapped(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{MaxInvalidSamples: 3})
	data := []any{"a", "b", "c", "d", "e"}
	a := usersOK(t, b.add(testAud, map[string]any{"schema": "EMAIL_SHA256", "data": data}), 5, 5)
	require.Len(t, a.body["invalid_entry_samples"], 3)
}

// The guide: "Up to 100 samples of invalid entries found in the current request".
func TestInvalidSamplesDefaultTo100(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	data := make([]any, 150)
	for i := range data {
		data[i] = fmt.Sprintf("plain%d@x.com", i)
	}
	a := usersOK(t, b.add(testAud, map[string]any{"schema": "EMAIL_SHA256", "data": data}), 150, 150)
	require.Len(t, a.body["invalid_entry_samples"], 100)
}

// A single key of the multi-key list may be the schema as a string, with a flat
// data list, as in the guide's EXTERN_ID add and remove examples; its values are
// checked like that key's.
func TestSingleKeyStringSchema(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	extern := map[string]any{"schema": "EXTERN_ID", "data": []any{"crm-1", "crm-2"}}
	usersOK(t, b.add(testAud, extern), 2, 0)
	require.True(t, b.sim.Has(testAud, "EXTERN_ID", "crm-2"))
	usersOK(t, b.remove(testAud, map[string]any{"schema": "EXTERN_ID", "data": []any{"crm-1"}}), 1, 0)
	require.False(t, b.sim.Has(testAud, "EXTERN_ID", "crm-1"))
	require.Equal(t, 1, b.sim.MemberCount(testAud))

	a := usersOK(t, b.add(testAud, map[string]any{"schema": "FN", "data": []any{h("FN", "ann"), "Ann"}}), 2, 1)
	require.Equal(t, map[string]any{"Ann": "FN: not a lower-case hex SHA-256 digest"}, a.body["invalid_entry_samples"])
	usersOK(t, b.add(testAud, map[string]any{"schema": "MADID", "data": []any{"6d92078a-8246-4ba4-ae5b-76104861e7dc"}}), 1, 0)
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		form    url.Values
		status  int
		code    int
		subcode int
		message string
	}{
		{name: "10,000 rows", form: url.Values{"payload": {mustJSON(t, manyEmails(10_000))}}, status: 200},
		{name: "10,001 rows", form: url.Values{"payload": {mustJSON(t, manyEmails(10_001))}}, status: 400, code: 105,
			message: "(#105) The number of parameters exceeded the maximum for this operation"},
		{name: "10,001 rows, captured answer", opts: Options{TooManyRowsUnknownError: true},
			form: url.Values{"payload": {mustJSON(t, manyEmails(10_001))}}, status: 500, code: 1, subcode: 99, message: "An unknown error occurred"},
		{name: "no payload", form: url.Values{"session": {`{"session_id":1}`}}, status: 400, code: 100, message: "(#100) The parameter payload is required"},
		{name: "payload not JSON", form: url.Values{"payload": {"schema=EMAIL"}}, status: 400, code: 100},
		{name: "no schema", form: url.Values{"payload": {`{"data":[]}`}}, status: 400, code: 100, message: "(#100) The parameter payload[schema] is required"},
		{name: "no data", form: url.Values{"payload": {`{"schema":"EMAIL_SHA256"}`}}, status: 400, code: 100, message: "(#100) The parameter payload[data] is required"},
		{name: "unknown key", form: url.Values{"payload": {`{"schema":["EMAIL","SHOE_SIZE"],"data":[]}`}}, status: 400, code: 100},
		{name: "unknown single schema", form: url.Values{"payload": {`{"schema":"SHOE_SIZE","data":[]}`}}, status: 400, code: 100},
		{name: "single schema not an identifier", form: url.Values{"payload": {`{"schema":"LOOKALIKE_VALUE","data":[]}`}}, status: 400, code: 100},
		{name: "duplicate key", form: url.Values{"payload": {`{"schema":["EMAIL","EMAIL"],"data":[]}`}}, status: 400, code: 100},
		{name: "no identifier key", form: url.Values{"payload": {`{"schema":["LOOKALIKE_VALUE"],"data":[]}`}}, status: 400, code: 100},
		{name: "bad session", form: url.Values{"payload": {`{"schema":"EMAIL_SHA256","data":[]}`}, "session": {`{"session_id":"x"}`}}, status: 400, code: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			a := b.do(req{method: http.MethodPost, path: "/v21.0/" + testAud + "/users", form: tt.form})
			require.Equal(t, tt.status, a.status, "%.300s", a.raw)
			require.Equal(t, tt.code, a.code())
			require.Equal(t, tt.subcode, a.subcode())
			if tt.message != "" {
				require.Equal(t, tt.message, a.errorOf()["message"])
			}
			if tt.status != 200 {
				require.Zero(t, b.sim.MemberCount(testAud))
			}
		})
	}
}

func TestRemoveUsers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	usersOK(t, b.add(testAud, multi(person("ann@x.com", "15550001", "ann"), person("bob@x.com", "15550002", "bob"), person("cy@x.com", "15550003", "cy"))), 3, 0)

	// Removing by phone alone removes Bob, who was added with email, phone and name.
	a := usersOK(t, b.remove(testAud, map[string]any{"schema": "PHONE_SHA256", "data": []any{h("PHONE", "15550002")}}), 1, 0)
	require.Equal(t, testAud, a.body["audience_id"])
	require.Equal(t, hashes("EMAIL", "ann@x.com", "cy@x.com"), emailSet(b.sim, testAud))

	// DELETE's parameters may be in the query string; POST with method=delete is a DELETE.
	q := url.Values{"payload": {mustJSON(t, emails("cy@x.com"))}}
	a = b.do(req{method: http.MethodDelete, path: "/" + testAud + "/users?" + q.Encode()})
	usersOK(t, a, 1, 0)
	a = b.do(req{method: http.MethodPost, path: "/" + testAud + "/users", form: url.Values{"method": {"delete"}, "payload": {mustJSON(t, emails("ann@x.com", "nobody@x.com"))}}})
	usersOK(t, a, 2, 0)
	require.Empty(t, b.sim.Members(testAud))

	ss := b.sim.Sessions(testAud)
	require.Len(t, ss, 4)
	require.Equal(t, []string{"add", "remove", "remove", "remove"}, []string{ss[0].Op, ss[1].Op, ss[2].Op, ss[3].Op})
}

func TestUsersSessionsAreRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for seq, last := range []bool{false, false, true} {
		payload := map[string]any{"schema": "EMAIL_SHA256", "data": []any{h("EMAIL", fmt.Sprintf("u%d@x.com", seq)), "bad"}}
		a := b.upload(http.MethodPost, "/"+testAud+"/users", payload,
			map[string]any{"session_id": "9778993", "batch_seq": seq + 1, "last_batch_flag": last, "estimated_num_total": 6})
		usersOK(t, a, 2, 1)
		require.Equal(t, "9778993", a.body["session_id"])
	}
	ss := b.sim.Sessions(testAud)
	require.Len(t, ss, 1)
	require.Equal(t, "9778993", ss[0].ID)
	require.Equal(t, SessionComplete, ss[0].State)
	require.Equal(t, int64(6), ss[0].EstimatedTotal)
	require.Equal(t, 6, ss[0].Received)
	require.Equal(t, 3, ss[0].Invalid)
	require.Equal(t, []int64{1, 2, 3}, []int64{ss[0].Batches[0].Seq, ss[0].Batches[1].Seq, ss[0].Batches[2].Seq})
	require.Equal(t, 3, b.sim.MemberCount(testAud))
}

func TestValueBasedAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(req{method: http.MethodPost, path: "/act_" + testAccount + "/customaudiences", form: url.Values{
		"name": {"LTV"}, "customer_file_source": {"USER_PROVIDED_ONLY"}, "is_value_based": {"true"}}})
	id := a.body["id"].(string)

	a = b.add(id, emails("a@x.com"))
	require.Equal(t, 400, a.status)
	require.Equal(t, "(#100) Value-Based Custom Audience requires LOOKALIKE_VALUE attribute.", a.errorOf()["message"])
	usersOK(t, b.add(id, map[string]any{"schema": []string{"EMAIL", "LOOKALIKE_VALUE"}, "data": [][]any{{h("EMAIL", "a@x.com"), 10}}}), 1, 0)
	usersOK(t, b.remove(id, emails("a@x.com")), 1, 0)
	require.Zero(t, b.sim.MemberCount(id))
}

func TestFlaggedAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	require.NoError(t, b.sim.SetFlagged(testAud, true))
	for _, a := range []answer{b.add(testAud, emails("a@x.com")), b.remove(testAud, emails("a@x.com")), b.replaceBatch(testAud, 1, 1, true, emails("a@x.com"))} {
		require.Equal(t, 400, a.status)
		e := a.errorOf()
		require.Equal(t, 100.0, e["code"])
		require.Equal(t, 1713230.0, e["error_subcode"])
		require.Equal(t, "Invalid parameter", e["message"])
		require.Equal(t, "Audience Upload Blocked", e["error_user_title"])
	}
	require.NoError(t, b.sim.SetFlagged(testAud, false))
	usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
}

func TestMultipartUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	body := "--XX\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n" + mustJSON(t, emails("a@x.com")) +
		"\r\n--XX\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\n" + testToken + "\r\n--XX--\r\n"
	r, err := http.NewRequest(http.MethodPost, b.srv.URL+"/v21.0/"+testAud+"/users", strings.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	resp, err := b.srv.Client().Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, b.sim.Has(testAud, "EMAIL", h("EMAIL", "a@x.com")))
}
