package hubspot

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Tier is a HubSpot subscription tier; it sets the default rate limits.
type Tier string

// The tiers of HubSpot's usage-guidelines table.
const (
	TierFree         Tier = "free"
	TierStarter      Tier = "starter"
	TierProfessional Tier = "professional"
	TierEnterprise   Tier = "enterprise"
)

// Policy names of a 429 for the rolling window (Options.PolicyName).
const (
	PolicySecondly           = "SECONDLY"
	PolicyTenSecondlyRolling = "TEN_SECONDLY_ROLLING"
)

// tierLimits are the private-app limits of the usage guidelines: requests per
// 10 seconds per app, and per day per account.
var tierLimits = map[Tier]struct{ perInterval, daily int64 }{
	TierFree:         {100, 250_000},
	TierStarter:      {100, 250_000},
	TierProfessional: {190, 625_000},
	TierEnterprise:   {190, 1_000_000},
}

// Options configure the simulator. The zero value of a field means its default;
// docs/simulators/hubspot.md gives the source of each default and says which are
// unconfirmed guesses.
type Options struct {
	// PortalID is the account's id (the Hub ID). Default 12345678.
	PortalID int64
	// TimeZone is the account's IANA time zone; the daily limit resets at
	// midnight there. Default "US/Eastern" (HubSpot's default account zone).
	TimeZone string
	// Currency is the account's company currency. Default "USD".
	Currency string

	// Tokens are the private-app tokens accepted as "Authorization: Bearer".
	// Empty accepts any non-empty token.
	Tokens []string

	// Tier picks the rate limits. Default TierProfessional.
	Tier Tier
	// PerInterval overrides the tier's requests per Interval per token.
	PerInterval int64
	// Interval is the rolling window of PerInterval. Default 10s.
	Interval time.Duration
	// Daily overrides the tier's requests per day per account.
	Daily int64
	// LimitIncreasePacks is the number of API limit increase packs bought (0 to
	// 2): each adds 1,000,000 requests per day and raises the window to 250.
	LimitIncreasePacks int
	// PolicyName is the policyName of a 429 for the rolling window; the message
	// says "You have reached your <policy in lower case> limit.". Default
	// "SECONDLY", as in HubSpot's documented 429; "TEN_SECONDLY_ROLLING" is seen
	// in some answers (unconfirmed).
	PolicyName string
	// NoRetryAfter leaves the Retry-After header out of 429s. HubSpot's docs do
	// not mention it; third parties say it is sent, so it is sent by default.
	NoRetryAfter bool
	// Count429 makes a throttled request count toward the window and the daily
	// limit too. By default it does not (undocumented either way).
	Count429 bool
	// LegacySecondlyHeaders adds X-HubSpot-RateLimit-Secondly and
	// -Secondly-Remaining, which older responses carried.
	LegacySecondlyHeaders bool

	// MaxInputs is the most inputs of a batch request. Default 100.
	MaxInputs int
	// MaxHistoryInputs is the most inputs of a batch read asking for
	// propertiesWithHistory. Default 50.
	MaxHistoryInputs int
	// MaxBodyBytes is the largest request body accepted (413 above). Default 10 MiB
	// (HubSpot's limit is unconfirmed).
	MaxBodyBytes int64
	// ValidationMultiStatus makes a property problem of one input of batch
	// update or upsert a 207 error naming its id, even without objectWriteTraceId.
	// By default such a problem fails the whole batch with 400, as captured
	// responses show (see the docs page).
	ValidationMultiStatus bool
	// OmitResultTraceIDs leaves objectWriteTraceId out of the results of a write.
	// By default each result echoes its input's, as the 2026-03 response schema
	// allows; the guide's example of a 207 shows none.
	OmitResultTraceIDs bool
	// ShuffleResults returns batch results in random order; HubSpot does not
	// promise input order.
	ShuffleResults bool

	// CustomObjects defines custom object types: name → properties, on top of
	// hs_object_id, hs_createdate and hs_lastmodifieddate. Each gets an
	// objectTypeId "2-<n>" (sorted by name, from 2-1001) usable in paths.
	CustomObjects map[string][]Property
	// FirstID is the id of the first record of each object type; ids then
	// increase by one. Default 10,000,000,001: real ids pass 2^31, and a client
	// that parses them as int32 should fail here too.
	FirstID uint64
	// Reject, when set, is asked about each record a write would store (object
	// type name and all its properties after the write); a non-empty answer
	// fails that input with this message as a VALIDATION_ERROR. It runs with the
	// store locked and must not call the Server.
	Reject func(object string, properties map[string]string) string

	// Now is the clock. Default time.Now.
	Now simkit.Clock
	// KeepBodies keeps request bodies in the log.
	KeepBodies bool
	// LogLimit is the most requests the log keeps. Default 100,000.
	LogLimit int
}

