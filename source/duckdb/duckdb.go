// Package duckdb is the DuckDB source: it reads models from a DuckDB database file,
// opened read-only, or from an in-memory database whose SQL reads files such as CSV
// and Parquet, and converts every DuckDB value to its canonical record.Value.
package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	duckdbgo "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/connector"
)

// Spec registers the source type "duckdb".
var Spec = connector.SourceSpec{
	Type:      "duckdb",
	Summary:   "Read models from a DuckDB database file (read-only) or from files through an in-memory DuckDB",
	NewConfig: func() any { return new(Config) },
	Open:      open,
}

// Config is a DuckDB source's keys in the project file.
type Config struct {
	Path        string `yaml:"path" doc:"DuckDB database file, relative to the project file; omit for an in-memory database"`
	Threads     int    `yaml:"threads" doc:"Most threads DuckDB may use; 0 keeps DuckDB's default of one per CPU core"`
	MemoryLimit string `yaml:"memory_limit" doc:"Most memory DuckDB may use, such as 4GB; empty keeps DuckDB's default of 80% of RAM"`
}

// Validate checks the keys.
func (c *Config) Validate() error {
	var errs []error
	if strings.ContainsRune(c.Path, '?') {
		errs = append(errs, &connector.FieldError{Field: "path", Message: "must not contain '?': rename the file or link to it"})
	}
	if c.Threads < 0 {
		errs = append(errs, &connector.FieldError{Field: "threads", Message: "must not be negative; 0 keeps DuckDB's default"})
	}
	return errors.Join(errs...)
}

// Log attribute keys.
const (
	logKeySource = "source"
	logKeyModel  = "model"
	logKeyQuery  = "query"
)

func open(ctx context.Context, p connector.SourceParams) (connector.Source, error) {
	cfg, ok := p.Config.(*Config)
	if !ok || cfg == nil {
		return nil, fmt.Errorf("duckdb: source %s: configuration is a %T, not a *duckdb.Config", p.Name, p.Config)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("duckdb: source %s: %w", p.Name, err)
	}
	dsn, err := cfg.dsn(p.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("duckdb: source %s: %w", p.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("duckdb: source %s: %w", p.Name, err)
	}
	c, err := duckdbgo.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: source %s: open the database: %w", p.Name, err)
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &source{db: c, logger: logger.With(logKeySource, p.Name)}, nil
}

// dsn builds the driver's connection string. The database file's relative path
// resolves against the project directory here; paths inside model SQL
// (read_csv('users.csv')) through DuckDB's file_search_path, which DuckDB tries after
// the working directory (the CLI runs from the project directory, so both agree).
func (c *Config) dsn(baseDir string) (string, error) {
	opts := url.Values{}
	if baseDir != "" {
		abs, err := filepath.Abs(baseDir)
		if err != nil {
			return "", fmt.Errorf("resolve the project directory: %w", err)
		}
		baseDir = abs
		opts.Set("file_search_path", baseDir)
	}
	if c.Threads > 0 {
		opts.Set("threads", strconv.Itoa(c.Threads))
	}
	if c.MemoryLimit != "" {
		opts.Set("memory_limit", c.MemoryLimit)
	}
	if c.Path == "" {
		return ":memory:?" + opts.Encode(), nil
	}
	path := c.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("database file %s does not exist: check path (relative to the project file), or omit path to query files through an in-memory database", path)
	case err != nil:
		return "", fmt.Errorf("database file: %w", err)
	case info.IsDir():
		return "", fmt.Errorf("database file %s is a directory: path must name a DuckDB file", path)
	}
	// Sluice never writes to the warehouse, and read-only lets other processes read it too.
	opts.Set("access_mode", "READ_ONLY")
	return path + "?" + opts.Encode(), nil
}

// source is an open DuckDB database. Each query gets its own connection, so models
// can be read concurrently.
type source struct {
	db     *duckdbgo.Connector
	logger *slog.Logger
}

var _ connector.Source = (*source)(nil)

func (s *source) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("duckdb: close: %w", err)
	}
	return nil
}

// Query runs the model: SQL's last statement, after the ones before it, or the whole
// table. DuckDB's driver computes the whole result before the first row
// is read, so errors of the query itself (a broken CSV line included) are returned
// here, and cancelling ctx interrupts it.
func (s *source) Query(ctx context.Context, m connector.Model) (connector.Rows, error) {
	setup, base, err := modelQuery(m)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	dc, err := s.db.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("model %s: connect: %w", m.Name, err)
	}
	r, err := s.query(ctx, dc, m.Name, setup, base)
	if err != nil {
		_ = dc.Close()
		return nil, err
	}
	return r, nil
}

// Describe reports the model's columns from DuckDB's DESCRIBE, without running it.
func (s *source) Describe(ctx context.Context, m connector.Model) ([]connector.Column, error) {
	setup, base, err := modelQuery(m)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	dc, err := s.db.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("model %s: connect: %w", m.Name, err)
	}
	defer dc.Close()
	conn, ok := dc.(interface {
		describer
		driver.ExecerContext
	})
	if !ok {
		return nil, fmt.Errorf("model %s: the DuckDB driver's connection cannot query", m.Name)
	}
	for _, stmt := range setup {
		if _, err := conn.ExecContext(ctx, stmt, nil); err != nil {
			return nil, fmt.Errorf("model %s: query failed: %w", m.Name, err)
		}
	}
	cols, _, err := describeModel(ctx, conn, base)
	if err != nil {
		return nil, fmt.Errorf("model %s: query failed: %w", m.Name, err)
	}
	return cols, nil
}

