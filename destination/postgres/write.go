package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// stageTable is the per-transaction temporary table rows are copied into.
const stageTable = "sluice_stage"

// statements are a destination's SQL, built once at open. The staging table's columns
// are rn (the change's index in the batch) and c0, c1, … (the written columns).
type statements struct {
	createStage string
	stageCols   []string
	apply       string // the insert, upsert or update; "" when no row is staged
	returnsRows bool   // apply returns the rn of each row it updated
	delete      string
}

func buildStatements(t *tableInfo, mode connector.Mode) statements {
	var st statements
	keyIdx := slices.Index(t.columns, t.key)
	stageCol := func(i int) string { return "c" + strconv.Itoa(i) }
	// selected is the staged value as the column's type.
	selected := func(prefix string, i int) string { return prefix + stageCol(i) + t.columns[i].cast }

	defs := []string{"rn integer"}
	st.stageCols = []string{"rn"}
	var names, values, sets []string
	for i, c := range t.columns {
		defs = append(defs, stageCol(i)+" "+c.stageType)
		st.stageCols = append(st.stageCols, stageCol(i))
		names = append(names, c.ident)
		values = append(values, selected("", i))
	}
	st.createStage = fmt.Sprintf("CREATE TEMP TABLE %s (%s) ON COMMIT DROP", stageTable, strings.Join(defs, ", "))

	switch mode {
	case connector.ModeUpdate:
		for i, c := range t.columns {
			if c != t.key {
				sets = append(sets, c.ident+" = "+selected("s.", i))
			}
		}
		if len(sets) == 0 {
			// Nothing to change but the existence of each key to report.
			st.apply = fmt.Sprintf("SELECT s.rn FROM %s AS s JOIN %s AS t ON t.%s = %s",
				stageTable, t.ident, t.key.ident, selected("s.", keyIdx))
		} else {
			st.apply = fmt.Sprintf("UPDATE %s AS t SET %s FROM %s AS s WHERE t.%s = %s RETURNING s.rn",
				t.ident, strings.Join(sets, ", "), stageTable, t.key.ident, selected("s.", keyIdx))
		}
		st.returnsRows = true
	default:
		for _, c := range t.columns {
			if c != t.key {
				sets = append(sets, c.ident+" = EXCLUDED."+c.ident)
			}
		}
		overriding := ""
		if t.identity {
			overriding = "OVERRIDING SYSTEM VALUE "
		}
		conflict := "DO NOTHING"
		if mode != connector.ModeInsert && len(sets) > 0 {
			conflict = "DO UPDATE SET " + strings.Join(sets, ", ")
		}
		st.apply = fmt.Sprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s ON CONFLICT (%s) %s",
			t.ident, strings.Join(names, ", "), overriding, strings.Join(values, ", "), stageTable, t.key.ident, conflict)
	}
	if mode == connector.ModeMirror {
		param := "$1::" + t.key.stageType + "[]"
		if t.key.cast != "" {
			param += t.key.cast + "[]"
		}
		st.delete = fmt.Sprintf("DELETE FROM %s WHERE %s = ANY(%s)", t.ident, t.key.ident, param)
	}
	return st
}

// item is one change ready to send: a staged row, or a key to delete.
type item struct {
	index int   // in Batch.Changes
	row   []any // rn, then one value per column; nil for a removal
	key   any   // the converted key, for a removal
}

// Write applies the batch in one transaction. Changes whose values do not fit their
// columns fail on their own before anything is sent; when PostgreSQL refuses the data
// of some rows (a constraint, a value out of range) the batch is split in halves and
// retried until only the guilty rows are left, each failing with PostgreSQL's message.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: write %s: %w", d.table.name, err)
	}
	failed := &connector.BatchError{}
	items := d.prepare(b.Changes, failed)
	if len(items) > 0 {
		if d.closed.Load() {
			return connector.Permanent(fmt.Errorf("postgres: write %s: the destination is closed", d.table.name))
		}
		conn, err := d.pool.Acquire(ctx)
		if err != nil {
			return d.connectError(err)
		}
		err = d.applyIsolating(ctx, conn.Conn(), b, items, failed)
		conn.Release()
		if err != nil {
			return err
		}
	}
	if failed.Len() > 0 {
		slices.SortFunc(failed.Rows, func(a, b connector.RowError) int { return a.Index - b.Index })
		return failed
	}
	return nil
}

