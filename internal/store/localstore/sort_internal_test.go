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

// mergeTail gives what applying the frames one by one to a map would.
func TestMergeTailMatchesApplyingFrames(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		want := map[diff.KeyHash]diff.Entry{}
		var entries []diff.Entry
		for i := range r.IntN(3000) {
			k := diff.HashKey("base" + strconv.Itoa(i))
			e := diff.Entry{Key: k, Row: uint64(i)}
			entries = append(entries, e)
			want[k] = e
		}
		slices.SortFunc(entries, func(a, b diff.Entry) int { return a.Key.Compare(b.Key) })
		locs := make([]loc, len(entries))
		for i := range locs {
			locs[i] = makeLoc(1, int64(entries[i].Row))
		}
		var tail []tailEntry
		for i := range r.IntN(3000) {
			var k diff.KeyHash
			if r.IntN(2) == 0 {
				k = diff.HashKey("base" + strconv.Itoa(r.IntN(3000)))
			} else {
				k = diff.HashKey("new" + strconv.Itoa(r.IntN(1000)))
			}
			te := tailEntry{entry: diff.Entry{Key: k, Row: uint64(100_000 + i)}, loc: makeLoc(2, int64(i)), remove: r.IntN(4) == 0}
			tail = append(tail, te)
			if te.remove {
				delete(want, k)
			} else {
				want[k] = te.entry
			}
		}
		got, gotLocs := mergeTail(entries, locs, tail)
		if len(got) != len(want) || len(gotLocs) != len(got) {
			t.Fatalf("round %d: merged %d entries, want %d", round, len(got), len(want))
		}
		for i, e := range got {
			if i > 0 && got[i-1].Key.Compare(e.Key) >= 0 {
				t.Fatalf("round %d: entries out of order at %d", round, i)
			}
			if want[e.Key] != e {
				t.Fatalf("round %d: entry %d is %v, want %v", round, i, e, want[e.Key])
			}
			if (e.Row >= 100_000) != (gotLocs[i].log() == 2) {
				t.Fatalf("round %d: entry %d has the location of another frame", round, i)
			}
		}
	}
}
