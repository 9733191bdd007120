package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// batchRows are a batch's changes with what the baseline needs once each is
// acknowledged: its key hash and row hash (the fields are in the change, encoded).
type batchRows struct {
	changes []record.Change
	keys    []diff.KeyHash
	hashes  []uint64
}

func (r *batchRows) add(c record.Change, key diff.KeyHash, hash uint64) {
	r.changes = append(r.changes, c)
	r.keys = append(r.keys, key)
	r.hashes = append(r.hashes, hash)
}

func (r *batchRows) len() int { return len(r.changes) }

// outbound is one batch for the senders.
type outbound struct {
	seq  int
	id   string
	rows batchRows
	skip string // when set, the batch is not sent and every row fails with this reason
	// release, when set, returns the batch's memory for reuse once the run log has
	// recorded it; nothing may touch the batch's changes after that.
	release func()
	// settled, when set, is called once the batch's outcome is recorded.
	settled func()
}

// outcome is a batch's fate, for the committer.
type outcome struct {
	seq       int
	id        string
	rows      batchRows
	errs      []string // per row; "" when the row succeeded
	release   func()
	batchErr  string
	attempts  int
	exchanges []connector.Exchange
}

// liveStats are updated by the send phase's goroutines.
type liveStats struct {
	requests, retries, rateLimited, waitNanos atomic.Int64
	succeeded, failed                         atomic.Int64
	exchanges, payloadBytes, splits           atomic.Int64

	latencyMu sync.Mutex
	latencies []time.Duration // of requests, for the p95; a sample once there are many

	countersMu sync.Mutex
	counters   map[string]int64 // the destination's own, by name
}

func (l *liveStats) count(name string, n int64) {
	l.countersMu.Lock()
	if l.counters == nil {
		l.counters = map[string]int64{}
	}
	l.counters[name] += n
	l.countersMu.Unlock()
}

func (l *liveStats) destinationCounters() map[string]int64 {
	l.countersMu.Lock()
	defer l.countersMu.Unlock()
	if len(l.counters) == 0 {
		return nil
	}
	out := make(map[string]int64, len(l.counters))
	for k, v := range l.counters {
		out[k] = v
	}
	return out
}

// maxLatencySamples bounds the latencies kept for a run's p95.
const maxLatencySamples = 1 << 16

// exchange counts one traced request.
func (l *liveStats) exchange(ex *connector.Exchange) {
	l.exchanges.Add(1)
	l.requests.Add(1)
	if ex.Throttled {
		l.rateLimited.Add(1)
	}
	l.waitNanos.Add(int64(ex.Wait))
	l.payloadBytes.Add(ex.PayloadBytes)
	if ex.Duration <= 0 {
		return
	}
	l.latencyMu.Lock()
	if len(l.latencies) < maxLatencySamples {
		l.latencies = append(l.latencies, ex.Duration)
	} else if i := rand.N(int(l.exchanges.Load())); i < maxLatencySamples {
		l.latencies[i] = ex.Duration // reservoir sampling keeps a uniform sample
	}
	l.latencyMu.Unlock()
}

// p95 returns the 95th percentile request latency, or 0 with no requests traced.
func (l *liveStats) p95() time.Duration {
	l.latencyMu.Lock()
	d := slices.Clone(l.latencies)
	l.latencyMu.Unlock()
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)*95+99)/100-1]
}

