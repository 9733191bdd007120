// Package hubspot is the HubSpot CRM destination: rows become records of a CRM
// object (contacts, companies, deals or a custom object), written with the v3 batch
// endpoints through the shared SaaS writer (connector/saas), paced by the account's
// rate limits. The contract is documented in docs/destinations/hubspot.md.
package hubspot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// Spec registers the destination type "hubspot".
var Spec = connector.DestinationSpec{
	Type:          "hubspot",
	Summary:       "Create, update, upsert or archive HubSpot CRM records (contacts, companies, deals, custom objects) with the v3 batch API",
	NewConfig:     func() any { return new(Config) },
	NewSyncConfig: func() any { return new(SyncConfig) },
	Modes:         []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror},
	Open:          open,
}

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// Config is a hubspot destination's keys in the project file.
type Config struct {
	AccessToken        string `yaml:"access_token" required:"true" secret:"true" doc:"A private app's access token, e.g. ${env:HUBSPOT_TOKEN}; the app needs the object's write scope (crm.objects.contacts.write for contacts) and its read scope for checks and mirror."`
	Tier               string `yaml:"tier" doc:"The account's HubSpot tier: free, starter, professional or enterprise; it sets the rate limits. When unset they are learned from HubSpot's rate-limit headers, starting at the free tier's."`
	LimitIncreasePacks int    `yaml:"limit_increase_packs" doc:"API limit increase packs bought (0 to 2): 250 requests per 10 s, and 1,000,000 more requests a day per pack."`
	BaseURL            string `yaml:"base_url" doc:"HubSpot's API address; change it only for a proxy or a simulator."`
	saas.Tuning        `yaml:",inline"`
}

// SyncConfig is what a sync writing to HubSpot adds to its keys.
type SyncConfig struct {
	Object     string `yaml:"object" required:"true" doc:"The CRM object to write: contacts, companies, deals, or a custom object's name or objectTypeId (2-…)."`
	IDProperty string `yaml:"id_property" doc:"The HubSpot property that identifies a record, mapped from a model column: a unique property (email for contacts). Required for upsert, update and mirror; hs_object_id means HubSpot's record id (update only)."`
}

// Tiers lists the valid values of tier.
var Tiers = []string{"free", "starter", "professional", "enterprise"}

// Limits a user may lower but not raise.
const (
	maxBatchRecords    = 100
	maxInFlight        = 32
	defaultInFlight    = 8
	defaultAttempts    = 8
	defaultTimeout     = 60 * time.Second
	maxPacks           = 2
	packBurst          = 250
	packDaily          = 1_000_000
	rateWindow         = 10 * time.Second
	recordIDProperty   = "hs_object_id"
	contactsEmailField = "email"
)

// TierLimits returns HubSpot's published rate limits for a tier ("" when
// unknown) with packs API limit increase packs.
func TierLimits(tier string, packs int) (connector.RateLimits, bool) {
	l := connector.RateLimits{Window: rateWindow}
	switch tier {
	case "free", "starter":
		l.Requests, l.Daily = 100, 250_000
	case "professional":
		l.Requests, l.Daily = 190, 625_000
	case "enterprise":
		l.Requests, l.Daily = 190, 1_000_000
	default:
		return l, false
	}
	if packs > 0 {
		// The pack's burst replaces the tier's; it does not stack.
		l.Requests = packBurst
		l.Daily += packs * packDaily
	}
	return l, true
}

// api is what HubSpot allows for the configured tier: the bounds Tuning is checked
// against. With no tier, the most any account with the packs may have.
func (c *Config) api() saas.API {
	tier := c.Tier
	name := "HubSpot (" + tier + " tier)"
	if tier == "" {
		tier, name = "enterprise", "HubSpot"
	}
	limits, _ := TierLimits(tier, min(max(c.LimitIncreasePacks, 0), maxPacks))
	return saas.API{
		Name: name, BatchRecords: maxBatchRecords, InFlight: maxInFlight, Limits: limits,
		DefaultInFlight: defaultInFlight, DefaultAttempts: defaultAttempts, DefaultTimeout: defaultTimeout,
	}
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.BaseURL = DefaultBaseURL
	c.BatchSize = maxBatchRecords
	c.MaxInFlight = defaultInFlight
	c.MaxAttempts = defaultAttempts
	c.Timeout = defaultTimeout
}

