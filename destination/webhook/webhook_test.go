package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/webhook"
	"github.com/sluicehq/sluice/destination/webhook/webhooktest"
	"github.com/sluicehq/sluice/record"
)

func openDest(t *testing.T, url string, mutate func(*webhook.Config)) connector.Destination {
	t.Helper()
	cfg := webhook.Spec.NewConfig().(*webhook.Config)
	cfg.SetDefaults()
	cfg.URL = url
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	d, err := webhook.Spec.Open(context.Background(), connector.DestinationParams{Name: "hook", Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	secret := []byte("conformance-secret")
	conformance.TestDestination(t, webhook.Spec, conformance.Harness{
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			r, err := webhooktest.Start("127.0.0.1:0", webhooktest.Options{Secret: secret})
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			d := openDest(t, r.URL, func(c *webhook.Config) { c.SigningSecret = string(secret) })
			return conformance.Target{
				Destination: d,
				Contents: func(t *testing.T) map[string]record.Fields {
					out := map[string]record.Fields{}
					for k, fields := range r.Contents() {
						var names []string
						var values []record.Value
						for name, raw := range fields {
							names = append(names, name)
							values = append(values, record.JSON(raw))
						}
						out[k] = record.MakeFields(names, values)
					}
					return out
				},
				RejectKey: func(key string) { r.Reject(key, "refused by the test receiver") },
				Seed: func(t *testing.T, rows map[string]record.Fields) {
					for k, f := range rows {
						m := map[string]json.RawMessage{}
						for i, n := range f.Names {
							m[n] = record.AppendJSON(nil, f.Values()[i])
						}
						r.Put(k, m)
					}
				},
			}
		},
	})
}

func batchOf(changes ...record.Change) *connector.Batch {
	return connector.NewBatch("users_to_hook", "run-7", "msg_1", changes, nil)
}

var fields = []string{"email", "plan_tier"}

func TestBodyIsTheContract(t *testing.T) {
	t.Parallel()
	b := batchOf(
		record.Change{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(fields, []record.Value{"a@x.io", "pro"})},
		record.Change{Op: record.OpChange, Key: "2", Fields: record.MakeFields(fields, []record.Value{"b@x.io", "team"}),
			Previous: record.MakeFields(fields, []record.Value{"b@x.io", "free"})},
		record.Change{Op: record.OpRemove, Key: "3", Fields: record.MakeFields(fields, []record.Value{"c@x.io", nil})},
	)
	require.JSONEq(t, `{"sync":"users_to_hook","run_id":"run-7","events":[
		{"type":"added","key":"1","fields":{"email":"a@x.io","plan_tier":"pro"}},
		{"type":"changed","key":"2","fields":{"email":"b@x.io","plan_tier":"team"},"previous":{"email":"b@x.io","plan_tier":"free"}},
		{"type":"removed","key":"3","fields":{"email":"c@x.io","plan_tier":null}}]}`, string(webhook.AppendBody(nil, b)))
}

func TestSignatureFollowsStandardWebhooks(t *testing.T) {
	t.Parallel()
	raw := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body = make([]byte, r.ContentLength)
		r.Body.Read(body)
	}))
	defer srv.Close()
	d := openDest(t, srv.URL, func(c *webhook.Config) { c.SigningSecret = secret })
	b := batchOf(record.Change{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(fields, []record.Value{"a", "b"})})
	require.NoError(t, d.Write(context.Background(), b))
	require.Equal(t, "msg_1", got.Get("webhook-id"))
	require.NoError(t, webhooktest.Verify(raw, got, body, time.Now()), "signature must verify with the base64-decoded whsec_ key")
	require.Error(t, webhooktest.Verify([]byte("other"), got, body, time.Now()))
}

func TestResponsesDecideOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		permanent bool
		throttled bool
		delay     time.Duration
		failed    []int
		ok        bool
	}{
		{name: "2xx empty", status: 200, ok: true},
		{name: "204", status: 204, ok: true},
		{name: "2xx not json", status: 200, body: "thanks", ok: true},
		{name: "2xx json without failed", status: 202, body: `{"accepted":2}`, ok: true},
		{name: "2xx empty failed", status: 200, body: `{"failed":[]}`, ok: true},
		{name: "2xx failed list", status: 200, body: `{"failed":[{"key":"2","error":"bad email"}]}`, failed: []int{1}},
		{name: "2xx failed numeric key", status: 200, body: `{"failed":[{"key":1,"error":"nope"}]}`, failed: []int{0}},
		{name: "2xx failed with an object error", status: 200, body: `{"failed":[{"key":"1","error":{"code":"bounced"}}]}`, failed: []int{0}},
		{name: "2xx failed with a number error", status: 200, body: `{"failed":[{"key":"2","error":404}]}`, failed: []int{1}},
		{name: "2xx failed null", status: 200, body: `{"failed":null}`, ok: true},
		{name: "2xx failed not a list", status: 200, body: `{"failed":{"key":"1","error":"x"}}`, permanent: true},
		{name: "2xx failed list of strings", status: 200, body: `{"failed":["1"]}`, permanent: true},
		{name: "2xx failed then junk", status: 200, body: `{"failed":[{"key":"1","error":"x"}]} trailing`, permanent: true},
		{name: "2xx broken json without failed", status: 200, body: `{"ok": tru`, ok: true},
		{name: "429 retry-after seconds", status: 429, header: map[string]string{"Retry-After": "7"}, throttled: true, delay: 7 * time.Second},
		{name: "503 retry-after", status: 503, header: map[string]string{"Retry-After": "2"}, delay: 2 * time.Second},
		{name: "500", status: 500},
		{name: "408", status: 408},
		{name: "400", status: 400, body: `{"error":"schema"}`, permanent: true},
		{name: "401", status: 401, permanent: true},
		{name: "302", status: 302, header: map[string]string{"Location": "http://elsewhere/"}, permanent: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			d := openDest(t, srv.URL, nil)
			b := batchOf(
				record.Change{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(fields, []record.Value{"a", "b"})},
				record.Change{Op: record.OpAdd, Key: "2", Fields: record.MakeFields(fields, []record.Value{"c", "d"})},
			)
			err := d.Write(context.Background(), b)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.failed != nil {
				var be *connector.BatchError
				require.ErrorAs(t, err, &be)
				var idx []int
				for _, r := range be.Rows {
					idx = append(idx, r.Index)
				}
				require.Equal(t, tc.failed, idx)
				return
			}
			require.Equal(t, tc.permanent, connector.IsPermanent(err), "permanent: %v", err)
			require.Equal(t, tc.throttled, connector.RateLimited(err), "throttled: %v", err)
			d2, ok := connector.RetryDelay(err)
			require.Equal(t, tc.delay > 0, ok)
			require.Equal(t, tc.delay, d2)
		})
	}
}

func TestUnreachableIsTransientAndTraced(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	d := openDest(t, url, nil)
	var traced []connector.Exchange
	b := connector.NewBatch("s", "r", "m", []record.Change{{Op: record.OpAdd, Key: "1", Fields: record.Fields{}}}, func(ex connector.Exchange) { traced = append(traced, ex) })
	err := d.Write(context.Background(), b)
	require.Error(t, err)
	require.False(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "connection refused")
	require.Len(t, traced, 1)
	require.NotEmpty(t, traced[0].Err)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cfg := &webhook.Config{}
	cfg.SetDefaults()
	cfg.URL = "ftp://x"
	cfg.BatchSize = 0
	cfg.Headers = map[string]string{"webhook-id": "x"}
	cfg.SigningSecret = "whsec_***"
	err := cfg.Validate()
	var fe *connector.FieldError
	require.ErrorAs(t, err, &fe)
	for _, field := range []string{"url", "batch_size", "headers", "signing_secret"} {
		require.Contains(t, err.Error(), field+":")
	}
	require.NotContains(t, err.Error(), "***", "a secret must not be echoed")
}

func TestFailedKeysOutsideBatchAreAnError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"failed": []map[string]string{{"key": "zzz", "error": "?"}}})
	}))
	defer srv.Close()
	d := openDest(t, srv.URL, nil)
	err := d.Write(context.Background(), batchOf(record.Change{Op: record.OpAdd, Key: "1", Fields: record.Fields{}}))
	require.Error(t, err)
	var be *connector.BatchError
	require.False(t, errors.As(err, &be))
}

func TestOversizedAnswerFailsTheBatch(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"failed":[`))
		w.Write(bytes.Repeat([]byte(`{"key":"x","error":"y"},`), 1<<20))
		w.Write([]byte(`{"key":"1","error":"too far down to read"}]}`))
	}))
	defer srv.Close()
	d := openDest(t, srv.URL, nil)
	err := d.Write(context.Background(), batchOf(record.Change{Op: record.OpAdd, Key: "1", Fields: record.Fields{}}))
	require.Error(t, err, "an answer too big to read must not count as success")
	require.True(t, connector.IsPermanent(err))
}
