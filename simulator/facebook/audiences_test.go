package facebook

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCreateAudience(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		form    url.Values
		status  int
		message string
	}{
		{name: "customer file audience", form: url.Values{"name": {"Churned"}, "subtype": {"CUSTOM"},
			"customer_file_source": {"USER_PROVIDED_ONLY"}, "description": {"from Sluice"}}, status: 200},
		{name: "subtype defaults to CUSTOM", form: url.Values{"name": {"x"}, "customer_file_source": {"PARTNER_PROVIDED_ONLY"}}, status: 200},
		{name: "no name", form: url.Values{"subtype": {"CUSTOM"}, "customer_file_source": {"USER_PROVIDED_ONLY"}}, status: 400,
			message: "(#100) The parameter name is required"},
		{name: "no customer_file_source", form: url.Values{"name": {"x"}, "subtype": {"CUSTOM"}}, status: 400,
			message: "(#100) The parameter customer_file_source is required"},
		{name: "no customer_file_source allowed", opts: Options{OptionalCustomerFileSource: true},
			form: url.Values{"name": {"x"}, "subtype": {"CUSTOM"}}, status: 200},
		{name: "bad customer_file_source", form: url.Values{"name": {"x"}, "customer_file_source": {"MINE"}}, status: 400,
			message: "(#100) param customer_file_source must be one of {USER_PROVIDED_ONLY, PARTNER_PROVIDED_ONLY, BOTH_USER_AND_PARTNER_PROVIDED}"},
		{name: "lookalike", form: url.Values{"name": {"x"}, "subtype": {"LOOKALIKE"}, "customer_file_source": {"USER_PROVIDED_ONLY"}}, status: 400},
		{name: "unknown subtype", form: url.Values{"name": {"x"}, "subtype": {"NOPE"}, "customer_file_source": {"USER_PROVIDED_ONLY"}}, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			a := b.do(req{method: http.MethodPost, path: "/v21.0/act_" + testAccount + "/customaudiences", form: tt.form})
			require.Equal(t, tt.status, a.status, "%s", a.raw)
			if tt.status != 200 {
				require.Equal(t, 100, a.code())
				if tt.message != "" {
					require.Equal(t, tt.message, a.errorOf()["message"])
				}
				require.Len(t, b.sim.Audiences(), 1)
				return
			}
			id := a.body["id"].(string)
			require.Equal(t, map[string]any{"id": id}, a.body)
			require.Equal(t, "23850000000000001", id)
			got, ok := b.sim.Audience(id)
			require.True(t, ok)
			require.Equal(t, tt.form.Get("name"), got.Name)
			require.Equal(t, testAccount, got.AdAccountID)
			require.Equal(t, "CUSTOM", got.Subtype)
			require.Equal(t, tt.form.Get("customer_file_source"), got.CustomerFileSource)
			require.Equal(t, t0, got.Created)
		})
	}
}

