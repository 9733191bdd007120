package slack

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Channel is a conversation of the simulated workspace, as Options.Channels
// describes it (keyed by its ID).
type Channel struct {
	// Name is the channel's name without "#", e.g. "alerts".
	Name string
	// Member says the app's bot user is in the channel. A bot posts only to
	// channels it is a member of (not_in_channel), unless WritePublic lets it
	// post to any public one.
	Member bool
	// Archived channels refuse posts (is_archived; 410 channel_is_archived on
	// a webhook).
	Archived bool
	// Private channels are invisible to a bot that is not a member
	// (channel_not_found, as Slack hides them).
	Private bool
}

// DefaultChannelID is the channel the simulator has when Options.Channels is nil:
// "#general", with the bot a member.
const DefaultChannelID = "C0123ABCD"

// Options configure the simulator. The zero value of a field means its default;
// docs/simulators/slack.md gives the source of each default and says which are
// unconfirmed guesses.
type Options struct {
	// TeamID, Team and TeamDomain name the workspace (auth.test's team_id, team
	// and url https://<domain>.slack.com/). Defaults "T0SIM0001", "Sluice
	// Simulator", "sluice-sim".
	TeamID, Team, TeamDomain string
	// BotUserID, BotID, BotName and AppID identify the app's bot. Defaults
	// "U0SIMBOT1", "B0SIMBOT1", "sluice", "A0SIMAPP1".
	BotUserID, BotID, BotName, AppID string

	// Tokens are the accepted tokens ("Authorization: Bearer" or a form
	// "token"). Empty accepts any token that starts with "xox" (xoxb-, xoxp-…).
	Tokens []string
	// RevokedTokens answer token_revoked, InactiveTokens account_inactive.
	RevokedTokens, InactiveTokens []string

	// Channels are the workspace's conversations by ID (C…, G… or D…). Nil
	// means one channel, DefaultChannelID named "general", with the bot a
	// member; an empty map means none.
	Channels map[string]Channel
	// AnyChannel accepts posts to channels that are not in Channels: an ID
	// (C/G/D and 8 or more upper-case letters and digits) or a name is created on
	// first use as a public channel the bot is a member of. For trying a
	// project file without listing its channels (`sluice simulate slack`).
	AnyChannel bool
	// WritePublic grants the chat:write.public scope: the bot may post to a
	// public channel it is not a member of.
	WritePublic bool

	// Webhooks are the incoming webhooks: path ("/services/T…/B…/secret" or
	// "T…/B…/secret") → channel ID. A webhook always posts to its channel.
	Webhooks map[string]string
	// AnyWebhook accepts any /services/T…/B…/secret path: each new webhook gets
	// a channel of its own, "webhook-<b…>" (its B… part in lower case).
	AnyWebhook bool

	// PerChannelPerSecond is the sustained rate of posts to one channel (the
	// Web API and webhooks together). Default 1; negative disables the limit.
	PerChannelPerSecond float64
	// Burst is how many posts to one channel may come back to back before the
	// rate applies. Default 2 (unconfirmed: "short bursts >1 allowed").
	Burst int
	// WorkspacePerMinute caps chat.postMessage calls of the app across all
	// channels in any rolling minute. Default 600 (unconfirmed: "several hundred
	// messages per minute"); negative disables it.
	WorkspacePerMinute int
	// InfoPerMinute caps conversations.info calls per rolling minute (Tier 3).
	// Default 50; negative disables it.
	InfoPerMinute int

	// MaxTextChars is the longest text (in characters) a message keeps: longer
	// text is cut to it, as chat.postMessage's docs say Slack does. Default 40,000.
	MaxTextChars int
	// RefuseLongText refuses text over MaxTextChars with msg_too_long instead of
	// cutting it, as clients report Slack doing for some long messages.
	RefuseLongText bool
	// MaxBodyBytes is the largest request body read (413 above). Default 4 MiB
	// (unconfirmed).
	MaxBodyBytes int64

	// Prefix is a path prefix every route sits under, e.g. "/slack". Default none.
	Prefix string

	// Reject, when set, is asked about each message that passed Slack's checks;
	// a non-empty answer fails it with that error: HTTP 200 {"ok":false,"error":…}
	// on the Web API, and on a webhook the status Slack gives that error (400
	// when it is not one of the webhook errors) with the error as plain text.
	// It runs with the store locked and must not call the Server.
	Reject func(m Message) string

	// Now is the clock. Default time.Now.
	Now simkit.Clock
	// KeepBodies keeps request bodies in the log.
	KeepBodies bool
	// LogLimit is the most requests the log keeps. Default 100,000.
	LogLimit int
}

