package conformance

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// FailedRows returns the rows a Write's error fails, by index, with their
// reasons. It fails the test when err is not a *connector.BatchError or names a
// row twice (the engine refuses both).
func FailedRows(t testing.TB, err error) map[int]string {
	t.Helper()
	var be *connector.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("want a *connector.BatchError, got %v", err)
	}
	out := map[int]string{}
	for _, r := range be.Rows {
		if _, dup := out[r.Index]; dup {
			t.Fatalf("row %d failed twice", r.Index)
		}
		out[r.Index] = r.Err.Error()
	}
	return out
}

// SendSplitting writes changes as the engine does with a refused batch: a
// Divisible error halves it until the changes at fault fail alone. It returns
// the error of each change ("" for success).
func SendSplitting(t testing.TB, d connector.Destination, changes []record.Change) []string {
	t.Helper()
	out := make([]string, len(changes))
	var send func(id string, off int, part []record.Change)
	send = func(id string, off int, part []record.Change) {
		err := d.Write(context.Background(), connector.NewBatch("conformance", "run-1", id, part, nil))
		var be *connector.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			for _, r := range be.Rows {
				out[off+r.Index] = r.Err.Error()
			}
		case connector.IsDivisible(err) && len(part) > 1:
			half := len(part) / 2
			send(id+"a", off, part[:half:half])
			send(id+"b", off+half, part[half:])
		default:
			for i := range part {
				out[off+i] = err.Error()
			}
		}
	}
	send("batch-1", 0, changes)
	return out
}
