package localstore

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/sluicehq/sluice/internal/diff"
)

func TestSortTailMatchesASimpleSort(t *testing.T) {
	t.Parallel()
	var tail []tailEntry
	for i := range 200_000 {
		k := diff.HashKey(strconv.Itoa(rand.IntN(150_000))) // repeated keys too
		tail = append(tail, tailEntry{entry: diff.Entry{Key: k, Row: uint64(i)}, loc: makeLoc(1+i/100_000, int64(i))})
	}
	want := slices.Clone(tail)
	slices.SortFunc(want, func(a, b tailEntry) int {
		if c := a.entry.Key.Compare(b.entry.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.loc, b.loc)
	})
	sortTail(tail)
	if !slices.Equal(tail, want) {
		t.Fatal("sortTail ordered frames differently from a plain sort by key and position")
	}
}
