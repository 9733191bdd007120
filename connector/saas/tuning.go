package saas

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
)

// API is what an API allows, as its vendor documents it: the most a user may set.
type API struct {
	Name         string // as users know it, for messages: "HubSpot (professional tier)"
	BatchRecords int    // most records in one request
	BatchBytes   int    // most payload bytes in one request; 0 means no limit
	InFlight     int    // most requests in flight Sluice allows itself
	Limits       connector.RateLimits

	// Defaults, used when the user sets nothing.
	DefaultInFlight int
	DefaultAttempts int
	DefaultTimeout  time.Duration
}

// Tuning are the keys every SaaS destination takes to lower its API's limits to
// the user's plan (or to leave room for other integrations on the same account).
// Embed it in a destination's Config, call SetDefaults from the Config's, and
// Validate/Resolve from its Validate and Open.
type Tuning struct {
	BatchSize   int           `yaml:"batch_size" doc:"Most records in one request (default and maximum: the API's)."`
	MaxInFlight int           `yaml:"max_in_flight" doc:"Most requests in flight at once; concurrency adapts below it."`
	MaxAttempts int           `yaml:"max_attempts" doc:"Tries of a request that fails transiently (429, 5xx, timeout) before its rows fail for the next run."`
	Timeout     time.Duration `yaml:"timeout" doc:"Time allowed for one request, response included (default 60s)."`
	RateLimit   RateLimit     `yaml:"rate_limit" doc:"Lower the API's rate limits, e.g. {requests: 100, per: 10s, daily: 200000}."`
}

// RateLimit is a user's lowering of an API's rate limits; zero keys keep the API's.
type RateLimit struct {
	Requests int           `yaml:"requests" doc:"Most requests per window (the window is per, default the API's)."`
	Per      time.Duration `yaml:"per" doc:"The window requests are counted over, e.g. 10s."`
	Daily    int           `yaml:"daily" doc:"Most requests per day."`
	Bytes    int64         `yaml:"bytes" doc:"Most payload bytes per window."`
}

// Validate checks the keys against api and returns *connector.FieldError values
// (joined) naming each key that is out of range.
func (t *Tuning) Validate(api API) error {
	_, err := t.Resolve(api)
	return err
}

// Limits are the resolved settings a destination runs with.
type Limits struct {
	BatchRecords int
	BatchBytes   int
	InFlight     int
	Attempts     int
	Timeout      time.Duration
	Rate         connector.RateLimits
}

// Capabilities are what the engine batches and reports by.
func (l Limits) Capabilities() connector.Capabilities {
	rate := l.Rate
	return connector.Capabilities{
		MaxBatchRecords: l.BatchRecords, MaxBatchBytes: l.BatchBytes,
		MaxInFlight: l.InFlight, MaxAttempts: l.Attempts, Limits: &rate,
	}
}

