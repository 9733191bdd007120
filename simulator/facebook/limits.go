package facebook

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// limiter is the throttling model, all of it per ad account except the app's:
//
//   - the custom_audience business-use-case budget: calls per rolling Window
//     (Meta's formula, or Options.CallsPerWindow), refused with code 80003;
//   - the ad account's score: points per rolling ScoreDecay (GET 1, POST and
//     DELETE 3); going over blocks the account for ScoreBlock (code 17 or 613);
//   - optionally the app's calls per rolling hour over every account (code 4).
//
// A refused call counts toward nothing.
type limiter struct {
	o        Options
	mu       sync.Mutex // makes the three checks and their counting one decision
	accounts map[string]*accountLimits
	app      *simkit.Window // nil: no app limit
}

type accountLimits struct {
	buc          *simkit.Window // nil: no budget
	score        *simkit.Window // nil: no score
	blockedUntil time.Time
	lastScored   time.Time
}

func newLimiter(o Options) *limiter {
	l := &limiter{o: o, accounts: map[string]*accountLimits{}}
	if o.AppCallsPerHour > 0 {
		l.app = simkit.NewWindow(o.AppCallsPerHour, time.Hour, o.Now)
	}
	return l
}

// bucWindowSize is the size of the budget's window: the budget itself when it is
// fixed, else the formula's cap (the formula's budget is checked against it).
func (l *limiter) bucWindowSize() int64 {
	if l.o.CallsPerWindow > 0 {
		return l.o.CallsPerWindow
	}
	return bucCap
}

func (l *limiter) account(id string) *accountLimits {
	acc, ok := l.accounts[id]
	if !ok {
		acc = &accountLimits{}
		if l.o.CallsPerWindow >= 0 {
			acc.buc = simkit.NewWindow(l.bucWindowSize(), l.o.Window, l.o.Now)
		}
		if l.o.MaxScore > 0 {
			acc.score = simkit.NewWindow(l.o.MaxScore, l.o.ScoreDecay, l.o.Now)
		}
		l.accounts[id] = acc
	}
	return acc
}

// usage is the limiter's decision about one call and the figures the usage
// headers report (after the call was counted).
type usage struct {
	account             string // "" when the call concerns no known ad account
	code                int    // 0: admitted; else the throttling error's code
	bucUsed, bucLimit   int64
	bucWait             time.Duration
	scoreUsed, scoreMax int64
	scoreReset          time.Duration
	blocked             bool
	appUsed, appLimit   int64
}

// admit decides a call of points against account (which has audiences active
// audiences) and counts it when it is admitted. account "" checks the app only.
func (l *limiter) admit(account string, audiences int, points int64) usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.o.Now()
	u := usage{account: account}
	if l.app != nil && l.app.Remaining() < 1 {
		u.code = 4
	}
	var acc *accountLimits
	if account != "" {
		acc = l.account(account)
	}
	if u.code == 0 && acc != nil && acc.score != nil {
		switch {
		case now.Before(acc.blockedUntil):
			u.code = l.o.ScoreErrorCode
		case acc.score.Remaining() < points:
			u.code = l.o.ScoreErrorCode
			acc.blockedUntil = now.Add(l.o.ScoreBlock)
		}
	}
	if u.code == 0 && acc != nil && acc.buc != nil {
		limit := l.o.bucLimit(audiences)
		if l.used(acc.buc)+1 > limit {
			u.code = 80003
			// More than fits cannot be taken: Take reports when the count
			// drops below the budget, and records nothing.
			_, _, u.bucWait = acc.buc.Take(acc.buc.Limit() - limit + 1)
		}
	}
	if u.code == 0 {
		if l.app != nil {
			l.app.Take(1)
		}
		if acc != nil && acc.score != nil && points > 0 {
			acc.score.Take(points)
			acc.lastScored = now
		}
		if acc != nil && acc.buc != nil {
			acc.buc.Take(1)
		}
	}
	l.fill(&u, acc, audiences, now)
	return u
}

// peek reports the figures without deciding or counting a call.
func (l *limiter) peek(account string, audiences int) usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := usage{account: account}
	var acc *accountLimits
	if account != "" {
		acc = l.account(account)
	}
	l.fill(&u, acc, audiences, l.o.Now())
	return u
}

