package connector

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// BatchError reports the changes of a batch that the destination rejected; the
// others were applied.
type BatchError struct {
	Rows []RowError
}

// RowError is one rejected change: its index in Batch.Changes and the destination's reason.
type RowError struct {
	Index int
	Err   error
}

// Fail records that change i failed with err.
func (e *BatchError) Fail(i int, err error) {
	e.Rows = append(e.Rows, RowError{Index: i, Err: err})
}

// Len is the number of failed changes.
func (e *BatchError) Len() int { return len(e.Rows) }

func (e *BatchError) Error() string {
	if len(e.Rows) == 0 {
		return "batch error with no failed rows"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d changes failed; first: change %d: %v", len(e.Rows), e.Rows[0].Index, e.Rows[0].Err)
	return b.String()
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (a 4xx, a schema mismatch).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as transient, to be retried no sooner than d (from a
// Retry-After header or the API's own throttling hint).
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfterError{err: err, delay: d}
}

// RetryDelay returns the delay given to RetryAfter, if any.
func RetryDelay(err error) (time.Duration, bool) {
	var r retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// RateLimited reports whether err came from the destination's rate limiting
// (a 429 or the API's equivalent), which the engine counts and paces by.
func RateLimited(err error) bool {
	var r rateLimitError
	return errors.As(err, &r)
}

type rateLimitError struct{ error }

func (e rateLimitError) Unwrap() error { return e.error }

// Throttled marks err as the destination's rate limiting, to be retried after d.
func Throttled(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return RetryAfter(rateLimitError{err}, d)
}

// FieldError is a configuration problem in one key. A config struct's Validate
// method returns it (or errors.Join of several) so that the message can name the
// file, line and key.
type FieldError struct {
	Field   string // the key as written in the project file, e.g. "batch_size"
	Message string // what is wrong and what to do
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

type divisibleError struct{ error }

func (e divisibleError) Unwrap() error { return e.error }

// Divisible marks err as a refusal of the whole batch caused by one or more of its
// changes (a validation error that names no row): the engine splits the batch in
// halves and sends each, until the changes at fault are isolated and fail alone
// while the others are applied. The error is permanent for a single change.
func Divisible(err error) error {
	if err == nil {
		return nil
	}
	return divisibleError{err}
}

// IsDivisible reports whether err was marked Divisible.
func IsDivisible(err error) bool {
	var d divisibleError
	return errors.As(err, &d)
}