// prepare converts every change, failing those that cannot be sent.
func (d *Destination) prepare(changes []record.Change, failed *connector.BatchError) []item {
	t := d.table
	width := 1 + len(t.columns)
	cells := make([]any, 0, len(changes)*width) // one allocation for every staged row
	items := make([]item, 0, len(changes))
	for i, ch := range changes {
		switch ch.Op {
		case record.OpAdd, record.OpChange:
			row := cells[len(cells) : len(cells)+width : len(cells)+width]
			if err := d.fillRow(row, i, ch); err != nil {
				failed.Fail(i, err)
				continue
			}
			cells = cells[:len(cells)+width]
			items = append(items, item{index: i, row: row})
		case record.OpRemove:
			if d.mode != connector.ModeMirror {
				failed.Fail(i, fmt.Errorf("postgres: mode %s does not delete rows", d.mode))
				continue
			}
			key, err := d.keyOf(ch)
			if err != nil {
				failed.Fail(i, err)
				continue
			}
			items = append(items, item{index: i, key: key})
		default:
			failed.Fail(i, fmt.Errorf("postgres: unknown change type %v", ch.Op))
		}
	}
	return items
}

// fillRow converts change i into row: its index, then one value per written column.
func (d *Destination) fillRow(row []any, i int, ch record.Change) error {
	t := d.table
	row[0] = int32(i)
	names := ch.Fields.Names
	values := ch.Fields.Values()
	inOrder := len(names) == len(d.sync.Fields) && len(values) == len(names)
	for j, f := range d.sync.Fields {
		if inOrder && names[j] != f {
			inOrder = false
		}
		var v record.Value
		if inOrder {
			v = values[j]
		} else {
			at := slices.Index(names, f)
			if at < 0 || at >= len(values) {
				return fmt.Errorf("postgres: the record has no field %s", f)
			}
			v = values[at]
		}
		if j == t.keyField && v == nil {
			return fmt.Errorf("column %s (%s): the key cannot be null", t.key.name, t.key.typeName)
		}
		c, err := t.columns[j].convert(v)
		if err != nil {
			return err
		}
		row[1+j] = c
	}
	if t.keyField < 0 {
		k, err := t.key.convertKey(ch.Key)
		if err != nil {
			return err
		}
		row[len(row)-1] = k
	}
	return nil
}

// keyOf is the key column's value for a removal: the record's key field when it has
// one, the batch key otherwise.
func (d *Destination) keyOf(ch record.Change) (any, error) {
	if v, ok := ch.Fields.Get(d.sync.KeyField); ok && v != nil {
		return d.table.key.convert(v)
	}
	return d.table.key.convertKey(ch.Key)
}

func (d *Destination) applyIsolating(ctx context.Context, conn *pgx.Conn, b *connector.Batch, items []item, failed *connector.BatchError) error {
	notFound, err := d.apply(ctx, conn, b, items)
	if err == nil {
		for _, i := range notFound {
			failed.Fail(i, fmt.Errorf("no row with key %s in %s", b.Changes[i].Key, d.table.name))
		}
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !rowLevel(pgErr.Code) || ctx.Err() != nil {
		return d.writeError(err)
	}
	if len(items) == 1 {
		failed.Fail(items[0].index, rowError{pgErr})
		return nil
	}
	d.log.Debug("postgres: isolating the rows a statement refused", logSync, b.Sync, logTable, d.table.name,
		logRows, len(items), logSQLState, pgErr.Code)
	mid := len(items) / 2
	if err := d.applyIsolating(ctx, conn, b, items[:mid], failed); err != nil {
		return err
	}
	return d.applyIsolating(ctx, conn, b, items[mid:], failed)
}

// rowError is PostgreSQL's refusal of one row, with its own message and detail.
type rowError struct{ pg *pgconn.PgError }

func (e rowError) Error() string {
	msg := "postgres: " + e.pg.Message
	if e.pg.Detail != "" {
		msg += ": " + e.pg.Detail
	}
	return msg + " (SQLSTATE " + e.pg.Code + ")"
}

func (e rowError) Unwrap() error { return e.pg }

// writeError describes an error that failed the whole batch.
func (d *Destination) writeError(err error) error {
	prefix := "postgres: write " + d.table.name
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		werr := fmt.Errorf("%s: %w", prefix, pgErr)
		if permanentState(pgErr.Code) {
			if hint := hintFor(pgErr.Code); hint != "" {
				werr = fmt.Errorf("%s: %w: %s", prefix, pgErr, hint)
			}
			return connector.Permanent(werr)
		}
		return werr
	}
	return d.red.wrap(prefix, err)
}

