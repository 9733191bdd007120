// Package facebook is the Meta (Facebook) Custom Audiences destination: a sync's
// rows become the members of a customer file custom audience, added through
// POST /{audience_id}/users, removed through DELETE on the same edge, and swapped
// in whole by a usersreplace session on a mirror sync's full resync. Identifiers
// are normalised and SHA-256 hashed as Meta documents (normalize.go); requests go
// through the shared SaaS writer (connector/saas), paced by the ad account's
// score and business-use-case budget as Meta's usage headers report them. The
// contract is documented in docs/destinations/facebook.md.
package facebook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Spec registers the destination type "facebook_audience".
var Spec = connector.DestinationSpec{
	Type:          "facebook_audience",
	Summary:       "Keep a Meta (Facebook) customer file Custom Audience's members in step with a model: add, remove, or replace them all on a full resync",
	NewConfig:     func() any { return new(Config) },
	NewSyncConfig: func() any { return new(SyncConfig) },
	// Update is left out: Meta cannot say whether a person is in an audience, so
	// "change only the members already there" cannot be honoured.
	Modes: []connector.Mode{connector.ModeInsert, connector.ModeUpsert, connector.ModeMirror},
	Open:  open,
}

// DefaultBaseURL is the Graph API host with the version Sluice is written against.
const DefaultBaseURL = "https://graph.facebook.com/v21.0"

// Access tiers of the Marketing API, as the usage headers name them.
const (
	TierStandard    = "standard"
	TierDevelopment = "development"
)

// Limits a user may lower but not raise.
const (
	maxRows         = 10_000 // rows per request (Custom Audience Users reference)
	maxInFlight     = 16
	defaultInFlight = 8
	defaultAttempts = 8
	defaultTimeout  = 120 * time.Second // Meta takes a while over 10,000 rows
	scoreWindow     = 300 * time.Second // the ad account score decays over 300 s
	writePoints     = 3                 // a write costs 3 points of the score, a read 1
)

// TierLimits are the documented ad-account limits of an access tier, in write
// requests: the score allows 9,000 points per 300 s on the standard tier and 60
// on the development tier, a write costing 3
// (https://developers.facebook.com/docs/marketing-api/overview/rate-limiting).
func TierLimits(tier string) (connector.RateLimits, bool) {
	switch tier {
	case TierStandard:
		return connector.RateLimits{Requests: 9000 / writePoints, Window: scoreWindow}, true
	case TierDevelopment:
		return connector.RateLimits{Requests: 60 / writePoints, Window: scoreWindow}, true
	}
	return connector.RateLimits{}, false
}

// Config is a facebook_audience destination's keys in the project file.
type Config struct {
	AccessToken string `yaml:"access_token" required:"true" secret:"true" doc:"A system user's access token with the ads_management permission, e.g. ${env:META_TOKEN}."`
	AdAccountID string `yaml:"ad_account_id" required:"true" doc:"The ad account that owns the audiences, act_ followed by its digits (e.g. act_1234567); its score and budget pace the requests."`
	AppSecret   string `yaml:"app_secret" secret:"true" doc:"The app's secret: when set, every request carries appsecret_proof (needed when the app requires it)."`
	BaseURL     string `yaml:"base_url" doc:"The Graph API address with its version; change it only for a proxy or a simulator."`
	saas.Tuning `yaml:",inline"`
}

// api is what Meta allows at an access tier's documented score: the bounds
// Tuning is checked against (at the standard tier's).
func api(tier string) saas.API {
	limits, _ := TierLimits(tier)
	return saas.API{
		Name: "Meta's Marketing API (" + tier + " tier)", BatchRecords: maxRows, InFlight: maxInFlight, Limits: limits,
		DefaultInFlight: defaultInFlight, DefaultAttempts: defaultAttempts, DefaultTimeout: defaultTimeout,
	}
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.BaseURL = DefaultBaseURL
	c.BatchSize = maxRows
	c.MaxInFlight = defaultInFlight
	c.MaxAttempts = defaultAttempts
	c.Timeout = defaultTimeout
}

var adAccountRE = regexp.MustCompile(`^(act_)?[0-9]+$`)

