package hubspot

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// HubSpot's rate-limit headers.
const (
	headerMax            = "X-HubSpot-RateLimit-Max"
	headerRemaining      = "X-HubSpot-RateLimit-Remaining"
	headerInterval       = "X-HubSpot-RateLimit-Interval-Milliseconds"
	headerDaily          = "X-HubSpot-RateLimit-Daily"
	headerDailyRemaining = "X-HubSpot-RateLimit-Daily-Remaining"
)

func (d *Destination) authorize(r *http.Request) {
	r.Header.Set("Authorization", "Bearer "+d.cfg.AccessToken)
}

// rateHeaders reads HubSpot's view of the rolling window and of the day.
func rateHeaders(h http.Header) (window *saas.WindowState, daily *saas.DailyState) {
	num := func(name string) (int, bool) {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 0
	}
	limit, okMax := num(headerMax)
	left, okLeft := num(headerRemaining)
	ms, okInterval := num(headerInterval)
	if okMax && okLeft && okInterval && limit > 0 && ms > 0 {
		window = &saas.WindowState{Max: limit, Remaining: left, Interval: time.Duration(ms) * time.Millisecond}
	}
	if dayLeft, ok := num(headerDailyRemaining); ok {
		dayMax, _ := num(headerDaily)
		daily = &saas.DailyState{Max: dayMax, Remaining: dayLeft}
	}
	return window, daily
}

// observe passes HubSpot's count to the budget, so that pacing follows it (other
// apps on the account spend the same window), and learns the account's limits
// from the first answer when no tier was configured.
func (d *Destination) observe(h http.Header, f *saas.Feedback) {
	f.Window, f.Daily = rateHeaders(h)
	if f.Window != nil {
		d.learn(f.Window, f.Daily)
	}
}

// awaitLimits holds writes back while the limits are not known yet: the first
// write goes alone, and its answer's headers set the limits for the others. It
// returns what to call when the write is done.
func (d *Destination) awaitLimits() (done func()) {
	if d.knowsLimits.Load() {
		return func() {}
	}
	d.firstWrite.Lock()
	if d.knowsLimits.Load() {
		d.firstWrite.Unlock()
		return func() {}
	}
	return d.firstWrite.Unlock
}

// learn sets the limits from HubSpot's headers the first time they come, when the
// tier is not configured; the user's rate_limit still lowers them. With w nil (a
// successful answer without the headers: a proxy may drop them) it settles on the
// free tier's.
func (d *Destination) learn(w *saas.WindowState, day *saas.DailyState) {
	if d.knowsLimits.Load() {
		return
	}
	d.mu.Lock()
	if d.learned {
		d.mu.Unlock()
		return
	}
	if w != nil {
		api := d.cfg.api()
		api.Name = "HubSpot"
		api.Limits = connector.RateLimits{Requests: w.Max, Window: w.Interval}
		if day != nil {
			api.Limits.Daily = day.Max
		}
		// Keys above what HubSpot reports are refused by Resolve and the API's
		// limit kept, which is what pacing needs.
		l, _ := d.cfg.Tuning.Resolve(api)
		d.rate = l.Rate
	}
	d.learned = true
	rate := d.rate
	d.mu.Unlock()
	if w != nil {
		d.log.Info("learned HubSpot's rate limits from its headers",
			"requests", rate.Requests, "window", rate.Window, "daily", rate.Daily)
	} else {
		d.log.Warn("HubSpot's answer has no rate-limit headers: pacing as the free tier; set tier to pace by yours",
			"requests", rate.Requests, "window", rate.Window)
	}
	d.useBudget()
	d.knowsLimits.Store(true)
	if w == nil {
		return
	}
	// The new budget starts empty, but HubSpot's window already holds this
	// request and whatever else the account sent. The answered request is counted
	// in the new budget and the headers reconcile the rest (as other apps' usage);
	// a budget too busy to admit it at once learns from the next answer instead.
	now, cancel := context.WithCancel(context.Background())
	cancel()
	if t, err := d.client.Load().Budget.Acquire(now, 0); err == nil {
		t.Done(saas.Feedback{Window: w, Daily: day})
	}
}

// rateLimitBody is the part of a 429's body that tells the limits apart.
type rateLimitBody struct {
	PolicyName string `json:"policyName"`
	Message    string `json:"message"`
}

func parseRateLimit(body []byte) rateLimitBody {
	var r rateLimitBody
	_ = json.Unmarshal(body, &r)
	return r
}

// isDaily reports whether a 429 says the day's allowance is spent.
func isDaily(status int, body []byte) bool {
	return status == http.StatusTooManyRequests && strings.EqualFold(parseRateLimit(body).PolicyName, "DAILY")
}

// isThrottled tells the budget which answers are HubSpot's rolling-window
// throttling: a 429 of any policy but DAILY (HubSpot's docs show SECONDLY,
// some answers say TEN_SECONDLY_ROLLING). A spent daily allowance is not:
// waiting seconds does not help, so it must not pause the budget or halve its
// concurrency.
func isThrottled(status int, _ http.Header, body []byte) bool {
	return status == http.StatusTooManyRequests && !isDaily(status, body)
}
