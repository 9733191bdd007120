// Package webhook is the webhook destination: each batch of changes is one signed
// JSON POST, and the receiver's answer decides each change's fate. The contract is
// documented in docs/destinations/webhook.md.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// Spec registers the destination type "webhook".
var Spec = connector.DestinationSpec{
	Type:      "webhook",
	Summary:   "POST each batch of changes as signed JSON to an HTTP endpoint",
	NewConfig: func() any { return new(Config) },
	Modes:     []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror},
	Open:      open,
}

// Limits a user may lower but not raise.
const (
	maxBatchSize    = 10_000
	maxInFlight     = 64
	maxAttempts     = 20
	maxResponseBody = 16 << 20
	defaultMaxBytes = 8 << 20
)

// Config is a webhook destination's keys in the project file.
type Config struct {
	URL               string            `yaml:"url" required:"true" doc:"Endpoint that receives a POST per batch."`
	BatchSize         int               `yaml:"batch_size" doc:"Most events in one request (default 500, at most 10000)."`
	MaxBatchBytes     int               `yaml:"max_batch_bytes" doc:"Most bytes of JSON in one request (default 8 MiB)."`
	MaxInFlight       int               `yaml:"max_in_flight" doc:"Requests in flight at once (default 4, at most 64)."`
	Headers           map[string]string `yaml:"headers" doc:"Extra request headers, e.g. Authorization; values may use ${env:NAME}."`
	SigningSecret     string            `yaml:"signing_secret" secret:"true" doc:"Signs requests the Standard Webhooks way; whsec_-prefixed secrets are base64."`
	Timeout           time.Duration     `yaml:"timeout" doc:"Time allowed for one request, response included (default 30s)."`
	MaxAttempts       int               `yaml:"max_attempts" doc:"Tries of a batch that fails with 429, 5xx or a timeout (default 6)."`
	RequestsPerSecond float64           `yaml:"requests_per_second" doc:"Pace requests to at most this rate (default unpaced)."`
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.BatchSize = 500
	c.MaxBatchBytes = defaultMaxBytes
	c.MaxInFlight = 4
	c.Timeout = 30 * time.Second
	c.MaxAttempts = 6
}

// Validate checks the keys.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		errs = append(errs, &connector.FieldError{Field: "url", Message: "not a URL: " + err.Error()})
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, &connector.FieldError{Field: "url", Message: "must start with http:// or https://"})
	case u.Host == "":
		errs = append(errs, &connector.FieldError{Field: "url", Message: "has no host"})
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		errs = append(errs, &connector.FieldError{Field: "batch_size", Message: fmt.Sprintf("must be between 1 and %d", maxBatchSize)})
	}
	if c.MaxBatchBytes < 1024 {
		errs = append(errs, &connector.FieldError{Field: "max_batch_bytes", Message: "must be at least 1024"})
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > maxInFlight {
		errs = append(errs, &connector.FieldError{Field: "max_in_flight", Message: fmt.Sprintf("must be between 1 and %d", maxInFlight)})
	}
	if c.Timeout <= 0 {
		errs = append(errs, &connector.FieldError{Field: "timeout", Message: "must be positive, e.g. 30s"})
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > maxAttempts {
		errs = append(errs, &connector.FieldError{Field: "max_attempts", Message: fmt.Sprintf("must be between 1 and %d", maxAttempts)})
	}
	if c.RequestsPerSecond < 0 {
		errs = append(errs, &connector.FieldError{Field: "requests_per_second", Message: "must not be negative"})
	}
	for name := range c.Headers {
		if strings.HasPrefix(strings.ToLower(name), "webhook-") {
			errs = append(errs, &connector.FieldError{Field: "headers", Message: fmt.Sprintf("%s is set by Sluice when signing_secret is set; remove it", name)})
		}
	}
	if _, err := signingKey(c.SigningSecret); err != nil {
		errs = append(errs, &connector.FieldError{Field: "signing_secret", Message: err.Error()})
	}
	return errors.Join(errs...)
}

// signingKey decodes a Standard Webhooks secret: "whsec_" followed by base64, or any
// other string used as raw bytes.
func signingKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("a whsec_ secret must be base64 after the prefix")
		}
		return key, nil
	}
	return []byte(secret), nil
}

// Destination posts batches to one endpoint.
type Destination struct {
	cfg      Config
	key      []byte
	client   *http.Client
	sizeHint atomic.Int64
}

var _ connector.Destination = (*Destination)(nil)

