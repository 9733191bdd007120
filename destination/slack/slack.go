// Package slack is the Slack destination: each row the sync sends becomes one
// message, rendered from a Liquid template the user writes, posted to a channel
// with a bot token (chat.postMessage) or through an incoming webhook. Requests go
// through the shared SaaS writer (connector/saas), paced at Slack's one message
// per second per channel. The contract is documented in docs/destinations/slack.md.
package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Spec registers the destination type "slack".
var Spec = connector.DestinationSpec{
	Type:          "slack",
	Summary:       "Post one Slack message per row, rendered from a Liquid template, with a bot token (chat.postMessage) or an incoming webhook",
	NewConfig:     func() any { return new(Config) },
	NewSyncConfig: func() any { return new(SyncConfig) },
	// Every mode sends a message per change it sends; ValidateMode asks for the
	// templates the mode needs.
	Modes: []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror},
	Open:  open,
}

// DefaultBaseURL is Slack's Web API.
const DefaultBaseURL = "https://slack.com/api"

// API is what Slack allows for posting messages
// (https://docs.slack.dev/apis/web-api/rate-limits): chat.postMessage takes one
// message per request and about one message per second per channel, with short
// bursts tolerated; incoming webhooks the same. Messages to one channel go one
// at a time, so that they arrive in the order they were sent.
var API = saas.API{
	Name:         "Slack",
	BatchRecords: 1,
	InFlight:     1,
	Limits:       connector.RateLimits{Requests: 1, Window: time.Second},

	DefaultInFlight: 1,
	DefaultAttempts: 8,
	DefaultTimeout:  30 * time.Second,
}

// checkLimits pace the check's calls (auth.test, conversations.info), which
// Slack limits apart from posting: conversations.info is Tier 3, 50 a minute.
var checkLimits = connector.RateLimits{Requests: 50, Window: time.Minute}

// Config is a Slack destination's keys in the project file.
type Config struct {
	BotToken    string         `yaml:"bot_token" secret:"true" doc:"A bot token (xoxb-…, the app's OAuth & Permissions page) with the chat:write scope: messages are posted with chat.postMessage to each sync's channel. Set this or webhook_url."`
	WebhookURL  string         `yaml:"webhook_url" secret:"true" doc:"An incoming webhook's URL (https://hooks.slack.com/services/T…/B…/…): messages go to the channel the webhook was created for. Set this or bot_token."`
	BaseURL     string         `yaml:"base_url" doc:"Slack's Web API address, for bot_token; change it only for a proxy or a simulator."`
	MaxAttempts int            `yaml:"max_attempts" doc:"Tries of a message that fails transiently (429, 5xx, timeout) before its row fails for the next run."`
	Timeout     time.Duration  `yaml:"timeout" doc:"Time allowed for one request, answer included."`
	RateLimit   saas.RateLimit `yaml:"rate_limit" doc:"Post more slowly than Slack's one message per second per channel, e.g. {requests: 1, per: 5s}; the limit is per channel."`

	// testLimits replace Slack's limits in tests that would otherwise wait a
	// second per message (see export_test.go).
	testLimits *connector.RateLimits
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.BaseURL = DefaultBaseURL
	c.MaxAttempts = API.DefaultAttempts
	c.Timeout = API.DefaultTimeout
}

// tuning is the shared writer's view of the keys.
func (c *Config) tuning() *saas.Tuning {
	return &saas.Tuning{MaxAttempts: c.MaxAttempts, Timeout: c.Timeout, RateLimit: c.RateLimit}
}

// Validate checks the keys without contacting Slack. Its messages never quote a
// credential.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, &connector.FieldError{Field: field, Message: msg}) }
	token, hook := strings.TrimSpace(c.BotToken), strings.TrimSpace(c.WebhookURL)
	switch {
	case token == "" && hook == "":
		bad("bot_token", "Slack needs a credential: set bot_token: ${env:SLACK_BOT_TOKEN} (a bot token, xoxb-…, to post with chat.postMessage to each sync's channel) or webhook_url: ${env:SLACK_WEBHOOK} (an incoming webhook, which posts to its own channel)")
	case token != "" && hook != "":
		bad("webhook_url", "set bot_token or webhook_url, not both: a bot token posts to the channel each sync names, a webhook to the channel it was created for")
	}
	if token != "" {
		switch {
		case strings.HasPrefix(token, "https://") || strings.HasPrefix(token, "http://"):
			bad("bot_token", "holds a URL: an incoming webhook's URL goes in webhook_url")
		case strings.HasPrefix(token, "xapp-"):
			bad("bot_token", "holds an app-level token (xapp-…), which cannot post messages: use the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page")
		case strings.ContainsAny(token, " \t\r\n"):
			bad("bot_token", "contains white space: a Slack token is one word, e.g. xoxb-…")
		}
		if _, err := saas.BaseURL(c.BaseURL, DefaultBaseURL); err != nil {
			bad("base_url", err.Error())
		}
	}
	if hook != "" {
		if err := checkWebhookURL(hook); err != nil {
			bad("webhook_url", err.Error())
		}
	}
	if err := c.tuning().Validate(API); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkWebhookURL checks an incoming webhook's URL; its messages never quote it
