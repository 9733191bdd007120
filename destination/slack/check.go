package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Check verifies, before anything is posted, that the bot token works
// (auth.test) and that the channel exists, is not archived and has the bot as a
// member (conversations.info). An incoming webhook cannot be checked without
// posting a message, so with webhook_url there is nothing to check: the first
// message shows a wrong URL, and the run stops after a few.
//
// Answers that say nothing of the setup (a 429, Slack's trouble) let the run go
// on: its first message finds out. So does a token without the scope
// conversations.info needs (channels:read, groups:read for private channels):
// posting needs only chat:write.
func (d *Destination) Check(ctx context.Context) error {
	if d.webhook {
		return nil
	}
	auth, resp, err := d.call(ctx, http.MethodPost, "/auth.test", nil)
	if err != nil || auth == nil {
		return err
	}
	if !auth.OK {
		return connector.Permanent(fmt.Errorf("slack: check bot_token (auth.test): Slack answered %s: %s", auth.Error, apiFix(auth.Error, auth.apiAnswer)))
	}
	scopes := scopeList(resp.Header.Get("X-OAuth-Scopes"))
	if scopes != nil && !slices.Contains(scopes, "chat:write") {
		return connector.Permanent(fmt.Errorf("slack: check bot_token: the app has no chat:write scope (it has %s): add it under OAuth & Permissions › Bot Token Scopes and reinstall the app", strings.Join(scopes, ", ")))
	}

	info, _, err := d.call(ctx, http.MethodGet, "/conversations.info", url.Values{"channel": {d.channel}})
	if err != nil || info == nil {
		return err
	}
	where := "channel " + d.channel
	if info.Channel.Name != "" {
		where += " (#" + info.Channel.Name + ")"
	}
	bot := "@" + auth.User
	if auth.User == "" {
		bot = "@your-app"
	}
	switch {
	case info.Error == "missing_scope":
		d.log.Info("slack: the channel is not checked before sending: the token lacks channels:read (groups:read for a private channel), which conversations.info needs; the first message will tell whether the bot may post", logError, info.Error)
		return nil
	case !info.OK:
		return connector.Permanent(fmt.Errorf("slack: check %s (conversations.info): Slack answered %s: %s", where, info.Error, apiFix(info.Error, info.apiAnswer)))
	case info.Channel.IsArchived:
		return connector.Permanent(fmt.Errorf("slack: check %s: the channel is archived: unarchive it, or set channel to another", where))
	case !info.Channel.IsMember && (info.Channel.IsPrivate || !slices.Contains(scopes, "chat:write.public")):
		return connector.Permanent(fmt.Errorf("slack: check %s: the app's bot (%s) is not a member of the channel: invite it (/invite %s in the channel), or give the app the chat:write.public scope to post to public channels without joining", where, bot, bot))
	}
	return nil
}

// checkAnswer is auth.test's or conversations.info's answer.
type checkAnswer struct {
	apiAnswer
	User    string `json:"user"` // auth.test: the bot's name
	Team    string `json:"team"`
	Channel struct {
		Name       string `json:"name"`
		IsPrivate  bool   `json:"is_private"`
		IsArchived bool   `json:"is_archived"`
		IsMember   bool   `json:"is_member"`
	} `json:"channel"`
}

// call makes one of the check's calls. It returns a nil answer (and no error)
// when the answer says nothing of the setup: the check then lets the run go on.
func (d *Destination) call(ctx context.Context, method, path string, q url.Values) (*checkAnswer, *saas.Response, error) {
	resp, err := d.checkClient.Do(ctx, nil, saas.Request{Method: method, Path: path, Query: q})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("slack: check the bot token and channel at %s: %w", d.checkClient.BaseURL, err)
	}
	var a checkAnswer
	if json.Unmarshal(resp.Body, &a) != nil || (!a.OK && a.Error == "") || resp.Throttled || resp.Status >= 500 {
		d.log.Info("slack: the check got no usable answer; the run goes on and its first message will tell",
			logError, fmt.Sprintf("%s: HTTP %d: %s", path, resp.Status, saas.Snippet(resp.Body)))
		return nil, resp, nil
	}
	if e, ok := apiErrors[a.Error]; ok && e.kind == kindTransient {
		return nil, resp, nil
	}
	return &a, resp, nil
}

func apiFix(code string, a apiAnswer) string {
	if code == "missing_scope" && a.Needed != "" {
		return fmt.Sprintf("the app needs the scope %s (it has %s): add it under OAuth & Permissions › Bot Token Scopes and reinstall the app", a.Needed, a.Provided)
	}
	if e, ok := apiErrors[code]; ok {
		return e.fix
	}
	return "see https://docs.slack.dev/reference/methods/chat.postMessage#errors"
}

// scopeList reads the X-OAuth-Scopes header Slack sends with every answer; nil
// when it is absent.
func scopeList(h string) []string {
	if strings.TrimSpace(h) == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(h, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
