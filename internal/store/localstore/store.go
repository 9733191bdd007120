// Package localstore is the embedded state backend: one directory (by default
// .sluice/ beside the project file) with the run log in SQLite and each sync's
// baseline in append-only files. Nothing to install.
package localstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// Store keeps state in a directory.
type Store struct {
	dir    string
	db     *sql.DB
	bodies *bodies
}

var _ store.Store = (*Store)(nil)

const (
	dbName      = "runs.db"
	reserveName = "reserve"
	// reserveBytes is kept free by a placeholder file so that a run which fills the
	// disk can still record that it failed: the file is deleted to make room.
	reserveBytes = 1 << 20
	// maxBodyBytes caps each stored request or response body.
	maxBodyBytes = 16 << 20
	// keepExchanges and keepRows are how many of each sync's newest runs keep their
	// requests and responses, and their row outcomes; older runs keep their summary.
	keepExchanges = 20
	keepRows      = 100
)

// Open opens (creating if needed) the state directory dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	ensureReserve(dir)
	s, err := openDB(ctx, dir)
	if err != nil && lowOnSpace(dir) && os.Remove(filepath.Join(dir, reserveName)) == nil {
		// SQLite needs room for its WAL and shared-memory files even to read; the
		// reserve makes that room so that the run can still be recorded as failed.
		s, err = openDB(ctx, dir)
	}
	return s, err
}

func openDB(ctx context.Context, dir string) (*Store, error) {
	dsn := "file:" + filepath.Join(dir, dbName) +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open run log %s: %w", filepath.Join(dir, dbName), err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{dir: dir, db: db, bodies: newBodies(dir)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open run log %s: %w", filepath.Join(dir, dbName), err)
	}
	return s, nil
}

// lowOnSpace reports whether the directory's file system has less free space than the reserve.
func lowOnSpace(dir string) bool {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return false
	}
	return int64(fs.Bavail)*int64(fs.Bsize) < reserveBytes
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

func ensureReserve(dir string) {
	path := filepath.Join(dir, reserveName)
	if fi, err := os.Stat(path); err == nil && fi.Size() == reserveBytes {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, reserveBytes); err != nil {
		if _, err := f.WriteAt(make([]byte, reserveBytes), 0); err != nil {
			f.Close()
			os.Remove(path)
		}
	}
}

const schema = `
CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	sync        TEXT NOT NULL,
	status      TEXT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	full_resync INTEGER NOT NULL DEFAULT 0,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL DEFAULT 0,
	stats       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_sync ON runs (sync, started_at DESC);
CREATE TABLE batches (
	run_id   TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL,
	batch_id TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	error    TEXT NOT NULL DEFAULT '',
	rows     BLOB NOT NULL,
	PRIMARY KEY (run_id, seq)
);
CREATE TABLE row_issues (
	run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	key       TEXT NOT NULL,
	op        INTEGER NOT NULL,
	status    TEXT NOT NULL,
	error     TEXT NOT NULL,
	batch_seq INTEGER NOT NULL
);
CREATE INDEX row_issues_by_key ON row_issues (run_id, key);
CREATE TABLE exchanges (
	run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	n               INTEGER NOT NULL,
	request_line    TEXT NOT NULL,
	request_header  TEXT NOT NULL,
	response_line   TEXT NOT NULL,
	response_header TEXT NOT NULL,
	duration_us     INTEGER NOT NULL,
	err             TEXT NOT NULL,
	-- bodies live in exchanges/<run_id>.s2: the request's block at body_offset, then the response's
	body_offset     INTEGER NOT NULL,
	request_len     INTEGER NOT NULL,
	response_len    INTEGER NOT NULL,
	PRIMARY KEY (run_id, seq, n)
);
`

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	switch version {
	case 0:
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = 1"); err != nil {
			return err
		}
		return tx.Commit()
	case 1:
		return nil
	}
	return fmt.Errorf("run log has schema version %d, newer than this sluice (1): upgrade sluice", version)
}

