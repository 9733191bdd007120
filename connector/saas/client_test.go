package saas

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
)

func TestClientSendsTracesAndClassifies(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		require.Equal(t, "gzip", r.Header.Get("Content-Encoding"))
		zr, err := gzip.NewReader(r.Body)
		require.NoError(t, err)
		body, _ := io.ReadAll(zr)
		require.Equal(t, `[{"a":1}]`, string(body))
		require.Equal(t, "strict=1", r.URL.RawQuery)
		w.Header().Set("X-Remaining", "5")
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0.2")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":"slow down"}`)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"bad"}`)
		default:
			io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	var observed atomic.Int32
	c := &Client{
		BaseURL: srv.URL, HTTP: NewHTTPClient(2, 5*time.Second),
		Budget:    NewBudget(connector.RateLimits{Requests: 100, Window: time.Second}, 2),
		Authorize: func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") },
		Observe: func(h http.Header, f *Feedback) {
			if n, err := strconv.Atoi(h.Get("X-Remaining")); err == nil {
				observed.Add(1)
				f.Window = &WindowState{Max: 100, Remaining: n, Interval: time.Second}
			}
		},
	}
	var traced []connector.Exchange
	b := connector.NewBatch("s", "r", "b1", nil, func(ex connector.Exchange) { traced = append(traced, ex) })
	req := Request{Method: "POST", Path: "/import", Query: map[string][]string{"strict": {"1"}}, Body: []byte(`[{"a":1}]`), ContentType: "application/json", Gzip: true}

	resp, err := c.Do(context.Background(), b, req)
	require.NoError(t, err)
	require.True(t, resp.Throttled)
	require.Equal(t, 200*time.Millisecond, resp.Retry)
	rerr := resp.Error("slow down")
	require.True(t, connector.RateLimited(rerr))
	d, _ := connector.RetryDelay(rerr)
	require.Equal(t, 200*time.Millisecond, d)

	resp, err = c.Do(context.Background(), b, req)
	require.NoError(t, err)
	rerr = resp.Error("unavailable")
	require.False(t, connector.IsPermanent(rerr) || connector.RateLimited(rerr), "a 503 is retried")
	require.Greater(t, resp.Duration, time.Duration(0))

	resp, err = c.Do(context.Background(), b, req)
	require.NoError(t, err)
	require.True(t, connector.IsPermanent(resp.Error("bad")), "a 400 is never retried")

	resp, err = c.Do(context.Background(), b, req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	require.JSONEq(t, `{"ok":true}`, string(resp.Body))

	require.Len(t, traced, 4)
	first := traced[0]
	require.Equal(t, "POST "+srv.URL+"/import?strict=1", first.Request.Line)
	require.Equal(t, `[{"a":1}]`, string(first.Request.Body), "the debugger sees the payload uncompressed")
	require.Equal(t, int64(9), first.PayloadBytes)
	require.True(t, first.Throttled)
	require.Equal(t, "HTTP 429", first.Response.Line)
	require.False(t, traced[3].Throttled)
	require.GreaterOrEqual(t, traced[1].Wait, 150*time.Millisecond, "the 429's pause is waited out and reported")
	require.Equal(t, int32(4), observed.Load())
}

func TestClientReportsTransportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close()
	c := &Client{BaseURL: url, HTTP: NewHTTPClient(1, time.Second), Budget: NewBudget(connector.RateLimits{}, 1)}
	var traced []connector.Exchange
	b := connector.NewBatch("s", "r", "b1", nil, func(ex connector.Exchange) { traced = append(traced, ex) })
	_, err := c.Do(context.Background(), b, Request{Method: "GET", Path: "/x"})
	require.Error(t, err)
	require.False(t, connector.IsPermanent(err), "no answer is worth retrying")
	require.Len(t, traced, 1)
	require.NotEmpty(t, traced[0].Err)
	// A nil batch records nothing and does not panic.
	_, err = c.Do(context.Background(), nil, Request{Method: "GET", Path: "/x"})
	require.Error(t, err)
}

func TestClientRefusesOnceTheDayIsSpent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, HTTP: NewHTTPClient(1, time.Second), Budget: NewBudget(connector.RateLimits{Daily: 1}, 1)}
	_, err := c.Do(context.Background(), nil, Request{Method: "GET", Path: "/"})
	require.NoError(t, err)
	_, err = c.Do(context.Background(), nil, Request{Method: "GET", Path: "/"})
	require.True(t, errors.Is(err, ErrDailyLimit) && connector.IsPermanent(err))
}

func TestRetryAfterHeader(t *testing.T) {
	h := http.Header{}
	require.Zero(t, RetryAfterHeader(h))
	h.Set("Retry-After", "3")
	require.Equal(t, 3*time.Second, RetryAfterHeader(h))
	h.Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	require.InDelta(t, time.Hour.Seconds(), RetryAfterHeader(h).Seconds(), 2)
	h.Set("Retry-After", "soon")
	require.Zero(t, RetryAfterHeader(h))
}

