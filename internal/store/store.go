// Package store defines where Sluice keeps its state: the run log (runs, every row's
// outcome, every request and response) and each sync's baseline. Backends live in
// subpackages and pass the storetest suite.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/record"
)

// ErrNotFound is returned for a run or batch that does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned when another process holds a sync's baseline for writing.
var ErrLocked = errors.New("baseline is locked by another run")

// Store is the run log and the baselines.
type Store interface {
	CreateRun(ctx context.Context, r *Run) error
	// UpdateRun replaces a run's status, error, stats and finish time.
	UpdateRun(ctx context.Context, r *Run) error
	GetRun(ctx context.Context, id string) (*Run, error)
	// ListRuns returns a sync's runs, newest first; an empty sync lists all syncs.
	ListRuns(ctx context.Context, sync string, limit int) ([]*Run, error)

	// AppendBatches records sent batches: each row's outcome and the exchanges.
	AppendBatches(ctx context.Context, batches []*Batch) error
	// AppendRows records outcomes of rows that belong to no batch (invalid rows,
	// rows never attempted because the run stopped).
	AppendRows(ctx context.Context, runID string, rows []RowOutcome) error
	// RowOutcomes returns the outcomes of a run's rows that match f, in the order
	// they were recorded.
	RowOutcomes(ctx context.Context, runID string, f RowFilter) ([]RowOutcome, error)
	// GetBatch returns one batch of a run with its exchanges.
	GetBatch(ctx context.Context, runID string, seq int) (*Batch, error)

	// OpenBaseline opens a sync's baseline. Opening for writing takes a lock that
	// fails with ErrLocked while another run of the sync holds it.
	OpenBaseline(ctx context.Context, p BaselineParams) (Baseline, error)

	Close() error
}

// Status is a run's state.
type Status string

const (
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded" // every planned row reached the destination
	StatusPartial   Status = "partial"   // some rows failed, some succeeded
	StatusFailed    Status = "failed"    // the run could not complete, or every row failed
)

// Run is one execution of a sync.
type Run struct {
	ID         string
	Sync       string
	Status     Status
	Error      string
	FullResync bool
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Stats      Stats
}

// Stats are a run's counts and timings. The JSON names are the public contract of
// `sluice sync --json`.
type Stats struct {
	RowsRead  int64  `json:"rows_read"`
	Invalid   int64  `json:"invalid"`
	Diff      Diff   `json:"diff"`
	Planned   Counts `json:"planned"`
	Succeeded int64  `json:"succeeded"`
	Failed    int64  `json:"failed"`

	Requests        int64 `json:"requests"`
	Retries         int64 `json:"retries"`
	RateLimited     int64 `json:"rate_limited"`
	RateLimitWaitMS int64 `json:"rate_limit_wait_ms"`
	// Splits counts batches the destination refused whole that were halved to
	// isolate the rows at fault.
	Splits       int64   `json:"splits,omitempty"`
	PayloadBytes int64   `json:"payload_bytes,omitempty"`
	RequestP95MS float64 `json:"request_p95_ms,omitempty"`

	// OpsPerSecond is the changes sent per second of the run. CeilingOpsPerSecond is
	// the most the destination's rate limits allow for that many changes, and
	// Efficiency their ratio (1 = at the ceiling); both are absent for destinations
	// without published limits, for runs that sent nothing, and for runs the limits
	// could not slow (everything fit in the API's first window), for which
	// LimitsBinding is false. SustainedOpsPerSecond is what the limits allow over
	// many windows.
	OpsPerSecond          float64  `json:"ops_per_second,omitempty"`
	CeilingOpsPerSecond   float64  `json:"ceiling_ops_per_second,omitempty"`
	Efficiency            *float64 `json:"efficiency"`
	LimitsBinding         *bool    `json:"limits_binding,omitempty"`
	SustainedOpsPerSecond float64  `json:"sustained_ops_per_second,omitempty"`

	// Destination holds counters a destination reports by name (Facebook's
	// num_invalid_entries: entries Meta could not match).
	Destination map[string]int64 `json:"destination,omitempty"`

	ReadMS     int64 `json:"read_ms"`
	WriteMS    int64 `json:"write_ms"`
	DurationMS int64 `json:"duration_ms"`
}

// Counts are rows by change type.
type Counts struct {
	Added   int64 `json:"added"`
	Changed int64 `json:"changed"`
	Removed int64 `json:"removed"`
}

// Total is the sum of the counts.
func (c Counts) Total() int64 { return c.Added + c.Changed + c.Removed }

// Diff is what the differ found, before the mode chose what to send.
type Diff struct {
	Counts
	Unchanged int64 `json:"unchanged"`
}

// RowStatus is a row's fate in a run.
type RowStatus string

const (
	RowSucceeded RowStatus = "succeeded"
	RowFailed    RowStatus = "failed"
	RowInvalid   RowStatus = "invalid"
)

// RowOutcome is one row's fate.
type RowOutcome struct {
	Key      string
	Op       record.Op // zero for invalid rows
	Status   RowStatus
	Error    string
	BatchSeq int // the batch that carried the row; 0 when none did
}

// RowFilter selects row outcomes.
type RowFilter struct {
	Key        string // only this key
	FailedOnly bool   // only failed and invalid rows
	Limit      int    // 0 means no limit
}

// Batch is one batch as sent: its rows with their outcomes, and every request and
// response made for it (retries included).
type Batch struct {
	RunID     string
	Seq       int // 1-based order within the run
	ID        string
	Attempts  int
	Error     string // set when the whole batch failed
	Rows      []BatchRow
	Exchanges []connector.Exchange
}

// BatchRow is one row of a batch.
type BatchRow struct {
	Key   string
	Op    record.Op
	Error string // empty when the row succeeded
}

// BaselineParams selects a baseline.
type BaselineParams struct {
	Sync     string
	ReadOnly bool // for plans: no lock, no writes
}

// Baseline is what a sync's destination is known to hold: for each key, the hash and
// the fields last acknowledged.
type Baseline interface {
	// Index returns every entry, for diffing.
	Index(ctx context.Context) (*diff.Index, error)
	// Lookup returns, for each key hash, the key text and the fields last acknowledged.
	Lookup(ctx context.Context, keys []diff.KeyHash) ([]Synced, error)
	// Apply makes acknowledged writes durable. It is atomic per mutation, not per
	// call: after a crash some mutations of a call may be applied and others not.
	Apply(ctx context.Context, muts []Mutation) error
	// Close releases the baseline (and may compact it).
	Close() error
}

// Synced is a baseline's record of one key.
type Synced struct {
	Found  bool
	Key    string
	Fields record.Fields
}

// Mutation is one acknowledged write.
type Mutation struct {
	Key    diff.KeyHash
	Remove bool
	// For puts:
	Row     uint64   // row hash
	KeyText string   // canonical key
	Names   []string // field names (shared slices are fine)
	Values  []byte   // record.AppendValues encoding of the field values
}