func (s *Store) Close() error {
	s.bodies.closeAll()
	return s.db.Close()
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (s *Store) CreateRun(ctx context.Context, r *store.Run) error {
	stats, _ := json.Marshal(r.Stats)
	_, err := s.exec(ctx, `INSERT INTO runs (id, sync, status, error, full_resync, started_at, finished_at, stats) VALUES (?,?,?,?,?,?,?,?)`,
		r.ID, r.Sync, string(r.Status), r.Error, r.FullResync, unixMS(r.StartedAt), unixMS(r.FinishedAt), string(stats))
	if err != nil {
		return fmt.Errorf("run log: create run %s: %w", r.ID, err)
	}
	// Pruning is housekeeping: a failure here must not stop the run.
	s.prune(ctx, r.Sync)
	return nil
}

func (s *Store) UpdateRun(ctx context.Context, r *store.Run) error {
	stats, _ := json.Marshal(r.Stats)
	res, err := s.exec(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ?, stats = ? WHERE id = ?`,
		string(r.Status), r.Error, unixMS(r.FinishedAt), string(stats), r.ID)
	if err != nil {
		return fmt.Errorf("run log: update run %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run log: update run %s: %w", r.ID, store.ErrNotFound)
	}
	if r.Status != store.StatusRunning {
		s.bodies.finish(r.ID)
	}
	return nil
}

// prune drops the exchanges and row outcomes of a sync's older runs; each run keeps
// its summary.
func (s *Store) prune(ctx context.Context, sync string) error {
	// old lists the runs past the newest keep that still have rows in table.
	old := func(keep int, table string) ([]string, error) {
		// A run still running keeps everything, however many newer runs there are.
		rows, err := s.db.QueryContext(ctx, `SELECT id FROM (
			SELECT id, status FROM runs WHERE sync = ? ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?
		) AS r WHERE r.status <> 'running' AND EXISTS (SELECT 1 FROM `+table+` t WHERE t.run_id = r.id)`, sync, keep)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	ids, err := old(keepExchanges, "exchanges")
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM exchanges WHERE run_id = ?`, id); err != nil {
			return err
		}
		s.bodies.remove(id)
	}
	if ids, err = old(keepRows, "batches"); err != nil {
		return err
	}
	// Runs that sent nothing have only invalid rows.
	issueIDs, err := old(keepRows, "row_issues")
	if err != nil {
		return err
	}
	for _, id := range append(ids, issueIDs...) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM batches WHERE run_id = ?`, id); err != nil {
			return err
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM row_issues WHERE run_id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// exec runs a statement; when the disk is full it frees the reserve and tries once
// more, so that the failure of a run can still be recorded.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil && s.diskFull(err) {
		if os.Remove(filepath.Join(s.dir, reserveName)) == nil {
			res, err = s.db.ExecContext(ctx, query, args...)
		}
	}
	return res, err
}

func (s *Store) diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "disk is full") ||
		strings.Contains(err.Error(), "SQLITE_FULL") || lowOnSpace(s.dir)
}

const runColumns = `id, sync, status, error, full_resync, started_at, finished_at, stats`

func scanRun(sc interface{ Scan(...any) error }) (*store.Run, error) {
	var r store.Run
	var status, stats string
	var started, finished int64
	if err := sc.Scan(&r.ID, &r.Sync, &status, &r.Error, &r.FullResync, &started, &finished, &stats); err != nil {
		return nil, err
	}
	r.Status = store.Status(status)
	r.StartedAt, r.FinishedAt = fromMS(started), fromMS(finished)
	if err := json.Unmarshal([]byte(stats), &r.Stats); err != nil {
		return nil, fmt.Errorf("run %s: stats: %w", r.ID, err)
	}
	return &r, nil
}

func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return r, err
}

func (s *Store) ListRuns(ctx context.Context, sync string, limit int) ([]*store.Run, error) {
	if limit <= 0 {
		limit = -1
	}
	q := `SELECT ` + runColumns + ` FROM runs WHERE (? = '' OR sync = ?) ORDER BY started_at DESC, id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, sync, sync, limit)
	if err != nil {
		return nil, fmt.Errorf("run log: list runs: %w", err)
	}
	defer rows.Close()
	var out []*store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// encodeBatchRows appends a batch's rows to b: op, key, and the error as 0 (none),
// 1 (the batch's own error, stored once) or 2+length followed by the text.
func encodeBatchRows(b []byte, rows []store.BatchRow, batchErr string) []byte {
	b = binary.AppendUvarint(b, uint64(len(rows)))
	for _, r := range rows {
		b = append(b, byte(r.Op))
		b = binary.AppendUvarint(b, uint64(len(r.Key)))
		b = append(b, r.Key...)
		switch {
		case r.Error == "":
			b = append(b, 0)
		case r.Error == batchErr:
			b = append(b, 1)
		default:
			b = binary.AppendUvarint(b, uint64(len(r.Error))+2)
			b = append(b, r.Error...)
		}
	}
	return b
}

