package hubspot

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLimitWindow(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tier: TierProfessional})
	for i := 1; i <= 190; i++ {
		a := b.get("/account-info/v3/details")
		require.Equal(t, http.StatusOK, a.status, "request %d", i)
		require.Equal(t, strconv.Itoa(190-i), a.header.Get("X-HubSpot-RateLimit-Remaining"), "request %d", i)
		require.Equal(t, "190", a.header.Get("X-HubSpot-RateLimit-Max"))
		require.Equal(t, "10000", a.header.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
		require.Equal(t, "625000", a.header.Get("X-HubSpot-RateLimit-Daily"))
		require.Equal(t, strconv.Itoa(625000-i), a.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))
		require.Empty(t, a.header.Get("X-HubSpot-RateLimit-Secondly"))
	}

	b.clock.Advance(3 * time.Second)
	a := b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "late@example.com")))
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, map[string]any{
		"status":        "error",
		"message":       "You have reached your secondly limit.",
		"errorType":     "RATE_LIMIT",
		"correlationId": a.header.Get("X-HubSpot-Correlation-Id"),
		"policyName":    "SECONDLY",
		"requestId":     a.body["requestId"],
	}, a.body)
	require.Regexp(t, uuidRE, a.body["requestId"])
	require.Equal(t, "7", a.header.Get("Retry-After"), "the first requests leave the window in 7s")
	require.Equal(t, "0", a.header.Get("X-HubSpot-RateLimit-Remaining"))
	require.Equal(t, "624810", a.header.Get("X-HubSpot-RateLimit-Daily-Remaining"), "a 429 is not counted")
	require.Empty(t, b.sim.Records("contacts"), "a throttled request changes nothing")
	require.Equal(t, int64(1), b.sim.Counters().Throttled.Load())

	b.clock.Advance(7 * time.Second)
	a = b.post("/crm/v3/objects/contacts/batch/create", inputs(props("email", "late@example.com")))
	require.Equal(t, http.StatusCreated, a.status)
	require.Equal(t, "189", a.header.Get("X-HubSpot-RateLimit-Remaining"))
	require.Len(t, b.sim.Records("contacts"), 1)
}

// The window rolls: requests leave it 10 s after they came, not all at once.
func TestRateLimitRolls(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerInterval: 10})
	status := func() int { return b.get("/crm/v3/objects/contacts").status }
	for range 6 {
		require.Equal(t, http.StatusOK, status())
	}
	b.clock.Advance(5 * time.Second)
	for range 4 {
		require.Equal(t, http.StatusOK, status())
	}
	require.Equal(t, http.StatusTooManyRequests, status())
	b.clock.Advance(5 * time.Second) // the first six leave
	for range 6 {
		require.Equal(t, http.StatusOK, status())
	}
	a := b.get("/crm/v3/objects/contacts")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "5", a.header.Get("Retry-After"))
}

// Each token (app) has its own window; the daily limit is the account's.
func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerInterval: 2, Daily: 5})
	as := func(token string) answer {
		return b.do(http.MethodGet, "/crm/v3/objects/contacts", nil, "Authorization", "Bearer "+token)
	}
	require.Equal(t, http.StatusOK, as("app-1").status)
	require.Equal(t, http.StatusOK, as("app-1").status)
	require.Equal(t, http.StatusTooManyRequests, as("app-1").status)
	a := as("app-2")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "1", a.header.Get("X-HubSpot-RateLimit-Remaining"))
	require.Equal(t, "2", a.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))
}

