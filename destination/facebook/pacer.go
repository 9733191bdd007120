package facebook

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connector"
)

// pacer paces an ad account's writes by the two limits Meta reports on every
// answer: the ad account's score (X-Ad-Account-Usage: acc_id_util_pct, the share
// used in its rolling window, and reset_time_duration, the seconds until it is
// back to zero, which is the window's length while requests keep coming) and
// the custom_audience business-use-case budget (X-Business-Use-Case-Usage:
// call_count and the time shares, whole percentages of a budget Meta documents
// per rolling hour).
//
// Meta documents their sizes per access tier (9,000 points per 300 s for the
// score on the standard tier, a write costing 3; 190,000 calls an hour and
// more for the budget), but an account's may differ and other apps spend them
// too, so each is measured (a meter): the share one write takes is the growth
// of the figure over this sync's first writes, which go one at a time until the
// score's is known. Each write is then booked in a local copy of each window;
// what Meta's figures say beyond this sync's own bookings is others' use. A
// write waits until every window has room for it: until one of this sync's
// earlier writes leaves the window, or Meta's figures show others' use has.
type pacer struct {
	now func() time.Time

	mu       sync.Mutex
	wake     chan struct{} // closed and replaced when something changes
	writes   int64         // writes booked, numbering them
	inFlight int           // booked writes without their answer yet
	latency  time.Duration // a moving average of writes' time to an answer
	booked   []booking     // this sync's writes, oldest first
	meters   [2]*meter     // the score, the business-use-case budget

	// Until one write's share is measured, writes go one at a time (probes);
	// after a few probes without figures (no usage headers), unpaced.
	probe  int64 // the write being probed; 0 when none
	probes int
	blind  bool
}

// The meters of a pacer.
const (
	meterScore = iota
	meterBUC
)

// booking is one write of this sync: its number and when it left.
type booking struct {
	seq int64
	at  time.Time
}

// estimate is what figures show beyond this sync's bookings (negative when
// some were not counted yet), and when they came.
type estimate struct {
	pct float64
	at  time.Time
}

// meter is one limit's figures and what was measured of them.
type meter struct {
	window time.Duration // from the headers (the score) or Meta's documentation
	sized  bool          // window came from the headers
	whole  bool          // the figures are whole percentages (rounded down)
	q      float64       // percent of the limit a write takes; 0 until measured
	qs     []float64     // the measures of q
	seen   []float64     // the distinct figures of the first window, sorted
	// firstSeen is the first write each whole figure was seen with.
	firstSeen map[float64]int64
	// foreigns are the last estimates of others' use.
	foreigns []estimate
	lastSeq  int64 // the write whose figures are the latest

	// The first figures, from which this sync's share is measured.
	based    bool
	basePct  float64
	baseSeq  int64
	baseTime time.Time
}

func newPacer() *pacer {
	return &pacer{now: time.Now, wake: make(chan struct{}),
		meters: [2]*meter{{window: scoreWindow}, {window: time.Hour, whole: true}}}
}

var (
	pacersMu sync.Mutex
	pacers   = map[string]*pacer{}
)

// sharedPacer is the process's pacing of an ad account (keyed as its budget):
// syncs writing to the same account book in the same windows, and a later run
// starts with what an earlier one measured.
func sharedPacer(key string) *pacer {
	pacersMu.Lock()
	defer pacersMu.Unlock()
	p, ok := pacers[key]
	if !ok {
		p = newPacer()
		pacers[key] = p
	}
	return p
}

// margin is how much longer than Meta's window a write is counted: Meta counts
// it from its arrival, after its body is uploaded, which takes part of the
// time to an answer.
func (p *pacer) margin(m *meter) time.Duration {
	return min(m.window/10, max(50*time.Millisecond, m.window/40)+p.latency/2)
}

func (p *pacer) broadcast() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// book waits until the windows have room for a write and books it; it returns
// the write's number, for its figures to be matched with it.
func (p *pacer) book(ctx context.Context) (int64, error) {
	for {
		p.mu.Lock()
		now := p.now()
		p.expire(now)
		wait := p.waitFor(now)
		if wait <= 0 {
			p.writes++
			p.inFlight++
			p.booked = append(p.booked, booking{p.writes, now})
			seq := p.writes
			if !p.measured() && !p.blind {
				p.probe = seq
			}
			p.mu.Unlock()
			return seq, nil
		}
		wake := p.wake
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-wake:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
		t.Stop()
	}
}