func decodeBatchRows(b []byte, batchErr string) ([]store.BatchRow, error) {
	bad := errors.New("run log: damaged batch rows")
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	out := make([]store.BatchRow, 0, n)
	for range n {
		if len(b) == 0 {
			return nil, bad
		}
		op := record.Op(b[0])
		b = b[1:]
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, bad
		}
		key := string(b[k : k+int(l)])
		b = b[k+int(l):]
		code, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, bad
		}
		b = b[k:]
		var msg string
		switch {
		case code == 1:
			msg = batchErr
		case code >= 2:
			l := code - 2
			if l > uint64(len(b)) {
				return nil, bad
			}
			msg = string(b[:l])
			b = b[l:]
		}
		out = append(out, store.BatchRow{Op: op, Key: key, Error: msg})
	}
	return out, nil
}

func headerJSON(h map[string][]string) string {
	if len(h) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(h)
	return string(b)
}

func capBody(b []byte) []byte {
	if len(b) <= maxBodyBytes {
		return b
	}
	out := append([]byte{}, b[:maxBodyBytes]...)
	return append(out, fmt.Sprintf("\n… (%d more bytes not kept)", len(b)-maxBodyBytes)...)
}

func (s *Store) AppendBatches(ctx context.Context, batches []*store.Batch) error {
	if len(batches) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("run log: record batches: %w", err)
	}
	defer tx.Rollback()
	insBatch, err := tx.PrepareContext(ctx, `INSERT INTO batches (run_id, seq, batch_id, attempts, error, rows) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	insIssue, err := tx.PrepareContext(ctx, `INSERT INTO row_issues (run_id, key, op, status, error, batch_seq) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	insEx, err := tx.PrepareContext(ctx, `INSERT INTO exchanges (run_id, seq, n, request_line, request_header, response_line, response_header, duration_us, err, body_offset, request_len, response_len) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	var blob []byte // reused: the driver copies what it binds
	for _, bt := range batches {
		blob = encodeBatchRows(blob[:0], bt.Rows, bt.Error)
		if _, err := insBatch.ExecContext(ctx, bt.RunID, bt.Seq, bt.ID, bt.Attempts, bt.Error, blob); err != nil {
			return fmt.Errorf("run log: record batch %d of run %s: %w", bt.Seq, bt.RunID, err)
		}
		for _, r := range bt.Rows {
			// A batch never sent (the run stopped) keeps its rows in the batch alone:
			// a cancelled ten-million-row run must not write ten million issues.
			if r.Error == "" || bt.Attempts == 0 {
				continue
			}
			if _, err := insIssue.ExecContext(ctx, bt.RunID, r.Key, int(r.Op), string(store.RowFailed), r.Error, bt.Seq); err != nil {
				return fmt.Errorf("run log: record failed row %q: %w", r.Key, err)
			}
		}
		for i, ex := range bt.Exchanges {
			off, lens, err := s.bodies.append(bt.RunID, capBody(ex.Request.Body), capBody(ex.Response.Body))
			if err != nil {
				return fmt.Errorf("run log: record exchange of batch %d: %w", bt.Seq, err)
			}
			if _, err := insEx.ExecContext(ctx, bt.RunID, bt.Seq, i+1,
				ex.Request.Line, headerJSON(ex.Request.Header),
				ex.Response.Line, headerJSON(ex.Response.Header),
				ex.Duration.Microseconds(), ex.Err, off, lens[0], lens[1]); err != nil {
				return fmt.Errorf("run log: record exchange of batch %d: %w", bt.Seq, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("run log: record batches: %w", err)
	}
	return nil
}

func (s *Store) AppendRows(ctx context.Context, runID string, rows []store.RowOutcome) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("run log: record rows: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO row_issues (run_id, key, op, status, error, batch_seq) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := ins.ExecContext(ctx, runID, r.Key, int(r.Op), string(r.Status), r.Error, r.BatchSeq); err != nil {
			return fmt.Errorf("run log: record row %q: %w", r.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("run log: record rows: %w", err)
	}
	return nil
}

func (s *Store) RowOutcomes(ctx context.Context, runID string, f store.RowFilter) ([]store.RowOutcome, error) {
	var out []store.RowOutcome
	full := func() bool { return f.Limit > 0 && len(out) >= f.Limit }
	issues := func(where string, args ...any) error {
		q := `SELECT key, op, status, error, batch_seq FROM row_issues WHERE run_id = ? ` + where + ` ORDER BY rowid`
		rows, err := s.db.QueryContext(ctx, q, append([]any{runID}, args...)...)
		if err != nil {
			return fmt.Errorf("run log: row outcomes: %w", err)
		}
		defer rows.Close()
		for rows.Next() && !full() {
			var o store.RowOutcome
			var op int
			var status string
			if err := rows.Scan(&o.Key, &op, &status, &o.Error, &o.BatchSeq); err != nil {
				return err
			}
			o.Op, o.Status = record.Op(op), store.RowStatus(status)
			out = append(out, o)
		}
		return rows.Err()
	}
	// fromBatches adds the rows of the batches that match where.
	fromBatches := func(where string) error {
		rows, err := s.db.QueryContext(ctx, `SELECT seq, error, rows FROM batches WHERE run_id = ? `+where+` ORDER BY seq`, runID)
		if err != nil {
			return fmt.Errorf("run log: row outcomes: %w", err)
		}
		defer rows.Close()
		for rows.Next() && !full() {
			var seq int
			var batchErr string
			var blob []byte
			if err := rows.Scan(&seq, &batchErr, &blob); err != nil {
				return err
			}
			brs, err := decodeBatchRows(blob, batchErr)
			if err != nil {
				return err
			}
			for _, r := range brs {
				if f.Key != "" && r.Key != f.Key {
					continue
				}
				o := store.RowOutcome{Key: r.Key, Op: r.Op, Status: store.RowSucceeded, Error: r.Error, BatchSeq: seq}
				if r.Error != "" {
					o.Status = store.RowFailed
				}
				out = append(out, o)
				if full() {
					break
				}
			}
		}
		return rows.Err()
	}
	if f.FailedOnly {
		var err error
		if f.Key != "" {
			err = issues(`AND key = ?`, f.Key)
		} else {
			err = issues(``)
		}
		if err != nil || full() {
			return out, err
		}
		return out, fromBatches(`AND attempts = 0`) // batches never sent: every row failed
	}
	// Succeeded rows live only in their batch's row list.
	if err := fromBatches(``); err != nil {
		return nil, err
	}
	if full() {
		return out, nil
	}
	if f.Key != "" {
		return out, issues(`AND batch_seq = 0 AND key = ?`, f.Key)
	}
	return out, issues(`AND batch_seq = 0`)
}

func (s *Store) GetBatch(ctx context.Context, runID string, seq int) (*store.Batch, error) {
	bt := &store.Batch{RunID: runID, Seq: seq}
	var blob []byte
	err := s.db.QueryRowContext(ctx, `SELECT batch_id, attempts, error, rows FROM batches WHERE run_id = ? AND seq = ?`, runID, seq).
		Scan(&bt.ID, &bt.Attempts, &bt.Error, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("batch %d of run %s: %w", seq, runID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if bt.Rows, err = decodeBatchRows(blob, bt.Error); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT request_line, request_header, response_line, response_header, duration_us, err, body_offset, request_len, response_len
		FROM exchanges WHERE run_id = ? AND seq = ? ORDER BY n`, runID, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ex connector.Exchange
		var reqH, respH string
		var us, off int64
		var reqLen, respLen int
		if err := rows.Scan(&ex.Request.Line, &reqH, &ex.Response.Line, &respH, &us, &ex.Err, &off, &reqLen, &respLen); err != nil {
			return nil, err
		}
		if ex.Request.Body, err = s.bodies.read(runID, off, reqLen); err != nil {
			return nil, err
		}
		if ex.Response.Body, err = s.bodies.read(runID, off+int64(reqLen), respLen); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(reqH), &ex.Request.Header)
		json.Unmarshal([]byte(respH), &ex.Response.Header)
		ex.Duration = time.Duration(us) * time.Microsecond
		bt.Exchanges = append(bt.Exchanges, ex)
	}
	return bt, rows.Err()
}

// syncNames are safe as directory names; config validation enforces the same pattern.
var syncName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (s *Store) OpenBaseline(ctx context.Context, p store.BaselineParams) (store.Baseline, error) {
	if !syncName.MatchString(p.Sync) {
		return nil, fmt.Errorf("baseline: sync name %q cannot name a directory", p.Sync)
	}
	b, err := openBaseline(filepath.Join(s.dir, "baselines", p.Sync), p.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("baseline of sync %s: %w", p.Sync, err)
	}
	return b, nil
}
