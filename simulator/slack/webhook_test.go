package slack

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	hookAlerts   = "/services/T0SIM0001/B0000ALRT/s3cr3tAlerts"
	hookArchived = "/services/T0SIM0001/B0000OLDN/s3cr3tOld"
	hookGone     = "/services/T0SIM0001/B0000GONE/s3cr3tGone"
)

func hookOptions() Options {
	return Options{Webhooks: map[string]string{
		hookAlerts:                      "C0000ALERT",
		"T0SIM0001/B0000OLDN/s3cr3tOld": "C0000OLDIE",
		hookGone:                        "C0000DELTD", // a channel that no longer exists
	}}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, hookOptions())
	a := b.hook(hookAlerts, `{"text":"Sync finished","channel":"#sales","username":"ignored","blocks":[{"type":"divider"}]}`)
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "ok", a.raw)
	require.Equal(t, "text/html", a.header.Get("Content-Type"), "the type hooks.slack.com answers with")

	// The older form body: payload=<JSON>.
	a = b.do(req{path: hookAlerts, ctype: "application/x-www-form-urlencoded", token: "-",
		body: url.Values{"payload": {`{"text":"from a form","thread_ts":"1773154800.000000"}`}}.Encode()})
	require.Equal(t, "ok", a.raw)

	// Raw JSON sent with curl -d's form type is read as JSON.
	b.clock.Advance(time.Second)
	a = b.do(req{path: hookAlerts, ctype: "application/x-www-form-urlencoded", token: "-", body: `{"text":"curl -d"}`})
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, "ok", a.raw)

	ms := b.sim.Messages("#alerts")
	require.Len(t, ms, 3)
	require.Equal(t, "curl -d", ms[2].Text)
	require.Equal(t, Message{Channel: "C0000ALERT", TS: ms[0].TS, Text: "Sync finished", Blocks: []byte(`[{"type":"divider"}]`),
		Via: ViaWebhook, Webhook: "T0SIM0001/B0000ALRT/s3cr3tAlerts", Time: t0}, ms[0],
		"a webhook always posts to its own channel, under the app's name")
	require.Equal(t, "1773154800.000000", ms[1].ThreadTS)
	require.Greater(t, ms[1].TS, ms[0].TS)
	require.Empty(t, b.sim.Messages("#sales"))
}

func TestWebhookErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   Options
		method string
		path   string
		ctype  string
		body   string
		status int
		want   string
	}{
		{"unknown webhook", Options{}, "", "/services/T0SIM0001/B0000NONE/x", "", `{"text":"hi"}`, 404, "no_service"},
		{"malformed path", Options{}, "", "/services/nothing", "", `{"text":"hi"}`, 404, "no_service"},
		{"known webhook, wrong secret", Options{}, "", "/services/T0SIM0001/B0000ALRT/wrongSecret", "", `{"text":"hi"}`, 403, "invalid_token"},
		{"known webhook, no secret", Options{}, "", "/services/T0SIM0001/B0000ALRT/", "", `{"text":"hi"}`, 404, "no_service"},
		{"form body neither payload nor JSON object", Options{}, "", hookAlerts, "application/x-www-form-urlencoded", `["hi"]`, 400, "invalid_payload"},
		{"invalid JSON", Options{}, "", hookAlerts, "", `{"text":`, 400, "invalid_payload"},
		{"JSON not an object", Options{}, "", hookAlerts, "", `"hi"`, 400, "invalid_payload"},
		{"empty body", Options{}, "", hookAlerts, "", ``, 400, "invalid_payload"},
		{"form without payload", Options{}, "", hookAlerts, "application/x-www-form-urlencoded", `text=hi`, 400, "invalid_payload"},
		{"text not a string", Options{}, "", hookAlerts, "", `{"text":["a"]}`, 400, "invalid_payload"},
		{"no text", Options{}, "", hookAlerts, "", `{}`, 400, "no_text"},
		{"invalid blocks", Options{}, "", hookAlerts, "", `{"text":"x","blocks":[{"type":"nope"}]}`, 400, "invalid_blocks"},
		{"blocks not an array", Options{}, "", hookAlerts, "", `{"blocks":"[{"}`, 400, "invalid_blocks_format"},
		{"101 attachments", Options{}, "", hookAlerts, "", `{"attachments":[` + strings.Repeat(`{"text":"a"},`, 100) + `{"text":"a"}]}`, 400, "too_many_attachments"},
		{"text too long, RefuseLongText", Options{MaxTextChars: 3, RefuseLongText: true}, "", hookAlerts, "", `{"text":"abcd"}`, 400, "msg_too_long"},
		{"archived channel", Options{}, "", hookArchived, "", `{"text":"hi"}`, 410, "channel_is_archived"},
		{"deleted channel", Options{}, "", hookGone, "", `{"text":"hi"}`, 404, "channel_not_found"},
		{"prohibited by the test", Options{Reject: func(Message) string { return "action_prohibited" }}, "", hookAlerts, "", `{"text":"hi"}`, 403, "action_prohibited"},
		{"rejected with an error webhooks do not know", Options{Reject: func(Message) string { return "blocked" }}, "", hookAlerts, "", `{"text":"hi"}`, 400, "blocked"},
		{"GET", Options{}, http.MethodGet, hookAlerts, "", ``, 405, "invalid_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := hookOptions()
			opts.Reject, opts.MaxTextChars, opts.RefuseLongText = tt.opts.Reject, tt.opts.MaxTextChars, tt.opts.RefuseLongText
			b := setup(t, opts)
			ctype := tt.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			a := b.do(req{method: tt.method, path: tt.path, ctype: ctype, body: tt.body, token: "-"})
			require.Equal(t, tt.status, a.status, a.raw)
			require.Equal(t, tt.want, a.raw)
			require.Equal(t, "text/html", a.header.Get("Content-Type"), "the type hooks.slack.com answers with")
			require.Empty(t, b.sim.AllMessages())
			if tt.method == "" {
				fs := b.sim.Failures()
				require.Len(t, fs, 1)
				require.Equal(t, Failure{Time: t0, Via: ViaWebhook, Channel: fs[0].Channel, Status: tt.status, Error: tt.want}, fs[0])
			}
		})
	}
}

// A webhook's text over 40,000 characters is cut, not refused.
func TestWebhookTruncatesLongText(t *testing.T) {
	t.Parallel()
	b := setup(t, hookOptions())
	a := b.hook(hookAlerts, `{"text":"`+strings.Repeat("a", 40_001)+`"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, "ok", a.raw)
	require.Equal(t, []string{strings.Repeat("a", 40_000)}, texts(b.sim.Messages("alerts")))
}

func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, hookOptions())
	require.Equal(t, "ok", b.hook(hookAlerts, `{"text":"1"}`).raw)
	require.Equal(t, "ok", b.hook(hookAlerts, `{"text":"2"}`).raw)
	a := b.hook(hookAlerts, `{"text":"3"}`)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	b.clock.Advance(time.Second)
	require.Equal(t, "ok", b.hook(hookAlerts, `{"text":"3"}`).raw)
	require.Equal(t, []string{"1", "2", "3"}, texts(b.sim.Messages("alerts")))
}

// AnyWebhook takes any webhook path and gives each webhook a channel of its own.
func TestAnyWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{AnyWebhook: true})
	require.Equal(t, "ok", b.hook("/services/T0123/B0456ABC/xyz", `{"text":"a"}`).raw)
	require.Equal(t, "ok", b.hook("/services/T0123/B0789DEF/uvw", `{"text":"b"}`).raw)
	require.Equal(t, "ok", b.hook("/services/T0123/B0456ABC/xyz", `{"text":"c"}`).raw)
	require.Equal(t, []string{"a", "c"}, texts(b.sim.Messages("webhook-b0456abc")))
	require.Equal(t, []string{"b"}, texts(b.sim.Messages("#webhook-b0789def")))
	require.Equal(t, "no_service", b.hook("/services/not/a-hook", `{"text":"a"}`).raw)
}

func TestWebhookUnderPrefix(t *testing.T) {
	t.Parallel()
	opts := hookOptions()
	opts.Prefix = "/hooks"
	b := setup(t, opts)
	require.Equal(t, "ok", b.hook("/hooks"+hookAlerts, `{"text":"a"}`).raw)
	require.Len(t, b.sim.Messages("alerts"), 1)
}
