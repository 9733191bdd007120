package facebook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func proofOf(secret, token string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		req     req
		status  int
		code    int
		message string
	}{
		{name: "no token", req: req{noToken: true}, status: 400, code: 104,
			message: "An access token is required to request this resource."},
		{name: "unknown token", opts: Options{Tokens: []string{"good"}}, req: req{token: "bad"}, status: 400, code: 190,
			message: "Invalid OAuth access token."},
		{name: "unknown token, 401", opts: Options{Tokens: []string{"good"}, AuthErrorStatus: 401}, req: req{token: "bad"}, status: 401, code: 190},
		{name: "any token when none listed", req: req{token: "whatever"}, status: 200},
		{name: "listed token in the query", opts: Options{Tokens: []string{"good"}}, req: req{token: "good"}, status: 200},
		{name: "bearer header", opts: Options{Tokens: []string{"good"}},
			req: req{noToken: true, header: map[string]string{"Authorization": "Bearer good"}}, status: 200},
		{name: "OAuth header", opts: Options{Tokens: []string{"good"}},
			req: req{noToken: true, header: map[string]string{"Authorization": "OAuth good"}}, status: 200},
		{name: "token in a JSON body", opts: Options{Tokens: []string{"good"}},
			req: req{noToken: true, method: http.MethodPost, path: "/v21.0/" + testAud, json: map[string]any{"access_token": "good", "name": "x"}}, status: 200},
		{name: "token in a form body", opts: Options{Tokens: []string{"good"}},
			req: req{noToken: true, method: http.MethodPost, path: "/v21.0/" + testAud, form: url.Values{"access_token": {"good"}, "name": {"x"}}}, status: 200},
		{name: "appsecret_proof required", opts: Options{AppSecret: "s3cret", RequireAppSecretProof: true}, status: 400, code: 100,
			message: "API calls from the server require an appsecret_proof argument"},
		{name: "appsecret_proof wrong", opts: Options{AppSecret: "s3cret"}, req: req{path: "/" + testAud + "?appsecret_proof=00"}, status: 400, code: 100,
			message: "Invalid appsecret_proof provided in the API argument"},
		{name: "appsecret_proof right", opts: Options{AppSecret: "s3cret", RequireAppSecretProof: true},
			req: req{path: "/" + testAud + "?appsecret_proof=" + proofOf("s3cret", testToken)}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			r := tt.req
			if r.method == "" {
				r.method = http.MethodGet
			}
			if r.path == "" {
				r.path = "/v21.0/" + testAud
			}
			a := b.do(r)
			require.Equal(t, tt.status, a.status, "%s", a.raw)
			require.Equal(t, tt.code, a.code(), "%s", a.raw)
			if tt.message != "" {
				require.Equal(t, tt.message, a.errorOf()["message"])
				typ := "OAuthException"
				if tt.name == "appsecret_proof wrong" {
					typ = "GraphMethodException"
				}
				require.Equal(t, typ, a.errorOf()["type"])
				require.Regexp(t, `^A[A-Za-z0-9_-]{22}$`, a.errorOf()["fbtrace_id"])
				require.Equal(t, a.header.Get("x-fb-trace-id"), a.errorOf()["fbtrace_id"])
			}
			if tt.code == 190 {
				require.Contains(t, a.header.Get("WWW-Authenticate"), "invalid_token")
			}
			if tt.code == 104 || tt.code == 190 {
				require.Empty(t, a.header.Get(headerBUC), "an unauthenticated call gets no usage headers")
			}
		})
	}
}

// Permissions: a token without ads_management may read but not write; a token
// granted some ad accounts cannot see or update audiences of others.
func TestPermissions(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{
		ReadOnlyTokens: []string{"reader"},
		Grants:         map[string][]string{"narrow": {"act_111"}},
		Audiences:      map[string]string{testAud: testAccount, "777": "111"},
	})
	tests := []struct {
		name    string
		req     req
		status  int
		code    int
		message string
	}{
		{"read-only reads", req{method: http.MethodGet, path: "/" + testAud, token: "reader"}, 200, 0, ""},
		{"read-only writes", req{method: http.MethodPost, path: "/" + testAud + "/users", token: "reader",
			form: url.Values{"payload": {`{"schema":"EMAIL_SHA256","data":[]}`}}}, 400, 294,
			"(#294) Managing advertisements requires an access token with the extended permission for ads_management"},
		{"granted account", req{method: http.MethodGet, path: "/777", token: "narrow"}, 200, 0, ""},
		{"other account's audience, read", req{method: http.MethodGet, path: "/" + testAud, token: "narrow"}, 400, 100,
			"Unsupported get request. Object with ID '" + testAud + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"},
		{"other account's audience, write", req{method: http.MethodDelete, path: "/" + testAud + "/users", token: "narrow"}, 403, 200,
			"(#200) The current user can not update audience " + testAud},
		{"other ad account", req{method: http.MethodPost, path: "/act_" + testAccount + "/customaudiences", token: "narrow"}, 400, 100,
			"Unsupported post request. Object with ID 'act_" + testAccount + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := b.do(tt.req)
			require.Equal(t, tt.status, a.status, "%s", a.raw)
			require.Equal(t, tt.code, a.code(), "%s", a.raw)
			if tt.message != "" {
				require.Equal(t, tt.message, a.errorOf()["message"])
			}
		})
	}
	require.Equal(t, 0, b.sim.MemberCount(testAud))
}
