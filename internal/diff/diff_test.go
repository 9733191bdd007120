package diff_test

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/diff"
)

type row struct {
	key string
	h   uint64
}

// run diffs current against base and applies the outcome to a copy of base the way
// the engine does: added and changed rows are put, removed keys dropped, duplicated
// keys left alone.
func run(t testing.TB, base map[string]uint64, current []row, workers int) (map[string]uint64, map[diff.Verdict]int, *diff.Result) {
	var entries []diff.Entry
	byHash := map[diff.KeyHash]string{}
	for k, h := range base {
		entries = append(entries, diff.Entry{Key: diff.HashKey(k), Row: h})
		byHash[diff.HashKey(k)] = k
	}
	d := diff.NewDiffer(diff.NewIndex(entries))
	verdicts := make([]diff.Verdict, len(current))
	var wg sync.WaitGroup
	for w := range workers {
		wk := d.NewWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(current); i += workers {
				verdicts[i] = wk.Observe(diff.HashKey(current[i].key), current[i].h)
			}
		}()
	}
	wg.Wait()
	res := d.Finish()
	out := map[string]uint64{}
	for k, v := range base {
		out[k] = v
	}
	counts := map[diff.Verdict]int{}
	for i, r := range current {
		counts[verdicts[i]]++
		if res.IsDuplicate(diff.HashKey(r.key)) {
			continue
		}
		switch verdicts[i] {
		case diff.Added, diff.Changed:
			out[r.key] = r.h
		case diff.Duplicate:
			t.Fatalf("key %q: verdict Duplicate but not in Result.Duplicates", r.key)
		}
	}
	for _, e := range res.Removed {
		k, ok := byHash[e.Key]
		if !ok {
			t.Fatalf("removed entry not in the baseline")
		}
		delete(out, k)
	}
	return out, counts, res
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	base := map[string]uint64{"a": 1, "b": 2, "c": 3, "d": 4}
	current := []row{{"a", 1}, {"b", 20}, {"e", 5}, {"f", 6}, {"f", 7}, {"d", 4}, {"d", 40}}
	out, counts, res := run(t, base, current, 1)
	require.Equal(t, map[diff.Verdict]int{diff.Unchanged: 2, diff.Changed: 1, diff.Added: 3, diff.Duplicate: 1}, counts)
	require.Len(t, res.Removed, 1)
	require.Equal(t, diff.HashKey("c"), res.Removed[0].Key)
	require.Equal(t, map[diff.KeyHash]int{diff.HashKey("f"): 2, diff.HashKey("d"): 2}, res.Duplicates)
	require.Equal(t, 4, res.DuplicateRows())
	// d and f are duplicated: d keeps its baseline, f is not added; c is removed.
	require.Equal(t, map[string]uint64{"a": 1, "b": 20, "d": 4, "e": 5}, out)
}

func TestEmptyBaselineAndModel(t *testing.T) {
	t.Parallel()
	out, _, res := run(t, nil, nil, 2)
	require.Empty(t, out)
	require.Empty(t, res.Removed)
	out, _, res = run(t, map[string]uint64{"x": 1}, nil, 2)
	require.Empty(t, out)
	require.Len(t, res.Removed, 1)
}

func TestIndexFind(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7, 8, 9, 100, 10_000} {
		var entries []diff.Entry
		for i := range n {
			entries = append(entries, diff.Entry{Key: diff.HashKey(strconv.Itoa(i)), Row: uint64(i)})
		}
		ix := diff.NewIndex(entries)
		require.Equal(t, n, ix.Len())
		for i := range n {
			p, ok := ix.Find(diff.HashKey(strconv.Itoa(i)))
			require.True(t, ok, "n=%d i=%d", n, i)
			require.Equal(t, uint64(i), ix.At(p).Row)
		}
		_, ok := ix.Find(diff.HashKey("absent"))
		require.False(t, ok)
	}
}

// FuzzDiff checks that applying a diff to the baseline gives the current rows, for
// any baseline and any current rows (duplicates included).
func FuzzDiff(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{1, 2, 9, 4, 5, 5, 0})
	f.Add([]byte{}, []byte{3, 3, 3})
	f.Fuzz(func(t *testing.T, baseBytes, curBytes []byte) {
		base := map[string]uint64{}
		for i := 0; i+1 < len(baseBytes); i += 2 {
			base[fmt.Sprint(baseBytes[i]%32)] = uint64(baseBytes[i+1] % 4)
		}
		var current []row
		seen := map[string]int{}
		for i := 0; i+1 < len(curBytes); i += 2 {
			k := fmt.Sprint(curBytes[i] % 32)
			current = append(current, row{k, uint64(curBytes[i+1] % 4)})
			seen[k]++
		}
		out, _, res := run(t, base, current, 1+len(curBytes)%3)
		want := map[string]uint64{}
		for _, r := range current {
			if seen[r.key] == 1 {
				want[r.key] = r.h
			} else if h, ok := base[r.key]; ok {
				want[r.key] = h // duplicated keys keep what the destination has
			}
		}
		require.Equal(t, want, out)
		dups := 0
		for _, n := range seen {
			if n > 1 {
				dups += n
			}
		}
		require.Equal(t, dups, res.DuplicateRows())
	})
}

func BenchmarkDiff10M(b *testing.B) {
	const n = 10_000_000
	entries := make([]diff.Entry, n)
	keys := make([]diff.KeyHash, n)
	var buf [8]byte
	for i := range n {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		keys[i] = diff.HashKey(string(buf[:]))
		entries[i] = diff.Entry{Key: keys[i], Row: uint64(i)}
	}
	ix := diff.NewIndex(entries)
	b.ResetTimer()
	for range b.N {
		d := diff.NewDiffer(ix)
		var wg sync.WaitGroup
		const workers = 2
		for w := range workers {
			wk := d.NewWorker()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					h := uint64(i)
					if i%100 == 0 {
						h++ // 1% changed
					}
					wk.Observe(keys[i], h)
				}
			}()
		}
		wg.Wait()
		d.Finish()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