// Validate checks the keys without contacting HubSpot.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &connector.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.AccessToken) == "" {
		bad("access_token", "is empty: set it to a private app's access token, e.g. ${env:HUBSPOT_TOKEN}")
	}
	tierOK := c.Tier == "" || slices.Contains(Tiers, c.Tier)
	if !tierOK {
		bad("tier", "unknown tier %q: use one of %s, or remove the key to learn the limits from HubSpot", c.Tier, strings.Join(Tiers, ", "))
	}
	if c.LimitIncreasePacks < 0 || c.LimitIncreasePacks > maxPacks {
		bad("limit_increase_packs", "must be between 0 and %d (HubSpot sells at most %d API limit increase packs per account)", maxPacks, maxPacks)
	}
	if _, err := saas.BaseURL(c.BaseURL, DefaultBaseURL); err != nil {
		bad("base_url", "%s", err)
	}
	if tierOK {
		if err := c.Tuning.Validate(c.api()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ValidateMode checks the keys that depend on the sync's mode, for `sluice
// validate`; the destination checks them again when it opens.
func (s *SyncConfig) ValidateMode(m connector.Mode) error {
	switch {
	case m != connector.ModeInsert && s.IDProperty == "":
		hint := "a unique property of " + s.Object
		if isContacts(s.Object) {
			hint = "email, for contacts"
		}
		return &connector.FieldError{Field: "id_property", Message: fmt.Sprintf("is required in %s mode: set it to the HubSpot property that identifies a record (%s), and map a model column to it", m, hint)}
	case s.IDProperty == recordIDProperty && (m == connector.ModeUpsert || m == connector.ModeMirror):
		return &connector.FieldError{Field: "id_property", Message: fmt.Sprintf("hs_object_id (HubSpot's record id) works in update mode only: %s mode creates records, so it needs a unique property that the model holds (email for contacts)", m)}
	}
	return nil
}

// Validate checks the sync's keys; those that depend on the mode are checked by
// ValidateMode.
func (s *SyncConfig) Validate() error {
	var errs []error
	if s.Object != "" && (strings.ContainsAny(s.Object, "/?#% ") || strings.TrimSpace(s.Object) != s.Object) {
		errs = append(errs, &connector.FieldError{Field: "object", Message: fmt.Sprintf("%q is not an object name: use contacts, companies, deals, or a custom object's name or objectTypeId", s.Object)})
	}
	if strings.ContainsAny(s.IDProperty, "/?#% ") {
		errs = append(errs, &connector.FieldError{Field: "id_property", Message: fmt.Sprintf("%q is not a property name: use the property's internal name, e.g. email", s.IDProperty)})
	}
	return errors.Join(errs...)
}

// isContacts reports whether object names HubSpot's contacts, where email
// identifies records without being a unique property.
func isContacts(object string) bool {
	switch strings.ToLower(object) {
	case "contacts", "contact", "0-1":
		return true
	}
	return false
}

// Destination writes one sync's batches to one HubSpot object.
type Destination struct {
	cfg    Config
	sync   connector.SyncInfo
	object string
	log    *slog.Logger
	mode   connector.Mode

	idProperty string // "" in insert mode without one
	byRecordID bool   // id_property is hs_object_id: inputs carry HubSpot's record id
	idField    int    // index in sync.Fields of the id property's value; -1 means the row's key
	props      []prop // the fields written as properties, in order
	objectPath string // /crm/v3/objects/{object}

	limits    saas.Limits // the resolved tuning
	tokenHash string
	http      *http.Client

	mu      sync.Mutex
	rate    connector.RateLimits // the limits pacing follows now
	learned bool                 // rate comes from HubSpot's headers (or the tier was set)
	portal  string               // the account's portalId, once Check learned it

	client      atomic.Pointer[saas.Client]
	knowsLimits atomic.Bool // learned, read without the lock
	firstWrite  sync.Mutex  // held by the write that learns the limits
	sizeHint    atomic.Int64
	spentUntil  atomic.Int64   // when HubSpot's daily limit resets, once it said it was spent (Unix ns)
	zone        *time.Location // the account's time zone, where its day starts; nil until Check
}

// prop is one field written as a property: its index in the record's fields and
// its name quoted for JSON with the colon (`"email":`).
type prop struct {
	field  int
	quoted []byte
}

var (
	_ connector.Destination = (*Destination)(nil)
	_ connector.Checker     = (*Destination)(nil)
)

// Log attribute keys.
const (
	logSync   = "sync"
	logObject = "object"
	logPortal = "portal"
	logAction = "action"
	logError  = "error"
)

func open(ctx context.Context, p connector.DestinationParams) (connector.Destination, error) {
	given, ok := p.Config.(*Config)
	if !ok || given == nil {
		return nil, connector.Permanent(fmt.Errorf("hubspot: config is %T, want *hubspot.Config", p.Config))
	}
	cfg := *given
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL // a config built in code may skip SetDefaults
	}
	if err := cfg.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("hubspot: %w", err))
	}
	base, _ := saas.BaseURL(cfg.BaseURL, DefaultBaseURL)
	cfg.BaseURL = base
	sc, _ := p.SyncConfig.(*SyncConfig)
	if sc == nil || strings.TrimSpace(sc.Object) == "" {
		return nil, connector.Permanent(fmt.Errorf("hubspot: sync %s: object is required: the CRM object to write (contacts, companies, deals, or a custom object's name or objectTypeId)", p.Sync.Name))
	}
	if err := sc.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("hubspot: sync %s: %w", p.Sync.Name, err))
	}
	if !p.Sync.Mode.Valid() {
		return nil, connector.Permanent(fmt.Errorf("hubspot: sync %s: unknown mode %q", p.Sync.Name, p.Sync.Mode))
	}
	limits, err := cfg.Tuning.Resolve(cfg.api())
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("hubspot: %w", err))
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Destination{
		cfg: cfg, sync: p.Sync, object: sc.Object, mode: p.Sync.Mode,
		log:        logger.With(logSync, p.Sync.Name, logObject, sc.Object),
		objectPath: "/crm/v3/objects/" + url.PathEscape(sc.Object),
		limits:     limits,
		tokenHash:  hashToken(cfg.AccessToken),
		http:       saas.NewHTTPClient(limits.InFlight, limits.Timeout),
	}
	if err := d.planFields(sc); err != nil {
		return nil, connector.Permanent(err)
	}
	if cfg.Tier != "" {
		d.rate, d.learned = limits.Rate, true
		d.knowsLimits.Store(true)
	} else {
		// Until HubSpot's headers say more, pace as the free tier (lowered by the user).
		start := cfg
		start.Tier = "free"
		l, _ := start.Tuning.Resolve(start.api())
		d.rate = l.Rate
	}
	d.useBudget()
	return d, nil
}

