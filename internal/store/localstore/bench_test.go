package localstore_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/store/localstore"
	"github.com/sluicehq/sluice/record"
)

// BenchmarkFold measures opening a baseline whose log holds a million acknowledged
// rows that no index covers yet: the first open after an initial sync.
func BenchmarkFold(b *testing.B) {
	ctx := context.Background()
	names := []string{"email", "plan"}
	hasher := diff.NewRowHasher(names)
	for range b.N {
		b.StopTimer()
		s, err := localstoreOpen(b)
		if err != nil {
			b.Fatal(err)
		}
		bl, err := s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
		if err != nil {
			b.Fatal(err)
		}
		var muts []store.Mutation
		for i := range 1_000_000 {
			key := strconv.Itoa(i)
			vals := record.AppendValues(nil, []record.Value{"user" + key + "@example.com", "pro"})
			muts = append(muts, store.Mutation{Key: diff.HashKey(key), Row: hasher.Hash(vals), KeyText: key, Names: names, Values: vals})
			if len(muts) == 1000 {
				if err := bl.Apply(ctx, muts); err != nil {
					b.Fatal(err)
				}
				muts = muts[:0]
			}
		}
		bl.Close()
		b.StartTimer()
		bl, err = s.OpenBaseline(ctx, store.BaselineParams{Sync: "a"})
		if err != nil {
			b.Fatal(err)
		}
		bl.Close()
	}
}

func localstoreOpen(b *testing.B) (store.Store, error) {
	s, err := localstore.Open(context.Background(), b.TempDir())
	if err == nil {
		b.Cleanup(func() { s.Close() })
	}
	return s, err
}