func TestDailyLimitResetsAtMidnightInAccountZone(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Daily: 3, TimeZone: "Asia/Tokyo"})
	b.clock.Advance(30 * time.Minute) // 15:30 UTC is 00:30 in Tokyo: a new day there
	b.clock.Advance(-time.Hour)       // 14:30 UTC, 23:30 in Tokyo
	for range 3 {
		require.Equal(t, http.StatusOK, b.get("/crm/v3/objects/contacts").status)
	}
	a := b.get("/crm/v3/objects/contacts")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "DAILY", a.body["policyName"])
	require.Equal(t, "You have reached your daily limit.", a.body["message"])
	require.Equal(t, "1800", a.header.Get("Retry-After"), "30 minutes to midnight in Tokyo")
	require.Equal(t, "0", a.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))

	b.clock.Advance(29*time.Minute + 59*time.Second)
	require.Equal(t, http.StatusTooManyRequests, b.get("/crm/v3/objects/contacts").status, "23:59:59 in Tokyo")
	b.clock.Advance(time.Second)
	a = b.get("/crm/v3/objects/contacts")
	require.Equal(t, http.StatusOK, a.status, "midnight in Tokyo")
	require.Equal(t, "2", a.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))

	// Midnight UTC, nine hours later, is not a reset.
	b.clock.Advance(9 * time.Hour)
	require.Equal(t, http.StatusOK, b.get("/crm/v3/objects/contacts").status)
	require.Equal(t, http.StatusOK, b.get("/crm/v3/objects/contacts").status)
	require.Equal(t, http.StatusTooManyRequests, b.get("/crm/v3/objects/contacts").status)
}

func TestCount429(t *testing.T) {
	t.Parallel()
	for _, count := range []bool{false, true} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{PerInterval: 2, Count429: count})
			status := func() int { return b.get("/crm/v3/objects/contacts").status }
			require.Equal(t, http.StatusOK, status())
			require.Equal(t, http.StatusOK, status())
			b.clock.Advance(5 * time.Second)
			a := b.get("/crm/v3/objects/contacts")
			require.Equal(t, http.StatusTooManyRequests, a.status)
			require.Equal(t, "5", a.header.Get("Retry-After"))
			b.clock.Advance(5 * time.Second) // the first two leave the window
			require.Equal(t, http.StatusOK, status())
			if count {
				// The refused request, five seconds younger, still fills the window,
				// and this refused one too: two must leave before one fits.
				a = b.get("/crm/v3/objects/contacts")
				require.Equal(t, http.StatusTooManyRequests, a.status)
				require.Equal(t, "10", a.header.Get("Retry-After"))
				require.Equal(t, "0", a.header.Get("X-HubSpot-RateLimit-Remaining"))
			} else {
				require.Equal(t, http.StatusOK, status())
			}
		})
	}
}

func TestRateLimitOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      Options
		max       string
		daily     string
		secondly  string
		policy    string
		message   string
		retryHead bool
	}{
		{"free", Options{Tier: TierFree}, "100", "250000", "", "SECONDLY", "You have reached your secondly limit.", true},
		{"starter", Options{Tier: TierStarter}, "100", "250000", "", "SECONDLY", "You have reached your secondly limit.", true},
		{"enterprise", Options{Tier: TierEnterprise}, "190", "1000000", "", "SECONDLY", "You have reached your secondly limit.", true},
		{"two packs", Options{Tier: TierProfessional, LimitIncreasePacks: 2}, "250", "2625000", "", "SECONDLY", "You have reached your secondly limit.", true},
		{"legacy headers", Options{Tier: TierFree, LegacySecondlyHeaders: true}, "100", "250000", "10", "SECONDLY", "You have reached your secondly limit.", true},
		{"rolling policy, no Retry-After", Options{PolicyName: PolicyTenSecondlyRolling, NoRetryAfter: true}, "190", "625000", "", "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			a := b.get("/crm/v3/objects/contacts")
			require.Equal(t, tt.max, a.header.Get("X-HubSpot-RateLimit-Max"))
			require.Equal(t, tt.daily, a.header.Get("X-HubSpot-RateLimit-Daily"))
			require.Equal(t, tt.secondly, a.header.Get("X-HubSpot-RateLimit-Secondly"))
			if tt.secondly != "" {
				require.Equal(t, tt.secondly, a.header.Get("X-HubSpot-RateLimit-Secondly-Remaining"))
			}
			b.sim.SetFaults(faultsForce429(1))
			a = b.get("/crm/v3/objects/contacts")
			require.Equal(t, http.StatusTooManyRequests, a.status)
			require.Equal(t, tt.policy, a.body["policyName"])
			require.Equal(t, tt.message, a.body["message"])
			require.Equal(t, tt.retryHead, a.header.Get("Retry-After") != "")
		})
	}
}
