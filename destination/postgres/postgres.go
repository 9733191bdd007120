// Package postgres is the PostgreSQL destination: each batch of changes becomes one
// transaction that stages the rows by binary COPY and then inserts, updates, upserts or
// deletes them in the sync's table, with rows that PostgreSQL refuses isolated and
// reported one by one.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/connector"
)

// Spec registers the destination type "postgres".
var Spec = connector.DestinationSpec{
	Type:      "postgres",
	Summary:   "Write rows into a PostgreSQL table: one transaction per batch, staged by binary COPY",
	NewConfig: func() any { return new(Config) },
	Modes:     []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror},
	Open:      open,
}

// Limits a user may lower but not raise.
const (
	defaultBatchSize   = 5000
	maxBatchSize       = 50_000
	defaultMaxInFlight = 4
	maxInFlight        = 32
	maxAttempts        = 5
)

// Config is a postgres destination's keys in the project file.
type Config struct {
	URL         string `yaml:"url" required:"true" secret:"true" doc:"Connection URL: postgres://user:password@host:5432/database (any libpq URL parameter, e.g. sslmode, works)."`
	Table       string `yaml:"table" required:"true" doc:"Table to write: schema.table or table (found through the role's search_path). It must exist, and the sync's key column needs a PRIMARY KEY or UNIQUE constraint."`
	BatchSize   int    `yaml:"batch_size" doc:"Rows per transaction (default 5000, at most 50000)."`
	MaxInFlight int    `yaml:"max_in_flight" doc:"Transactions in flight at once, one connection each (default 4, at most 32)."`
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.BatchSize = defaultBatchSize
	c.MaxInFlight = defaultMaxInFlight
}

// Validate checks the keys without connecting.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, &connector.FieldError{Field: "url", Message: "is required: postgres://user:password@host:5432/database"})
	} else if _, err := pgx.ParseConfig(c.URL); err != nil {
		errs = append(errs, &connector.FieldError{Field: "url", Message: "is not a PostgreSQL connection URL (postgres://user:password@host:5432/database): " + newRedactor(c.URL).redact(err.Error())})
	}
	if c.Table == "" {
		errs = append(errs, &connector.FieldError{Field: "table", Message: "is required: schema.table or table"})
	} else if _, err := parseTableName(c.Table); err != nil {
		errs = append(errs, &connector.FieldError{Field: "table", Message: err.Error()})
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		errs = append(errs, &connector.FieldError{Field: "batch_size", Message: fmt.Sprintf("must be between 1 and %d", maxBatchSize)})
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > maxInFlight {
		errs = append(errs, &connector.FieldError{Field: "max_in_flight", Message: fmt.Sprintf("must be between 1 and %d", maxInFlight)})
	}
	return errors.Join(errs...)
}

// Destination writes one sync's batches into one table.
type Destination struct {
	cfg    Config
	mode   connector.Mode
	sync   connector.SyncInfo
	log    *slog.Logger
	red    redactor
	pool   *pgxpool.Pool
	closed atomic.Bool
	table  *tableInfo
	sql    statements
}

var (
	_ connector.Destination = (*Destination)(nil)
	_ connector.Checker     = (*Destination)(nil)
)

// Log attribute keys.
const (
	logSync     = "sync"
	logTable    = "table"
	logRows     = "rows"
	logSQLState = "sqlstate"
)

func open(ctx context.Context, p connector.DestinationParams) (connector.Destination, error) {
	given, ok := p.Config.(*Config)
	if !ok || given == nil {
		return nil, connector.Permanent(fmt.Errorf("postgres: config is %T, want *postgres.Config", p.Config))
	}
	cfg := *given
	// A config built in code rather than decoded from a project file may skip SetDefaults.
	if cfg.BatchSize == 0 {
		cfg.BatchSize = defaultBatchSize
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	if err := cfg.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("postgres: %w", err))
	}
	if !p.Sync.Mode.Valid() {
		return nil, connector.Permanent(fmt.Errorf("postgres: unknown mode %q", p.Sync.Mode))
	}
	red := newRedactor(cfg.URL)
	poolCfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil { // Validate parsed it already; keep the check for safety
		return nil, connector.Permanent(red.wrap("postgres: url", err))
	}
	poolCfg.MaxConns = int32(cfg.MaxInFlight)
	if _, set := poolCfg.ConnConfig.RuntimeParams["application_name"]; !set {
		poolCfg.ConnConfig.RuntimeParams["application_name"] = "sluice"
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, connector.Permanent(red.wrap("postgres: url", err))
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Destination{
		cfg:  cfg,
		mode: p.Sync.Mode,
		sync: p.Sync,
		log:  logger,
		red:  red,
		pool: pool,
	}
	if d.table, err = d.inspect(ctx); err != nil {
		d.pool.Close()
		return nil, err
	}
	d.sql = buildStatements(d.table, d.mode)
	return d, nil
}

// Capabilities reports the configured batch size and concurrency.
func (d *Destination) Capabilities() connector.Capabilities {
	return connector.Capabilities{
		MaxBatchRecords: d.cfg.BatchSize,
		MaxInFlight:     d.cfg.MaxInFlight,
		MaxAttempts:     maxAttempts,
	}
}

// Check verifies again that the table, its columns, the key's constraint and the
// role's privileges fit the sync.
func (d *Destination) Check(ctx context.Context) error {
	_, err := d.inspect(ctx)
	return err
}

// Close closes the connections; writes still running finish first on theirs.
func (d *Destination) Close() error {
	d.closed.Store(true)
	d.pool.Close()
	return nil
}

func (d *Destination) inspect(ctx context.Context) (*tableInfo, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, d.connectError(err)
	}
	defer conn.Release()
	t, err := inspectTable(ctx, conn.Conn(), d.cfg.Table, d.sync)
	if err != nil {
		if connector.IsPermanent(err) {
			return nil, err
		}
		return nil, d.red.wrap("postgres: inspect table "+d.cfg.Table, err)
	}
	return t, nil
}

// connectError describes a failure to connect, permanent when retrying cannot help
// (bad credentials, missing database).
func (d *Destination) connectError(err error) error {
	wrapped := d.red.wrap("postgres: connect", err)
	if code := sqlState(err); strings.HasPrefix(code, "28") || code == "3D000" {
		return connector.Permanent(wrapped)
	}
	return wrapped
}
