package salesforce

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tokens []string
		header string
		status int
	}{
		{"bearer, any token accepted", nil, "Bearer abc", http.StatusOK},
		{"OAuth scheme", nil, "OAuth abc", http.StatusOK},
		{"missing", nil, "", http.StatusUnauthorized},
		{"empty token", nil, "Bearer ", http.StatusUnauthorized},
		{"basic", nil, "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"listed token", []string{"good"}, "Bearer good", http.StatusOK},
		{"unlisted token", []string{"good"}, "Bearer bad", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{Tokens: tt.tokens})
			a := b.do(http.MethodGet, "limits", nil, "Authorization", tt.header)
			require.Equal(t, tt.status, a.status, "%s", a.raw)
			if tt.status == http.StatusUnauthorized {
				require.Equal(t, []map[string]any{{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}}, a.errs(t))
				require.Empty(t, a.header.Get("Sforce-Limit-Info"), "a 401 is not counted")
				used, _ := b.sim.APIUsage()
				require.Zero(t, used)
			} else {
				require.Equal(t, "api-usage=1/100000", a.header.Get("Sforce-Limit-Info"))
			}
		})
	}
}

func TestVersionsAndRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		versions []string
		method   string
		path     string
		status   int
	}{
		{"any version from 46.0", nil, http.MethodGet, "/services/data/v46.0/limits", http.StatusOK},
		{"a future version", nil, http.MethodGet, "/services/data/v70.0/limits", http.StatusOK},
		{"too old", nil, http.MethodGet, "/services/data/v45.0/limits", http.StatusNotFound},
		{"not a version", nil, http.MethodGet, "/services/data/v62/limits", http.StatusNotFound},
		{"listed version", []string{"61.0"}, http.MethodGet, "/services/data/v61.0/limits", http.StatusOK},
		{"unlisted version", []string{"61.0"}, http.MethodGet, "/services/data/v62.0/limits", http.StatusNotFound},
		{"unknown resource", nil, http.MethodGet, base + "/nothing", http.StatusNotFound},
		{"outside /services/data", nil, http.MethodGet, "/crm/v3/objects", http.StatusNotFound},
		{"wrong method", nil, http.MethodPost, base + "/limits", http.StatusMethodNotAllowed},
		{"collections retrieve is left out", nil, http.MethodGet, base + "/composite/sobjects", http.StatusMethodNotAllowed},
		{"version list", nil, http.MethodGet, "/services/data", http.StatusOK},
		{"resources of a version", nil, http.MethodGet, base, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{APIVersions: tt.versions})
			a := b.do(tt.method, tt.path, nil)
			require.Equal(t, tt.status, a.status, "%s", a.raw)
			switch tt.status {
			case http.StatusNotFound:
				require.Equal(t, []map[string]any{{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}}, a.errs(t))
			case http.StatusMethodNotAllowed:
				require.Equal(t, "METHOD_NOT_ALLOWED", a.errs(t)[0]["errorCode"])
				require.NotEmpty(t, a.header.Get("Allow"))
			}
		})
	}
}

func TestVersionList(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(http.MethodGet, "/services/data/", nil, "Authorization", "")
	require.Equal(t, http.StatusOK, a.status, "the version list needs no session")
	require.Empty(t, a.header.Get("Sforce-Limit-Info"))
	list := a.json(t).([]any)
	require.Equal(t, map[string]any{"label": "Summer '19", "url": "/services/data/v46.0", "version": "46.0"}, list[0])
	require.Equal(t, map[string]any{"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}, list[len(list)-1])
	require.Equal(t, "Winter '26", releaseLabel("65.0"))
	require.Equal(t, "Spring '19", releaseLabel("45.0"))
	require.Equal(t, "Summer '18", releaseLabel("43.0"))
}

func TestIDs(t *testing.T) {
	t.Parallel()
	// The 18-character form of an id from Salesforce's REST guide.
	require.Equal(t, "001D000000IqhSLIAZ", withChecksum("001D000000IqhSL"))
	require.Equal(t, "001D000000IqhSLIAZ", canonicalID("001D000000IqhSL"))
	require.Equal(t, "001D000000IqhSLIAZ", canonicalID("001D000000IqhSLiaz"), "the suffix is read without case")
	require.Empty(t, canonicalID("001D000000IqhSLIAA"), "a wrong suffix")
	require.Empty(t, canonicalID("001D000000IqhS"))
	require.Empty(t, canonicalID("001D000000IqhS-IAZ"))

	id := newID("003", firstSequence)
	require.Regexp(t, idRE, id)
	require.Equal(t, "0035g000015ftgG", id[:15])
	require.Equal(t, id, canonicalID(id[:15]))
	require.Less(t, newID("003", firstSequence+61), newID("003", firstSequence+62), "ids sort in creation order")
	require.Equal(t, "00D5g000004SIMUEA4", Options{}.WithDefaults().OrgID)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  Options
		daily int64
		long  int
		err   string
	}{
		{name: "enterprise by default", opts: Options{}, daily: 100_000, long: 25},
		{name: "enterprise with licenses", opts: Options{Licenses: 20}, daily: 120_000, long: 25},
		{name: "professional", opts: Options{Edition: EditionProfessional, Licenses: 5}, daily: 105_000, long: 25},
		{name: "unlimited", opts: Options{Edition: EditionUnlimited, Licenses: 20}, daily: 200_000, long: 25},
		{name: "performance", opts: Options{Edition: EditionPerformance, Licenses: 1}, daily: 105_000, long: 25},
		{name: "developer", opts: Options{Edition: EditionDeveloper, Licenses: 2}, daily: 15_000, long: 5},
		{name: "override", opts: Options{DailyRequests: 42}, daily: 42, long: 25},
		{name: "unknown edition", opts: Options{Edition: "essentials"}, err: "Edition"},
		{name: "bad version", opts: Options{APIVersions: []string{"v58"}}, err: "APIVersions"},
		{name: "bad rate", opts: Options{LockErrorRate: 2}, err: "LockErrorRate"},
		{name: "custom object without __c", opts: Options{CustomObjects: map[string][]Field{"Widget": nil}}, err: `CustomObjects "Widget"`},
		{name: "bad custom field", opts: Options{CustomFields: map[string][]Field{"Account": {{Name: "X__c", Type: "blob"}}}}, err: `unknown type "blob"`},
		{name: "fields of an unknown object", opts: Options{CustomFields: map[string][]Field{"Widget__c": {{Name: "X__c", Type: TypeString}}}}, err: "no such object"},
		{name: "external boolean", opts: Options{CustomFields: map[string][]Field{"Account": {{Name: "X__c", Type: TypeBoolean, ExternalID: true}}}}, err: "external ids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Validate()
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.Panics(t, func() { New(tt.opts) })
				return
			}
			require.NoError(t, err)
			o := tt.opts.WithDefaults()
			require.Equal(t, tt.daily, o.DailyRequests)
			require.Equal(t, tt.long, o.ConcurrentLongRequests)
			require.Contains(t, o.Describe(), string(o.Edition)+" edition")
		})
	}
}