// (the path is the webhook's secret).
func checkWebhookURL(s string) error {
	if strings.HasPrefix(s, "xox") {
		return errors.New("holds a token: a bot token goes in bot_token")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL: use the incoming webhook's URL, https://hooks.slack.com/services/T…/B…/…")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must start with https:// (or http:// for a local simulator): use the incoming webhook's URL, https://hooks.slack.com/services/T…/B…/…")
	case u.Host == "":
		return errors.New("has no host: use the incoming webhook's URL, https://hooks.slack.com/services/T…/B…/…")
	case strings.Trim(u.Path, "/") == "":
		return errors.New("has no path: an incoming webhook's URL ends with /services/T…/B…/…; copy the whole URL from the app's Incoming Webhooks page")
	case u.Fragment != "":
		return errors.New("must not have a fragment (#…): copy the incoming webhook's URL as Slack shows it")
	}
	return nil
}

// Log attribute keys.
const (
	logSync    = "sync"
	logChannel = "channel"
	logError   = "error"
)

// Destination posts one sync's messages to one channel.
type Destination struct {
	sync    string
	channel string // the channel's ID; "" with a webhook
	webhook bool
	limits  saas.Limits
	render  *renderer
	log     *slog.Logger

	http        *http.Client
	client      *saas.Client // chat.postMessage, or the webhook
	checkClient *saas.Client // auth.test and conversations.info; nil with a webhook
}

var (
	_ connector.Destination = (*Destination)(nil)
	_ connector.Checker     = (*Destination)(nil)
)

func open(_ context.Context, p connector.DestinationParams) (connector.Destination, error) {
	var cfg Config
	switch c := p.Config.(type) {
	case *Config:
		if c != nil {
			cfg = *c
		}
	case Config:
		cfg = c
	default:
		return nil, connector.Permanent(fmt.Errorf("slack: config is %T, want *slack.Config", p.Config))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL // a config built in code may skip SetDefaults
	}
	if err := cfg.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("slack: destination %s: %w", p.Name, err))
	}
	var sc *SyncConfig
	switch c := p.SyncConfig.(type) {
	case *SyncConfig:
		sc = c
	case SyncConfig:
		sc = &c
	}
	if sc == nil {
		sc = &SyncConfig{}
	}
	fail := func(err error) (connector.Destination, error) {
		return nil, connector.Permanent(fmt.Errorf("slack: sync %s: %w", p.Sync.Name, err))
	}
	if err := errors.Join(sc.Validate(), sc.ValidateMode(p.Sync.Mode)); err != nil {
		return fail(err)
	}
	webhook := strings.TrimSpace(cfg.WebhookURL) != ""
	switch {
	case !webhook && sc.Channel == "":
		return fail(&connector.FieldError{Field: "channel", Message: "is required with bot_token: set it to the ID of the channel the messages go to, e.g. channel: C0123ABCD (in Slack, the channel's details › About, at the bottom)"})
	case webhook && sc.Channel != "":
		return fail(&connector.FieldError{Field: "channel", Message: fmt.Sprintf("destination %s posts through an incoming webhook, which always posts to the channel it was created for: remove channel, or give the destination a bot_token to choose the channel per sync", p.Name)})
	}
	render, err := newRenderer(p.Sync, sc)
	if err != nil {
		return fail(err)
	}
	api := API
	if cfg.testLimits != nil {
		api.Limits = *cfg.testLimits
	}
	limits, err := cfg.tuning().Resolve(api)
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("slack: destination %s: %w", p.Name, err))
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Destination{
		sync: p.Sync.Name, channel: sc.Channel, webhook: webhook, limits: limits, render: render,
		log:  logger.With(logSync, p.Sync.Name),
		http: saas.NewHTTPClient(limits.InFlight, limits.Timeout),
	}
	if webhook {
		hook := strings.TrimSpace(cfg.WebhookURL)
		// One webhook posts to one channel: its budget is the channel's.
		d.client = &saas.Client{
			BaseURL: hook, HTTP: d.http, UserAgent: "sluice",
			Budget:      saas.SharedBudget("slack-webhook|"+hash(hook), limits.Rate, limits.InFlight),
			IsThrottled: isThrottled,
		}
		return d, nil
	}
	base, _ := saas.BaseURL(cfg.BaseURL, DefaultBaseURL)
	token := strings.TrimSpace(cfg.BotToken)
	authorize := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	app := "slack|" + base + "|" + hash(token)
	// Slack's limit is per channel (and app): syncs posting to the same channel
	// with the same token share one budget, syncs to other channels run apart.
	d.client = &saas.Client{
		BaseURL: base, HTTP: d.http, UserAgent: "sluice", Authorize: authorize,
		Budget:      saas.SharedBudget(app+"|"+sc.Channel, limits.Rate, limits.InFlight),
		IsThrottled: isThrottled,
	}
	d.checkClient = &saas.Client{
		BaseURL: base, HTTP: d.http, UserAgent: "sluice", Authorize: authorize,
		Budget:      saas.SharedBudget(app+"|check", checkLimits, 4),
		IsThrottled: isThrottled,
	}
	d.log = d.log.With(logChannel, sc.Channel)
	return d, nil
}

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:8])
}

// Capabilities are Slack's limits lowered by the configuration: one message per
// request and per second, one request at a time.
func (d *Destination) Capabilities() connector.Capabilities {
	c := d.limits.Capabilities()
	rate := d.client.Budget.Limits()
	c.Limits = &rate
	return c
}

// Close releases idle connections.
func (d *Destination) Close() error {
	d.http.CloseIdleConnections()
	return nil
}