// WithDefaults returns the options with every unset field at its default.
func (o Options) WithDefaults() Options {
	str := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	str(&o.TeamID, "T0SIM0001")
	str(&o.Team, "Sluice Simulator")
	str(&o.TeamDomain, "sluice-sim")
	str(&o.BotUserID, "U0SIMBOT1")
	str(&o.BotID, "B0SIMBOT1")
	str(&o.BotName, "sluice")
	str(&o.AppID, "A0SIMAPP1")
	if o.Channels == nil {
		o.Channels = map[string]Channel{DefaultChannelID: {Name: "general", Member: true}}
	}
	if o.PerChannelPerSecond == 0 {
		o.PerChannelPerSecond = 1
	}
	if o.Burst == 0 {
		o.Burst = 2
	}
	if o.WorkspacePerMinute == 0 {
		o.WorkspacePerMinute = 600
	}
	if o.InfoPerMinute == 0 {
		o.InfoPerMinute = 50
	}
	if o.MaxTextChars == 0 {
		o.MaxTextChars = 40_000
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.Prefix != "" {
		o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

var (
	// channelIDRE matches conversation IDs: C (public), G (private, older), D (DM).
	channelIDRE = regexp.MustCompile(`^[CGD][A-Z0-9]{8,}$`)
	// channelNameRE is what Slack allows in a channel name.
	channelNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,79}$`)
	webhookRE     = regexp.MustCompile(`^T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+$`)
)

// Validate reports what is wrong with the options (after defaults), naming the field.
func (o Options) Validate() error {
	o = o.WithDefaults()
	var errs []error
	names := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(o.Channels)) {
		c := o.Channels[id]
		if !channelIDRE.MatchString(id) {
			errs = append(errs, fmt.Errorf("slack: Channels %q: an ID is C, G or D and 8 or more upper-case letters and digits", id))
		}
		if !channelNameRE.MatchString(c.Name) {
			errs = append(errs, fmt.Errorf("slack: Channels %q: name %q: lower-case letters, digits, - and _, at most 80", id, c.Name))
		}
		if other, ok := names[c.Name]; ok {
			errs = append(errs, fmt.Errorf("slack: Channels %q: name %q is also %s's", id, c.Name, other))
		}
		names[c.Name] = id
	}
	for _, path := range slices.Sorted(maps.Keys(o.Webhooks)) {
		if !webhookRE.MatchString(webhookKey(path)) {
			errs = append(errs, fmt.Errorf("slack: Webhooks %q: want /services/T…/B…/secret", path))
		}
		if ch := o.Webhooks[path]; !channelIDRE.MatchString(ch) {
			errs = append(errs, fmt.Errorf("slack: Webhooks %q: channel %q is not a channel ID", path, ch))
		}
	}
	if o.Burst < 0 {
		errs = append(errs, fmt.Errorf("slack: Burst %d must not be negative", o.Burst))
	}
	if o.MaxTextChars < 0 || o.MaxBodyBytes < 0 || o.LogLimit < 0 {
		errs = append(errs, errors.New("slack: MaxTextChars, MaxBodyBytes and LogLimit must not be negative"))
	}
	return errors.Join(errs...)
}

// Describe is a one-line summary of the simulated workspace for a CLI banner.
func (o Options) Describe() string {
	o = o.WithDefaults()
	auth := "any xox… token"
	if len(o.Tokens) > 0 {
		auth = fmt.Sprintf("%d token(s)", len(o.Tokens))
	}
	var chans []string
	for _, id := range slices.Sorted(maps.Keys(o.Channels)) {
		chans = append(chans, "#"+o.Channels[id].Name+" "+id)
	}
	channels := strings.Join(chans, ", ")
	if o.AnyChannel {
		channels = "any channel"
	}
	limit := "no per-channel limit"
	if o.PerChannelPerSecond > 0 {
		limit = fmt.Sprintf("%g/s per channel (burst %d)", o.PerChannelPerSecond, o.Burst)
	}
	if o.WorkspacePerMinute > 0 {
		limit += fmt.Sprintf(", %d/min per workspace", o.WorkspacePerMinute)
	}
	hooks := fmt.Sprintf("%d incoming webhook(s)", len(o.Webhooks))
	if o.AnyWebhook {
		hooks = "any incoming webhook"
	}
	return fmt.Sprintf("Slack: chat.postMessage, auth.test, conversations.info and %s; workspace %s (%s); %s; %s; %s",
		hooks, o.Team, o.TeamID, channels, limit, auth)
}

// webhookKey is a webhook path without "/services/" and slashes around it.
func webhookKey(path string) string {
	path = strings.Trim(path, "/")
	path, _ = strings.CutPrefix(path, "services/")
	return path
}