// WithDefaults returns the options with every unset field at its default; the
// tier's limits are resolved into PerInterval and Daily.
func (o Options) WithDefaults() Options {
	if o.PortalID == 0 {
		o.PortalID = 12345678
	}
	if o.TimeZone == "" {
		o.TimeZone = "US/Eastern"
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	if o.Tier == "" {
		o.Tier = TierProfessional
	}
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	lim, ok := tierLimits[o.Tier]
	if ok {
		if o.LimitIncreasePacks > 0 {
			// A pack raises the window to 250 whatever the tier; packs do not stack on it.
			lim.perInterval = 250
			lim.daily += int64(o.LimitIncreasePacks) * 1_000_000
		}
		if o.PerInterval == 0 {
			o.PerInterval = lim.perInterval
		}
		if o.Daily == 0 {
			o.Daily = lim.daily
		}
	}
	if o.PolicyName == "" {
		o.PolicyName = PolicySecondly
	}
	if o.MaxInputs == 0 {
		o.MaxInputs = 100
	}
	if o.MaxHistoryInputs == 0 {
		o.MaxHistoryInputs = 50
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.FirstID == 0 {
		o.FirstID = 10_000_000_001
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

var objectNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports what is wrong with the options (after defaults), naming the field.
func (o Options) Validate() error {
	o = o.WithDefaults()
	var errs []error
	if _, ok := tierLimits[o.Tier]; !ok {
		errs = append(errs, fmt.Errorf("hubspot: Tier %q: want free, starter, professional or enterprise", o.Tier))
	}
	if _, err := time.LoadLocation(o.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("hubspot: TimeZone %q: %w", o.TimeZone, err))
	}
	if o.PerInterval < 0 || o.Daily < 0 || o.Interval < 0 {
		errs = append(errs, errors.New("hubspot: PerInterval, Daily and Interval must not be negative"))
	}
	if o.LimitIncreasePacks < 0 || o.LimitIncreasePacks > 2 {
		errs = append(errs, fmt.Errorf("hubspot: LimitIncreasePacks %d: HubSpot sells at most 2", o.LimitIncreasePacks))
	}
	if o.MaxInputs < 0 || o.MaxHistoryInputs < 0 || o.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("hubspot: MaxInputs, MaxHistoryInputs and MaxBodyBytes must not be negative"))
	}
	for name, props := range o.CustomObjects {
		if !objectNameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("hubspot: CustomObjects %q: a name is lower-case letters, digits and _", name))
		}
		if _, ok := standardAliases[name]; ok {
			errs = append(errs, fmt.Errorf("hubspot: CustomObjects %q: the name of a standard object", name))
		}
		for _, p := range props {
			if err := p.check(); err != nil {
				errs = append(errs, fmt.Errorf("hubspot: CustomObjects %q: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Describe is a one-line summary of the simulated account for a CLI banner.
func (o Options) Describe() string {
	o = o.WithDefaults()
	auth := "any bearer token"
	if len(o.Tokens) > 0 {
		auth = fmt.Sprintf("%d bearer token(s)", len(o.Tokens))
	}
	objects := []string{"contacts", "companies", "deals"}
	for _, name := range sortedKeys(o.CustomObjects) {
		objects = append(objects, name)
	}
	return fmt.Sprintf("HubSpot CRM v3: portal %d (%s), %s tier: %d requests per %s per token, %d per day; objects %s; %s",
		o.PortalID, o.TimeZone, o.Tier, o.PerInterval, o.Interval, o.Daily, strings.Join(objects, ", "), auth)
}