func (l *limiter) used(w *simkit.Window) int64 { return w.Limit() - w.Remaining() }

func (l *limiter) fill(u *usage, acc *accountLimits, audiences int, now time.Time) {
	if l.app != nil {
		u.appUsed, u.appLimit = l.used(l.app), l.app.Limit()
	}
	if acc == nil {
		return
	}
	if acc.buc != nil {
		u.bucUsed, u.bucLimit = l.used(acc.buc), l.o.bucLimit(audiences)
	}
	if acc.score != nil {
		u.scoreUsed, u.scoreMax = l.used(acc.score), acc.score.Limit()
		if now.Before(acc.blockedUntil) {
			u.blocked = true
			u.scoreReset = acc.blockedUntil.Sub(now)
		}
		if reset := acc.lastScored.Add(l.o.ScoreDecay).Sub(now); u.scoreUsed > 0 && reset > u.scoreReset {
			u.scoreReset = reset
		}
	}
}

// percent is used/limit in whole percent, at most 100.
func percent(used, limit int64) int64 {
	if limit <= 0 {
		return 0
	}
	return min(100, used*100/limit)
}

// Usage headers.
const (
	headerBUC       = "X-Business-Use-Case-Usage"
	headerAdAccount = "X-Ad-Account-Usage"
	headerApp       = "X-App-Usage"
)

// setUsage writes the usage headers of an authenticated answer. membership says
// whether the call was to /users or /usersreplace (for CapturedHeaders).
func (s *Server) setUsage(rep *reply, u usage, membership bool) {
	tier := tierLimits[s.opts.Tier].label
	buc, account, app := true, true, true
	if s.opts.CapturedHeaders {
		buc, account, app = !membership, membership, membership
	}
	if u.account != "" && buc {
		pct := percent(u.bucUsed, u.bucLimit)
		regain := int64(0)
		if u.code == 80003 {
			pct = 100
			regain = int64(math.Ceil(u.bucWait.Minutes()))
		}
		rep.setHeader(headerBUC, fmt.Sprintf(`{"%s":[{"type":"custom_audience","call_count":%d,"total_cputime":%d,"total_time":%d,"estimated_time_to_regain_access":%d,"ads_api_access_tier":"%s"}]}`,
			u.account, pct, pct, pct, regain, tier))
	}
	if u.account != "" && account {
		pct := 0.0
		if u.scoreMax > 0 {
			pct = math.Round(float64(u.scoreUsed)*10000/float64(u.scoreMax)) / 100
		}
		if u.blocked {
			pct = 100
		}
		reset := int64(math.Ceil(u.scoreReset.Seconds()))
		rep.setHeader(headerAdAccount, fmt.Sprintf(`{"acc_id_util_pct":%s,"reset_time_duration":%d,"ads_api_access_tier":"%s"}`,
			strconv.FormatFloat(pct, 'f', -1, 64), reset, tier))
	}
	if app {
		pct := percent(u.appUsed, u.appLimit)
		if u.code == 4 {
			pct = 100
		}
		rep.setHeader(headerApp, fmt.Sprintf(`{"call_count":%d,"total_cputime":%d,"total_time":%d}`, pct, pct, pct))
	}
}

// throttled is the Graph error of a throttling code. Graph sends no 429 and no
// Retry-After: the body's code says what was exceeded.
func (s *Server) throttled(c *call, code int) reply {
	e := graphError{Code: code, IsTransient: s.opts.TransientThrottles}
	switch code {
	case 80003:
		e.ErrorSubcode = 2446079
		e.Message = "(#80003) There have been too many calls to this ad-account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#custom-audience."
	case ScoreCodeUserLimit:
		e.ErrorSubcode = 2446079
		e.Message = "(#17) User request limit reached"
	case ScoreCodeAdAccount:
		e.ErrorSubcode = 1487742
		e.Message = "(#613) There have been too many calls from this ad-account. Please wait a bit and try again."
	case 4:
		e.Message = "(#4) Application request limit reached"
	}
	rep := c.fail(s.opts.ThrottleStatus, e)
	rep.throttled = true
	return rep
}
