package facebook_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
)

// The suite's rows become members identified by their key (EXTERN_ID) and, when
// they have one, their email. An audience holds nothing but identifier tuples,
// so Contents maps each member back to the row that was written with its
// identifiers (the harness records what every successful write carried): the
// membership is checked by the simulator, the other fields are what was sent.
//
// Refused keys (the suite's partial-failure test) are refused by the
// simulator's Reject hook: Meta counts them among the invalid entries and
// samples them, and the destination fails the rows the samples name.
func TestConformance(t *testing.T) {
	conformance.TestDestination(t, facebook.Spec, conformance.Harness{
		Setup: func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) conformance.Target {
			tb := setup(t, sim.Options{})
			sc := &facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"EXTERN_ID": info.KeyField}}
			info.ColumnFields = map[string]int{"identifiers.EXTERN_ID": slices.Index(info.Fields, info.KeyField)}
			email := slices.Index(info.Fields, "email")
			if email >= 0 {
				sc.Identifiers["EMAIL"] = "email"
				info.ColumnFields["identifiers.EMAIL"] = email
			}
			rec := &recorder{Destination: tb.open(t, info, sc, nil), email: email, written: map[string]record.Fields{}}
			var rejectMu sync.Mutex
			rejected := map[string]bool{}
			tb.sim.SetReject(func(_ string, ids map[string]string) string {
				rejectMu.Lock()
				defer rejectMu.Unlock()
				if rejected[ids["EXTERN_ID"]] {
					return "refused by the test"
				}
				return ""
			})
			return conformance.Target{
				Destination: rec,
				RejectKey: func(key string) {
					rejectMu.Lock()
					rejected[key] = true
					rejectMu.Unlock()
				},
				Contents: func(t *testing.T) map[string]record.Fields {
					return rec.contents(t, tb.sim.Members(audienceID))
				},
			}
		},
	})
}

// recorder keeps what each successful write of a key carried, to map the
// audience's identifier tuples back to rows.
type recorder struct {
	connector.Destination
	email int // the email field's index, or -1

	mu      sync.Mutex
	written map[string]record.Fields
}

func (r *recorder) Write(ctx context.Context, b *connector.Batch) error {
	err := r.Destination.Write(ctx, b)
	failed := map[int]bool{}
	var be *connector.BatchError
	switch {
	case errors.As(err, &be):
		for _, row := range be.Rows {
			failed[row.Index] = true
		}
	case err != nil:
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, ch := range b.Changes {
		switch {
		case failed[i]:
		case ch.Op == record.OpRemove:
			delete(r.written, ch.Key)
		default:
			// The batch's memory is reused once Write returns: keep a copy.
			r.written[strings.Clone(ch.Key)] = record.EncodedFields(slices.Clone(ch.Fields.Names), bytes.Clone(ch.Fields.Encoded()))
		}
	}
	return err
}

// tupleKey is a member's identifiers as one string.
func tupleKey(ids map[string]string) string {
	var parts []string
	for k, v := range ids {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (r *recorder) contents(t *testing.T, members []sim.Member) map[string]record.Fields {
	r.mu.Lock()
	defer r.mu.Unlock()
	byTuple := map[string]string{}
	for key, f := range r.written {
		ids := map[string]string{"EXTERN_ID": key}
		if r.email >= 0 {
			if s, ok := f.Values()[r.email].(string); ok && s != "" {
				h, err := facebook.Normalize("EMAIL", s)
				require.NoError(t, err)
				ids["EMAIL"] = h
			}
		}
		byTuple[tupleKey(ids)] = key
	}
	out := map[string]record.Fields{}
	for _, m := range members {
		tk := tupleKey(m.Identifiers)
		key, ok := byTuple[tk]
		if !ok {
			out["member without a row: "+tk] = record.Fields{}
			continue
		}
		out[key] = r.written[key]
	}
	return out
}
