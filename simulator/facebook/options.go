package facebook

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Tier is the app's Marketing API access tier; it sets the default rate limits.
// Meta has renamed the tiers several times: the development tier is also called
// "Dev" or "Limited Access", the standard tier "Standard" or "Full Access".
type Tier string

// The two tiers of Meta's rate-limiting page.
const (
	TierDevelopment Tier = "development"
	TierStandard    Tier = "standard"
)

// tierLimits are the documented per-tier figures: the custom_audience business
// use case's base calls per hour per ad account, and the ad account's score
// (maximum, time to be blocked when it is exceeded).
var tierLimits = map[Tier]struct {
	bucBase  int64
	maxScore int64
	block    time.Duration
	label    string // ads_api_access_tier in the usage headers
}{
	TierDevelopment: {5_000, 60, 300 * time.Second, "development_access"},
	TierStandard:    {190_000, 9_000, 60 * time.Second, "standard_access"},
}

// Documented constants of the custom_audience business use case: each active
// custom audience of the ad account adds 40 calls per hour, up to 700,000.
const (
	bucPerAudience = 40
	bucCap         = 700_000
)

// Error codes an ad account's score (points) limit can answer with.
const (
	ScoreCodeUserLimit = 17  // "User request limit reached", subcode 2446079
	ScoreCodeAdAccount = 613 // "There have been too many calls from this ad-account", subcode 1487742
)

