package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// pending is a change on its way to the destination, with what the baseline needs
// once it is acknowledged.
type pending struct {
	change record.Change
	key    diff.KeyHash
	row    uint64
	values []byte // encoded fields, for the baseline
}

// outbound is one batch for the senders.
type outbound struct {
	seq  int
	id   string
	rows []pending
	skip string // when set, the batch is not sent and every row fails with this reason
}

// outcome is a batch's fate, for the committer.
type outcome struct {
	seq       int
	id        string
	rows      []pending
	errs      []string // per row; "" when the row succeeded
	batchErr  string
	attempts  int
	exchanges []connector.Exchange
}

// liveStats are updated by the send phase's goroutines.
type liveStats struct {
	requests, retries, rateLimited, waitNanos atomic.Int64
	succeeded, failed                         atomic.Int64
}

// sender sends batches within a destination's capabilities.
type sender struct {
	dest    connector.Destination
	caps    connector.Capabilities
	sync    string
	runID   string
	redact  func(string) string
	stats   *liveStats
	limiter *rate.Limiter
	gate    gate

	// The run stops sending after this many whole batches fail in a row: a
	// destination that is down or refuses every request is not hammered further.
	maxConsecutiveFailures int
	consecutiveFailures    atomic.Int64
	abortOnce              sync.Once
	abortReason            atomic.Pointer[string]
}

func newSender(dest connector.Destination, syncName, runID string, redact func(string) string, stats *liveStats) *sender {
	caps := dest.Capabilities()
	caps.MaxBatchRecords = max(1, caps.MaxBatchRecords)
	caps.MaxInFlight = max(1, caps.MaxInFlight)
	caps.MaxAttempts = max(1, caps.MaxAttempts)
	s := &sender{
		dest: dest, caps: caps, sync: syncName, runID: runID, redact: redact, stats: stats,
		maxConsecutiveFailures: max(3, caps.MaxInFlight),
	}
	if caps.RequestsPerSecond > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(caps.RequestsPerSecond), 1)
	}
	return s
}

func (s *sender) aborted() string {
	if r := s.abortReason.Load(); r != nil {
		return *r
	}
	return ""
}

func (s *sender) abort(reason string) {
	s.abortOnce.Do(func() { s.abortReason.Store(&reason) })
}

// gate pauses every sender after the destination throttles one of them, so that a
// 429 slows the whole run instead of each request discovering it on its own.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *gate) pause(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := time.Now().Add(d); t.After(g.until) {
		g.until = t
	}
}