// apply runs one transaction for items and traces it. For update mode it returns the
// indexes of staged changes whose key matched no row.
func (d *Destination) apply(ctx context.Context, conn *pgx.Conn, b *connector.Batch, items []item) (notFound []int, err error) {
	var keys []any
	var stagedItems []item
	for _, it := range items {
		if it.row != nil {
			stagedItems = append(stagedItems, it)
		} else {
			keys = append(keys, it.key)
		}
	}
	var body strings.Builder
	note := func(sql string, comment string) {
		body.WriteString(sql)
		body.WriteString(";")
		if comment != "" {
			body.WriteString(" -- " + comment)
		}
		body.WriteString("\n")
	}
	start := time.Now()
	var response string
	defer func() {
		ex := connector.Exchange{
			Request: connector.Message{
				Line: fmt.Sprintf("SQL %s %d rows into %s", d.mode, len(items), d.table.name),
				Body: []byte(body.String()),
			},
			Duration: time.Since(start),
		}
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			ex.Response.Line = response
		case errors.As(err, &pgErr):
			ex.Response.Line = fmt.Sprintf("ERROR %s: %s", pgErr.Code, pgErr.Message)
			if pgErr.Detail != "" {
				ex.Response.Body = []byte(pgErr.Detail)
			}
		default:
			ex.Err = d.red.redact(err.Error())
		}
		b.Trace(ex)
	}()

	begin := "BEGIN"
	if len(stagedItems) > 0 {
		begin += ";\n" + d.sql.createStage
	}
	note(begin, "")
	if _, err = conn.Exec(ctx, begin); err != nil {
		return nil, d.rollback(conn, err)
	}
	var changed int64
	if len(stagedItems) > 0 {
		note(fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", stageTable, strings.Join(d.sql.stageCols, ", ")), fmt.Sprintf("%d rows", len(stagedItems)))
		_, err = conn.CopyFrom(ctx, pgx.Identifier{stageTable}, d.sql.stageCols,
			pgx.CopyFromSlice(len(stagedItems), func(i int) ([]any, error) { return stagedItems[i].row, nil }))
		if err != nil {
			return nil, d.rollback(conn, err)
		}
		note(d.sql.apply, "")
		if d.sql.returnsRows {
			if notFound, err = runUpdate(ctx, conn, d.sql.apply, stagedItems); err != nil {
				return nil, d.rollback(conn, err)
			}
			changed = int64(len(stagedItems) - len(notFound))
		} else {
			tag, err := conn.Exec(ctx, d.sql.apply)
			if err != nil {
				return nil, d.rollback(conn, err)
			}
			changed = tag.RowsAffected()
		}
	}
	var deleted int64
	if len(keys) > 0 {
		note(d.sql.delete, fmt.Sprintf("$1: %d keys", len(keys)))
		tag, err := conn.Exec(ctx, d.sql.delete, keys)
		if err != nil {
			return nil, d.rollback(conn, err)
		}
		deleted = tag.RowsAffected()
	}
	note("COMMIT", "")
	if _, err = conn.Exec(ctx, "COMMIT"); err != nil {
		return nil, d.rollback(conn, err)
	}
	response = fmt.Sprintf("OK %d rows", len(items))
	var detail []string
	if len(stagedItems) > 0 {
		detail = append(detail, fmt.Sprintf("%d written", changed))
	}
	if len(notFound) > 0 {
		detail = append(detail, fmt.Sprintf("%d keys not found", len(notFound)))
	}
	if len(keys) > 0 {
		detail = append(detail, fmt.Sprintf("%d deleted", deleted))
	}
	if len(detail) > 0 {
		response += " (" + strings.Join(detail, ", ") + ")"
	}
	return notFound, nil
}

// runUpdate runs the update and returns the indexes of staged items it did not find.
func runUpdate(ctx context.Context, conn *pgx.Conn, sql string, staged []item) ([]int, error) {
	// Not prepared: the staging table it reads is a new one in every transaction.
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	found := make(map[int32]bool, len(staged))
	var rn int32
	_, err = pgx.ForEachRow(rows, []any{&rn}, func() error {
		found[rn] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	var notFound []int
	for _, it := range staged {
		if !found[int32(it.index)] {
			notFound = append(notFound, it.index)
		}
	}
	return notFound, nil
}

// rollback ends the failed transaction and returns err. A connection that cannot roll
// back is closed, so the pool drops it.
func (d *Destination) rollback(conn *pgx.Conn, err error) error {
	if conn.IsClosed() {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, rbErr := conn.Exec(ctx, "ROLLBACK"); rbErr != nil {
		conn.Close(ctx)
	}
	return err
}