// sender sends batches within a destination's capabilities.
type sender struct {
	dest    connector.Destination
	caps    connector.Capabilities
	sync    string
	runID   string
	redact  redactor
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

// redactor removes secrets from what is recorded; *config.Project is one.
type redactor interface {
	Redact(string) string
	RedactBytes([]byte) []byte
}

func newSender(dest connector.Destination, syncName, runID string, redact redactor, stats *liveStats) *sender {
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
	reason = strings.Clone(reason) // it outlives the batch whose error it may quote
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

// maxRetryAfter is the longest Retry-After a run waits for.
const maxRetryAfter = 5 * time.Minute

// backoff is exponential with jitter: 250 ms, 500 ms, 1 s … capped at 30 s, each
// drawn between half and all of that.
func backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt-1, 7)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// send delivers one batch, retrying transient failures and splitting it when the
// destination refuses it whole for some of its rows (connector.Divisible).
func (s *sender) send(ctx context.Context, b *outbound) *outcome {
	out := &outcome{seq: b.seq, id: b.id, rows: b.rows, errs: make([]string, b.rows.len()), release: b.release}
	if b.skip != "" {
		out.failAll(b.skip)
		return out
	}
	var mu sync.Mutex
	trace := func(ex connector.Exchange) {
		ex = redactExchange(ex, s.redact)
		s.stats.exchange(&ex)
		mu.Lock()
		out.exchanges = append(out.exchanges, ex)
		mu.Unlock()
	}
	s.sendPart(ctx, out, b.id, 0, b.rows.changes, trace)
	return out
}

func (o *outcome) failAll(msg string) {
	o.batchErr = msg
	o.failRange(0, len(o.errs), msg)
}

func (o *outcome) failRange(off, n int, msg string) {
	for i := off; i < off+n; i++ {
		o.errs[i] = msg
	}
}

// sendPart delivers changes, the part of out's batch that starts at off.
func (s *sender) sendPart(ctx context.Context, out *outcome, id string, off int, changes []record.Change, trace func(connector.Exchange)) {
	whole := off == 0 && len(changes) == len(out.errs)
	fail := func(msg string) {
		if whole {
			out.failAll(msg)
		} else {
			out.failRange(off, len(changes), msg)
		}
	}
	attempts := 0
	for {
		if reason := s.aborted(); reason != "" {
			fail(reason)
			return
		}
		attempts++
		out.attempts++
		waited, err := s.gate.wait(ctx)
		if err == nil && s.limiter != nil {
			t0 := time.Now()
			err = s.limiter.Wait(ctx)
			waited += time.Since(t0)
		}
		s.stats.waitNanos.Add(int64(waited))
		if err != nil {
			fail("not sent: " + err.Error())
			return
		}
		var exchanges, throttled atomic.Int32 // this write's, which may trace from several goroutines
		err = s.dest.Write(ctx, connector.NewBatch(s.sync, s.runID, id, changes, func(ex connector.Exchange) {
			exchanges.Add(1)
			if ex.Throttled {
				throttled.Add(1)
			}
			trace(ex)
		}).OnCount(s.stats.count))
		traced, throttledTraced := exchanges.Load() > 0, throttled.Load() > 0
		if !traced {
			s.stats.requests.Add(1) // a destination that does not trace counts one request per write
		}
		if err == nil {
			s.consecutiveFailures.Store(0)
			return
		}
		var be *connector.BatchError
		if errors.As(err, &be) {
			if cerr := checkBatchError(be, len(changes)); cerr != nil {
				fail(cerr.Error())
				return
			}
			for _, r := range be.Rows {
				out.errs[off+r.Index] = s.redact.Redact(r.Err.Error())
			}
			s.consecutiveFailures.Store(0)
			return
		}
		msg := s.redact.Redact(err.Error())
		if ctx.Err() != nil {
			fail("not sent: run cancelled")
			return
		}
		if connector.IsDivisible(err) && len(changes) > 1 {
			// The destination refused the whole part for some of its rows: halves
			// isolate them, the way a person would bisect a bad file.
			s.stats.splits.Add(1)
			half := len(changes) / 2
			s.sendPart(ctx, out, id+"a", off, changes[:half:half], trace)
			s.sendPart(ctx, out, id+"b", off+half, changes[half:], trace)
			return
		}
		if connector.RateLimited(err) && !throttledTraced {
			s.stats.rateLimited.Add(1)
		}
		if connector.IsPermanent(err) || connector.IsDivisible(err) || attempts >= s.caps.MaxAttempts {
			if attempts > 1 {
				msg = fmt.Sprintf("%s (after %d attempts)", msg, attempts)
			}
			fail(msg)
			if !whole {
				return // a row isolated by splitting; the destination is working
			}
			if n := s.consecutiveFailures.Add(1); n >= int64(s.maxConsecutiveFailures) {
				s.abort(fmt.Sprintf("not sent: the run stopped after %d batches in a row failed; last error: %s", n, msg))
			}
			return
		}
		delay := backoff(attempts)
		if d, ok := connector.RetryDelay(err); ok && d > 0 {
			if d > maxRetryAfter {
				// Waiting that long inside a run would hold every sender; the rows
				// fail now and the next run sends them.
				fail(fmt.Sprintf("%s (the destination asked to wait %s before retrying, more than the %s a run waits)", msg, d.Round(time.Second), maxRetryAfter))
				return
			}
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
			fail("not sent: run cancelled")
			return
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

func redactExchange(ex connector.Exchange, r redactor) connector.Exchange {
	ex.Request = redactMessage(ex.Request, r)
	ex.Response = redactMessage(ex.Response, r)
	ex.Err = r.Redact(ex.Err)
	return ex
}

// sensitiveHeaders are hidden whatever their value.
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Api-Key": true, "Api-Key": true, "X-Auth-Token": true,
}

func redactMessage(m connector.Message, r redactor) connector.Message {
	m.Line = r.Redact(m.Line)
	if len(m.Header) > 0 {
		h := make(map[string][]string, len(m.Header))
		for k, vs := range m.Header {
			out := make([]string, len(vs))
			for i, v := range vs {
				if sensitiveHeaders[k] {
					out[i] = "[REDACTED]"
				} else {
					out[i] = r.Redact(v)
				}
			}
			h[k] = out
		}
		m.Header = h
	}
	m.Body = r.RedactBytes(m.Body)
	return m
}

// estimateSize guesses a change's share of a request, for MaxBatchBytes: the JSON of
// a record is close to its binary encoding plus its field names and punctuation.
func estimateSize(op record.Op, keyLen, valuesLen int, names []string) int {
	return estimateWithNames(op, keyLen, valuesLen, namesCost(names))
}

// namesCost is what field names add to a record's JSON.
func namesCost(names []string) int {
	n := 0
	for _, name := range names {
		n += len(name) + 4
	}
	return n
}

func estimateWithNames(op record.Op, keyLen, valuesLen, names int) int {
	n := (valuesLen + keyLen + 48 + names) * 5 / 4
	if op == record.OpChange {
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
	seq    atomic.Int64

	// The spill cutters' last, short batches meet here (see cutSpill).
	tailMu      sync.Mutex
	cuttersLeft int
	leftover    *cutter

	// removals counts the removal batches not yet settled, while they are cut.
	removals *sync.WaitGroup
}

// batch cuts the spilled changes and the removed keys into batches within the
// destination's limits, one goroutine per spill file and one for the removed keys.
//
// Removals go first, and the rest only once every removal has an outcome: a row
// that left the model must leave the destination before the rows that replace it
// arrive, because a destination may identify records by something other than the
// key (a HubSpot contact by its email): a user re-keyed with the same email is a
// removal and an addition of the same contact, and the other order would archive
// the contact just written.
func batch(ctx context.Context, p *batcherParams) error {
	if p.removedOps && len(p.scan.diff.Removed) > 0 {
		var settled sync.WaitGroup
		p.removals = &settled
		err := cutRemoved(ctx, p)
		p.removals = nil
		if err != nil {
			return err
		}
		done := make(chan struct{})
		go func() { settled.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.cuttersLeft = len(p.scan.spills)
	g, ctx := errgroup.WithContext(ctx)
	for _, sp := range p.scan.spills {
		g.Go(func() error { return cutSpill(ctx, p, sp) })
	}
	return g.Wait()
}

// emit passes a cut batch to the senders.
func (p *batcherParams) emit(ctx context.Context, rows batchRows, release func()) error {
	skip := p.sender.aborted()
	if skip == "" && p.runCtx.Err() != nil {
		skip = "not sent: run cancelled"
	}
	if skip == "" { // a batch that is not sent needs no previous fields
		if err := fillPrevious(ctx, p.baseline, &rows); err != nil {
			return err
		}
	}
	if max := p.sender.caps.MaxBatchBytes; max > 0 && skip == "" && rows.len() > 1 && tooBig(&rows, max) {
		// Cut while reading, the batch was estimated; its exact size says it must be
		// halved. Both halves share the batch's memory, released after the second.
		half := rows.len() / 2
		var left atomic.Int32
		left.Store(2)
		shared := func() {
			if left.Add(-1) == 0 && release != nil {
				release()
			}
		}
		first := batchRows{changes: rows.changes[:half:half], keys: rows.keys[:half:half], hashes: rows.hashes[:half:half]}
		second := batchRows{changes: rows.changes[half:], keys: rows.keys[half:], hashes: rows.hashes[half:]}
		if err := p.emit(ctx, first, shared); err != nil {
			return err
		}
		return p.emit(ctx, second, shared)
	}
	seq := int(p.seq.Add(1))
	b := &outbound{seq: seq, id: p.runID + "-" + strconv.Itoa(seq), rows: rows, skip: skip, release: release}
	if p.removals != nil {
		p.removals.Add(1)
		b.settled = p.removals.Done
	}
	select {
	case p.out <- b:
		return nil
	case <-ctx.Done():
		if b.settled != nil {
			b.settled()
		}
		return ctx.Err()
	}
}

// tooBig reports whether a batch's JSON (its events as the webhook contract shapes
// them) exceeds max bytes. A cheap bound answers for almost every batch: no canonical
// value's JSON is more than 11 times its encoding (a timestamp); only batches near
// the limit are measured exactly.
func tooBig(rows *batchRows, max int) bool {
	bound := 0
	for _, c := range rows.changes {
		bound += 11*(c.Fields.EncodedLen()+c.Previous.EncodedLen()) + 6*len(c.Key) + 80
		for _, n := range c.Fields.Names {
			bound += 6*len(n) + 4
		}
		for _, n := range c.Previous.Names {
			bound += 6*len(n) + 4
		}
	}
	if bound <= max {
		return false
	}
	size := 0
	var buf []byte
	var keys record.JSONKeys
	for _, c := range rows.changes {
		buf = record.AppendJSONString(buf[:0], c.Key)
		buf = c.Fields.AppendJSONWith(buf, &keys)
		buf = c.Previous.AppendJSON(buf)
		size += len(buf) + 48 // {"type":"changed","key":,"fields":,"previous":},
		if size > max {
			return true
		}
	}
	return false
}

// spilledRow locates one spilled row inside a batch's arena.
type spilledRow struct {
	op              record.Op
	key             diff.KeyHash
	row             uint64
	textAt, textLen int
	valAt, valLen   int
}

// batchMemory is what a batch cut from a spill is made of: an arena holding its
// keys and encoded fields, which its changes point into, and the change slices. It is
// reused once the run log has recorded the batch, which keeps a million-row run from
// allocating a gigabyte on the way to the destination.
type batchMemory struct {
	arena []byte
	rows  batchRows
}

// batchMemories keeps released batch memory for reuse. A sync.Pool would be emptied
// by every garbage collection, and a busy run collects often.
var batchMemories = make(chan *batchMemory, 64)

// arenaHint is the size of the last arena released: new arenas start that large
// rather than growing by doubling, copying as they go.
var arenaHint atomic.Int64

func getBatchMemory() *batchMemory {
	select {
	case m := <-batchMemories:
		return m
	default:
		return &batchMemory{arena: make([]byte, 0, arenaHint.Load()*9/8)}
	}
}

func (m *batchMemory) release() {
	arenaHint.Store(int64(len(m.arena)))
	clear(m.rows.changes) // drop references into the arena before reuse
	m.arena = m.arena[:0]
	m.rows = batchRows{changes: m.rows.changes[:0], keys: m.rows.keys[:0], hashes: m.rows.hashes[:0]}
	select {
	case batchMemories <- m:
	default:
	}
}

// cutter cuts one spill file's rows into batches. A batch's keys and values are
// copied into one arena and used in place, so that a row costs no allocation of its
// own on the way to the destination.
type cutter struct {
	p     *batcherParams
	mem   *batchMemory
	rows  []spilledRow
	size  int
	names int // namesCost of the sync's fields
}

// add appends a row to the batch being cut, cutting it first when the row would not fit.
func (c *cutter) add(ctx context.Context, op record.Op, key diff.KeyHash, row uint64, text, values []byte) error {
	caps := c.p.sender.caps
	n := estimateWithNames(op, len(text), len(values), c.names)
	if len(c.rows) > 0 && (len(c.rows) >= caps.MaxBatchRecords || (caps.MaxBatchBytes > 0 && c.size+n > caps.MaxBatchBytes)) {
		if err := c.flush(ctx); err != nil {
			return err
		}
	}
	// The arena may move while it grows; rows record offsets until the batch is cut.
	r := spilledRow{op: op, key: key, row: row, textAt: len(c.mem.arena), textLen: len(text)}
	c.mem.arena = append(c.mem.arena, text...)
	r.valAt, r.valLen = len(c.mem.arena), len(values)
	c.mem.arena = append(c.mem.arena, values...)
	c.rows = append(c.rows, r)
	c.size += n
	return nil
}

// flush cuts the batch and hands it to the senders.
func (c *cutter) flush(ctx context.Context) error {
	if len(c.rows) == 0 {
		return nil
	}
	names := c.p.fields.names
	arena := c.mem.arena
	out := &c.mem.rows
	for _, r := range c.rows {
		enc := arena[r.valAt : r.valAt+r.valLen : r.valAt+r.valLen]
		if !record.ValidEncoding(enc, len(names)) {
			return fmt.Errorf("read back spilled row %q: the spill file is damaged", arena[r.textAt:r.textAt+r.textLen])
		}
		key := unsafe.String(&arena[r.textAt], r.textLen)
		out.add(record.Change{Op: r.op, Key: key, Fields: record.EncodedFields(names, enc)}, r.key, r.row)
	}
	if err := c.p.emit(ctx, *out, c.mem.release); err != nil {
		return err
	}
	c.mem = getBatchMemory()
	c.rows, c.size = c.rows[:0], 0
	return nil
}

// absorb re-adds another cutter's uncut rows to this one's batches.
func (c *cutter) absorb(ctx context.Context, o *cutter) error {
	for _, r := range o.rows {
		text := o.mem.arena[r.textAt : r.textAt+r.textLen]
		values := o.mem.arena[r.valAt : r.valAt+r.valLen]
		if err := c.add(ctx, r.op, r.key, r.row, text, values); err != nil {
			return err
		}
	}
	o.rows = nil
	o.mem.release()
	return nil
}

// cutSpill reads one spill file. The last rows of each file make a short batch; the
// cutters pass theirs along so that only the last one to finish cuts one.
func cutSpill(ctx context.Context, p *batcherParams, sp *spillWriter) error {
	c := &cutter{p: p, mem: getBatchMemory(), names: namesCost(p.fields.names)}
	rd := newSpillReader(sp.f)
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var rec spillRecord
	for {
		err := rd.next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if !rec.send || p.scan.diff.IsDuplicate(rec.key) {
			continue
		}
		op := record.OpChange
		if rec.verdict == diff.Added {
			op = record.OpAdd
		}
		text := unsafe.Slice(unsafe.StringData(rec.text), len(rec.text))
		if err := c.add(ctx, op, rec.key, rec.row, text, rec.values); err != nil {
			return err
		}
	}
	p.tailMu.Lock()
	defer p.tailMu.Unlock()
	p.cuttersLeft--
	if p.leftover != nil {
		if err := c.absorb(ctx, p.leftover); err != nil {
			return err
		}
		p.leftover = nil
	}
	if p.cuttersLeft > 0 {
		p.leftover = c
		return nil
	}
	return c.flush(ctx)
}

// cutRemoved turns the keys the model no longer has into removals, with the fields
// last synced for each.
func cutRemoved(ctx context.Context, p *batcherParams) error {
	caps := p.sender.caps
	removed := p.scan.diff.Removed
	var rows batchRows
	size := 0
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
			n := estimateSize(record.OpRemove, len(s.Key), len(s.Fields.Encoded()), s.Fields.Names)
			if rows.len() > 0 && (rows.len() >= caps.MaxBatchRecords || (caps.MaxBatchBytes > 0 && size+n > caps.MaxBatchBytes)) {
				if err := p.emit(ctx, rows, nil); err != nil {
					return err
				}
				rows, size = batchRows{}, 0
			}
			rows.add(record.Change{Op: record.OpRemove, Key: s.Key, Fields: s.Fields}, keys[j], 0)
			size += n
		}
	}
	if rows.len() > 0 {
		return p.emit(ctx, rows, nil)
	}
	return nil
}

// fillPrevious sets the last synced fields of the changed rows of a batch.
func fillPrevious(ctx context.Context, b store.Baseline, rows *batchRows) error {
	var keys []diff.KeyHash
	var at []int
	for i := range rows.changes {
		if rows.changes[i].Op == record.OpChange {
			keys = append(keys, rows.keys[i])
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
			rows.changes[at[j]].Previous = s.Fields
		}
	}
	return nil
}

// sendAll runs the batcher and MaxInFlight senders, passing outcomes to done, which
// is called from several goroutines.
func sendAll(ctx context.Context, p *batcherParams, done func(*outcome) error) error {
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
				err := done(p.sender.send(ctx, b))
				if b.settled != nil {
					b.settled()
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
