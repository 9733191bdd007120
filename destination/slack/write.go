package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Write posts one message per change, in order, one at a time. The engine sends
// one change per batch (Capabilities.MaxBatchRecords is 1), so that every message
// Slack took is recorded before the next is posted; a longer batch is posted the
// same way, and once a message fails for a reason that is not its own (the
// channel, the token, a 429), it and the rest fail together, unsent, for the
// engine to retry without posting the earlier ones twice.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) error {
	var failed connector.BatchError
	for i, c := range b.Changes {
		text, err := d.render.text(c)
		if err == nil {
			err = d.post(ctx, b, text)
		} else {
			err = rowError{connector.Permanent(err)}
		}
		if err == nil {
			continue
		}
		var re rowError
		if errors.As(err, &re) {
			failed.Fail(i, re.err)
			continue
		}
		if i == 0 {
			return err
		}
		for j := i; j < len(b.Changes); j++ {
			failed.Fail(j, err)
		}
		break
	}
	if failed.Len() > 0 {
		return &failed
	}
	return nil
}

// rowError is a refusal of one message for its content (too long, empty): the
// row fails; the channel and the rest of the run are fine.
type rowError struct{ err error }

func (e rowError) Error() string { return e.err.Error() }
func (e rowError) Unwrap() error { return e.err }

// post sends one message.
func (d *Destination) post(ctx context.Context, b *connector.Batch, text string) error {
	if d.webhook {
		return d.postWebhook(ctx, b, text)
	}
	return d.postMessage(ctx, b, text)
}

// message is chat.postMessage's body; a webhook's takes only the text.
type message struct {
	Channel string `json:"channel,omitempty"`
	Text    string `json:"text"`
}

// encode writes a message as JSON with <, > and & as they are: Slack reads them
// as its own markup (<@U123>, <https://…|label>), which JSON's HTML escaping
// would hide from anyone reading the requests.
func encode(m message) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m) // two strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// apiAnswer is a Web API answer: Slack's errors come with HTTP 200 and ok: false.
type apiAnswer struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Needed   string `json:"needed"`   // missing_scope: the scopes the method needs
	Provided string `json:"provided"` // missing_scope: the token's scopes
	TS       string `json:"ts"`
}

// postMessage posts with chat.postMessage.
func (d *Destination) postMessage(ctx context.Context, b *connector.Batch, text string) error {
	resp, err := d.client.Do(ctx, b, saas.Request{
		Method: http.MethodPost, Path: "/chat.postMessage",
		Body:        encode(message{Channel: d.channel, Text: text}),
		ContentType: "application/json; charset=utf-8",
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// No answer: the message may or may not have been posted; the engine
		// retries it (Slack has no idempotency key, so it may show twice).
		return fmt.Errorf("slack: post to channel %s: %w", d.channel, err)
	}
	ans, ok := readAnswer(resp)
	switch {
	case resp.Throttled:
		return resp.Error(errorCode(ans, resp))
	case ok && ans.OK:
		return nil
	case ok && ans.Error != "":
		return d.apiError(ans, resp)
	case resp.Status >= 300:
		return fmt.Errorf("slack: post to channel %s: %w", d.channel, resp.Error(saas.Snippet(resp.Body)))
	}
	// HTTP 200 without Slack's envelope: a proxy's page, a cut answer. Whether
	// the message was posted is unknown; it is retried.
	return fmt.Errorf("slack: post to channel %s: HTTP %d without Slack's answer (ok): %s", d.channel, resp.Status, saas.Snippet(resp.Body))
}

// readAnswer reads a Web API answer; ok is false when the body is not one.
func readAnswer(resp *saas.Response) (apiAnswer, bool) {
	var a apiAnswer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return a, false
	}
	return a, a.OK || a.Error != ""
}

func errorCode(a apiAnswer, resp *saas.Response) string {
	if a.Error != "" {
		return a.Error
	}
	return saas.Snippet(resp.Body)
}

// postWebhook posts through the incoming webhook, which answers "ok" or an
// error as plain text.
func (d *Destination) postWebhook(ctx context.Context, b *connector.Batch, text string) error {
	resp, err := d.client.Do(ctx, b, saas.Request{
		Method: http.MethodPost, Body: encode(message{Text: text}),
		ContentType: "application/json; charset=utf-8",
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("slack: post through the incoming webhook: %w", err)
	}
	if resp.Status == http.StatusOK && !resp.Throttled && strings.TrimSpace(string(resp.Body)) == "ok" {
		return nil
	}
	return webhookError(resp)
}

// isThrottled tells Slack's rate limiting: a 429, or (from older endpoints) an
// answer whose error is ratelimited.
func isThrottled(status int, _ http.Header, body []byte) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	if status != http.StatusOK || len(body) == 0 || body[0] != '{' {
		return false
	}
	var a apiAnswer
	return json.Unmarshal(body, &a) == nil && !a.OK && (a.Error == "ratelimited" || a.Error == "rate_limited")
}
