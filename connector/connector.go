// Package connector defines the contracts between the sync engine and the sources and
// destinations it moves rows between. It depends on nothing in Sluice but record.
package connector

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/record"
)

// Mode is how a sync applies the diff to its destination.
type Mode string

const (
	ModeInsert Mode = "insert" // send added rows
	ModeUpdate Mode = "update" // send changed rows
	ModeUpsert Mode = "upsert" // send added and changed rows
	ModeMirror Mode = "mirror" // send added, changed and removed rows
)

// Modes lists every mode in documentation order.
var Modes = []Mode{ModeInsert, ModeUpdate, ModeUpsert, ModeMirror}

// Sends reports whether a sync in mode m sends changes of type op.
func (m Mode) Sends(op record.Op) bool {
	switch op {
	case record.OpAdd:
		return m == ModeInsert || m == ModeUpsert || m == ModeMirror
	case record.OpChange:
		return m == ModeUpdate || m == ModeUpsert || m == ModeMirror
	case record.OpRemove:
		return m == ModeMirror
	}
	return false
}

// Valid reports whether m is one of Modes.
func (m Mode) Valid() bool {
	for _, x := range Modes {
		if m == x {
			return true
		}
	}
	return false
}

// SourceSpec describes a source type: its name in project files, its configuration
// and how to open it.
type SourceSpec struct {
	Type    string
	Summary string
	// NewConfig returns a pointer to a zero configuration struct; the project file's
	// keys are decoded into it by field tags (see internal/config).
	NewConfig func() any
	Open      func(ctx context.Context, p SourceParams) (Source, error)
}

// SourceParams carries what a source needs to open.
type SourceParams struct {
	Name    string // the source's name in the project file
	Config  any    // the decoded value NewConfig returned
	BaseDir string // the project file's directory, for relative paths
	Logger  *slog.Logger
}

// Source reads models.
type Source interface {
	// Query starts streaming a model's rows. The returned Rows must be closed.
	Query(ctx context.Context, m Model) (Rows, error)
	Close() error
}

// Describer is implemented by sources that can report a model's columns without
// running it (DuckDB's DESCRIBE); `sluice validate` checks keys and mappings with it.
type Describer interface {
	Describe(ctx context.Context, m Model) ([]Column, error)
}

// Model is what to read: exactly one of SQL and Table is set.
type Model struct {
	Name  string
	SQL   string
	Table string
}

// Column describes one column of a model's result.
type Column struct {
	Name string
	Type string // the source's own type name, for messages
}

// Rows streams rows as canonical values (see record.Value).
type Rows interface {
	Columns() []Column
	// Next fills dst with up to len(dst) rows and returns how many it filled. It reuses
	// the slices already in dst where their capacity allows. At the end it returns 0, io.EOF.
	Next(dst []record.Row) (int, error)
	Close() error
}

// DestinationSpec describes a destination type.
type DestinationSpec struct {
	Type    string
	Summary string
	// NewConfig returns a pointer to a zero configuration struct; see SourceSpec.
	NewConfig func() any
	// NewSyncConfig, when set, returns a pointer to a zero struct for the keys a
	// sync writing to this destination may add (an object name, an id property).
	// When nil a sync takes only the engine's own keys.
	NewSyncConfig func() any
	// Modes lists the modes the destination supports.
	Modes []Mode
	Open  func(ctx context.Context, p DestinationParams) (Destination, error)
}

// SupportsMode reports whether the destination type accepts mode m.
func (s DestinationSpec) SupportsMode(m Mode) bool {
	for _, x := range s.Modes {
		if x == m {
			return true
		}
	}
	return false
}

// DestinationParams carries what a destination needs to open for one sync.
type DestinationParams struct {
	Name   string // the destination's name in the project file
	Config any    // the decoded value NewConfig returned
	// SyncConfig is the decoded value NewSyncConfig returned, or nil.
	SyncConfig any
	Sync       SyncInfo
	Logger     *slog.Logger
}

