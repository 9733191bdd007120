package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// rows streams one model's result, converting each value as it is read.
type rows struct {
	model   string
	ctx     context.Context
	conn    driver.Conn
	src     driver.Rows
	columns []connector.Column
	convert []converter
	buf     []driver.Value // the driver's values of the current row
	read    int            // rows read so far, for messages
	err     error          // sticky: io.EOF or the first failure
	closed  bool
}

var _ connector.Rows = (*rows)(nil)

func (r *rows) Columns() []connector.Column { return r.columns }

func (r *rows) Next(dst []record.Row) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("model %s: rows read after Close", r.model)
	}
	if r.err != nil {
		return 0, r.err
	}
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("model %s: read rows: %w", r.model, err)
		return 0, r.err
	}
	for n := range dst {
		if err := r.src.Next(r.buf); err != nil {
			if errors.Is(err, io.EOF) {
				r.err = io.EOF
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			r.err = fmt.Errorf("model %s: read rows: %w", r.model, err)
			return n, r.err
		}
		row := dst[n]
		if cap(row) >= len(r.buf) {
			row = row[:len(r.buf)]
		} else {
			row = make(record.Row, len(r.buf))
		}
		for i, v := range r.buf {
			if v == nil {
				row[i] = nil
				continue
			}
			x, err := r.convert[i](v)
			if err != nil {
				c := r.columns[i]
				r.err = fmt.Errorf("model %s: row %d, column %q (%s): %w", r.model, r.read+1, c.Name, c.Type, err)
				return n, r.err
			}
			row[i] = x
		}
		dst[n] = row
		r.read++
	}
	return len(dst), nil
}

func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := errors.Join(r.src.Close(), r.conn.Close())
	if err != nil {
		return fmt.Errorf("model %s: close rows: %w", r.model, err)
	}
	return nil
}
