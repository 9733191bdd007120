package slack

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// webhookStatus is the HTTP status of each error an incoming webhook answers,
// from Slack's webhook docs and its 2016 changelog; an error not listed (one a
// Reject hook made up) is a 400.
var webhookStatus = map[string]int{
	"invalid_payload":                   http.StatusBadRequest,
	"user_not_found":                    http.StatusBadRequest,
	"no_text":                           http.StatusBadRequest,
	"too_many_attachments":              http.StatusBadRequest,
	"invalid_blocks":                    http.StatusBadRequest,
	"invalid_blocks_format":             http.StatusBadRequest,
	"invalid_attachments":               http.StatusBadRequest,
	"msg_too_long":                      http.StatusBadRequest,
	"no_service_id":                     http.StatusBadRequest,
	"action_prohibited":                 http.StatusForbidden,
	"posting_to_general_channel_denied": http.StatusForbidden,
	"invalid_token":                     http.StatusForbidden,
	"team_disabled":                     http.StatusForbidden,
	"channel_not_found":                 http.StatusNotFound,
	"no_service":                        http.StatusNotFound,
	"no_team":                           http.StatusNotFound,
	"channel_is_archived":               http.StatusGone,
	"rate_limited":                      http.StatusTooManyRequests,
	"rollup_error":                      http.StatusInternalServerError,
}

// hookReply is an incoming webhook's answer: the word as text/html, the type
// hooks.slack.com sends.
func hookReply(status int, text string) reply {
	return reply{status: status, contentType: "text/html", body: []byte(text)}
}

// webhook answers a POST to an incoming webhook: 200 "ok", or a status with
// the error as plain text. A known T…/B… with a wrong secret is 403
// invalid_token; an unknown one is 404 no_service.
func (s *Server) webhook(c *call) reply {
	key := webhookKey(c.path)
	channel := ""
	refuse := func(err string) reply {
		status, ok := webhookStatus[err]
		if !ok {
			status = http.StatusBadRequest
		}
		s.fail(Failure{Time: c.received, Via: ViaWebhook, Channel: channel, Status: status, Error: err})
		return hookReply(status, err)
	}
	if c.r.Method != http.MethodPost {
		return hookReply(http.StatusMethodNotAllowed, "invalid_method")
	}
	id, ok := s.webhookChannel(key)
	switch {
	case !ok && s.knownWebhook(key):
		return refuse("invalid_token")
	case !ok:
		return refuse("no_service")
	}
	channel = id

	a, ok := webhookPayload(c.r, c.body)
	if !ok {
		return refuse("invalid_payload")
	}

	s.mu.RLock()
	ch, exists := s.channels[id]
	s.mu.RUnlock()
	switch {
	case !exists:
		return refuse("channel_not_found")
	case ch.Archived:
		return refuse("channel_is_archived")
	}

	m, _, bad := s.readMessage(a, id, c)
	if bad == "invalid_arguments" {
		bad = "invalid_payload"
	}
	if bad != "" {
		return refuse(bad)
	}
	m.Via, m.Webhook = ViaWebhook, key

	// A refused message is checked before the rate limit and takes none of it.
	limits := s.limits.Load()
	if ok, wait := limits.post(id, false); !ok {
		s.fail(Failure{Time: c.received, Via: ViaWebhook, Channel: channel, Status: http.StatusTooManyRequests, Error: "rate_limited"})
		return throttled(true, wait)
	}
	if m, bad = s.commit(m); bad != "" {
		limits.unpost(id)
		return refuse(bad)
	}
	return hookReply(http.StatusOK, "ok")
}

// knownWebhook says whether a webhook with key's T…/B… exists (under another
// secret).
func (s *Server) knownWebhook(key string) bool {
	i := strings.LastIndexByte(key, '/')
	if i < 0 || !webhookRE.MatchString(key) {
		return false
	}
	prefix := key[:i+1]
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k := range s.webhooks {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// webhookChannel finds a webhook's channel; with AnyWebhook an unknown webhook
// is registered, posting to a channel of its own named after its B… part.
func (s *Server) webhookChannel(key string) (string, bool) {
	s.mu.RLock()
	id, ok := s.webhooks[key]
	s.mu.RUnlock()
	if ok || !s.opts.AnyWebhook || !webhookRE.MatchString(key) {
		return id, ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.webhooks[key]; ok {
		return id, true
	}
	name := "webhook-" + strings.ToLower(strings.Split(key, "/")[1])
	id, ok = s.names[name]
	if !ok {
		id = derivedID(name)
		s.channels[id] = Channel{Name: name, Member: true}
		s.names[name] = id
	}
	s.webhooks[key] = id
	return id, true
}

// webhookPayload reads a webhook's JSON body, or the JSON of a form body's
// "payload" field (the older way). A form-typed body without "payload" is read
// as JSON, as hooks.slack.com does for curl -d '{…}'.
func webhookPayload(r *http.Request, body []byte) (*args, bool) {
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	raw := bytes.TrimSpace(body)
	if media == "application/x-www-form-urlencoded" {
		if vals, err := url.ParseQuery(string(body)); err == nil && vals.Has("payload") {
			raw = []byte(vals.Get("payload"))
		}
	}
	a := &args{form: url.Values{}}
	if !utf8.Valid(raw) || json.Unmarshal(raw, &a.json) != nil || a.json == nil {
		return nil, false
	}
	return a, true
}
