package saas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sluicehq/sluice/connector"
)

// Client makes an API's requests within a Budget and records each exchange on
// the batch it serves.
type Client struct {
	BaseURL string // scheme and host, and a path prefix if any; no trailing slash
	HTTP    *http.Client
	Budget  *Budget
	// Authorize sets a request's credentials.
	Authorize func(*http.Request)
	// Observe reads the API's rate-limit headers (nil when it sends none).
	Observe func(h http.Header, f *Feedback)
	// IsThrottled tells a throttled answer from others; nil means status 429.
	IsThrottled func(status int, h http.Header, body []byte) bool
	// MaxResponse bounds the response body read (default 32 MiB).
	MaxResponse int64
	// UserAgent is sent with every request.
	UserAgent string
}

// NewHTTPClient returns an http.Client for an API: keep-alive connections enough
// for maxInFlight requests, and timeout for each request, its answer included.
func NewHTTPClient(maxInFlight int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          max(16, 2*maxInFlight),
			MaxIdleConnsPerHost:   max(16, 2*maxInFlight),
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			// Responses are decompressed by net/http when it asked for gzip itself.
		},
	}
}

// Request is one API call.
type Request struct {
	Method      string
	Path        string // after BaseURL, starting with /
	Query       url.Values
	Body        []byte // the payload, uncompressed
	ContentType string
	Gzip        bool // compress the body (Content-Encoding: gzip)
	Header      http.Header
}

// Response is an API's answer.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Duration time.Duration
	// Throttled is set when the API rate-limited the request; Retry is then how
	// long to wait before retrying (the API's Retry-After or the budget's backoff).
	Throttled bool
	Retry     time.Duration
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// Do sends r within the budget and records the exchange on b (which may be nil
// for requests that serve no batch, such as a check). It returns an error only
// when no answer came (a transport error or a timeout, which is worth retrying)
// or when the budget refused the request (the daily limit, a cancelled run).
func (c *Client) Do(ctx context.Context, b *connector.Batch, r Request) (*Response, error) {
	u := c.BaseURL + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	line := r.Method + " " + u
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
		if r.Gzip {
			// Not pooled: net/http may still be reading a body after the answer came
			// (a server that answers 401 before reading it).
			zbuf := bytes.NewBuffer(make([]byte, 0, len(r.Body)/4+512))
			zw := gzipWriters.Get().(*gzip.Writer)
			zw.Reset(zbuf)
			zw.Write(r.Body)
			if err := zw.Close(); err != nil {
				gzipWriters.Put(zw)
				return nil, fmt.Errorf("compress the request: %w", err)
			}
			gzipWriters.Put(zw)
			body = bytes.NewReader(zbuf.Bytes())
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("build the request: %w", err))
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Gzip && r.Body != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.Authorize != nil {
		c.Authorize(req)
	}

	ticket, err := c.Budget.Acquire(ctx, int64(len(r.Body)))
	if err != nil {
		if errors.Is(err, ErrDailyLimit) {
			return nil, connector.Permanent(err)
		}
		return nil, err
	}
	ex := connector.Exchange{
		Request:      connector.Message{Line: line, Header: req.Header.Clone(), Body: r.Body},
		Wait:         ticket.Wait,
		PayloadBytes: int64(len(r.Body)),
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	var respBody []byte
	if err == nil {
		respBody, err = readBody(resp.Body, c.maxResponse())
		resp.Body.Close()
	}
	ex.Duration = time.Since(start)
	if err != nil {
		ticket.Done(Feedback{})
		ex.Err = err.Error()
		b.Trace(ex)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", line, err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: respBody, Duration: ex.Duration}
	fb := Feedback{Latency: ex.Duration, Retry: RetryAfterHeader(resp.Header)}
	if c.Observe != nil {
		c.Observe(resp.Header, &fb)
	}
	if c.IsThrottled != nil {
		fb.Throttled = c.IsThrottled(resp.StatusCode, resp.Header, respBody)
	} else {
		fb.Throttled = resp.StatusCode == http.StatusTooManyRequests
	}
	out.Throttled = fb.Throttled
	out.Retry = ticket.Done(fb)
	if !fb.Throttled {
		out.Retry = fb.Retry
	}
	ex.Throttled = fb.Throttled
	ex.Response = connector.Message{Line: "HTTP " + strconv.Itoa(resp.StatusCode), Header: resp.Header, Body: respBody}
	b.Trace(ex)
	return out, nil
}

func (c *Client) maxResponse() int64 {
	if c.MaxResponse > 0 {
		return c.MaxResponse
	}
	return 32 << 20
}

func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read the response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the response is larger than %d bytes", limit)
	}
	return b, nil
}

// RetryAfterHeader parses a Retry-After header (seconds or an HTTP date); 0 when
// absent or unreadable.
func RetryAfterHeader(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// Error turns an answer that did not succeed into the engine's terms: a throttled
// answer waits its Retry-After (or the budget's backoff) and is retried; 5xx, 408
// and 409-less server trouble are retried with backoff; any other 4xx is permanent
// (retrying a 400 only spends the rate limit). msg says what the API said.
func (r *Response) Error(msg string) error {
	err := fmt.Errorf("HTTP %d: %s", r.Status, msg)
	switch {
	case r.Throttled:
		return connector.Throttled(err, r.Retry)
	case r.Status >= 500 || r.Status == http.StatusRequestTimeout:
		if r.Retry > 0 {
			return connector.RetryAfter(err, r.Retry)
		}
		return err
	default:
		return connector.Permanent(err)
	}
}

// Snippet shortens an answer's body for an error message.
func Snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// Sleep waits for d, or until ctx is done, whichever comes first; it returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