func (g *gate) wait(ctx context.Context) (time.Duration, error) {
	g.mu.Lock()
	d := time.Until(g.until)
	g.mu.Unlock()
	if d <= 0 {
		return 0, nil
	}
	return d, sleep(ctx, d)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is exponential with jitter: 250 ms, 500 ms, 1 s … capped at 30 s, each
// drawn between half and all of that.
func backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt-1, 7)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// send delivers one batch, retrying transient failures.
func (s *sender) send(ctx context.Context, b *outbound) *outcome {
	out := &outcome{seq: b.seq, id: b.id, rows: b.rows, errs: make([]string, len(b.rows))}
	failAll := func(msg string) {
		out.batchErr = msg
		for i := range out.errs {
			out.errs[i] = msg
		}
	}
	if b.skip != "" {
		failAll(b.skip)
		return out
	}
	changes := make([]record.Change, len(b.rows))
	for i := range b.rows {
		changes[i] = b.rows[i].change
	}
	var mu sync.Mutex
	trace := func(ex connector.Exchange) {
		ex = redactExchange(ex, s.redact)
		mu.Lock()
		out.exchanges = append(out.exchanges, ex)
		mu.Unlock()
	}
	for {
		if reason := s.aborted(); reason != "" {
			failAll(reason)
			return out
		}
		out.attempts++
		waited, err := s.gate.wait(ctx)
		if err == nil && s.limiter != nil {
			t0 := time.Now()
			err = s.limiter.Wait(ctx)
			waited += time.Since(t0)
		}
		s.stats.waitNanos.Add(int64(waited))
		if err != nil {
			failAll("not sent: " + err.Error())
			return out
		}
		s.stats.requests.Add(1)
		err = s.dest.Write(ctx, connector.NewBatch(s.sync, s.runID, b.id, changes, trace))
		if err == nil {
			s.consecutiveFailures.Store(0)
			return out
		}
		var be *connector.BatchError
		if errors.As(err, &be) {
			if cerr := checkBatchError(be, len(changes)); cerr != nil {
				failAll(cerr.Error())
				return out
			}
			for _, r := range be.Rows {
				out.errs[r.Index] = s.redact(r.Err.Error())
			}
			s.consecutiveFailures.Store(0)
			return out
		}
		msg := s.redact(err.Error())
		if ctx.Err() != nil {
			failAll("not sent: run cancelled")
			return out
		}
		if connector.RateLimited(err) {
			s.stats.rateLimited.Add(1)
		}
		if connector.IsPermanent(err) || out.attempts >= s.caps.MaxAttempts {
			if out.attempts > 1 {
				msg = fmt.Sprintf("%s (after %d attempts)", msg, out.attempts)
			}
			failAll(msg)
			if n := s.consecutiveFailures.Add(1); n >= int64(s.maxConsecutiveFailures) {
				s.abort(fmt.Sprintf("not sent: the run stopped after %d batches in a row failed; last error: %s", n, msg))
			}
			return out
		}
		delay := backoff(out.attempts)
		if d, ok := connector.RetryDelay(err); ok && d > 0 {
			delay = d + rand.N(d/10+time.Millisecond)
		}
		if connector.RateLimited(err) {
			s.gate.pause(delay)
		}
		s.stats.retries.Add(1)
		t0 := time.Now()
		serr := sleep(ctx, delay)
		if connector.RateLimited(err) {
			s.stats.waitNanos.Add(int64(time.Since(t0)))
		}
		if serr != nil {
			failAll("not sent: run cancelled")
			return out
		}
	}
}

// checkBatchError enforces the contract of connector.BatchError.
func checkBatchError(be *connector.BatchError, n int) error {
	if len(be.Rows) == 0 {
		return errors.New("destination returned a batch error naming no rows (a connector bug)")
	}
	seen := make(map[int]bool, len(be.Rows))
	for _, r := range be.Rows {
		if r.Index < 0 || r.Index >= n || seen[r.Index] || r.Err == nil {
			return fmt.Errorf("destination returned a batch error with bad row index %d (a connector bug)", r.Index)
		}
		seen[r.Index] = true
	}
	return nil
}

func redactExchange(ex connector.Exchange, redact func(string) string) connector.Exchange {
	ex.Request = redactMessage(ex.Request, redact)
	ex.Response = redactMessage(ex.Response, redact)
	ex.Err = redact(ex.Err)
	return ex
}

// sensitiveHeaders are hidden whatever their value.
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Api-Key": true, "Api-Key": true, "X-Auth-Token": true,
}

func redactMessage(m connector.Message, redact func(string) string) connector.Message {
	m.Line = redact(m.Line)
	if len(m.Header) > 0 {
		h := make(map[string][]string, len(m.Header))
		for k, vs := range m.Header {
			out := make([]string, len(vs))
			for i, v := range vs {
				if sensitiveHeaders[k] {
					out[i] = "[REDACTED]"
				} else {
					out[i] = redact(v)
				}
			}
			h[k] = out
		}
		m.Header = h
	}
	if len(m.Body) > 0 {
		m.Body = []byte(redact(string(m.Body)))
	}
	return m
}

// batchSizer estimates a change's share of a request, for MaxBatchBytes: the JSON of
// a record is close to its binary encoding plus its field names and punctuation.
func estimateSize(p *pending) int {
	n := len(p.values) + len(p.change.Key) + 48
	for _, name := range p.change.Fields.Names {
		n += len(name) + 4
	}
	n = n * 5 / 4
	if p.change.Op == record.OpChange {
		n *= 2 // previous
	}
	return n
}

// batcherParams are what the batcher reads from.
type batcherParams struct {
	scan       *scanResult
	fields     *fieldMap
	baseline   store.Baseline
	mode       connector.Mode
	sender     *sender
	runID      string
	out        chan<- *outbound
	removedOps bool
	// runCtx is the run's context: once it is cancelled the batcher still cuts every
	// remaining batch, marked not sent, so that every row gets an outcome.
	runCtx context.Context
}

