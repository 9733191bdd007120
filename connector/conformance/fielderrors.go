package conformance

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connector"
)

// FieldErrors lists the keys a Validate error names, with their messages, for a
// destination's configuration tests. Every error err joins must be a
// *connector.FieldError: the loader places only those in the project file. A
// nil err gives an empty map.
func FieldErrors(t testing.TB, err error) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *connector.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%v is not a *connector.FieldError", err)
		}
		out[fe.Field] = fe.Message
	}
	if err != nil {
		walk(err)
	}
	return out
}
