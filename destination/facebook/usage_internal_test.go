package facebook

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

func TestReadFigures(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set(headerBUC, `{"1234567":[{"type":"custom_audience","call_count":100,"total_cputime":12,"total_time":9,"estimated_time_to_regain_access":3,"ads_api_access_tier":"standard_access"}],"999":[{"type":"ads_management","call_count":99}]}`)
	h.Set(headerAdAccount, `{"acc_id_util_pct":9.67,"reset_time_duration":100,"ads_api_access_tier":"standard_access"}`)
	h.Set(headerApp, `{"call_count":12,"total_cputime":4,"total_time":5}`)
	f := readFigures(h, "1234567")
	require.Equal(t, 9.67, *f.account.Pct)
	require.Equal(t, 100.0, f.account.Reset)
	require.Equal(t, "standard_access", f.tier)
	require.Len(t, f.buc, 1, "only the ad account's entries")
	require.Equal(t, 100.0, f.bucPeak())
	require.Equal(t, 3*time.Minute, f.regain)

	// A blocked score asks for its reset time; unreadable headers are left out.
	h = http.Header{}
	h.Set(headerAdAccount, `{"acc_id_util_pct":100,"reset_time_duration":42}`)
	h.Set(headerBUC, `not json`)
	f = readFigures(h, "1234567")
	require.Equal(t, 42*time.Second, f.regain)
	require.Empty(t, f.buc)
}

func TestScorePacing(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	p := newPacer()
	p.now = func() time.Time { return now }
	ctx := context.Background()
	wait := func() time.Duration {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.expire(now)
		return max(0, p.waitFor(now))
	}
	book := func() int64 {
		seq, err := p.book(ctx)
		require.NoError(t, err)
		p.sent(seq)
		return seq
	}
	// The check's read: others used 40% of a 60 s window.
	p.observe(meterScore, 0, 40, 60)
	_, measured := p.limits()
	require.False(t, measured)
	require.Equal(t, int64(1), book(), "unmeasured: a write goes alone")
	require.Equal(t, time.Minute, wait(), "until its answer")
	now = now.Add(time.Second)
	p.observe(meterScore, 1, 45, 60)
	p.done(1)
	limits, measured := p.limits()
	require.True(t, measured)
	require.Equal(t, connector.RateLimits{Requests: 20, Window: time.Minute}, limits, "a write takes 5%")

	// Room for 12 writes: 40% + 12 × 5%.
	for range 11 {
		require.Zero(t, wait())
		book()
	}
	require.Equal(t, 62*time.Second, wait()+time.Second, "until the first write leaves the window (and a margin of 2 s)")

	// A minute on, this sync's writes have left the window; the figures of a
	// new write say others use 55%: room for 8 more.
	now = now.Add(62 * time.Second)
	require.Zero(t, wait())
	require.Equal(t, int64(13), book())
	p.observe(meterScore, 13, 60, 60)
	for range 8 {
		require.Zero(t, wait())
		book()
	}
	require.Positive(t, wait())
}

// The business-use-case budget's size is measured from its whole percentages;
// its window is Meta's documented hour.
func TestBudgetIsMeasured(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	p := newPacer()
	p.now = func() time.Time { return now }
	p.blind = true // no score figures in this test
	ctx := context.Background()
	// 40 calls an hour, 1 used by others.
	figure := func(n int) float64 { return math.Floor(float64(n+1) * 100 / 40) }
	p.observe(meterBUC, 0, figure(0), 0)
	booked := 0
	for range 60 {
		p.mu.Lock()
		w := p.waitFor(now)
		p.mu.Unlock()
		if w > 0 {
			break
		}
		seq, err := p.book(ctx)
		require.NoError(t, err)
		booked++
		p.observe(meterBUC, seq, figure(booked), 0)
		p.done(seq)
		now = now.Add(time.Second)
	}
	require.InDelta(t, 2.5, p.meters[meterBUC].q, 0.05)
	require.InDelta(t, 38, booked, 1, "the calls left, but for 1% kept for the figures' rounding")
	limits, ok := p.limits()
	require.True(t, ok)
	require.Equal(t, time.Hour, limits.Window)
	require.InDelta(t, 40, limits.Requests, 1)
}

func TestSpacingNearAnHourlyLimit(t *testing.T) {
	t.Parallel()
	u := newUsage("1", "k", saas.Tuning{}, slog.New(slog.DiscardHandler))
	u.space(96)
	require.Equal(t, 250*time.Millisecond, u.spacing)
	u.space(97)
	u.space(98)
	require.Equal(t, time.Second, u.spacing)
	u.space(92)
	require.Equal(t, time.Second, u.spacing, "kept between 90% and 95%")
	u.space(50)
	require.Zero(t, u.spacing)
}

func TestThrottleCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []int{4, 17, 32, 613, 80000, 80003, 80014} {
		body := []byte(`{"error":{"message":"slow down","code":` + itoa(code) + `}}`)
		require.True(t, isThrottled(400, nil, body), "code %d", code)
		require.True(t, isThrottled(403, nil, body), "code %d", code)
	}
	require.False(t, isThrottled(400, nil, []byte(`{"error":{"message":"bad","code":100}}`)))
	require.False(t, isThrottled(200, nil, []byte(`{"error":{"code":17}}`)))
	require.True(t, isThrottled(429, nil, nil))
}

func TestSessionResync(t *testing.T) {
	t.Parallel()
	rs := &replaceSession{next: 5}
	require.True(t, rs.resync(graphError{Code: 2650, UserMsg: "Batch 5 of replace session 9 was already received."}))
	require.Equal(t, int64(6), rs.next)
	require.True(t, rs.resync(graphError{Code: 2650, UserMsg: "Batch 6 of replace session 9 arrived out of order: expected batch 4."}))
	require.Equal(t, int64(4), rs.next)
	require.False(t, rs.resync(graphError{Code: 2650, UserMsg: "Batch 4 of replace session 9 arrived out of order: expected batch 4."}))
	require.False(t, rs.resync(graphError{Code: 100, Message: "Invalid parameter"}))
	require.True(t, sessionEnded(graphError{Code: 2650, UserTitle: "Replace Session Timed Out"}))
}

func TestRefusedSamplesNameRows(t *testing.T) {
	t.Parallel()
	s := &schema{keys: []string{"EMAIL", "COUNTRY", ValueKey}, value: 2}
	entries := []entry{
		{row: 0, cells: []string{"aa", "us", "10"}},
		{row: 4, cells: []string{"bb", "us", ""}},
		{row: 7, cells: []string{"cc", "XX", "3.5"}},
	}
	got := s.refused(entries, false, map[string]string{
		`["bb","us",""]`: "opted out",
		"XX":             "COUNTRY: not a lower-case hex SHA-256 digest",
		"zz":             "EMAIL: unknown",
	})
	require.Equal(t, map[int]string{1: "opted out", 2: "COUNTRY: not a lower-case hex SHA-256 digest"}, got)
	// A removal's rows are sent without the customer value.
	got = s.refused(entries, true, map[string]string{`["aa","us"]`: "no such person"})
	require.Equal(t, map[int]string{0: "no such person"}, got)
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
