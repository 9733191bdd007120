package facebook

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUsageHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CallsPerWindow: 200, MaxScore: 300, AppCallsPerHour: 1000})
	a := usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
	require.Equal(t, map[string]any{"type": "custom_audience", "call_count": 0.0, "total_cputime": 0.0, "total_time": 0.0,
		"estimated_time_to_regain_access": 0.0, "ads_api_access_tier": "standard_access"}, a.buc(t, testAccount))
	require.Equal(t, map[string]any{"acc_id_util_pct": 1.0, "reset_time_duration": 300.0, "ads_api_access_tier": "standard_access"},
		a.usage(t, headerAdAccount))
	require.Equal(t, map[string]any{"call_count": 0.0, "total_cputime": 0.0, "total_time": 0.0}, a.usage(t, headerApp))

	for range 9 {
		a = b.get("/" + testAud) // 1 point each
	}
	require.Equal(t, 5.0, a.buc(t, testAccount)["call_count"], "10 of 200 calls")
	require.Equal(t, 4.0, a.usage(t, headerAdAccount)["acc_id_util_pct"], "12 of 300 points")
	require.Equal(t, 1.0, a.usage(t, headerApp)["call_count"], "10 of 1000 calls")

	b.clock.Advance(100 * time.Second)
	a = b.get("/" + testAud)
	require.Equal(t, 300.0, a.usage(t, headerAdAccount)["reset_time_duration"], "the score resets 300s after the last call")
}

func TestCapturedHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CapturedHeaders: true})
	a := usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
	require.Empty(t, a.header.Get(headerBUC))
	require.NotEmpty(t, a.header.Get(headerAdAccount))
	require.NotEmpty(t, a.header.Get(headerApp))
	a = b.get("/" + testAud)
	require.NotEmpty(t, a.header.Get(headerBUC))
	require.Empty(t, a.header.Get(headerAdAccount))
	require.Empty(t, a.header.Get(headerApp))
}

// Over the custom_audience budget: code 80003 in a 400, with the budget's usage,
// until the rolling window frees a call.
func TestBusinessUseCaseBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CallsPerWindow: 5, Window: 10 * time.Minute, MaxScore: -1})
	for i := range 5 {
		usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0)
		if i == 1 {
			b.clock.Advance(3 * time.Minute)
		}
	}
	a := b.add(testAud, emails("late@x.com"))
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, map[string]any{
		"message":       "(#80003) There have been too many calls to this ad-account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#custom-audience.",
		"type":          "OAuthException",
		"code":          80003.0,
		"error_subcode": 2446079.0,
		"fbtrace_id":    a.header.Get("x-fb-trace-id"),
	}, a.errorOf())
	usage := a.buc(t, testAccount)
	require.Equal(t, 100.0, usage["call_count"])
	require.Equal(t, 7.0, usage["estimated_time_to_regain_access"], "the first calls leave the 10-minute window in 7 minutes")
	require.Empty(t, a.header.Get("Retry-After"))
	require.False(t, b.sim.Has(testAud, "EMAIL", h("EMAIL", "late@x.com")))
	require.Equal(t, int64(1), b.sim.Counters().Throttled.Load())

	b.clock.Advance(6 * time.Minute)
	require.Equal(t, 80003, b.add(testAud, emails("late@x.com")).code(), "a refused call does not count, and the window still holds 5")
	b.clock.Advance(time.Minute)
	a = usersOK(t, b.add(testAud, emails("late@x.com")), 1, 0)
	require.Equal(t, 80.0, a.buc(t, testAccount)["call_count"], "two calls left the window, one came: 4 of 5")
	require.True(t, b.sim.Has(testAud, "EMAIL", h("EMAIL", "late@x.com")))

	// Other ad accounts have their own budget.
	id := b.createAudience("111", "other")
	usersOK(t, b.add(id, emails("a@x.com")), 1, 0)
}

// The formula: tier base + 40 × active audiences of the account per hour.
func TestBusinessUseCaseFormula(t *testing.T) {
	t.Parallel()
	o := Options{}.WithDefaults()
	require.Equal(t, int64(190_040), o.bucLimit(1))
	require.Equal(t, int64(700_000), o.bucLimit(20_000))
	o = Options{Tier: TierDevelopment}.WithDefaults()
	require.Equal(t, int64(5_080), o.bucLimit(2))
	require.Equal(t, int64(60), o.MaxScore)
	require.Equal(t, 300*time.Second, o.ScoreBlock)
	o = Options{CallsPerWindow: -1}.WithDefaults()
	require.Zero(t, o.bucLimit(5))

	b := setup(t, Options{Tier: TierDevelopment, MaxScore: -1})
	a := b.get("/" + testAud)
	require.Equal(t, 0.0, a.buc(t, testAccount)["call_count"])
	require.Equal(t, "development_access", a.buc(t, testAccount)["ads_api_access_tier"])
}