// batch cuts the spilled changes and the removed keys into batches within the
// destination's limits, looking up the previous fields of changed rows in the baseline.
func batch(ctx context.Context, p batcherParams) error {
	caps := p.sender.caps
	seq := 0
	var rows []pending
	size := 0
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		if err := fillPrevious(ctx, p.baseline, rows); err != nil {
			return err
		}
		seq++
		skip := p.sender.aborted()
		if skip == "" && p.runCtx.Err() != nil {
			skip = "not sent: run cancelled"
		}
		b := &outbound{seq: seq, id: p.runID + "-" + strconv.Itoa(seq), rows: rows, skip: skip}
		select {
		case p.out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		rows, size = make([]pending, 0, caps.MaxBatchRecords), 0
		return nil
	}
	add := func(pc pending) error {
		n := estimateSize(&pc)
		if len(rows) > 0 && (len(rows) >= caps.MaxBatchRecords || (caps.MaxBatchBytes > 0 && size+n > caps.MaxBatchBytes)) {
			if err := flush(); err != nil {
				return err
			}
		}
		rows = append(rows, pc)
		size += n
		return nil
	}
	names := p.fields.names
	err := p.scan.forEachSpilled(func(rec *spillRecord) error {
		if !rec.send || p.scan.diff.IsDuplicate(rec.key) {
			return nil
		}
		values, err := record.DecodeValues(make([]record.Value, 0, len(names)), rec.values)
		if err != nil {
			return fmt.Errorf("read back spilled row %q: %w", rec.text, err)
		}
		op := record.OpChange
		if rec.verdict == diff.Added {
			op = record.OpAdd
		}
		return add(pending{
			change: record.Change{Op: op, Key: rec.text, Fields: record.Fields{Names: names, Values: values}},
			key:    rec.key, row: rec.row, values: append([]byte(nil), rec.values...),
		})
	})
	if err != nil {
		return err
	}
	if p.removedOps {
		removed := p.scan.diff.Removed
		const lookupChunk = 1024
		for i := 0; i < len(removed); i += lookupChunk {
			chunk := removed[i:min(i+lookupChunk, len(removed))]
			keys := make([]diff.KeyHash, len(chunk))
			for j, e := range chunk {
				keys[j] = e.Key
			}
			synced, err := p.baseline.Lookup(ctx, keys)
			if err != nil {
				return fmt.Errorf("baseline: look up removed keys: %w", err)
			}
			for j, s := range synced {
				if !s.Found {
					return fmt.Errorf("baseline: removed key %x has no record: the baseline is damaged", keys[j].Bytes())
				}
				if err := add(pending{change: record.Change{Op: record.OpRemove, Key: s.Key, Fields: s.Fields}, key: keys[j]}); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// fillPrevious sets the last synced fields of the changed rows of a batch.
func fillPrevious(ctx context.Context, b store.Baseline, rows []pending) error {
	var keys []diff.KeyHash
	var at []int
	for i := range rows {
		if rows[i].change.Op == record.OpChange {
			keys = append(keys, rows[i].key)
			at = append(at, i)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	synced, err := b.Lookup(ctx, keys)
	if err != nil {
		return fmt.Errorf("baseline: look up previous fields: %w", err)
	}
	for j, s := range synced {
		if s.Found {
			rows[at[j]].change.Previous = s.Fields
		}
	}
	return nil
}

// sendAll runs the batcher and MaxInFlight senders, passing outcomes to done, which
// is called from several goroutines.
func sendAll(ctx context.Context, p batcherParams, done func(*outcome) error) error {
	batches := make(chan *outbound, p.sender.caps.MaxInFlight)
	p.out = batches
	p.runCtx = ctx
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	g.Go(func() error {
		defer close(batches)
		return batch(gctx, p)
	})
	for range p.sender.caps.MaxInFlight {
		g.Go(func() error {
			for b := range batches {
				// A cancelled run still records the outcome of every batch it cut.
				if err := done(p.sender.send(ctx, b)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
