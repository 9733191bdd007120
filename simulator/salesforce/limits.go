package salesforce

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// limiter enforces the org's request limits: the daily API request allocation
// on a rolling 24 hours, and how many long-running requests may be in flight.
type limiter struct {
	daily     *simkit.Window
	now       simkit.Clock
	longLimit int
	longAfter time.Duration

	mu       sync.Mutex
	inflight map[uint64]time.Time
	next     uint64
}

func newLimiter(o Options) *limiter {
	return &limiter{
		daily:     simkit.NewWindow(o.DailyRequests, 24*time.Hour, o.Now),
		now:       o.Now,
		longLimit: o.ConcurrentLongRequests,
		longAfter: o.LongRequestThreshold,
		inflight:  map[uint64]time.Time{},
	}
}

// admit counts one request against the daily allocation, when it fits.
func (l *limiter) admit() bool {
	ok, _, _ := l.daily.Take(1)
	return ok
}

// usage is the requests counted in the last 24 hours and the allocation.
func (l *limiter) usage() (used, limit int64) {
	limit = l.daily.Limit()
	return limit - l.daily.Remaining(), limit
}

// begin registers a request in flight. It is refused while longLimit requests
// have been running for longAfter or more.
func (l *limiter) begin() (id uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	long := 0
	for _, started := range l.inflight {
		if now.Sub(started) >= l.longAfter {
			long++
		}
	}
	if long >= l.longLimit {
		return 0, false
	}
	l.next++
	l.inflight[l.next] = now
	return l.next, true
}

func (l *limiter) end(id uint64) {
	l.mu.Lock()
	delete(l.inflight, id)
	l.mu.Unlock()
}

// limitHeader sets Sforce-Limit-Info, which every authenticated REST answer carries.
func (s *Server) limitHeader(rep *reply) {
	used, limit := s.limits.usage()
	rep.setHeader("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, limit))
}

// Salesforce's answers to requests over a limit: 403, never 429, and no Retry-After.
var (
	totalRequestsExceeded = apiError{Message: "TotalRequests Limit exceeded.", ErrorCode: "REQUEST_LIMIT_EXCEEDED"}
	concurrentExceeded    = apiError{Message: "ConcurrentPerOrgLongTxn Limit exceeded.", ErrorCode: "REQUEST_LIMIT_EXCEEDED"}
)

func limitExceeded(e apiError) reply { return errorReply(http.StatusForbidden, e) }

// limitsBody is GET /limits: the allocations this simulator tracks.
func (s *Server) limitsBody() map[string]limitValue {
	used, limit := s.limits.usage()
	batches := s.bulkBatches.Remaining()
	return map[string]limitValue{
		"DailyApiRequests":              {Max: limit, Remaining: limit - used},
		"DailyBulkApiBatches":           {Max: s.bulkBatches.Limit(), Remaining: batches},
		"DailyBulkV2QueryJobs":          {Max: 10_000, Remaining: 10_000},
		"DailyBulkV2QueryFileStorageMB": {Max: 976_562, Remaining: 976_562},
	}
}

type limitValue struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}