// Resolve applies the user's keys to api's limits, refusing any that would raise them.
func (t *Tuning) Resolve(api API) (Limits, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &connector.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	l := Limits{
		BatchRecords: api.BatchRecords, BatchBytes: api.BatchBytes, InFlight: api.DefaultInFlight,
		Attempts: api.DefaultAttempts, Timeout: api.DefaultTimeout, Rate: api.Limits,
	}
	if l.InFlight == 0 {
		l.InFlight = api.InFlight
	}
	if l.Attempts == 0 {
		l.Attempts = 8
	}
	if l.Timeout == 0 {
		l.Timeout = 60 * time.Second
	}
	switch {
	case t.BatchSize < 0 || t.BatchSize > api.BatchRecords:
		bad("batch_size", "must be between 1 and %d, the most %s accepts in one request; lower it or remove it", api.BatchRecords, api.Name)
	case t.BatchSize > 0:
		l.BatchRecords = t.BatchSize
	}
	switch {
	case t.MaxInFlight < 0 || t.MaxInFlight > api.InFlight:
		bad("max_in_flight", "must be between 1 and %d for %s", api.InFlight, api.Name)
	case t.MaxInFlight > 0:
		l.InFlight = t.MaxInFlight
	}
	switch {
	case t.MaxAttempts < 0 || t.MaxAttempts > 20:
		bad("max_attempts", "must be between 1 and 20")
	case t.MaxAttempts > 0:
		l.Attempts = t.MaxAttempts
	}
	switch {
	case t.Timeout < 0:
		bad("timeout", "must be positive, e.g. 60s")
	case t.Timeout > 0:
		l.Timeout = t.Timeout
	}
	r := t.RateLimit
	apiRate := api.Limits
	if r.Requests < 0 || r.Daily < 0 || r.Bytes < 0 || r.Per < 0 {
		bad("rate_limit", "numbers must not be negative")
		return l, errors.Join(errs...)
	}
	if r.Per > 0 && r.Requests == 0 && r.Bytes == 0 {
		bad("rate_limit.per", "sets the window of requests or bytes; set one of them too")
	}
	if r.Requests > 0 {
		per := r.Per
		if per == 0 {
			per = apiRate.Window
		}
		if apiRate.Requests > 0 && apiRate.Window > 0 {
			if per == 0 || float64(r.Requests)/per.Seconds() > float64(apiRate.Requests)/apiRate.Window.Seconds()+1e-9 {
				bad("rate_limit.requests", "%d per %s is more than %s allows (%d per %s); lower it or remove it", r.Requests, per, api.Name, apiRate.Requests, apiRate.Window)
			}
		}
		if per > apiRate.Window && apiRate.Requests > 0 && r.Requests > apiRate.Requests {
			// Over a longer window the same average allows bursts the API refuses.
			bad("rate_limit.requests", "%d per %s would let more than %s's %d requests go out within %s; use a window of at most %s, or at most %d requests",
				r.Requests, per, api.Name, apiRate.Requests, apiRate.Window, apiRate.Window, apiRate.Requests)
		} else if per == 0 {
			bad("rate_limit.per", "is needed with requests, e.g. per: 10s")
		} else if apiRate.Requests == 0 || float64(r.Requests)/per.Seconds() <= float64(apiRate.Requests)/apiRate.Window.Seconds() {
			l.Rate.Requests, l.Rate.Window = r.Requests, per
			if apiRate.Bytes > 0 && per != apiRate.Window {
				// One window serves both bounds: scale the byte bound to it, never up
				// (a longer window at the same average would allow bursts).
				l.Rate.Bytes = min(apiRate.Bytes, int64(float64(apiRate.Bytes)*per.Seconds()/apiRate.Window.Seconds()))
			}
		}
	}
	if r.Bytes > 0 {
		per := r.Per
		if per == 0 {
			per = l.Rate.Window
		}
		switch {
		case per == 0:
			bad("rate_limit.per", "is needed with bytes, e.g. per: 1m")
		case apiRate.Bytes > 0 && float64(r.Bytes)/per.Seconds() > float64(apiRate.Bytes)/apiRate.Window.Seconds()+1e-9:
			bad("rate_limit.bytes", "%d per %s is more than %s allows (%d per %s); lower it or remove it", r.Bytes, per, api.Name, apiRate.Bytes, apiRate.Window)
		case apiRate.Bytes > 0 && per > apiRate.Window && r.Bytes > apiRate.Bytes:
			bad("rate_limit.bytes", "%d per %s would let more than %s's %d bytes go out within %s; use a window of at most %s, or at most %d bytes",
				r.Bytes, per, api.Name, apiRate.Bytes, apiRate.Window, apiRate.Window, apiRate.Bytes)
		default:
			if r.Requests == 0 && per != l.Rate.Window && l.Rate.Requests > 0 {
				// Scaled to the byte window, never up (see above).
				l.Rate.Requests = min(l.Rate.Requests, int(float64(l.Rate.Requests)*per.Seconds()/l.Rate.Window.Seconds()))
			}
			l.Rate.Bytes, l.Rate.Window = r.Bytes, per
		}
	}
	if r.Daily > 0 {
		if apiRate.Daily > 0 && r.Daily > apiRate.Daily {
			bad("rate_limit.daily", "%d is more than %s allows (%d a day); lower it or remove it", r.Daily, api.Name, apiRate.Daily)
		} else {
			l.Rate.Daily = r.Daily
		}
	}
	return l, errors.Join(errs...)
}

// BaseURL checks a destination's base_url (empty means def, the vendor's host)
// and returns it without a trailing slash. Its errors are FieldError messages.
func BaseURL(s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("must start with https:// (or http:// for a local simulator)")
	case u.Host == "":
		return "", errors.New("has no host")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("must not have a query or a fragment: give the API's host, e.g. %s", def)
	}
	return strings.TrimRight(s, "/"), nil
}