// SyncInfo is what a destination knows of the sync writing to it.
type SyncInfo struct {
	Name string
	Mode Mode
	// KeyColumn is the model's primary-key column; KeyField is the destination field
	// it maps to (the same name when the mappings do not mention it).
	KeyColumn string
	KeyField  string
	// Fields are the destination field names that records will carry, in order.
	Fields []string
	// ColumnFields maps each key of the sync's configuration that names a model
	// column (see ColumnUser) to the index in Fields of the field carrying it.
	ColumnFields map[string]int
}

// ModeValidator is implemented by a sync configuration whose keys depend on the
// sync's mode (an id property that upsert needs, an object that takes only
// insert). The project loader calls it with the sync's mode, so that `sluice
// validate` reports the problem with its position; return *FieldError values.
type ModeValidator interface {
	ValidateMode(m Mode) error
}

// ColumnUser is implemented by a sync configuration whose keys name model columns
// the destination needs beside the mapped fields (Mixpanel's event, distinct_id
// and time). The engine checks that each column exists and carries it in every
// record as an extra field after the mapped ones (SyncInfo.ColumnFields says where).
type ColumnUser interface {
	ColumnKeys() []ColumnKey
}

// ColumnKey is one configuration key naming a model column.
type ColumnKey struct {
	Key    string // as written in the project file, e.g. "distinct_id"
	Column string // the model column it names; "" when the key is not set
}

// Destination writes batches of changes for one sync.
type Destination interface {
	// Capabilities are the limits the engine batches, paces and retries by. They are
	// the API's limits lowered by the user's configuration, never raised.
	Capabilities() Capabilities
	// Write applies a batch. It returns nil when every change was applied, a
	// *BatchError naming the changes that failed, or another error when the whole
	// batch failed; wrap it with Permanent or RetryAfter to steer the engine's retries.
	Write(ctx context.Context, b *Batch) error
	Close() error
}

// RunPlanner is implemented by destinations that choose how to write by the size
// or kind of a run (Salesforce: sObject Collections for a few changes, Bulk API 2.0
// for many; a full resync replacing a whole Facebook audience). The engine calls
// PlanRun once the run's changes are counted, before the first Write, and reads
// Capabilities after it. Plan and test-row do not call it.
type RunPlanner interface {
	PlanRun(ctx context.Context, p RunPlan) error
}

// RunPlan is what a run is about to send.
type RunPlan struct {
	Added, Changed, Removed int64
	// FullResync is set when the run sends every row of the model (--full-resync).
	FullResync bool
}

// Total is the number of changes the run will send.
func (p RunPlan) Total() int64 { return p.Added + p.Changed + p.Removed }

// Finisher is implemented by destinations that complete a run's work after its
// last Write (closing a replace session, flushing a job). The engine calls
// FinishRun once after a run that called PlanRun has sent its last batch; an
// error fails the run with that reason.
type Finisher interface {
	FinishRun(ctx context.Context, r RunResult) error
}

// RunResult says how a run's sending ended.
type RunResult struct {
	// Complete is set when every planned change was written successfully; a run
	// that was cancelled or had failures is not complete.
	Complete          bool
	Succeeded, Failed int64
	// Cancelled is set when the run was cancelled (Ctrl-C) before it finished:
	// FinishRun then gets a context that is not cancelled, to abandon or close
	// what the run opened, and should not wait long for anything.
	Cancelled bool
}

// Checker is implemented by destinations that can verify, before anything is sent,
// that the live destination fits the sync (a table and its columns exist, a
// credential works). The engine calls it when it opens the destination for a run or
// a test row; plan and validate do not contact destinations.
type Checker interface {
	Check(ctx context.Context) error
}

// Capabilities are a destination's declared limits.
type Capabilities struct {
	MaxBatchRecords int // most changes in one request
	MaxBatchBytes   int // most encoded bytes in one request; 0 means no limit
	MaxInFlight     int // most concurrent requests
	// MaxAttempts bounds tries of a batch that fails transiently (1 means no retry).
	MaxAttempts int
	// RequestsPerSecond paces requests in the engine; 0 means unpaced. Destinations
	// that pace themselves (see connector/saas) leave it 0 and declare Limits.
	RequestsPerSecond float64
	// Limits are the API's rate limits as they apply to this sync (lowered by the
	// user's configuration). The engine reports each run's efficiency against the
	// ceiling they allow; nil means the destination has no published limits.
	Limits *RateLimits
}

