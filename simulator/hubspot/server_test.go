package hubspot

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tokens []string
		header string // "" sends no Authorization
		want   int
	}{
		{"no header", nil, "", http.StatusUnauthorized},
		{"not bearer", nil, "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"empty bearer", nil, "Bearer ", http.StatusUnauthorized},
		{"any token when none configured", nil, "Bearer whatever", http.StatusOK},
		{"unknown token", []string{"pat-na1-good"}, "Bearer pat-na1-bad", http.StatusUnauthorized},
		{"configured token", []string{"pat-na1-good"}, "Bearer pat-na1-good", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{Tokens: tt.tokens})
			a := b.do(http.MethodGet, "/crm/v3/objects/contacts", nil, "Authorization", tt.header)
			require.Equal(t, tt.want, a.status, "%s", a.raw)
			require.Equal(t, "application/json;charset=utf-8", a.header.Get("Content-Type"))
			if tt.want != http.StatusUnauthorized {
				require.Equal(t, "189", a.header.Get("X-HubSpot-RateLimit-Remaining"))
				return
			}
			require.Equal(t, map[string]any{
				"status":        "error",
				"message":       "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
				"correlationId": a.header.Get("X-HubSpot-Correlation-Id"),
				"category":      "INVALID_AUTHENTICATION",
			}, a.body)
			require.Regexp(t, uuidRE, a.body["correlationId"])
			require.Empty(t, a.header.Get("X-HubSpot-RateLimit-Remaining"), "no app to count a 401 against")
			require.Equal(t, int64(1), b.sim.Counters().ClientErrors.Load())
		})
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CustomObjects: map[string][]Property{
		"cars": {{Name: "vin", Type: "string", HasUniqueValue: true}, {Name: "model", Type: "string"}},
	}})
	tests := []struct {
		name, method, path string
		body               any
		want               int
		message            string
	}{
		{"unknown object type", "GET", "/crm/v3/objects/widgets", nil, 400, "Unable to infer object type from: widgets"},
		{"unknown route", "GET", "/crm/v3/nothing/here", nil, 404, "resource not found"},
		{"wrong method", "GET", "/crm/v3/objects/contacts/batch/create", nil, 405, "HTTP 405 Method Not Allowed"},
		{"unknown batch op", "POST", "/crm/v3/objects/contacts/batch/merge", inputs(), 404, "resource not found"},
		{"date-versioned path", "POST", "/crm/objects/2026-03/contacts/batch/create", inputs(props("email", "a@x.com")), 201, ""},
		{"objectTypeId", "POST", "/crm/v3/objects/0-2/batch/create", inputs(props("name", "Acme")), 201, ""},
		{"singular name", "GET", "/crm/v3/objects/deal", nil, 200, ""},
		{"custom object by name", "POST", "/crm/v3/objects/cars/batch/create", inputs(props("vin", "V1")), 201, ""},
		{"custom object by objectTypeId", "GET", "/crm/v3/objects/2-1001", nil, 200, ""},
		{"custom object by qualified name", "GET", "/crm/v3/objects/p12345678_cars", nil, 200, ""},
		{"versioned properties", "GET", "/crm/properties/2026-03/contacts", nil, 200, ""},
		{"versioned account", "GET", "/account-info/2026-03/details", nil, 200, ""},
	}
	for _, tt := range tests {
		a := b.do(tt.method, tt.path, tt.body)
		require.Equal(t, tt.want, a.status, "%s: %s", tt.name, a.raw)
		if tt.message != "" {
			require.Equal(t, tt.message, a.body["message"], tt.name)
			require.Equal(t, "error", a.body["status"], tt.name)
		}
	}
	require.Len(t, b.sim.Records("cars"), 1)
	require.Len(t, b.sim.Records("2-1001"), 1)
	require.Len(t, b.sim.Records("companies"), 1)
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{KeepBodies: true})
	body := `{"inputs":[{"properties":{"email":"a@x.com"}}]}`
	b.do(http.MethodPost, "/crm/v3/objects/contacts/batch/create?x=1", body)
	b.do(http.MethodGet, "/crm/v3/objects/contacts/1", nil, "Authorization", "")

	reqs := b.sim.Log().Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "POST", reqs[0].Method)
	require.Equal(t, "/crm/v3/objects/contacts/batch/create", reqs[0].Path)
	require.Equal(t, "x=1", reqs[0].RawQuery)
	require.Equal(t, body, string(reqs[0].Body))
	require.Equal(t, http.StatusCreated, reqs[0].Status)
	require.Equal(t, "Bearer "+testToken, reqs[0].Header.Get("Authorization"))
	require.Equal(t, t0, reqs[0].Time)
	require.Equal(t, http.StatusUnauthorized, reqs[1].Status)

	c := b.sim.Counters()
	require.Equal(t, int64(2), c.Requests.Load())
	require.Equal(t, int64(1), c.ClientErrors.Load())

	quiet := setup(t, Options{})
	quiet.post("/crm/v3/objects/contacts/batch/create", body)
	require.Nil(t, quiet.sim.Log().Requests()[0].Body, "bodies are kept only when asked")
}

func TestOptions(t *testing.T) {
	t.Parallel()
	o := Options{}.WithDefaults()
	require.Equal(t, int64(190), o.PerInterval)
	require.Equal(t, int64(625_000), o.Daily)
	require.Equal(t, "US/Eastern", o.TimeZone)
	require.Contains(t, o.Describe(), "professional tier: 190 requests per 10s per token, 625000 per day")

	bad := []Options{
		{Tier: "platinum"},
		{TimeZone: "Mars/Olympus"},
		{LimitIncreasePacks: 3},
		{CustomObjects: map[string][]Property{"contacts": nil}},
		{CustomObjects: map[string][]Property{"Bad Name": nil}},
		{CustomObjects: map[string][]Property{"cars": {{Name: "x", Type: "number", FieldType: "select"}}}},
	}
	for _, o := range bad {
		require.Error(t, o.Validate(), "%+v", o)
	}
	require.Panics(t, func() { New(Options{Tier: "platinum"}) })
}