var hubspotLike = API{
	Name: "HubSpot (professional tier)", BatchRecords: 100, InFlight: 16, DefaultInFlight: 4,
	Limits: connector.RateLimits{Requests: 190, Window: 10 * time.Second, Daily: 625000},
}

func TestTuningLowersButNeverRaises(t *testing.T) {
	l, err := (&Tuning{}).Resolve(hubspotLike)
	require.NoError(t, err)
	require.Equal(t, Limits{BatchRecords: 100, InFlight: 4, Attempts: 8, Timeout: 60 * time.Second,
		Rate: connector.RateLimits{Requests: 190, Window: 10 * time.Second, Daily: 625000}}, l)
	caps := l.Capabilities()
	require.Equal(t, 100, caps.MaxBatchRecords)
	require.Equal(t, 190, caps.Limits.Requests)

	l, err = (&Tuning{BatchSize: 50, MaxInFlight: 2, MaxAttempts: 3, Timeout: time.Second,
		RateLimit: RateLimit{Requests: 60, Per: 6 * time.Second, Daily: 1000}}).Resolve(hubspotLike)
	require.NoError(t, err)
	require.Equal(t, Limits{BatchRecords: 50, InFlight: 2, Attempts: 3, Timeout: time.Second,
		Rate: connector.RateLimits{Requests: 60, Window: 6 * time.Second, Daily: 1000}}, l)

	for _, tc := range []struct {
		t     Tuning
		field string
		msg   string
	}{
		{Tuning{BatchSize: 500}, "batch_size", "between 1 and 100"},
		{Tuning{MaxInFlight: 100}, "max_in_flight", "between 1 and 16"},
		{Tuning{MaxAttempts: 50}, "max_attempts", "between 1 and 20"},
		{Tuning{RateLimit: RateLimit{Requests: 300}}, "rate_limit.requests", "300 per 10s is more than HubSpot (professional tier) allows (190 per 10s)"},
		{Tuning{RateLimit: RateLimit{Requests: 30, Per: time.Second}}, "rate_limit.requests", "more than"},
		{Tuning{RateLimit: RateLimit{Daily: 700000}}, "rate_limit.daily", "700000 is more than"},
		{Tuning{RateLimit: RateLimit{Requests: 1000, Per: 100 * time.Second}}, "rate_limit.requests", "would let more than HubSpot (professional tier)'s 190 requests go out within 10s"},
		{Tuning{RateLimit: RateLimit{Per: time.Second}}, "rate_limit.per", "set one of them"},
		{Tuning{RateLimit: RateLimit{Requests: -1}}, "rate_limit", "negative"},
	} {
		_, err := tc.t.Resolve(hubspotLike)
		var fe *connector.FieldError
		require.True(t, errors.As(err, &fe), "%+v: %v", tc.t, err)
		require.Equal(t, tc.field, fe.Field)
		require.True(t, strings.Contains(fe.Message, tc.msg), "%q lacks %q", fe.Message, tc.msg)
	}
}

func TestTuningOfByteLimits(t *testing.T) {
	mixpanel := API{Name: "Mixpanel", BatchRecords: 2000, BatchBytes: 10 << 20, InFlight: 32,
		Limits: connector.RateLimits{Bytes: 2 << 30, Window: time.Minute}}
	l, err := (&Tuning{RateLimit: RateLimit{Bytes: 1 << 30}}).Resolve(mixpanel)
	require.NoError(t, err)
	require.Equal(t, connector.RateLimits{Bytes: 1 << 30, Window: time.Minute}, l.Rate)
	_, err = (&Tuning{RateLimit: RateLimit{Bytes: 1 << 30, Per: time.Second}}).Resolve(mixpanel)
	require.ErrorContains(t, err, "rate_limit.bytes")
	_, err = (&Tuning{RateLimit: RateLimit{Bytes: 100 << 30, Per: time.Hour}}).Resolve(mixpanel)
	require.ErrorContains(t, err, "would let more than Mixpanel's")
	// A longer window never scales the API's other bound up into a burst.
	l, err = (&Tuning{RateLimit: RateLimit{Requests: 10, Per: time.Hour}}).Resolve(mixpanel)
	require.NoError(t, err)
	require.Equal(t, connector.RateLimits{Requests: 10, Bytes: 2 << 30, Window: time.Hour}, l.Rate)
	l, err = (&Tuning{RateLimit: RateLimit{Bytes: 1 << 20, Per: 100 * time.Second}}).Resolve(hubspotLike)
	require.NoError(t, err)
	require.Equal(t, 190, l.Rate.Requests, "not 1,900 per 100 s")
}
