package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// headerLimitInfo is Salesforce's report of the org's API usage on every REST
// answer: "api-usage=10018/100000" (newer orgs add "per-app-api-usage=…").
const headerLimitInfo = "Sforce-Limit-Info"

// limitInfo reads the org's usage over the last 24 hours from a header set, or
// nil when it is absent or unreadable.
func limitInfo(h http.Header) *saas.DailyState {
	for _, v := range h.Values(headerLimitInfo) {
		for part := range strings.SplitSeq(v, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || !strings.EqualFold(name, "api-usage") {
				continue
			}
			usedText, maxText, ok := strings.Cut(value, "/")
			used, err1 := strconv.Atoi(strings.TrimSpace(usedText))
			total, err2 := strconv.Atoi(strings.TrimSpace(maxText))
			if !ok || err1 != nil || err2 != nil || used < 0 || total <= 0 {
				return nil
			}
			return &saas.DailyState{Max: total, Remaining: max(0, total-used)}
		}
	}
	return nil
}

// observe passes Salesforce's count of the org's requests to the budget: every
// integration of the org spends the same allocation, and the header says how
// much of it is left. A lower daily limit of the user's (rate_limit.daily) is
// measured against the org's usage too. The destination keeps the count for
// keepReserve.
func (d *Destination) observe(h http.Header, f *saas.Feedback) {
	f.Daily = limitInfo(h)
	if f.Daily != nil {
		s := *f.Daily
		d.usage.Store(&s)
	}
}

// isDailyLimit reports Salesforce's refusal for a spent daily allocation: 403
// REQUEST_LIMIT_EXCEEDED ("TotalRequests Limit exceeded"), not a 429. The same
// code also refuses a request when too many long-running ones are in flight
// ("ConcurrentPerOrgLongTxn Limit exceeded"), which waiting a little cures.
func isDailyLimit(status int, h http.Header, body []byte) bool {
	if status != http.StatusForbidden {
		return false
	}
	errs := parseErrors(body)
	if !hasCode(errs, codeRequestLimit) {
		return false
	}
	for _, e := range errs {
		if strings.Contains(strings.ToLower(e.Message), "concurrent") {
			return false
		}
	}
	return true
}

// isThrottled tells the budget which answers are throttling that a pause cures:
// REQUEST_LIMIT_EXCEEDED for concurrent long-running requests. A spent daily
// allocation is not: waiting seconds does not help, so it must not pause the
// budget or halve its concurrency.
func isThrottled(status int, h http.Header, body []byte) bool {
	if status == http.StatusTooManyRequests {
		return true // not documented for the REST API; a proxy may answer it
	}
	return status == http.StatusForbidden && hasCode(parseErrors(body), codeRequestLimit) && !isDailyLimit(status, h, body)
}

// markSpent stops the run's requests once Salesforce said the org's daily
// allocation is spent, and returns the error that fails the batch. Salesforce
// counts requests over a rolling 24 hours, so nothing tells when room comes
// back: the rows wait for the next run.
func (d *Destination) markSpent(what, msg string, h http.Header) error {
	usage := ""
	if s := limitInfo(h); s != nil {
		usage = fmt.Sprintf(" (%d of %d requests used in the last 24 hours)", s.Max-s.Remaining, s.Max)
	}
	text := fmt.Sprintf("%s: HTTP 403: %s: the org's daily API request allocation is used up%s; Salesforce counts it over a rolling 24 hours, so this run sends nothing more and the rows are sent again on the next run (lower other integrations' use, or set edition and licenses to match the org)",
		what, msg, usage)
	reason := strings.TrimPrefix(text, "salesforce: ")
	d.spent.CompareAndSwap(nil, &reason)
	return connector.Permanent(connector.Throttled(errors.New(text), 0))
}

// dailySpent refuses to send once Salesforce refused a request for the daily
// allocation, for the rest of the run.
func (d *Destination) dailySpent() error {
	if reason := d.spent.Load(); reason != nil {
		return connector.Permanent(fmt.Errorf("salesforce: not sent: %s", *reason))
	}
	return nil
}

// ctxErr reports a cancelled or timed-out run.
func ctxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
