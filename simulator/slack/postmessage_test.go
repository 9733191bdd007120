package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPostMessageJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"*Done*"}}]`
	a := b.do(req{path: "/api/chat.postMessage", body: `{"channel":"C0000ALERT","text":"Sync finished: 1,204 rows",
		"blocks":` + blocks + `,"mrkdwn":false,"unfurl_links":true}`})
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"))
	require.Len(t, a.header.Get("X-Slack-Req-Id"), 32)
	ts := fmt.Sprintf("%d.000000", t0.Unix())
	require.JSONEq(t, `{"ok":true,"channel":"C0000ALERT","ts":"`+ts+`","message":{
		"user":"U0SIMBOT1","type":"message","ts":"`+ts+`","bot_id":"B0SIMBOT1","app_id":"A0SIMAPP1",
		"text":"Sync finished: 1,204 rows","team":"T0SIM0001",
		"bot_profile":{"id":"B0SIMBOT1","app_id":"A0SIMAPP1","name":"sluice","deleted":false,"team_id":"T0SIM0001"},
		"blocks":`+blocks+`}}`, a.raw)

	no, yes := false, true
	require.Equal(t, []Message{{
		Channel: "C0000ALERT", TS: ts, Text: "Sync finished: 1,204 rows", Blocks: json.RawMessage(blocks),
		Mrkdwn: &no, UnfurlLinks: &yes, Via: ViaAPI, Time: t0,
	}}, b.sim.Messages("C0000ALERT"))
	require.Empty(t, b.sim.Failures())
}

// A form body carries blocks as a JSON string; the token may be a field.
func TestPostMessageForm(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	vals := url.Values{
		"token":        {testToken},
		"channel":      {"C0000SALES"},
		"text":         {"New deal"},
		"blocks":       {`[{"type":"divider"}, {"type":"header","text":{"type":"plain_text","text":"Deal"}}]`},
		"thread_ts":    {"1712345678.000100"},
		"username":     {"Deals bot"},
		"icon_emoji":   {":moneybag:"},
		"unfurl_media": {"false"},
	}
	a := b.do(req{path: "/api/chat.postMessage", ctype: "application/x-www-form-urlencoded", body: vals.Encode(), token: "-"})
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Nil(t, a.body["warning"])
	msg := a.body["message"].(map[string]any)
	require.Equal(t, "Deals bot", msg["username"])
	require.Equal(t, "1712345678.000100", msg["thread_ts"])

	no := false
	got := b.sim.Messages("sales")
	require.Len(t, got, 1)
	require.Equal(t, Message{
		Channel: "C0000SALES", TS: got[0].TS, Text: "New deal",
		Blocks:   json.RawMessage(`[{"type":"divider"},{"type":"header","text":{"type":"plain_text","text":"Deal"}}]`),
		ThreadTS: "1712345678.000100", Username: "Deals bot", IconEmoji: ":moneybag:",
		UnfurlMedia: &no, Via: ViaAPI, Time: t0,
	}, got[0])

	// multipart/form-data is read the same way.
	body := "--XX\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nC0000SALES\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nsecond\r\n--XX--\r\n"
	a = b.do(req{path: "/api/chat.postMessage", ctype: "multipart/form-data; boundary=XX", body: body})
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Equal(t, []string{"New deal", "second"}, texts(b.sim.Messages("C0000SALES")))
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(req{path: "/api/chat.postMessage", ctype: "application/json", body: `{"channel":"C0000ALERT","text":"hi"}`})
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Equal(t, "missing_charset", a.body["warning"])
	require.Equal(t, map[string]any{
		"warnings": []any{"missing_charset"},
		"messages": []any{"[WARN] A Content-Type HTTP header was presented but did not declare a charset, such as a 'utf-8'"},
	}, a.body["response_metadata"])

	a = b.do(req{path: "/api/chat.postMessage", ctype: "application/x-www-form-urlencoded; charset=utf-8", body: "channel=C0000ALERT&text=hi"})
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Equal(t, "superfluous_charset", a.body["warning"])
	require.Equal(t, map[string]any{"warnings": []any{"superfluous_charset"}}, a.body["response_metadata"])

	// Warnings come with errors too.
	a = b.do(req{path: "/api/chat.postMessage", ctype: "application/json", body: `{"channel":"C0000NONE1","text":"hi"}`})
	failed(t, a, "channel_not_found")
	require.Equal(t, "missing_charset", a.body["warning"])
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		r    req
		want string // "" is success
	}{
		{"no token", Options{}, req{token: "-"}, "not_authed"},
		{"any xox token when none configured", Options{}, req{token: "xoxb-anything"}, ""},
		{"user token", Options{}, req{token: "xoxp-123"}, ""},
		{"not a slack token", Options{}, req{token: "pat-na1-123"}, "invalid_auth"},
		{"unknown token", Options{Tokens: []string{"xoxb-good"}}, req{token: "xoxb-bad"}, "invalid_auth"},
		{"configured token", Options{Tokens: []string{"xoxb-good"}}, req{token: "xoxb-good"}, ""},
		{"revoked", Options{RevokedTokens: []string{"xoxb-gone"}}, req{token: "xoxb-gone"}, "token_revoked"},
		{"inactive", Options{InactiveTokens: []string{"xoxb-old"}}, req{token: "xoxb-old"}, "account_inactive"},
		{"token in a JSON body is not read", Options{}, req{token: "-", body: `{"token":"xoxb-1","channel":"C0000ALERT","text":"x"}`}, "not_authed"},
		{"token in the query is not read", Options{}, req{token: "-", path: "/api/chat.postMessage?token=xoxb-1"}, "not_authed"},
		{"form token", Options{}, req{token: "-", ctype: "application/x-www-form-urlencoded", body: "token=xoxb-1&channel=C0000ALERT&text=x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			r := tt.r
			if r.path == "" {
				r.path = "/api/chat.postMessage"
			}
			if r.body == "" {
				r.body = `{"channel":"C0000ALERT","text":"x"}`
			}
			a := b.do(r)
			require.Equal(t, http.StatusOK, a.status, a.raw)
			if tt.want == "" {
				require.Equal(t, true, a.body["ok"], a.raw)
				require.Len(t, b.sim.AllMessages(), 1)
				return
			}
			require.Equal(t, map[string]any{"ok": false, "error": tt.want}, a.body)
			require.Empty(t, b.sim.AllMessages())
			require.Equal(t, []Failure{{Time: t0, Via: ViaAPI, Channel: "C0000ALERT", Status: 200, Error: tt.want}}, b.sim.Failures())
		})
	}
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	require.Equal(t, true, b.post("C0000ALERT", "one").body["ok"])
	b.sim.RevokeToken(testToken)
	failed(t, b.post("C0000ALERT", "two"), "token_revoked")
	failed(t, b.do(req{path: "/api/auth.test"}), "token_revoked")
	require.Equal(t, []string{"one"}, texts(b.sim.AllMessages()))
}

func TestPostMessageErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 40_001)
	section := func(text string) string {
		return `[{"type":"section","text":{"type":"mrkdwn","text":"` + text + `"}}]`
	}
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	tests := []struct {
		name   string
		opts   Options
		r      req
		want   string
		errors []string // the errors[] of invalid_blocks
	}{
		{"no channel", Options{}, req{body: `{"text":"hi"}`}, "channel_not_found", nil},
		{"unknown channel ID", Options{}, req{body: `{"channel":"C0000NONE1","text":"hi"}`}, "channel_not_found", nil},
		{"unknown channel name", Options{}, req{body: `{"channel":"#nowhere","text":"hi"}`}, "channel_not_found", nil},
		{"archived", Options{}, req{body: `{"channel":"C0000OLDIE","text":"hi"}`}, "is_archived", nil},
		{"bot not in the channel", Options{}, req{body: `{"channel":"#random","text":"hi"}`}, "not_in_channel", nil},
		{"private channel the bot is not in", Options{}, req{body: `{"channel":"G0000SECRT","text":"hi"}`}, "channel_not_found", nil},
		{"private channel, even with chat:write.public", Options{WritePublic: true}, req{body: `{"channel":"G0000SECRT","text":"hi"}`}, "channel_not_found", nil},
		{"no text", Options{}, req{body: `{"channel":"C0000ALERT"}`}, "no_text", nil},
		{"empty text", Options{}, req{body: `{"channel":"C0000ALERT","text":"","blocks":[]}`}, "no_text", nil},
		{"text over 40,000 characters, RefuseLongText", Options{RefuseLongText: true}, req{body: `{"channel":"C0000ALERT","text":"` + long + `"}`}, "msg_too_long", nil},
		{"lower MaxTextChars, RefuseLongText", Options{MaxTextChars: 5, RefuseLongText: true}, req{body: `{"channel":"C0000ALERT","text":"123456"}`}, "msg_too_long", nil},
		{"text not a string", Options{}, req{body: `{"channel":"C0000ALERT","text":{"a":1}}`}, "invalid_arguments", nil},
		{"blocks not JSON", Options{}, req{ctype: "application/x-www-form-urlencoded", body: "channel=C0000ALERT&blocks=%5B%7Bnope"}, "invalid_blocks_format", nil},
		{"blocks an object", Options{}, req{body: `{"channel":"C0000ALERT","blocks":{"type":"divider"}}`}, "invalid_blocks_format", nil},
		{"section text over 3,000", Options{}, req{body: `{"channel":"C0000ALERT","text":"x","blocks":` + section(strings.Repeat("a", 3001)) + `}`}, "invalid_blocks",
			[]string{"failed to match all allowed schemas [json-pointer:/blocks/0/text]", "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"}},
		{"51 blocks", Options{}, req{body: `{"channel":"C0000ALERT","blocks":` + many(51, `{"type":"divider"}`) + `}`}, "invalid_blocks",
			[]string{"no more than 50 items allowed [json-pointer:/blocks]"}},
		{"unknown block type", Options{}, req{body: `{"channel":"C0000ALERT","blocks":[{"type":"divider"},{"type":"banner"}]}`}, "invalid_blocks",
			[]string{"unsupported type: banner [json-pointer:/blocks/1/type]"}},
		{"block without type", Options{}, req{body: `{"channel":"C0000ALERT","blocks":[{"text":"x"}]}`}, "invalid_blocks",
			[]string{"missing required field: type [json-pointer:/blocks/0]"}},
		{"header text too long", Options{}, req{body: `{"channel":"C0000ALERT","blocks":[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]}`}, "invalid_blocks",
			[]string{"must be less than 151 characters [json-pointer:/blocks/0/text/text]"}},
		{"section with neither text nor fields", Options{}, req{body: `{"channel":"C0000ALERT","blocks":[{"type":"section"}]}`}, "invalid_blocks",
			[]string{"must provide either text or fields [json-pointer:/blocks/0]"}},
		{"101 attachments", Options{}, req{body: `{"channel":"C0000ALERT","attachments":` + many(101, `{"text":"a"}`) + `}`}, "too_many_attachments", nil},
		{"attachments not an array", Options{}, req{body: `{"channel":"C0000ALERT","attachments":"nope"}`}, "invalid_attachments", nil},
		{"malformed JSON", Options{}, req{body: `{"channel":`}, "invalid_json", nil},
		{"JSON not an object", Options{}, req{body: `["C0000ALERT"]`}, "json_not_object", nil},
		{"no Content-Type", Options{}, req{ctype: "-", body: `{"channel":"C0000ALERT","text":"x"}`}, "missing_post_type", nil},
		{"unknown Content-Type", Options{}, req{ctype: "application/xml", body: `<x/>`}, "invalid_post_type", nil},
		{"unknown charset", Options{}, req{ctype: "application/json; charset=koi8-r", body: `{}`}, "invalid_charset", nil},
		{"rejected by the test", Options{Reject: func(m Message) string {
			if strings.Contains(m.Text, "secret") {
				return "restricted_action"
			}
			return ""
		}}, req{body: `{"channel":"C0000ALERT","text":"the secret plan"}`}, "restricted_action", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			r := tt.r
			r.path = "/api/chat.postMessage"
			a := b.do(r)
			failed(t, a, tt.want)
			if tt.errors != nil {
				require.Equal(t, toAny(tt.errors), a.body["errors"])
				var messages []string
				for _, e := range tt.errors {
					messages = append(messages, "[ERROR] "+e)
				}
				require.Equal(t, map[string]any{"messages": toAny(messages)}, a.body["response_metadata"])
			} else {
				require.Nil(t, a.body["errors"])
			}
			require.Empty(t, b.sim.AllMessages())
			fs := b.sim.Failures()
			require.Len(t, fs, 1)
			require.Equal(t, tt.want, fs[0].Error)
			require.Equal(t, ViaAPI, fs[0].Via)
		})
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Text up to the limit is kept whole; longer text is cut to it, as the
// method's docs say ("Slack will truncate messages containing more than 40,000
// characters"). Characters are counted, not bytes.
func TestTextLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	text := strings.Repeat("é", 40_000)
	require.Equal(t, true, b.post("C0000ALERT", text).body["ok"])
	require.Equal(t, text, b.sim.Messages("C0000ALERT")[0].Text)

	b = setup(t, Options{})
	a := b.post("C0000ALERT", strings.Repeat("a", 40_001))
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Equal(t, strings.Repeat("a", 40_000), a.body["message"].(map[string]any)["text"])
	require.Equal(t, strings.Repeat("a", 40_000), b.sim.Messages("C0000ALERT")[0].Text)

	b = setup(t, Options{MaxTextChars: 5})
	a = b.post("C0000ALERT", "héllo, world")
	require.Equal(t, true, a.body["ok"], a.raw)
	require.Equal(t, "héllo", a.body["message"].(map[string]any)["text"])
	require.Equal(t, []string{"héllo"}, texts(b.sim.Messages("C0000ALERT")))
}

// Text may be left out when blocks or attachments carry the message.
func TestBlocksOrAttachmentsWithoutText(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.call("chat.postMessage", map[string]any{"channel": "C0000ALERT",
		"blocks": []any{map[string]any{"type": "section", "fields": []any{map[string]any{"type": "mrkdwn", "text": "*Rows*"}}}}})
	require.Equal(t, true, a.body["ok"], a.raw)
	a = b.call("chat.postMessage", map[string]any{"channel": "C0000ALERT", "attachments": `[{"fallback":"f","text":"t"}]`})
	require.Equal(t, true, a.body["ok"], a.raw)
	ms := b.sim.Messages("C0000ALERT")
	require.Len(t, ms, 2)
	require.JSONEq(t, `[{"type":"section","fields":[{"type":"mrkdwn","text":"*Rows*"}]}]`, string(ms[0].Blocks))
	require.JSONEq(t, `[{"fallback":"f","text":"t"}]`, string(ms[1].Attachments))
}

func TestChannelByName(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for _, ref := range []string{"#alerts", "alerts", "C0000ALERT"} {
		b.clock.Advance(time.Second) // one message a second per channel
		a := b.post(ref, "via "+ref)
		require.Equal(t, true, a.body["ok"], a.raw)
		require.Equal(t, "C0000ALERT", a.body["channel"], "the answer names the channel by ID")
	}
	require.Equal(t, []string{"via #alerts", "via alerts", "via C0000ALERT"}, texts(b.sim.Messages("#alerts")))
	require.Equal(t, texts(b.sim.Messages("alerts")), texts(b.sim.Messages("C0000ALERT")))
	require.Nil(t, b.sim.Messages("nowhere"))

	// A private channel the bot is in is found by name too.
	require.Equal(t, true, b.post("#private-ops", "p").body["ok"])
}

func TestWritePublic(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{WritePublic: true})
	require.Equal(t, true, b.post("#random", "hello").body["ok"])
	failed(t, b.post("#old-news", "hello"), "is_archived")
}

// AnyChannel creates channels on first use, by ID or by name.
func TestAnyChannel(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{AnyChannel: true})
	a := b.post("C0NEWCHAN1", "by id")
	require.Equal(t, true, a.body["ok"], a.raw)
	a = b.post("#deploys", "by name")
	require.Equal(t, true, a.body["ok"], a.raw)
	id := a.body["channel"].(string)
	require.Regexp(t, `^C[0-9A-F]{10}$`, id)
	require.Equal(t, id, b.post("deploys", "again").body["channel"], "the same name is the same channel")
	require.Equal(t, []string{"by name", "again"}, texts(b.sim.Messages(id)))
	require.Equal(t, Channel{Name: "c0newchan1", Member: true}, b.sim.Channels()["C0NEWCHAN1"])
	failed(t, b.post("#Not Valid", "x"), "channel_not_found")
	failed(t, b.post("#old-news", "x"), "is_archived")
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	body := `{"channel":"C0000ALERT","text":"x"}`
	require.Equal(t, true, b.do(req{path: "/api/chat.postMessage", body: body}).body["ok"])
	b.clock.Advance(time.Second)
	require.Equal(t, true, b.do(req{path: "/chat.postMessage", body: body}).body["ok"], "base_url without /api")

	a := b.do(req{path: "/api/chat.scheduleMessage", body: body})
	require.Equal(t, http.StatusNotFound, a.status)
	require.Equal(t, map[string]any{"ok": false, "error": "unknown_method", "req_method": "chat.scheduleMessage"}, a.body)
	require.Equal(t, http.StatusMethodNotAllowed, b.do(req{method: http.MethodPut, path: "/api/chat.postMessage", body: body}).status)
	b.clock.Advance(time.Second)
	a = b.do(req{method: http.MethodGet, path: "/api/chat.postMessage?channel=C0000ALERT&text=get"})
	require.Equal(t, true, a.body["ok"], "GET with query arguments, as Slack allows: %s", a.raw)

	p := setup(t, Options{Prefix: "slack/"})
	require.Equal(t, true, p.do(req{path: "/slack/api/chat.postMessage", body: body}).body["ok"])
	require.Equal(t, true, p.do(req{path: "/slack/chat.postMessage", body: body}).body["ok"])
	require.Equal(t, http.StatusNotFound, p.do(req{path: "/api/chat.postMessage", body: body}).status)
	require.Equal(t, http.StatusNotFound, p.do(req{path: "/slackapi/chat.postMessage", body: body}).status)
	require.Len(t, p.sim.AllMessages(), 2)
}

func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{MaxBodyBytes: 100})
	a := b.do(req{path: "/api/chat.postMessage", body: `{"channel":"C0000ALERT","text":"` + strings.Repeat("x", 100) + `"}`})
	require.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	require.Empty(t, b.sim.AllMessages())
}
