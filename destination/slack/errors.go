package slack

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// What an error of Slack's means for the run.
type errorKind uint8

const (
	// kindSetup: the channel, the token or the workspace refuses every message
	// (channel_not_found, invalid_auth): the row fails, and the run stops after
	// a few such failures in a row rather than posting the rest in vain.
	kindSetup errorKind = iota
	// kindMessage: Slack refused this message for its content (msg_too_long):
	// the row fails alone and is sent again on the next run.
	kindMessage
	// kindTransient: Slack's trouble (internal_error): retried with backoff.
	kindTransient
)

type slackError struct {
	kind errorKind
	fix  string // what the user does about it
}

// Fixes that several errors share.
const (
	fixToken = "check bot_token: it must be the Bot User OAuth Token (xoxb-…) of an app installed in the workspace (the app's OAuth & Permissions page)"
	fixGone  = "the token no longer works (the app was uninstalled, the token rotated or revoked, or its workspace or user deactivated): reinstall the app and put its new bot token in bot_token"
	fixText  = "shorten the message: cut long columns in the template, e.g. {{ row.notes | truncate: 2000 }}"
	fixAdmin = "a workspace admin restricts who may post there: ask them to allow the app, or post to another channel"
)

// apiErrors are chat.postMessage's errors
// (https://docs.slack.dev/reference/methods/chat.postMessage#errors). Errors not
// listed are taken as the setup's: the row fails and repeated failures stop
// the run.
var apiErrors = map[string]slackError{
	"channel_not_found":                     {kindSetup, "check channel: it must be the ID of a channel in the token's workspace (in Slack, the channel's details › About); a private channel is found only once the app is invited to it (/invite @your-app in the channel)"},
	"not_in_channel":                        {kindSetup, "invite the app's bot to the channel (/invite @your-app in the channel), or give the app the chat:write.public scope to post to public channels without joining"},
	"is_archived":                           {kindSetup, "the channel is archived: unarchive it, or set channel to another"},
	"invalid_auth":                          {kindSetup, fixToken},
	"not_authed":                            {kindSetup, fixToken},
	"token_revoked":                         {kindSetup, fixGone},
	"token_expired":                         {kindSetup, fixGone + " (a rotating token expired: give Sluice a token without expiry)"},
	"account_inactive":                      {kindSetup, fixGone},
	"missing_scope":                         {kindSetup, "add the chat:write scope to the app (OAuth & Permissions › Bot Token Scopes) and reinstall it"},
	"no_permission":                         {kindSetup, "the token may not post to this channel: invite the app to it, or check the app's scopes"},
	"access_denied":                         {kindSetup, fixAdmin},
	"restricted_action":                     {kindSetup, fixAdmin},
	"restricted_action_read_only_channel":   {kindSetup, "the channel is read-only for apps: post to another channel, or ask an admin to let the app post"},
	"restricted_action_thread_only_channel": {kindSetup, "the channel takes only thread replies: post to another channel"},
	"ekm_access_denied":                     {kindSetup, "the workspace's admins have suspended posting (Enterprise Key Management)"},
	"team_access_not_granted":               {kindSetup, "the token has no access to the channel's workspace: install the app in it"},
	"org_login_required":                    {kindSetup, "the workspace is migrating to an Enterprise Grid organisation: run again once it is done"},
	"not_allowed_token_type":                {kindSetup, "this kind of token cannot post: use the Bot User OAuth Token (xoxb-…)"},
	"enterprise_is_restricted":              {kindSetup, "the token is an organisation's: use a bot token installed in the channel's workspace"},

	"msg_too_long":          {kindMessage, "the message is longer than Slack takes (40,000 characters): " + fixText},
	"no_text":               {kindMessage, "the message is empty: give rows whose columns are null a text, e.g. {{ row.name | default: 'unnamed' }}"},
	"too_many_attachments":  {kindMessage, "the message carries too many attachments"},
	"invalid_blocks":        {kindMessage, "the message's blocks are invalid"},
	"invalid_blocks_format": {kindMessage, "the message's blocks are invalid"},
	"message_too_long":      {kindMessage, fixText},

	"internal_error":      {kindTransient, "Slack's trouble: retried"},
	"fatal_error":         {kindTransient, "Slack's trouble: retried (Slack says the message may have been posted, in which case it shows twice)"},
	"service_unavailable": {kindTransient, "Slack is unavailable: retried"},
	"request_timeout":     {kindTransient, "the request reached Slack incomplete: retried"},
	"team_added_to_org":   {kindTransient, "the workspace is migrating to an Enterprise Grid organisation: retried"},
}