// measures reports whether a meter knows one write's share of its limit.
func (p *pacer) measures(which int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meters[which].q > 0
}

// measured reports whether a write's share of the score is known.
func (p *pacer) measured() bool { return p.meters[meterScore].q > 0 }

// sent moves a write's booking to when it left (it may have waited for a
// concurrency slot after it was booked): Meta counts it from its arrival.
func (p *pacer) sent(seq int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for i := len(p.booked) - 1; i >= 0; i-- {
		if p.booked[i].seq == seq {
			p.booked[i].at = now
			break
		}
	}
	slices.SortStableFunc(p.booked, func(a, b booking) int { return a.at.Compare(b.at) })
}

// done is told that write seq has its answer, whatever it was.
func (p *pacer) done(seq int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	for _, b := range p.booked {
		if b.seq == seq {
			if d := p.now().Sub(b.at); p.latency == 0 {
				p.latency = d
			} else {
				p.latency = (7*p.latency + d) / 8
			}
			break
		}
	}
	if seq == p.probe {
		p.probe = 0
		if !p.measured() {
			p.probes++
			p.blind = p.probes >= 3
		}
	}
	p.broadcast()
}

// expire forgets bookings no window counts any more.
func (p *pacer) expire(now time.Time) {
	var keep time.Duration
	for _, m := range p.meters {
		if m.q > 0 || m == p.meters[meterScore] {
			keep = max(keep, m.window+p.margin(m))
		}
	}
	cut := now.Add(-keep)
	k := 0
	for k < len(p.booked) && !p.booked[k].at.After(cut) {
		k++
	}
	if k > 0 {
		p.booked = append(p.booked[:0], p.booked[k:]...)
	}
}

// counted is how many of this sync's bookings a meter's window holds now.
func (p *pacer) counted(m *meter, now time.Time) int {
	cut := now.Add(-(m.window + p.margin(m)))
	n := 0
	for _, b := range p.booked {
		if b.at.After(cut) {
			n++
		}
	}
	return n
}

// waitFor is how long a write must wait for room; 0 or less when it may go.
func (p *pacer) waitFor(now time.Time) time.Duration {
	if !p.measured() && !p.blind && p.probe != 0 {
		return time.Minute // until the probe's answer (see done)
	}
	var wait time.Duration
	for _, m := range p.meters {
		if m.q <= 0 {
			continue
		}
		n := p.counted(m, now)
		foreign := m.others(now)
		used := foreign + m.q*float64(n)
		if used+m.q <= m.limit()+1e-9 {
			continue
		}
		switch {
		case n > 0:
			// The oldest of this sync's writes in the window leaves it then.
			cut := now.Add(-(m.window + p.margin(m)))
			for _, b := range p.booked {
				if b.at.After(cut) {
					wait = max(wait, b.at.Add(m.window+p.margin(m)).Sub(now))
					break
				}
			}
		default:
			// Others fill the window: look again when their use has left it.
			newest := m.foreigns[len(m.foreigns)-1].at
			wait = max(wait, newest.Add(m.window).Sub(now))
		}
	}
	return wait
}

// limit is the most of the window a meter lets this sync's writes fill.
func (m *meter) limit() float64 {
	limit := 100.0
	if m.whole {
		limit-- // whole percentages, rounded down, hide up to 1%
	} else if m.q < 1 {
		// Over a hundred writes a window, the figures' rounding to 0.01% makes
		// the measure of one write's share uncertain by about 1%.
		limit--
	}
	return limit
}