var _ connector.Describer = (*source)(nil)

func (s *source) query(ctx context.Context, dc driver.Conn, model string, setup []string, base string) (*rows, error) {
	conn, ok := dc.(interface {
		describer
		driver.ExecerContext
	})
	if !ok {
		return nil, fmt.Errorf("model %s: the DuckDB driver's connection cannot query", model)
	}
	// Statements before the query (SET, LOAD, ...) affect this connection only.
	for _, stmt := range setup {
		if _, err := conn.ExecContext(ctx, stmt, nil); err != nil {
			return nil, fmt.Errorf("model %s: query failed: %w", model, err)
		}
	}
	described, base, err := describeModel(ctx, conn, base)
	if err != nil {
		return nil, fmt.Errorf("model %s: query failed: %w", model, err)
	}
	p, err := newPlan(base, described)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", model, err)
	}
	if p.query != base {
		s.logger.DebugContext(ctx, "duckdb: casting columns the driver would read lossily", logKeyModel, model, logKeyQuery, p.query)
	}
	dr, err := conn.QueryContext(ctx, p.query, nil)
	if err != nil {
		return nil, fmt.Errorf("model %s: query failed: %w", model, err)
	}
	if n := len(dr.Columns()); n != len(p.columns) {
		_ = dr.Close()
		return nil, fmt.Errorf("model %s: the query returned %d columns where DESCRIBE reported %d", model, n, len(p.columns))
	}
	return &rows{
		model:   model,
		ctx:     ctx,
		conn:    dc,
		src:     dr,
		columns: p.columns,
		convert: p.convert,
		buf:     make([]driver.Value, len(p.columns)),
	}, nil
}

// modelQuery returns the statements that prepare the model's query and the query
// itself, a SELECT without a trailing semicolon so that it can be wrapped.
func modelQuery(m connector.Model) (setup []string, query string, err error) {
	switch {
	case m.SQL != "" && m.Table != "":
		return nil, "", errors.New("both sql and table are set")
	case m.SQL != "":
		stmts := splitStatements(m.SQL)
		if len(stmts) == 0 {
			return nil, "", errors.New("sql is empty")
		}
		return stmts[:len(stmts)-1], stmts[len(stmts)-1], nil
	case m.Table != "":
		t, err := quoteTable(m.Table)
		if err != nil {
			return nil, "", fmt.Errorf("table %q: %w", m.Table, err)
		}
		return nil, "SELECT * FROM " + t, nil
	}
	return nil, "", errors.New("neither sql nor table is set")
}

// describeModel describes query's result columns. DESCRIBE fails for the same reasons
// the query would, but its message quotes "DESCRIBE <query>" and points at the wrong
// word, so the error preparing the query is returned instead. Statements DESCRIBE does
// not take (SUMMARIZE, SHOW) are described, and then run, as a subquery.
func describeModel(ctx context.Context, conn describer, query string) ([]connector.Column, string, error) {
	cols, err := describe(ctx, conn, query)
	if err == nil {
		return cols, query, nil
	}
	if ctx.Err() != nil {
		return nil, "", err
	}
	stmt, prepErr := conn.PrepareContext(ctx, query)
	if prepErr != nil {
		return nil, "", prepErr
	}
	_ = stmt.Close()
	wrapped := "SELECT * FROM (\n" + query + "\n) AS sluice_model"
	if cols, wrapErr := describe(ctx, conn, wrapped); wrapErr == nil {
		return cols, wrapped, nil
	}
	return nil, "", fmt.Errorf("DuckDB cannot tell the columns this statement returns; a model must be a query: %w", err)
}

// describer is what describing needs of the driver's connection.
type describer interface {
	driver.QueryerContext
	driver.ConnPrepareContext
}

// describe returns the names and DuckDB types of the query's result columns without
// running it.
func describe(ctx context.Context, conn describer, query string) ([]connector.Column, error) {
	dr, err := conn.QueryContext(ctx, "DESCRIBE "+query, nil)
	if err != nil {
		return nil, err
	}
	defer dr.Close()
	names := dr.Columns()
	if len(names) < 2 || names[0] != "column_name" || names[1] != "column_type" {
		return nil, fmt.Errorf("DESCRIBE returned the columns %q, not column_name and column_type", names)
	}
	vals := make([]driver.Value, len(names))
	var cols []connector.Column
	for {
		err := dr.Next(vals)
		if errors.Is(err, io.EOF) {
			return cols, nil
		}
		if err != nil {
			return nil, err
		}
		name, ok1 := vals[0].(string)
		typ, ok2 := vals[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("DESCRIBE returned %T and %T for a column's name and type", vals[0], vals[1])
		}
		cols = append(cols, connector.Column{Name: name, Type: typ})
	}
}