// Options configure the simulator. The zero value of a field means its default;
// docs/simulators/facebook.md gives the source of each default and marks the
// unconfirmed ones.
type Options struct {
	// APIVersion is reported in facebook-api-version when a request's path has no
	// version prefix. Default "v21.0".
	APIVersion string

	// Tokens are the accepted access tokens (access_token parameter, or
	// Authorization: Bearer / OAuth). Empty accepts any non-empty token.
	Tokens []string
	// ReadOnlyTokens lack the ads_management permission: every write they make is
	// refused with code 294.
	ReadOnlyTokens []string
	// Grants restricts a token to the ad accounts listed (ids with or without
	// "act_"); a token not in the map may manage every ad account.
	Grants map[string][]string
	// AppSecret, when set, makes the simulator check appsecret_proof (the hex
	// HMAC-SHA256 of the token keyed by the secret) whenever one is sent.
	AppSecret string
	// RequireAppSecretProof refuses calls without appsecret_proof (the app
	// setting "Require App Secret"). Needs AppSecret.
	RequireAppSecretProof bool
	// AuthErrorStatus is the HTTP status of a missing or invalid token (codes 104
	// and 190). Default 400 (unconfirmed: some answers are 401).
	AuthErrorStatus int

	// AdAccounts are the ad accounts that exist (ids with or without "act_").
	// Empty: any numeric ad account id exists.
	AdAccounts []string
	// Audiences are created before the simulator serves: audience id → ad account id.
	Audiences map[string]string
	// FirstAudienceID is the id of the first audience created through the API;
	// ids then increase by one. Default 23850000000000001 (real ids have 17 digits).
	FirstAudienceID uint64
	// OptionalCustomerFileSource accepts an audience created without
	// customer_file_source. By default it is required (unconfirmed).
	OptionalCustomerFileSource bool

	// MaxRows is the most rows one request's payload.data may have. Default 10,000.
	MaxRows int
	// TooManyRowsUnknownError answers more than MaxRows rows with the captured
	// "An unknown error occurred" (code 1, subcode 99, HTTP 500) instead of the
	// documented code 105.
	TooManyRowsUnknownError bool
	// MaxBodyBytes is the largest request body accepted. Default 64 MiB
	// (unconfirmed: Meta documents none).
	MaxBodyBytes int64
	// MaxInvalidSamples is the most entries of invalid_entry_samples. Default 100
	// (the guide: "Up to 100 samples of invalid entries").
	MaxInvalidSamples int
	// AcceptUppercase accepts upper-case hex digests and MADIDs, storing them in
	// lower case. By default they are invalid entries, as the hashing rules ask
	// for lower case.
	AcceptUppercase bool
	// Reject, when set, is asked about each row that passed validation (audience
	// id, identifiers by schema key); a non-empty answer makes the row an invalid
	// entry with that reason. SetReject changes it while the simulator runs.
	Reject func(audienceID string, identifiers map[string]string) string

	// ReplaceTimeout is how long a usersreplace session may stay open after its
	// first batch; later batches are refused and the audience keeps its members
	// (unconfirmed). Default 90 minutes, as the guide documents.
	ReplaceTimeout time.Duration
	// StrictBatchOrder refuses a usersreplace batch whose batch_seq is not the
	// next one. By default batches may arrive in any order after batch 1.
	StrictBatchOrder bool
	// RejectDuplicateBatch refuses a usersreplace batch_seq already received. By
	// default it is accepted (its rows join the session; a retry changes nothing).
	RejectDuplicateBatch bool
	// RejectConcurrentReplace refuses a new usersreplace session while another is
	// open on the audience. By default the new session supersedes the old one.
	RejectConcurrentReplace bool
	// RejectUsersDuringReplace refuses /users adds and removes while a replace
	// session is open on the audience. By default they apply to the current
	// members (and are lost when the replace completes).
	RejectUsersDuringReplace bool

	// Tier picks the rate limits. Default TierStandard.
	Tier Tier
	// CallsPerWindow fixes the custom_audience business-use-case budget: calls
	// per Window per ad account. 0 uses Meta's formula (tier base + 40 × active
	// audiences of the account, at most 700,000 per hour); negative disables it.
	CallsPerWindow int64
	// Window is the rolling window of the business-use-case budget. Default 1h.
	Window time.Duration
	// MaxScore is the ad account's score limit: points per ScoreDecay (a GET
	// costs ReadPoints, a POST or DELETE WritePoints). 0 takes the tier's (9,000
	// standard, 60 development); negative disables it.
	MaxScore int64
	// ScoreDecay is the rolling window of the score. Default 300s.
	ScoreDecay time.Duration
	// ScoreBlock is how long an ad account over its score is refused. 0 takes
	// the tier's (60s standard, 300s development).
	ScoreBlock time.Duration
	// ReadPoints and WritePoints are the score of a GET and of a POST or DELETE.
	// Defaults 1 and 3.
	ReadPoints, WritePoints int64
	// ScoreErrorCode is the code of a refusal by the score: ScoreCodeUserLimit
	// (17, default) or ScoreCodeAdAccount (613). Both are documented for it.
	ScoreErrorCode int
	// AppCallsPerHour, when positive, limits the app's calls per rolling hour
	// over every token and ad account (code 4). Default off: Meta's app limit
	// depends on the app's users.
	AppCallsPerHour int64
	// ThrottleStatus is the HTTP status of a throttling error. Default 400, as
	// captured (Meta sends no 429).
	ThrottleStatus int
	// TransientThrottles adds "is_transient": true to throttling errors; the
	// captured ones have no such field.
	TransientThrottles bool
	// CapturedHeaders sends the usage headers as captured answers do: the
	// business-use-case header on audience calls, X-Ad-Account-Usage and
	// X-App-Usage on /users and /usersreplace. By default every authenticated
	// answer carries all three.
	CapturedHeaders bool

	// Now is the clock. Default time.Now.
	Now simkit.Clock
	// KeepBodies keeps request bodies in the log.
	KeepBodies bool
	// LogLimit is the most requests the log keeps. Default 100,000.
	LogLimit int
}

