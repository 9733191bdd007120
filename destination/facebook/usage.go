package facebook

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Meta's usage headers.
const (
	headerBUC       = "X-Business-Use-Case-Usage"
	headerAdAccount = "X-Ad-Account-Usage"
	headerApp       = "X-App-Usage"
)

// usage reads Meta's usage headers and paces an ad account's requests by them:
// the ad account's score by the score's pacing (see score), the hourly
// business-use-case and app budgets (call_count percentages of budgets that
// never bind at Meta's documented sizes) by spacing requests out as they near
// 100%. Throttling answers pause the whole budget for the time Meta says
// (estimated_time_to_regain_access, in minutes; reset_time_duration while the
// score blocks) or, without one, back off.
type usage struct {
	account string
	tuning  saas.Tuning
	log     *slog.Logger
	now     func() time.Time
	pacer   *pacer // the ad account's, shared by every sync writing to it

	mu   sync.Mutex
	tier string // as the headers name it, once seen

	// Spacing between requests while an hourly budget is nearly spent.
	spacing time.Duration
	nextAt  time.Time
}

func newUsage(account, key string, tuning saas.Tuning, log *slog.Logger) *usage {
	return &usage{account: account, tuning: tuning, log: log, now: time.Now, pacer: sharedPacer(key)}
}

// adAccountUsage is X-Ad-Account-Usage.
type adAccountUsage struct {
	Pct    *float64 `json:"acc_id_util_pct"`
	Reset  float64  `json:"reset_time_duration"`
	Tier   string   `json:"ads_api_access_tier"`
	parsed bool
}

// bucUsage is one entry of X-Business-Use-Case-Usage (or X-App-Usage, which has
// the percentages only).
type bucUsage struct {
	Type       string  `json:"type"`
	CallCount  float64 `json:"call_count"`
	CPUTime    float64 `json:"total_cputime"`
	TotalTime  float64 `json:"total_time"`
	RegainMins float64 `json:"estimated_time_to_regain_access"`
	Tier       string  `json:"ads_api_access_tier"`
}

func (b bucUsage) peak() float64 { return max(b.CallCount, b.CPUTime, b.TotalTime) }

// figures are what one answer's headers say.
type figures struct {
	account   adAccountUsage
	buc       []bucUsage // the entries for the ad account (or every entry when none is keyed by it)
	app       *bucUsage
	regain    time.Duration // the longest wait any header asks for
	tier      string
	nearLimit float64 // the highest hourly-budget percentage
}

// readFigures parses the usage headers; headers that are absent or unreadable
// are left out.
func readFigures(h http.Header, account string) figures {
	var f figures
	if v := h.Get(headerAdAccount); v != "" && json.Unmarshal([]byte(v), &f.account) == nil {
		f.account.parsed = true
		f.tier = f.account.Tier
		if f.account.Pct != nil && *f.account.Pct >= 100 && f.account.Reset > 0 {
			f.regain = time.Duration(f.account.Reset * float64(time.Second))
		}
	}
	if v := h.Get(headerBUC); v != "" {
		var byObject map[string][]bucUsage
		if json.Unmarshal([]byte(v), &byObject) == nil {
			entries, ok := byObject[account]
			if !ok {
				entries, ok = byObject["act_"+account]
			}
			if !ok {
				for _, list := range byObject {
					entries = append(entries, list...)
				}
			}
			f.buc = entries
			for _, e := range entries {
				if e.Tier != "" && f.tier == "" {
					f.tier = e.Tier
				}
				f.nearLimit = max(f.nearLimit, e.peak())
				if e.RegainMins > 0 {
					f.regain = max(f.regain, time.Duration(e.RegainMins*float64(time.Minute)))
				}
			}
		}
	}
	if v := h.Get(headerApp); v != "" {
		var app bucUsage
		if json.Unmarshal([]byte(v), &app) == nil {
			f.app = &app
			f.nearLimit = max(f.nearLimit, app.peak())
		}
	}
	return f
}

// seqHeader carries a write's number from the transport to observe; it never
// leaves the process.
const seqHeader = "X-Sluice-Write-Seq"

// seqKey is the context key of a write's number (see score.book).
type seqKey struct{}

// observe is the client's Observe: what an answer's headers say goes to the
// budget (the time a throttling asks to wait) and to the score's pacing.
func (u *usage) observe(h http.Header, f *saas.Feedback) {
	seq, _ := strconv.ParseInt(h.Get(seqHeader), 10, 64)
	h.Del(seqHeader)
	fig := readFigures(h, u.account)
	if fig.regain > 0 {
		f.Retry = max(f.Retry, fig.regain)
	}
	u.mu.Lock()
	if fig.tier != "" {
		u.tier = fig.tier
	}
	u.space(fig.nearLimit)
	u.mu.Unlock()
	if fig.account.parsed && fig.account.Pct != nil {
		u.pacer.observe(meterScore, seq, *fig.account.Pct, fig.account.Reset)
	}
	if len(fig.buc) > 0 {
		peak := 0.0
		for _, e := range fig.buc {
			peak = max(peak, e.peak())
		}
		u.pacer.observe(meterBUC, seq, peak, 0)
	}
}

// transport tells the score when a write leaves, and hands its number to
// observe with its answer.
type transport struct {
	base  http.RoundTripper
	pacer *pacer
}

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	seq, isWrite := r.Context().Value(seqKey{}).(int64)
	if isWrite {
		t.pacer.sent(seq)
	}
	resp, err := t.base.RoundTrip(r)
	if isWrite && err == nil {
		resp.Header.Set(seqHeader, strconv.FormatInt(seq, 10))
	}
	return resp, err
}

func (t transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// space spaces requests out while an hourly budget (business use case, app) is
// above 95%, doubling the spacing while it stays there, and stops below 90%.
func (u *usage) space(peak float64) {
	switch {
	case peak >= 95:
		u.spacing = min(10*time.Second, max(250*time.Millisecond, 2*u.spacing))
	case peak < 90:
		u.spacing = 0
	}
}

// pace waits until a write may go: the spacing in force, then room in the
// score's window. The context it returns carries the write's number.
func (u *usage) pace(ctx context.Context) (context.Context, error) {
	u.mu.Lock()
	var wait time.Duration
	if u.spacing > 0 {
		now := u.now()
		at := u.nextAt
		if at.Before(now) {
			at = now
		}
		u.nextAt = at.Add(u.spacing)
		wait = at.Sub(now)
	}
	u.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx, ctx.Err()
		}
	}
	seq, err := u.pacer.book(ctx)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, seqKey{}, seq), nil
}

// tierName is the tier the headers named ("" until one did), as access_tier spells it.
func (u *usage) tierName() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case strings.HasPrefix(u.tier, "development"):
		return TierDevelopment
	case strings.HasPrefix(u.tier, "standard"):
		return TierStandard
	}
	return ""
}

// documented are the limits Meta documents for the tier (configured, else
// learned, else standard) lowered by the user's rate_limit: what a run's
// efficiency is reported against until the score is measured.
func (u *usage) documented(configured string) connector.RateLimits {
	tier := configured
	if tier == "" {
		tier = u.tierName()
	}
	if tier == "" {
		tier = TierStandard
	}
	api := saas.API{Name: "Meta's Marketing API", BatchRecords: maxRows, InFlight: maxInFlight}
	api.Limits, _ = TierLimits(tier)
	l, _ := u.tuning.Resolve(api)
	return l.Rate
}