// apiError turns chat.postMessage's ok: false into the engine's terms.
func (d *Destination) apiError(a apiAnswer, resp *saas.Response) error {
	fix := apiFix(a.Error, a)
	switch apiErrors[a.Error].kind {
	case kindMessage:
		return rowError{connector.Permanent(fmt.Errorf("Slack refused the message: %s: %s", a.Error, fix))}
	case kindTransient:
		err := fmt.Errorf("slack: post to channel %s: Slack answered %s: %s", d.channel, a.Error, fix)
		if resp.Retry > 0 {
			return connector.RetryAfter(err, resp.Retry)
		}
		return err
	}
	return connector.Permanent(fmt.Errorf("slack: post to channel %s: Slack answered %s: %s", d.channel, a.Error, fix))
}

// webhookErrors are an incoming webhook's plain-text errors
// (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks and
// https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks).
var webhookErrors = map[string]slackError{
	"invalid_payload":       {kindMessage, "Slack could not read the message"},
	"no_text":               {kindMessage, "the message is empty: give rows whose columns are null a text, e.g. {{ row.name | default: 'unnamed' }}"},
	"msg_too_long":          {kindMessage, "the message is longer than Slack takes (40,000 characters): " + fixText},
	"too_many_attachments":  {kindMessage, "the message carries too many attachments"},
	"invalid_blocks":        {kindMessage, "the message's blocks are invalid"},
	"invalid_blocks_format": {kindMessage, "the message's blocks are invalid"},
	"invalid_attachments":   {kindMessage, "the message's attachments are invalid"},
	"user_not_found":        {kindMessage, "the message names a user Slack does not know"},

	"no_service":                        {kindSetup, "the incoming webhook is disabled or was removed (the app uninstalled, the webhook revoked): create a new one and put its URL in webhook_url"},
	"no_service_id":                     {kindSetup, "webhook_url is incomplete: copy the whole URL from the app's Incoming Webhooks page"},
	"no_team":                           {kindSetup, "the webhook's workspace is gone: create a webhook in the workspace and put its URL in webhook_url"},
	"invalid_token":                     {kindSetup, "the webhook's token is invalid: create a new webhook and put its URL in webhook_url"},
	"team_disabled":                     {kindSetup, "the webhook's workspace is disabled"},
	"channel_not_found":                 {kindSetup, "the webhook's channel was deleted: create a webhook for another channel and put its URL in webhook_url"},
	"channel_is_archived":               {kindSetup, "the webhook's channel is archived: unarchive it, or create a webhook for another channel"},
	"action_prohibited":                 {kindSetup, fixAdmin},
	"posting_to_general_channel_denied": {kindSetup, "only admins may post to the workspace's general channel: create the webhook for another channel"},

	"rollup_error": {kindTransient, "Slack's trouble: retried"},
}

// webhookError turns a webhook's answer other than 200 "ok" into the engine's terms.
func webhookError(resp *saas.Response) error {
	code := strings.TrimSpace(string(resp.Body))
	if resp.Throttled {
		return fmt.Errorf("slack: post through the incoming webhook: %w", resp.Error(saas.Snippet(resp.Body)))
	}
	e, known := webhookErrors[code]
	switch {
	case known && e.kind == kindMessage:
		return rowError{connector.Permanent(fmt.Errorf("Slack refused the message: HTTP %d %s: %s", resp.Status, code, e.fix))}
	case known && e.kind == kindSetup:
		return connector.Permanent(fmt.Errorf("slack: post through the incoming webhook: HTTP %d %s: %s", resp.Status, code, e.fix))
	case known:
		return fmt.Errorf("slack: post through the incoming webhook: HTTP %d %s: %s", resp.Status, code, e.fix)
	case resp.Status == http.StatusOK:
		// A 200 that is not Slack's "ok" (a proxy's or a sign-in page, a
		// webhook_url that is not Slack's) posted nothing.
		return connector.Permanent(fmt.Errorf("slack: post through the incoming webhook: HTTP 200 without Slack's answer (ok), so no message was posted: check that webhook_url is the incoming webhook's URL as Slack shows it: %s", saas.Snippet(resp.Body)))
	}
	// Not one of Slack's words (a proxy's page): by its status, 5xx retried,
	// other errors not.
	return fmt.Errorf("slack: post through the incoming webhook: %w", resp.Error(saas.Snippet(resp.Body)))
}