// WithDefaults returns the options with every unset field at its default; the
// tier's limits are resolved into MaxScore and ScoreBlock.
func (o Options) WithDefaults() Options {
	if o.APIVersion == "" {
		o.APIVersion = "v21.0"
	}
	if o.AuthErrorStatus == 0 {
		o.AuthErrorStatus = 400
	}
	if o.FirstAudienceID == 0 {
		o.FirstAudienceID = 23_850_000_000_000_001
	}
	if o.MaxRows == 0 {
		o.MaxRows = 10_000
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxInvalidSamples == 0 {
		o.MaxInvalidSamples = 100
	}
	if o.ReplaceTimeout == 0 {
		o.ReplaceTimeout = 90 * time.Minute
	}
	if o.Tier == "" {
		o.Tier = TierStandard
	}
	if o.Window == 0 {
		o.Window = time.Hour
	}
	if lim, ok := tierLimits[o.Tier]; ok {
		if o.MaxScore == 0 {
			o.MaxScore = lim.maxScore
		}
		if o.ScoreBlock == 0 {
			o.ScoreBlock = lim.block
		}
	}
	if o.ScoreDecay == 0 {
		o.ScoreDecay = 300 * time.Second
	}
	if o.ReadPoints == 0 {
		o.ReadPoints = 1
	}
	if o.WritePoints == 0 {
		o.WritePoints = 3
	}
	if o.ScoreErrorCode == 0 {
		o.ScoreErrorCode = ScoreCodeUserLimit
	}
	if o.ThrottleStatus == 0 {
		o.ThrottleStatus = 400
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

var (
	versionRE = regexp.MustCompile(`^v\d+\.\d+$`)
	digitsRE  = regexp.MustCompile(`^[0-9]+$`)
)

// Validate reports what is wrong with the options (after defaults), naming the field.
func (o Options) Validate() error {
	o = o.WithDefaults()
	var errs []error
	if !versionRE.MatchString(o.APIVersion) {
		errs = append(errs, fmt.Errorf("facebook: APIVersion %q: want vNN.N, e.g. v21.0", o.APIVersion))
	}
	if _, ok := tierLimits[o.Tier]; !ok {
		errs = append(errs, fmt.Errorf("facebook: Tier %q: want development or standard", o.Tier))
	}
	if o.AuthErrorStatus < 400 || o.AuthErrorStatus > 499 {
		errs = append(errs, fmt.Errorf("facebook: AuthErrorStatus %d: want a 4xx status", o.AuthErrorStatus))
	}
	if o.ThrottleStatus < 400 || o.ThrottleStatus > 599 {
		errs = append(errs, fmt.Errorf("facebook: ThrottleStatus %d: want a 4xx or 5xx status", o.ThrottleStatus))
	}
	if o.ScoreErrorCode != ScoreCodeUserLimit && o.ScoreErrorCode != ScoreCodeAdAccount {
		errs = append(errs, fmt.Errorf("facebook: ScoreErrorCode %d: want 17 or 613", o.ScoreErrorCode))
	}
	if o.MaxRows < 0 || o.MaxBodyBytes < 0 || o.MaxInvalidSamples < 0 {
		errs = append(errs, errors.New("facebook: MaxRows, MaxBodyBytes and MaxInvalidSamples must not be negative"))
	}
	if o.Window < 0 || o.ScoreDecay < 0 || o.ScoreBlock < 0 || o.ReplaceTimeout < 0 {
		errs = append(errs, errors.New("facebook: Window, ScoreDecay, ScoreBlock and ReplaceTimeout must not be negative"))
	}
	if o.ReadPoints < 0 || o.WritePoints < 0 || o.AppCallsPerHour < 0 {
		errs = append(errs, errors.New("facebook: ReadPoints, WritePoints and AppCallsPerHour must not be negative"))
	}
	if o.MaxScore > 0 && max(o.ReadPoints, o.WritePoints) > o.MaxScore {
		errs = append(errs, fmt.Errorf("facebook: MaxScore %d is below one call's points", o.MaxScore))
	}
	if o.RequireAppSecretProof && o.AppSecret == "" {
		errs = append(errs, errors.New("facebook: RequireAppSecretProof needs AppSecret"))
	}
	for _, a := range o.AdAccounts {
		if !digitsRE.MatchString(strings.TrimPrefix(a, "act_")) {
			errs = append(errs, fmt.Errorf("facebook: AdAccounts %q: an ad account id is digits, optionally after act_", a))
		}
	}
	for token, accounts := range o.Grants {
		for _, a := range accounts {
			if !digitsRE.MatchString(strings.TrimPrefix(a, "act_")) {
				errs = append(errs, fmt.Errorf("facebook: Grants[%q] %q: an ad account id is digits, optionally after act_", token, a))
			}
		}
	}
	known := map[string]bool{}
	for _, a := range o.AdAccounts {
		known[strings.TrimPrefix(a, "act_")] = true
	}
	for id, account := range o.Audiences {
		if !digitsRE.MatchString(id) {
			errs = append(errs, fmt.Errorf("facebook: Audiences %q: an audience id is digits", id))
		}
		acc := strings.TrimPrefix(account, "act_")
		if !digitsRE.MatchString(acc) {
			errs = append(errs, fmt.Errorf("facebook: Audiences[%q] ad account %q: digits, optionally after act_", id, account))
		} else if len(known) > 0 && !known[acc] {
			errs = append(errs, fmt.Errorf("facebook: Audiences[%q]: ad account %s is not in AdAccounts", id, acc))
		}
	}
	return errors.Join(errs...)
}

// bucLimit is the custom_audience budget per Window of an ad account with n
// active audiences; 0 means no limit.
func (o Options) bucLimit(n int) int64 {
	switch {
	case o.CallsPerWindow < 0:
		return 0
	case o.CallsPerWindow > 0:
		return o.CallsPerWindow
	}
	return min(bucCap, tierLimits[o.Tier].bucBase+bucPerAudience*int64(n))
}

// WriteRate is the sustained rate of membership writes (POST or DELETE /users,
// POST /usersreplace) per second that one ad account with this many audiences
// can make without being throttled: the lower of the business-use-case budget
// and the score. 0 means no limit. A benchmark expects a client to reach it.
func (o Options) WriteRate(audiences int) float64 {
	o = o.WithDefaults()
	rate := 0.0
	if limit := o.bucLimit(audiences); limit > 0 {
		rate = float64(limit) / o.Window.Seconds()
	}
	if o.MaxScore > 0 && o.WritePoints > 0 {
		score := float64(o.MaxScore/o.WritePoints) / o.ScoreDecay.Seconds()
		if rate == 0 || score < rate {
			rate = score
		}
	}
	if o.AppCallsPerHour > 0 {
		if app := float64(o.AppCallsPerHour) / 3600; rate == 0 || app < rate {
			rate = app
		}
	}
	return rate
}

// Describe is a one-line summary of the simulated API for a CLI banner; it states
// the throughput the limits allow per ad account.
func (o Options) Describe() string {
	o = o.WithDefaults()
	auth := "any access token"
	if len(o.Tokens) > 0 {
		auth = fmt.Sprintf("%d access token(s)", len(o.Tokens))
	}
	accounts := "any ad account"
	if len(o.AdAccounts) > 0 {
		accounts = fmt.Sprintf("%d ad account(s)", len(o.AdAccounts))
	}
	var limits []string
	switch {
	case o.CallsPerWindow > 0:
		limits = append(limits, fmt.Sprintf("custom_audience budget %d calls/%s", o.CallsPerWindow, o.Window))
	case o.CallsPerWindow == 0:
		limits = append(limits, fmt.Sprintf("custom_audience budget %d + 40 × audiences calls/%s (≤ %d)",
			tierLimits[o.Tier].bucBase, o.Window, bucCap))
	}
	if o.MaxScore > 0 {
		limits = append(limits, fmt.Sprintf("score %d points/%s (GET %d, POST/DELETE %d; blocked %s)",
			o.MaxScore, o.ScoreDecay, o.ReadPoints, o.WritePoints, o.ScoreBlock))
	}
	if o.AppCallsPerHour > 0 {
		limits = append(limits, fmt.Sprintf("app %d calls/h", o.AppCallsPerHour))
	}
	if rate := o.WriteRate(1); rate > 0 {
		limits = append(limits, fmt.Sprintf("sustained ≤ %.3g membership writes/s (%.3g rows/s)", rate, rate*float64(o.MaxRows)))
	} else {
		limits = append(limits, "no limits")
	}
	return fmt.Sprintf("Meta Marketing API %s, customer file custom audiences (≤ %d rows/request); %s tier, per ad account: %s; %s, %s",
		o.APIVersion, o.MaxRows, o.Tier, strings.Join(limits, ", "), accounts, auth)
}