// Over the ad account's score: code 17 (or 613), and the account is blocked for
// ScoreBlock even as the score decays.
func TestScoreLimit(t *testing.T) {
	t.Parallel()
	for _, code := range []int{ScoreCodeUserLimit, ScoreCodeAdAccount} {
		b := setup(t, Options{MaxScore: 9, ScoreBlock: time.Minute, ScoreErrorCode: code})
		for range 3 {
			usersOK(t, b.add(testAud, emails("a@x.com")), 1, 0) // 3 points each
		}
		a := b.get("/" + testAud) // 1 more point does not fit
		require.Equal(t, http.StatusBadRequest, a.status)
		require.Equal(t, code, a.code())
		if code == ScoreCodeUserLimit {
			require.Equal(t, "(#17) User request limit reached", a.errorOf()["message"])
			require.Equal(t, 2446079, a.subcode())
		} else {
			require.Equal(t, "(#613) There have been too many calls from this ad-account. Please wait a bit and try again.", a.errorOf()["message"])
			require.Equal(t, 1487742, a.subcode())
		}
		require.Equal(t, 100.0, a.usage(t, headerAdAccount)["acc_id_util_pct"])
		require.Equal(t, 300.0, a.usage(t, headerAdAccount)["reset_time_duration"])

		b.clock.Advance(59 * time.Second)
		require.Equal(t, code, b.get("/"+testAud).code(), "still blocked")
		b.clock.Advance(241 * time.Second) // the block is over and the points have decayed
		a = b.get("/" + testAud)
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		require.Equal(t, 11.11, a.usage(t, headerAdAccount)["acc_id_util_pct"])
	}
}

// Blocked for less than the decay: after the block, calls that fit pass and
// calls that do not block again.
func TestScoreBlockShorterThanDecay(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{MaxScore: 6, ScoreBlock: 10 * time.Second, ScoreDecay: time.Minute})
	usersOK(t, b.add(testAud, emails("a")), 1, 0)
	b.clock.Advance(30 * time.Second)
	usersOK(t, b.add(testAud, emails("b")), 1, 0)
	require.Equal(t, ScoreCodeUserLimit, b.add(testAud, emails("c")).code())
	b.clock.Advance(31 * time.Second) // the block ended and the first call left
	usersOK(t, b.add(testAud, emails("c")), 1, 0)
	require.Equal(t, ScoreCodeUserLimit, b.add(testAud, emails("d")).code())
}

func TestAppLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{AppCallsPerHour: 2})
	b.get("/" + testAud)
	b.get("/act_" + testAccount)
	a := b.get("/" + testAud)
	require.Equal(t, 4, a.code())
	require.Equal(t, "(#4) Application request limit reached", a.errorOf()["message"])
	require.Equal(t, 100.0, a.usage(t, headerApp)["call_count"])
	b.clock.Advance(time.Hour)
	require.Equal(t, http.StatusOK, b.get("/"+testAud).status)
}

func TestThrottleOptions(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CallsPerWindow: 1, ThrottleStatus: 403, TransientThrottles: true})
	b.get("/" + testAud)
	a := b.get("/" + testAud)
	require.Equal(t, 403, a.status)
	require.Equal(t, true, a.errorOf()["is_transient"])
}

// An unknown audience concerns no ad account: no budget is used, and only the
// app's usage is reported.
func TestUnknownAudienceUsesNoBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CallsPerWindow: 1})
	a := b.get("/999")
	require.Equal(t, 100, a.code())
	require.Empty(t, a.header.Get(headerBUC))
	require.NotEmpty(t, a.header.Get(headerApp))
	require.Equal(t, http.StatusOK, b.get("/"+testAud).status)
}

// The model is exact: a client sending at the rate Describe states is never
// refused, and one sending faster is.
func TestConfiguredThroughputIsReachable(t *testing.T) {
	t.Parallel()
	opts := Options{MaxScore: 90, ScoreDecay: 30 * time.Second, ScoreBlock: 5 * time.Second}
	require.Equal(t, 1.0, opts.WriteRate(1))
	b := setup(t, opts)
	payload := emails("a@x.com")
	for i := range 120 {
		a := b.add(testAud, payload)
		require.Equal(t, http.StatusOK, a.status, "call %d: %s", i, a.raw)
		b.clock.Advance(time.Second)
	}
	throttled := 0
	for range 40 {
		if b.add(testAud, payload).code() == ScoreCodeUserLimit {
			throttled++
		}
		b.clock.Advance(900 * time.Millisecond)
	}
	require.Positive(t, throttled, "10% faster than the budget is refused sometimes")
}

func TestSessionsAreCapped(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ck := checked{received: 1}
	b.sim.mu.Lock()
	a := b.sim.audiences[testAud]
	for range maxSessions + 5 {
		a.record("add", nil, ck, t0)
	}
	b.sim.mu.Unlock()
	require.Len(t, b.sim.Sessions(testAud), maxSessions)
}
