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
// the ad account's score and its custom_audience business-use-case budget by
// measure (see pacer), the app's hourly budget by spacing requests out as it
// nears 100%. Throttling answers pause the whole budget for the time Meta says
// (estimated_time_to_regain_access, in minutes; reset_time_duration while the
// score blocks) or, without one, back off.
type usage struct {
	account string
	tuning  saas.Tuning
	log     *slog.Logger
	now     func() time.Time
	pacer   *pacer // the ad account's, shared by every sync writing to it

	mu     sync.Mutex
	tier   string // as the headers name it, once seen
	logged bool   // the measured limits were logged

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
	account adAccountUsage
	buc     []bucUsage // the entries for the ad account (or every entry when none is keyed by it)
	app     *bucUsage
	regain  time.Duration // the longest wait any header asks for
	tier    string
}

// bucPeak is the highest of the business-use-case figures.
func (f figures) bucPeak() float64 {
	peak := 0.0
	for _, e := range f.buc {
		peak = max(peak, e.peak())
	}
	return peak
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
		}
	}
	return f
}

// seqHeader carries a write's number from the transport to observe; it never
// leaves the process.
const seqHeader = "X-Sluice-Write-Seq"

// seqKey is the context key of a write's number (see pacer.book).
type seqKey struct{}

// observe is the client's Observe: what an answer's headers say goes to the
// budget (the time a throttling asks to wait) and to the pacer.
func (u *usage) observe(h http.Header, f *saas.Feedback) {
	seq, _ := strconv.ParseInt(h.Get(seqHeader), 10, 64)
	h.Del(seqHeader)
	fig := readFigures(h, u.account)
	if fig.regain > 0 {
		f.Retry = max(f.Retry, fig.regain)
	}
	if fig.account.parsed && fig.account.Pct != nil {
		u.pacer.observe(meterScore, seq, *fig.account.Pct, fig.account.Reset)
	}
	if len(fig.buc) > 0 {
		u.pacer.observe(meterBUC, seq, fig.bucPeak(), 0)
	}
	// What the pacer does not measure (the app's budget; the business use
	// case's while one write's share of it is too small to see) is spaced out
	// near its limit.
	near := 0.0
	if fig.app != nil {
		near = fig.app.peak()
	}
	if !u.pacer.measures(meterBUC) {
		near = max(near, fig.bucPeak())
	}
	u.mu.Lock()
	if fig.tier != "" {
		u.tier = fig.tier
	}
	u.space(near)
	logNow := !u.logged && seq > 0
	u.mu.Unlock()
	if logNow {
		if l, ok := u.pacer.limits(); ok {
			u.mu.Lock()
			u.logged = true
			u.mu.Unlock()
			u.log.Info("measured the ad account's limits from Meta's usage headers", "writes", l.Requests, "window", l.Window)
		}
	}
}

// transport tells the pacer when a write leaves, and hands its number to
// observe with its answer. With app_secret it adds appsecret_proof to every
// request's query: here, below the client, the proof appears neither in the
// request lines the run log keeps nor in the errors that quote a request's URL
// (it is derived from the secrets, so the engine's redaction does not know it).
type transport struct {
	base  http.RoundTripper
	pacer *pacer
	proof string
}

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.proof != "" {
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("appsecret_proof", t.proof)
		r.URL.RawQuery = q.Encode()
	}
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

// space spaces requests out while an hourly budget the pacer does not measure
// is above 95%, doubling the spacing while it stays there, and stops below 90%.
func (u *usage) space(peak float64) {
	switch {
	case peak >= 95:
		u.spacing = min(10*time.Second, max(250*time.Millisecond, 2*u.spacing))
	case peak < 90:
		u.spacing = 0
	}
}

// pace waits until a write may go: the spacing in force, then room in the
// limits' windows (see pacer). The context it returns carries the write's
// number.
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

// documented are the limits Meta documents for the app's access tier (as the
// usage headers name it; standard until they do) lowered by the user's
// rate_limit: what a run's efficiency is reported against until the score is
// measured.
func (u *usage) documented() connector.RateLimits {
	u.mu.Lock()
	tier := TierStandard
	if strings.HasPrefix(u.tier, "development") {
		tier = TierDevelopment
	}
	u.mu.Unlock()
	l, _ := u.tuning.Resolve(api(tier))
	return l.Rate
}