func open(ctx context.Context, p connector.DestinationParams) (connector.Destination, error) {
	cfg := *p.Config.(*Config)
	key, err := signingKey(cfg.SigningSecret)
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("webhook: %w", err))
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.MaxInFlight * 2,
		MaxIdleConnsPerHost: cfg.MaxInFlight * 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Destination{
		cfg: cfg,
		key: key,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirected POST would silently become a GET: report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func (d *Destination) Capabilities() connector.Capabilities {
	return connector.Capabilities{
		MaxBatchRecords:   d.cfg.BatchSize,
		MaxBatchBytes:     d.cfg.MaxBatchBytes,
		MaxInFlight:       d.cfg.MaxInFlight,
		MaxAttempts:       d.cfg.MaxAttempts,
		RequestsPerSecond: d.cfg.RequestsPerSecond,
	}
}

func (d *Destination) Close() error {
	d.client.CloseIdleConnections()
	return nil
}

// AppendBody appends the JSON body of a batch: the webhook contract.
func AppendBody(b []byte, batch *connector.Batch) []byte {
	b = append(b, `{"sync":`...)
	b = record.AppendJSONString(b, batch.Sync)
	b = append(b, `,"run_id":`...)
	b = record.AppendJSONString(b, batch.RunID)
	b = append(b, `,"events":[`...)
	var keys record.JSONKeys
	for i, c := range batch.Changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"`...)
		b = append(b, c.Op.String()...)
		b = append(b, `","key":`...)
		b = record.AppendJSONString(b, c.Key)
		b = append(b, `,"fields":`...)
		b = c.Fields.AppendJSONWith(b, &keys)
		if c.Op == record.OpChange {
			b = append(b, `,"previous":`...)
			b = c.Previous.AppendJSON(b)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// Sign returns the Standard Webhooks signature header value for a message.
func Sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (d *Destination) Write(ctx context.Context, batch *connector.Batch) error {
	// The body is kept by the trace for the run log, so it is not pooled; the last
	// body's size is a good guess for this one's.
	body := AppendBody(make([]byte, 0, d.sizeHint.Load()*5/4+1024), batch)
	d.sizeHint.Store(int64(len(body)))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return connector.Permanent(fmt.Errorf("webhook: build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sluice")
	for k, v := range d.cfg.Headers {
		req.Header.Set(k, v)
	}
	if len(d.key) > 0 {
		ts := time.Now().Unix()
		req.Header.Set("webhook-id", batch.ID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", Sign(d.key, batch.ID, ts, body))
	}

	ex := connector.Exchange{Request: connector.Message{
		Line:   "POST " + d.cfg.URL,
		Header: req.Header.Clone(),
		Body:   body,
	}}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		ex.Duration = time.Since(start)
		ex.Err = err.Error()
		batch.Trace(ex)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("webhook: POST %s: %w", d.cfg.URL, unwrapURLError(err))
	}
	respBody, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	resp.Body.Close()
	ex.Duration = time.Since(start)
	ex.Response = connector.Message{Line: "HTTP " + resp.Status, Header: resp.Header.Clone(), Body: respBody}
	if readErr != nil {
		ex.Err = readErr.Error()
	}
	batch.Trace(ex)
	if readErr != nil {
		return fmt.Errorf("webhook: read response from %s: %w", d.cfg.URL, readErr)
	}
	if len(respBody) > maxResponseBody && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The answer could hold a failed list that cannot be read whole: assuming
		// success would drop the rows it fails.
		return connector.Permanent(fmt.Errorf("webhook: HTTP %d with a response over %d MiB: cannot tell which events failed; answer with less", resp.StatusCode, maxResponseBody>>20))
	}
	return classify(resp, respBody, batch)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// classify turns a response into the batch's outcome (see the contract in the docs).
func classify(resp *http.Response, body []byte, batch *connector.Batch) error {
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		return failedEvents(body, batch)
	case status == http.StatusTooManyRequests:
		return connector.Throttled(fmt.Errorf("webhook: HTTP %d (rate limited): %s", status, saas.Snippet(body)), saas.RetryAfterHeader(resp.Header))
	case status >= 500 || status == http.StatusRequestTimeout:
		err := fmt.Errorf("webhook: HTTP %d: %s", status, saas.Snippet(body))
		if d := saas.RetryAfterHeader(resp.Header); d > 0 {
			return connector.RetryAfter(err, d)
		}
		return err
	case status >= 300 && status < 400:
		return connector.Permanent(fmt.Errorf("webhook: HTTP %d redirect to %q: set url to the final address", status, resp.Header.Get("Location")))
	}
	return connector.Permanent(fmt.Errorf("webhook: HTTP %d: %s", status, saas.Snippet(body)))
}

// failedEvents reads the optional {"failed": [{"key": "...", "error": "..."}]} of a 2xx
// body. A body that is not a JSON object means success; one that mentions a failed
// list it does not hold in that shape fails the batch, because reading it as success
// would drop rows the receiver refused.
func failedEvents(body []byte, batch *connector.Batch) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		if bytes.Contains(trimmed, []byte(`"failed"`)) {
			return connector.Permanent(fmt.Errorf("webhook: the 2xx response mentions \"failed\" but is not valid JSON (%v): cannot tell which events failed", err))
		}
		return nil
	}
	raw, ok := top["failed"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	var failed []struct {
		Key   json.RawMessage `json:"key"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &failed); err != nil {
		return connector.Permanent(fmt.Errorf("webhook: the response's \"failed\" must be a list of {\"key\", \"error\"} objects: %v", err))
	}
	if len(failed) == 0 {
		return nil
	}
	index := make(map[string]int, len(batch.Changes))
	for i, c := range batch.Changes {
		index[c.Key] = i
	}
	be := &connector.BatchError{}
	seen := make(map[int]bool)
	var unknown []string
	for _, f := range failed {
		key := jsonKey(f.Key)
		i, ok := index[key]
		if !ok {
			unknown = append(unknown, key)
			continue
		}
		if seen[i] {
			continue
		}
		seen[i] = true
		msg := jsonText(f.Error)
		if msg == "" {
			msg = "rejected by the receiver (no reason given)"
		}
		be.Fail(i, errors.New(msg))
	}
	if len(unknown) > 0 && be.Len() == 0 {
		// The receiver failed keys this batch does not carry: it cannot have meant
		// this batch's rows to succeed silently, but neither can we pin the failures.
		return connector.Permanent(fmt.Errorf("webhook: the response fails keys not in this batch: %q", unknown))
	}
	if be.Len() == 0 {
		return nil
	}
	return be
}

// jsonText is a JSON string's text, or any other JSON value as written ("" for null).
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var out bytes.Buffer
	if json.Compact(&out, raw) == nil {
		return out.String()
	}
	return string(raw)
}

// jsonKey accepts a key sent back as a string or as a bare number.
func jsonKey(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}
