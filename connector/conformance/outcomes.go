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
// the error of each change ("" for success); an error that fails a whole write
// is every change's of that write.
func SendSplitting(t testing.TB, d connector.Destination, changes []record.Change) []string {
	t.Helper()
	out := make([]string, len(changes))
	isolate(context.Background(), d, "batch-1", changes, 0, func(i int, err error) {
		out[i] = err.Error()
	}, func(off, n int, err error) error {
		for i := off; i < off+n; i++ {
			out[i] = err.Error()
		}
		return nil
	})
	return out
}