// Validate checks the keys without contacting Meta.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &connector.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.AccessToken) == "" {
		bad("access_token", "is empty: set it to a system user's access token with ads_management, e.g. ${env:META_TOKEN}")
	}
	switch id := strings.TrimSpace(c.AdAccountID); {
	case id == "":
		bad("ad_account_id", "is empty: set it to the ad account that owns the audience, e.g. act_1234567")
	case !adAccountRE.MatchString(id):
		bad("ad_account_id", "%q is not an ad account id: write act_ followed by the account's digits, e.g. act_1234567 (Business Settings → Accounts → Ad accounts)", c.AdAccountID)
	}
	if _, err := saas.BaseURL(c.BaseURL, DefaultBaseURL); err != nil {
		bad("base_url", "%s", err)
	}
	if err := c.Tuning.Validate(api(TierStandard)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// adAccount is the ad account's digits.
func (c *Config) adAccount() string {
	return strings.TrimPrefix(strings.TrimSpace(c.AdAccountID), "act_")
}

// SyncConfig is what a sync writing to an audience adds to its keys.
type SyncConfig struct {
	AudienceID string `yaml:"audience_id" required:"true" doc:"The customer file custom audience to keep: its numeric id (Ads Manager › Audiences), e.g. \"23851234567890123\"."`
	// Identifiers maps schema keys to model columns.
	Identifiers map[string]string `yaml:"identifiers" required:"true" doc:"Meta's schema keys and the model columns holding them, e.g. {EMAIL: email, PHONE: phone, FN: first_name, LN: last_name, COUNTRY: country}. Keys: EXTERN_ID, EMAIL, PHONE, GEN, DOBY, DOBM, DOBD, LN, FN, FI, CT, ST, ZIP, MADID, COUNTRY, and LOOKALIKE_VALUE for value-based audiences."`
}

// ValueKey is the schema key of a value-based audience's customer value: sent
// with each row as a number, never hashed, and not an identifier.
const ValueKey = "LOOKALIKE_VALUE"

var _ connector.ColumnUser = (*SyncConfig)(nil)

// ColumnKeys names the model columns the identifiers come from, in Meta's key
// order, so that the engine checks them and carries them in every record.
func (s *SyncConfig) ColumnKeys() []connector.ColumnKey {
	var out []connector.ColumnKey
	for _, k := range s.keys() {
		out = append(out, connector.ColumnKey{Key: "identifiers." + k.written, Column: s.Identifiers[k.written]})
	}
	return out
}

// schemaKey is one key of identifiers: as written in the project file and as
// Meta names it.
type schemaKey struct{ written, key string }

// keys returns the identifiers' keys in Meta's order (the schema's), known keys
// first; keys are matched case-insensitively.
func (s *SyncConfig) keys() []schemaKey {
	order := append(slices.Clone(Keys), ValueKey)
	written := slices.Sorted(maps.Keys(s.Identifiers))
	out := make([]schemaKey, 0, len(written))
	for _, w := range written {
		out = append(out, schemaKey{written: w, key: strings.ToUpper(strings.TrimSpace(w))})
	}
	slices.SortStableFunc(out, func(a, b schemaKey) int {
		ia, ib := slices.Index(order, a.key), slices.Index(order, b.key)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
	return out
}

var audienceIDRE = regexp.MustCompile(`^[0-9]+$`)

// Validate checks the sync's keys without contacting Meta.
func (s *SyncConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &connector.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if id := strings.TrimSpace(s.AudienceID); id != "" && !audienceIDRE.MatchString(id) {
		bad("audience_id", "%q is not an audience id: use the audience's numeric id from Ads Manager (Audiences), quoted, e.g. \"23851234567890123\"", s.AudienceID)
	}
	known := append(slices.Clone(Keys), ValueKey)
	seen := map[string]string{}
	identifiers := 0
	for _, k := range s.keys() {
		field := "identifiers." + k.written
		if !slices.Contains(known, k.key) {
			hint := ""
			near := keyAliases[strings.NewReplacer("-", "_", " ", "_").Replace(k.key)]
			if near == "" {
				near = connector.Closest(k.key, known)
			}
			if near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", near)
			}
			bad(field, "%q is not one of Meta's schema keys%s: use %s, or %s for a value-based audience", k.written, hint, strings.Join(Keys, ", "), ValueKey)
			continue
		}
		if other, dup := seen[k.key]; dup {
			bad(field, "names %s again (as %q): give each schema key once", k.key, other)
			continue
		}
		seen[k.key] = k.written
		if strings.TrimSpace(s.Identifiers[k.written]) == "" {
			bad(field, "names no column: set it to the model column holding the %s, or remove the key", describeKey(k.key))
			continue
		}
		if k.key != ValueKey {
			identifiers++
		}
	}
	if s.Identifiers != nil && len(s.Identifiers) > 0 && identifiers == 0 && len(errs) == 0 {
		bad("identifiers", "names no identifier: %s is a customer's value, not who they are; add a key Meta matches people by, e.g. EMAIL: email", ValueKey)
	}
	if s.Identifiers != nil && len(s.Identifiers) == 0 {
		bad("identifiers", "is empty: map at least one of Meta's schema keys to a model column, e.g. {EMAIL: email, PHONE: phone}")
	}
	return errors.Join(errs...)
}

// keyAliases are names users give Meta's keys, for the hint of a message.
var keyAliases = map[string]string{
	"FIRST_NAME": "FN", "FIRSTNAME": "FN", "LAST_NAME": "LN", "LASTNAME": "LN", "SURNAME": "LN",
	"FIRST_INITIAL": "FI", "GENDER": "GEN", "SEX": "GEN", "CITY": "CT", "STATE": "ST", "PROVINCE": "ST",
	"ZIPCODE": "ZIP", "ZIP_CODE": "ZIP", "POSTAL_CODE": "ZIP", "POSTCODE": "ZIP", "PHONE_NUMBER": "PHONE",
	"MOBILE": "PHONE", "EMAIL_ADDRESS": "EMAIL", "EXTERNAL_ID": "EXTERN_ID", "CUSTOMER_ID": "EXTERN_ID",
	"BIRTH_YEAR": "DOBY", "BIRTH_MONTH": "DOBM", "BIRTH_DAY": "DOBD", "IDFA": "MADID", "AAID": "MADID",
	"VALUE": ValueKey, "LTV": ValueKey, "COUNTRY_CODE": "COUNTRY",
}

// describeKey says what a schema key holds, for messages.
func describeKey(key string) string {
	switch key {
	case "EXTERN_ID":
		return "customer's id in your systems"
	case "EMAIL":
		return "email address"
	case "PHONE":
		return "phone number with its country code"
	case "GEN":
		return "gender"
	case "DOBY":
		return "year of birth"
	case "DOBM":
		return "month of birth"
	case "DOBD":
		return "day of birth"
	case "LN":
		return "last name"
	case "FN":
		return "first name"
	case "FI":
		return "first initial"
	case "CT":
		return "city"
	case "ST":
		return "state or province"
	case "ZIP":
		return "postal code"
	case "MADID":
		return "mobile advertiser id"
	case "COUNTRY":
		return "country code"
	case ValueKey:
		return "customer value"
	}
	return strings.ToLower(key)
}

// Destination writes one sync's changes to one audience.
type Destination struct {
	cfg      Config
	sync     connector.SyncInfo
	mode     connector.Mode
	audience string // the audience id
	account  string // the ad account's digits
	log      *slog.Logger

	schema *schema
	limits saas.Limits
	http   *http.Client
	client *saas.Client
	usage  *usage
	// now and sleep are the clock of a replace session's age and of the waits
	// between a check's or a session's control batch's attempts; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	planned bool // PlanRun was called: the run's changes are the engine's diff
	full    bool // the run is a full resync
	replace *replaceSession
}

var (
	_ connector.Destination = (*Destination)(nil)
	_ connector.Checker     = (*Destination)(nil)
	_ connector.RunPlanner  = (*Destination)(nil)
	_ connector.Finisher    = (*Destination)(nil)
)

// Log attribute keys.
const (
	logSync     = "sync"
	logAudience = "audience"
	logSession  = "session"
)

func open(ctx context.Context, p connector.DestinationParams) (connector.Destination, error) {
	given, ok := p.Config.(*Config)
	if !ok || given == nil {
		return nil, connector.Permanent(fmt.Errorf("facebook: config is %T, want *facebook.Config", p.Config))
	}
	cfg := *given
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL // a config built in code may skip SetDefaults
	}
	if err := cfg.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("facebook: %w", err))
	}
	base, _ := saas.BaseURL(cfg.BaseURL, DefaultBaseURL)
	cfg.BaseURL = base
	sc, _ := p.SyncConfig.(*SyncConfig)
	if sc == nil || strings.TrimSpace(sc.AudienceID) == "" {
		return nil, connector.Permanent(fmt.Errorf("facebook: sync %s: audience_id is required: the numeric id of the customer file custom audience to keep (Audiences in Ads Manager)", p.Sync.Name))
	}
	if len(sc.Identifiers) == 0 {
		return nil, connector.Permanent(fmt.Errorf("facebook: sync %s: identifiers is required: map Meta's schema keys to model columns, e.g. {EMAIL: email, PHONE: phone}", p.Sync.Name))
	}
	if err := sc.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("facebook: sync %s: %w", p.Sync.Name, err))
	}
	switch p.Sync.Mode {
	case connector.ModeInsert, connector.ModeUpsert, connector.ModeMirror:
	case connector.ModeUpdate:
		return nil, connector.Permanent(fmt.Errorf("facebook: sync %s: mode update cannot apply to an audience: Meta does not say who is in one, so changing only existing members is impossible; use upsert (add and re-key) or mirror (also remove)", p.Sync.Name))
	default:
		return nil, connector.Permanent(fmt.Errorf("facebook: sync %s: unknown mode %q", p.Sync.Name, p.Sync.Mode))
	}
	limits, err := cfg.Tuning.Resolve(api(TierStandard))
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("facebook: %w", err))
	}
	sch, err := newSchema(sc, p.Sync)
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("facebook: sync %s: %w", p.Sync.Name, err))
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Destination{
		cfg: cfg, sync: p.Sync, mode: p.Sync.Mode,
		audience: strings.TrimSpace(sc.AudienceID), account: cfg.adAccount(),
		log:    logger.With(logSync, p.Sync.Name, logAudience, strings.TrimSpace(sc.AudienceID)),
		schema: sch, limits: limits,
		http: saas.NewHTTPClient(limits.InFlight, limits.Timeout),
		now:  time.Now, sleep: saas.Sleep,
	}
	var proof string
	if cfg.AppSecret != "" {
		mac := hmac.New(sha256.New, []byte(cfg.AppSecret))
		mac.Write([]byte(cfg.AccessToken))
		proof = hex.EncodeToString(mac.Sum(nil))
	}
	// The score and the business-use-case budget are the ad account's, shared by
	// every app and token writing to it: the account keys the budget and the
	// pacer. The budget bounds concurrency, waits out throttling and applies the
	// user's rate_limit; the pacer measures the account's limits from Meta's
	// usage headers and paces by them (see pacer).
	key := "facebook|" + cfg.BaseURL + "|" + d.account
	seed := connector.RateLimits{}
	if cfg.RateLimit != (saas.RateLimit{}) {
		seed = limits.Rate
	}
	budget := saas.SharedBudget(key, seed, limits.InFlight)
	d.usage = newUsage(d.account, key, cfg.Tuning, d.log)
	d.http.Transport = transport{base: d.http.Transport, pacer: d.usage.pacer, proof: proof}
	d.client = &saas.Client{
		BaseURL: cfg.BaseURL, HTTP: d.http, Budget: budget,
		Authorize: d.authorize, Observe: d.usage.observe, IsThrottled: isThrottled, UserAgent: "sluice",
	}
	return d, nil
}

func (d *Destination) authorize(r *http.Request) {
	r.Header.Set("Authorization", "Bearer "+d.cfg.AccessToken)
}

// Capabilities are Meta's limits for the ad account lowered by the user's keys.
// A replace session's batches go one at a time (see PlanRun).
func (d *Destination) Capabilities() connector.Capabilities {
	c := d.limits.Capabilities()
	rate, measured := d.usage.pacer.limits()
	if !measured {
		rate = d.usage.documented()
	}
	if user := d.client.Budget.Limits(); user.Requests > 0 && (rate.Requests == 0 ||
		float64(user.Requests)/user.Window.Seconds() < float64(rate.Requests)/rate.Window.Seconds()) {
		rate = user
	}
	c.Limits = &rate
	d.mu.Lock()
	if d.replace != nil {
		c.MaxInFlight = min(c.MaxInFlight, replaceInFlight)
	}
	d.mu.Unlock()
	return c
}

// Close releases idle connections.
func (d *Destination) Close() error {
	d.http.CloseIdleConnections()
	return nil
}