// planFields works out which field identifies a record and which are written as
// properties, refusing what cannot work for the sync's mode.
func (d *Destination) planFields(sc *SyncConfig) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("hubspot: sync %s: "+format, append([]any{d.sync.Name}, args...)...)
	}
	d.idProperty = sc.IDProperty
	d.idField = -1
	needsID := d.mode != connector.ModeInsert
	switch {
	case needsID && d.idProperty == "":
		hint := "a unique property of " + d.object
		if isContacts(d.object) {
			hint = "email, for contacts"
		}
		return fail("id_property is required in %s mode: set it to the HubSpot property that identifies a record (%s), and map a model column to it", d.mode, hint)
	case d.idProperty == recordIDProperty && (d.mode == connector.ModeUpsert || d.mode == connector.ModeMirror):
		return fail("id_property hs_object_id (HubSpot's record id) works in update mode only: %s mode creates records, so it needs a unique property that the model holds (email for contacts)", d.mode)
	}
	d.byRecordID = d.idProperty == recordIDProperty && d.mode == connector.ModeUpdate
	if d.mode == connector.ModeInsert {
		d.idProperty = "" // insert creates records; nothing is looked up
	}
	if d.idProperty != "" {
		d.idField = slices.Index(d.sync.Fields, d.idProperty)
		if d.idField < 0 && d.sync.KeyField != d.idProperty {
			return fail("id_property %q is not among the fields the sync writes (%s): map the model column that holds it, e.g. {from: %s, to: %s}",
				d.idProperty, strings.Join(d.sync.Fields, ", "), d.idProperty, d.idProperty)
		}
	}
	for i, name := range d.sync.Fields {
		if name == "" {
			return fail("a mapping has an empty destination property")
		}
		if name == recordIDProperty {
			if d.byRecordID {
				continue // the record's id, sent as "id", never as a property
			}
			return fail("maps a column to hs_object_id, which HubSpot sets itself: to update records by their HubSpot id, set id_property: hs_object_id in update mode")
		}
		q := record.AppendJSONString(nil, name)
		d.props = append(d.props, prop{field: i, quoted: append(q, ':')})
	}
	if len(d.props) == 0 && d.mode != connector.ModeMirror {
		return fail("writes no property: map at least one model column to a HubSpot property")
	}
	return nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "token-" + hex.EncodeToString(sum[:8])
}

// Capabilities are HubSpot's limits for the account lowered by the user's keys.
func (d *Destination) Capabilities() connector.Capabilities {
	c := d.limits.Capabilities()
	rate := d.client.Load().Budget.Limits()
	c.Limits = &rate
	return c
}

// Close releases idle connections.
func (d *Destination) Close() error {
	d.http.CloseIdleConnections()
	return nil
}

// account is the key of the shared budget: HubSpot's 10-second window is per app,
// that is per token, so the token (hashed) keys it; the daily allowance, which is
// the portal's, is reconciled from HubSpot's daily headers. The key is known
// before Check, so Check's own requests count in the same budget as the writes.
func (d *Destination) account() string {
	return "hubspot|" + d.cfg.BaseURL + "|" + d.tokenHash
}

// useBudget points new requests at the budget for the account and the current
// limits. Requests already sent finish on the budget they started with.
func (d *Destination) useBudget() {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b *saas.Budget
	if d.learned {
		b = saas.SharedBudget(d.account(), d.rate, d.limits.InFlight)
	} else {
		// The free tier's limits are a guess until HubSpot's headers answer, and
		// the window may be spent by others already: one request at a time until
		// the first answer says. A shared budget would keep the guess for every
		// sync of the account.
		b = saas.NewBudget(d.rate, 1)
	}
	b.SetDayZone(d.zone)
	d.client.Store(&saas.Client{
		BaseURL: d.cfg.BaseURL, HTTP: d.http, Budget: b,
		Authorize:   d.authorize,
		Observe:     d.observe,
		IsThrottled: isThrottled,
		UserAgent:   "sluice",
	})
}