// RateLimits are an API's published rate limits.
type RateLimits struct {
	// Requests per Window, counted on a rolling window (HubSpot: 190 per 10 s).
	Requests int
	// Bytes of payload per Window (Mixpanel: 2 GB of JSON per minute).
	Bytes  int64
	Window time.Duration
	// Daily requests, reset once a day by the API; 0 means none.
	Daily int
}

// Ceiling is the least time the limits allow for sending ops operations in
// batches of batchSize carrying bytes of payload: on a rolling window, the first
// window's allowance goes at once and each further allowance one window later, so
// the last request can leave no sooner than that. It is 0 when everything fits in
// the first window: the limits would not slow such a run at all.
func (l *RateLimits) Ceiling(ops int64, batchSize int, bytes int64) time.Duration {
	if l == nil || l.Window <= 0 || ops <= 0 {
		return 0
	}
	var d time.Duration
	if l.Requests > 0 {
		requests := (ops + int64(max(1, batchSize)) - 1) / int64(max(1, batchSize))
		d = time.Duration((requests-1)/int64(l.Requests)) * l.Window
	}
	if l.Bytes > 0 && bytes > 0 {
		d = max(d, time.Duration((bytes-1)/l.Bytes)*l.Window)
	}
	return d
}

// Sustained is the most records per second the limits allow over many windows,
// with batches of batchSize records of recordBytes each (0 when unknown); 0 when
// the limits bound neither requests nor bytes.
func (l *RateLimits) Sustained(batchSize int, recordBytes float64) float64 {
	if l == nil || l.Window <= 0 {
		return 0
	}
	rate := 0.0
	if l.Requests > 0 {
		rate = float64(l.Requests) * float64(max(1, batchSize)) / l.Window.Seconds()
	}
	if l.Bytes > 0 && recordBytes > 0 {
		byBytes := float64(l.Bytes) / recordBytes / l.Window.Seconds()
		if rate == 0 || byBytes < rate {
			rate = byBytes
		}
	}
	return rate
}

// Batch is one request's worth of changes. A batch and everything in it (keys,
// fields, their strings) are valid only during the Write that receives it: the engine
// reuses their memory once the outcome is recorded. A destination that keeps any of
// it beyond Write must copy it.
type Batch struct {
	Sync    string
	RunID   string
	ID      string // unique per batch and stable across its retries
	Changes []record.Change

	trace func(Exchange)
	count func(name string, n int64)
}

// OnCount sets where Count reports (the engine's run statistics) and returns b.
func (b *Batch) OnCount(f func(name string, n int64)) *Batch {
	b.count = f
	return b
}

// Count adds n to a destination-specific counter of the run, reported in its
// statistics under that name (Facebook's num_invalid_entries).
func (b *Batch) Count(name string, n int64) {
	if b != nil && b.count != nil {
		b.count(name, n)
	}
}

// NewBatch returns a batch whose exchanges are passed to trace (which may be nil).
func NewBatch(sync, runID, id string, changes []record.Change, trace func(Exchange)) *Batch {
	return &Batch{Sync: sync, RunID: runID, ID: id, Changes: changes, trace: trace}
}

// Trace records one request and its response for the row-level debugger.
// Connectors call it for every request they make, including failed ones.
// A nil batch (a request that serves none, such as a check) records nothing.
func (b *Batch) Trace(ex Exchange) {
	if b != nil && b.trace != nil {
		b.trace(ex)
	}
}

// Exchange is one request to a destination and what came back.
type Exchange struct {
	Request  Message
	Response Message
	Duration time.Duration
	Err      string // a transport error, when there was no response

	// Wait is how long the request waited on the rate limit before it was sent.
	Wait time.Duration
	// Throttled is set when the answer was the API's rate limiting (a 429 or its
	// equivalent).
	Throttled bool
	// PayloadBytes is the request's payload before compression, which byte-based
	// rate limits count.
	PayloadBytes int64
}

// Message is a request or a response: a first line ("POST https://…", "HTTP 200"),
// headers and a body. Destinations that are not HTTP put their statement in Line and Body.
type Message struct {
	Line   string
	Header map[string][]string
	Body   []byte
}