// The guide's curl sends JSON-quoted values (-F 'name="My new Custom
// Audience"'); Graph reads a value that parses as JSON as that JSON.
func TestCreateAudienceQuotedValues(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range [][2]string{{"name", `"My new Custom Audience"`}, {"subtype", `"CUSTOM"`},
		{"description", `"People who purchased on my website"`}, {"customer_file_source", `"USER_PROVIDED_ONLY"`},
		{"access_token", testToken}} {
		require.NoError(t, w.WriteField(f[0], f[1]))
	}
	require.NoError(t, w.Close())
	r, err := http.NewRequest(http.MethodPost, b.srv.URL+"/v21.0/act_"+testAccount+"/customaudiences", &body)
	require.NoError(t, err)
	r.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.srv.Client().Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got, ok := b.sim.Audience("23850000000000001")
	require.True(t, ok)
	require.Equal(t, "My new Custom Audience", got.Name)
	require.Equal(t, "People who purchased on my website", got.Description)
	require.Equal(t, "USER_PROVIDED_ONLY", got.CustomerFileSource)

	// Form-encoded too; a value that is not a JSON string is as sent.
	a := b.do(req{method: http.MethodPost, path: "/act_" + testAccount + "/customaudiences",
		form: url.Values{"name": {`"Quoted`}, "subtype": {`"CUSTOM"`}, "customer_file_source": {"USER_PROVIDED_ONLY"}}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	got, _ = b.sim.Audience(a.body["id"].(string))
	require.Equal(t, `"Quoted`, got.Name)
}

func TestCreateAudienceJSONAndUnknownAccount(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{AdAccounts: []string{"act_" + testAccount}})
	a := b.do(req{method: http.MethodPost, path: "/act_" + testAccount + "/customaudiences",
		json: map[string]any{"name": "JSON", "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY", "is_value_based": true}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	got, _ := b.sim.Audience(a.body["id"].(string))
	require.True(t, got.ValueBased)

	a = b.do(req{method: http.MethodPost, path: "/act_999/customaudiences", form: url.Values{"name": {"x"}}})
	require.Equal(t, 400, a.status)
	require.Equal(t, 100, a.code())
	require.Equal(t, 33, a.subcode())
	require.Equal(t, "GraphMethodException", a.errorOf()["type"])
	require.True(t, strings.HasPrefix(a.errorOf()["message"].(string), "Unsupported post request. Object with ID 'act_999' does not exist"))
}

func TestGetAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.createAudience(testAccount, "Buyers")
	usersOK(t, b.add(id, emails("a@x.com", "b@x.com")), 2, 0)
	b.clock.Advance(time.Minute)

	a := b.get("/v21.0/" + id)
	require.Equal(t, map[string]any{"id": id}, a.body, "without fields, only the id")
	require.Equal(t, "v21.0", a.header.Get("facebook-api-version"))
	require.Equal(t, "application/json", a.header.Get("Content-Type"))

	a = b.get("/" + id + "?fields=name,approximate_count_lower_bound,approximate_count_upper_bound,operation_status,delivery_status{code},subtype,account_id,customer_file_source,time_created,data_source")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, map[string]any{
		"id": id, "name": "Buyers", "account_id": testAccount, "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY",
		"approximate_count_lower_bound": 2.0, "approximate_count_upper_bound": 2.0,
		"operation_status": map[string]any{"code": 200.0, "description": "Normal"},
		"delivery_status":  map[string]any{"code": 300.0, "description": "This audience is too small to use."},
		"time_created":     float64(t0.Unix()),
		"data_source":      map[string]any{"type": "FILE_IMPORTED", "sub_type": "HASHES_OR_USER_IDS"},
	}, a.body)
	require.True(t, strings.HasPrefix(string(a.raw), `{"name":"Buyers",`), "fields in the order asked, id last: %s", a.raw)
	require.Equal(t, "v21.0", a.header.Get("facebook-api-version"), "the default version without a prefix")

	a = b.get("/v19.0/" + id + "?fields=approximate_count")
	require.Equal(t, 400, a.status)
	require.Equal(t, "(#100) Tried accessing nonexisting field (approximate_count) on node type (CustomAudience)", a.errorOf()["message"])
	require.Equal(t, "v19.0", a.header.Get("facebook-api-version"))

	require.NoError(t, b.sim.SetFlagged(id, true))
	a = b.get("/" + id + "?fields=operation_status")
	require.Equal(t, 471.0, a.body["operation_status"].(map[string]any)["code"])
}

func TestListAudiences(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Audiences: map[string]string{}})
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, b.createAudience(testAccount, name))
	}
	b.createAudience("111", "elsewhere")

	a := b.get("/v21.0/act_" + testAccount + "/customaudiences?fields=id,name&limit=2")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	data := a.body["data"].([]any)
	require.Equal(t, []any{
		map[string]any{"id": ids[0], "name": "a"},
		map[string]any{"id": ids[1], "name": "b"},
	}, data)
	paging := a.body["paging"].(map[string]any)
	next := paging["next"].(string)
	require.Contains(t, next, "/v21.0/act_"+testAccount+"/customaudiences?")
	require.NotContains(t, next, "access_token")
	after := paging["cursors"].(map[string]any)["after"].(string)

	a = b.get("/v21.0/act_" + testAccount + "/customaudiences?fields=name&limit=2&after=" + after)
	require.Equal(t, []any{map[string]any{"name": "c", "id": ids[2]}}, a.body["data"])
	require.NotContains(t, a.body["paging"], "next")

	require.Equal(t, http.StatusOK, b.do(req{method: http.MethodDelete, path: "/" + ids[1]}).status)
	a = b.get("/act_" + testAccount + "/customaudiences")
	require.Equal(t, []any{map[string]any{"id": ids[0]}, map[string]any{"id": ids[2]}}, a.body["data"])
}

func TestDeleteAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)

	a := b.do(req{method: http.MethodDelete, path: "/v21.0/" + testAud})
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, map[string]any{"success": true}, a.body)
	got, ok := b.sim.Audience(testAud)
	require.True(t, ok)
	require.True(t, got.Deleted)

	tests := []struct {
		method, path, verb string
	}{
		{http.MethodGet, "/" + testAud, "get"},
		{http.MethodPost, "/" + testAud + "/users", "post"},
		{http.MethodDelete, "/" + testAud + "/users", "delete"},
		{http.MethodPost, "/" + testAud + "/usersreplace", "post"},
		{http.MethodDelete, "/" + testAud, "delete"},
	}
	for _, tt := range tests {
		a := b.upload(tt.method, tt.path, emails("b@x.com"), nil)
		require.Equal(t, 400, a.status, "%s %s", tt.method, tt.path)
		require.Equal(t, 33, a.subcode())
		require.True(t, strings.HasPrefix(a.errorOf()["message"].(string), "Unsupported "+tt.verb+" request. Object with ID '"+testAud+"' does not exist"), "%s", a.raw)
	}
}

func TestUnknownPaths(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	tests := []struct {
		name, method, path string
		status, code       int
		message            string
	}{
		{"unknown audience", http.MethodPost, "/v21.0/999/users", 400, 100,
			"Unsupported post request. Object with ID '999' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"},
		{"unknown edge", http.MethodGet, "/" + testAud + "/adsets", 400, 2500, "Unknown path components: /adsets"},
		{"too deep", http.MethodGet, "/" + testAud + "/users/x", 400, 2500, "Unknown path components: /x"},
		{"alias", http.MethodGet, "/me/adaccounts", 404, 803, "(#803) Some of the aliases you requested do not exist: me"},
		{"reading the users edge", http.MethodGet, "/" + testAud + "/users", 400, 100, ""},
		{"ad account", http.MethodGet, "/act_" + testAccount, 200, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := b.do(req{method: tt.method, path: tt.path})
			require.Equal(t, tt.status, a.status, "%s", a.raw)
			require.Equal(t, tt.code, a.code())
			if tt.message != "" {
				require.Equal(t, tt.message, a.errorOf()["message"])
			}
		})
	}
}

func TestUpdateAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(req{method: http.MethodPost, path: "/" + testAud, form: url.Values{"name": {"Renamed"}, "description": {"d"}}})
	require.Equal(t, map[string]any{"success": true}, a.body)
	got, _ := b.sim.Audience(testAud)
	require.Equal(t, "Renamed", got.Name)
	require.Equal(t, "d", got.Description)
}