// observe takes in a meter's figures from the answer to write seq (0 for a
// read): the share of the limit used when it arrived, and for the score the
// time to reset.
func (p *pacer) observe(which int, seq int64, pct, reset float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcast()
	m := p.meters[which]
	if which == meterScore && reset > 0 && pct < 100 {
		// While the score blocks, the reset is the block's end, not the window's.
		if w := time.Duration(math.Ceil(reset)) * time.Second; !m.sized || w > m.window {
			m.window, m.sized = w, true
		}
	}
	now := p.now()
	if !m.based {
		// Whatever the account used before (other apps, earlier runs) is in these
		// figures and in later ones until it leaves the window.
		m.based, m.basePct, m.baseSeq, m.baseTime = true, pct, seq, now
		if seq == 0 {
			m.baseSeq = p.writes
		}
	}
	if seq == 0 || pct >= 100 || pct < 0 {
		return // a read, or a spent limit, which says nothing of its size
	}
	if now.Sub(m.baseTime) < m.window && seq > m.baseSeq && pct > m.basePct {
		m.measure(seq, pct)
	}
	if m.q <= 0 || seq < m.lastSeq {
		return // older figures than those already taken in
	}
	m.lastSeq = seq
	var at time.Time
	for _, b := range p.booked {
		if b.seq == seq {
			at = b.at
		}
	}
	if at.IsZero() {
		return // the write left the window already: newer figures will come
	}
	// This sync's writes Meta had counted: those booked up to seq and still in
	// its window then.
	own := 0
	for _, b := range p.booked {
		if b.seq <= seq && at.Sub(b.at) < m.window+p.margin(m) {
			own++
		}
	}
	m.foreigns = append(m.foreigns, estimate{pct - m.q*float64(own), now})
	if len(m.foreigns) > 7 {
		m.foreigns = m.foreigns[1:]
	}
}

// others is what others use of a meter's window now, from the last figures.
// A write that arrived before or after others it left with makes its figures
// count whole writes more or fewer of this sync's than it booked; others' use
// is what they show beyond this sync's bookings, the part below one write's
// share exactly (this sync's writes come in whole shares), the whole shares
// as the median of the last few figures say. Figures older than the window
// saw use that has left it since.
func (m *meter) others(now time.Time) float64 {
	if len(m.foreigns) == 0 || m.q <= 0 {
		return 0
	}
	newest := m.foreigns[len(m.foreigns)-1]
	if now.Sub(newest.at) >= m.window {
		return 0
	}
	part := math.Mod(newest.pct, m.q)
	if part < 0 {
		part += m.q
	}
	var whole []float64
	for _, e := range m.foreigns {
		if newest.at.Sub(e.at) <= m.window/10 {
			whole = append(whole, math.Round((e.pct-part)/m.q))
		}
	}
	return part + m.q*max(0, median(whole))
}

// measure takes in a measure of one write's share, from figures of the first
// window: nothing has left it, so the share grew by this sync's writes (and
// others' meanwhile, which errs on the safe side). A write that arrived
// before or after others it left with counts a write more or less than its
// number says: the median of the measures is near the share of one write, and
// two figures a write apart are that share exactly but for Meta's rounding to
// 0.01%: the larger of the two is taken. Whole percentages, rounded down,
// change only every few writes: the share is the growth between the first
// write each figure was seen with.
func (m *meter) measure(seq int64, pct float64) {
	if m.whole {
		if m.firstSeen == nil {
			m.firstSeen = map[float64]int64{}
		}
		if at, ok := m.firstSeen[pct]; !ok || seq < at {
			m.firstSeen[pct] = seq
		}
		var lo, hi float64
		for v := range m.firstSeen {
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
		}
		// A figure first seen is at most a percent below the share used then:
		// the growth is at most a percent more than the figures say.
		if hi-lo >= 2 && m.firstSeen[hi] > m.firstSeen[lo] {
			m.q = (hi + 1 - lo) / float64(m.firstSeen[hi]-m.firstSeen[lo])
		}
		return
	}
	m.qs = append(m.qs, (pct-m.basePct)/float64(seq-m.baseSeq))
	if len(m.qs) > 63 {
		m.qs = m.qs[1:]
	}
	if i, found := slices.BinarySearch(m.seen, pct); !found {
		m.seen = slices.Insert(m.seen, i, pct)
	}
	step := 0.0
	for i := 1; i < len(m.seen); i++ {
		if d := m.seen[i] - m.seen[i-1]; step == 0 || d < step {
			step = d
		}
	}
	m.q = max(median(m.qs), step)
}

func median(xs []float64) float64 {
	sorted := slices.Sorted(slices.Values(xs))
	return sorted[len(sorted)/2]
}

// limits are the limit the measures bind at, in writes per window: the
// narrowest measured.
func (p *pacer) limits() (connector.RateLimits, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out connector.RateLimits
	for _, m := range p.meters {
		if m.q <= 0 {
			continue
		}
		l := connector.RateLimits{Requests: max(1, int(100/m.q+1e-9)), Window: m.window}
		if out.Requests == 0 || float64(l.Requests)/l.Window.Seconds() < float64(out.Requests)/out.Window.Seconds() {
			out = l
		}
	}
	return out, out.Requests > 0
}
