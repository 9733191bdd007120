package diff

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Verdict is what the differ concluded about one observed row.
type Verdict uint8

const (
	Added     Verdict = iota + 1 // the key is not in the baseline (yet; see Result.Duplicates)
	Changed                      // the key is in the baseline with another row hash
	Unchanged                    // the key is in the baseline with this row hash
	Duplicate                    // the key was already observed in this run
)

func (v Verdict) String() string {
	switch v {
	case Added:
		return "added"
	case Changed:
		return "changed"
	case Unchanged:
		return "unchanged"
	case Duplicate:
		return "duplicate"
	}
	return "verdict(?)"
}

// Differ compares observed rows with a baseline. Observe may be called from many
// goroutines, each through its own Worker; Finish is called once, after every Observe.
//
// A key seen more than once makes every one of its rows invalid. Keys in the baseline
// are caught at their second observation; keys that are new are caught in Finish,
// because tracking every new key at once would cost a shared set on the hot path.
type Differ struct {
	base *Index
	seen []atomic.Uint64 // one bit per baseline entry

	mu      sync.Mutex
	dups    map[KeyHash]int // baseline keys seen twice or more: extra observations
	workers []*Worker
}

// NewDiffer returns a differ against base.
func NewDiffer(base *Index) *Differ {
	return &Differ{
		base: base,
		seen: make([]atomic.Uint64, (base.Len()+63)/64),
		dups: make(map[KeyHash]int),
	}
}

const addedShards = 64

// Worker observes rows for one goroutine.
type Worker struct {
	d     *Differ
	added [addedShards][]KeyHash
}

// NewWorker returns a worker; each goroutine that calls Observe needs its own.
func (d *Differ) NewWorker() *Worker {
	w := &Worker{d: d}
	d.mu.Lock()
	d.workers = append(d.workers, w)
	d.mu.Unlock()
	return w
}

// Observe classifies one current row by its key hash and row hash.
func (w *Worker) Observe(k KeyHash, row uint64) Verdict {
	d := w.d
	i, ok := d.base.Find(k)
	if !ok {
		s := k.Hi >> 58
		w.added[s] = append(w.added[s], k)
		return Added
	}
	mask := uint64(1) << (i & 63)
	if d.seen[i>>6].Or(mask)&mask != 0 {
		d.mu.Lock()
		d.dups[k]++
		d.mu.Unlock()
		return Duplicate
	}
	if d.base.entries[i].Row == row {
		return Unchanged
	}
	return Changed
}

// Result is what Finish found beyond the per-row verdicts.
type Result struct {
	// Removed are the baseline entries whose key was not observed, in key order.
	Removed []Entry
	// Duplicates maps each key observed more than once to how many rows carried it.
	Duplicates map[KeyHash]int
}

// IsDuplicate reports whether k was observed more than once.
func (r *Result) IsDuplicate(k KeyHash) bool {
	_, ok := r.Duplicates[k]
	return ok
}

// DuplicateRows is the number of rows that carry a duplicated key.
func (r *Result) DuplicateRows() int {
	n := 0
	for _, c := range r.Duplicates {
		n += c
	}
	return n
}

// Finish computes the removed entries and the duplicated new keys.
func (d *Differ) Finish() *Result {
	res := &Result{Duplicates: make(map[KeyHash]int, len(d.dups))}
	for k, extra := range d.dups {
		res.Duplicates[k] = extra + 1
	}
	for wi, word := range d.seen {
		missing := ^word.Load()
		for missing != 0 {
			bit := bits.TrailingZeros64(missing)
			missing &= missing - 1
			i := wi*64 + bit
			if i >= d.base.Len() {
				break
			}
			res.Removed = append(res.Removed, d.base.entries[i])
		}
	}
	d.findDuplicateAdds(res)
	return res
}

// findDuplicateAdds sorts each shard of new keys (in parallel) and counts repeats.
func (d *Differ) findDuplicateAdds(res *Result) {
	var mu sync.Mutex
	shards := make(chan int, addedShards)
	for s := range addedShards {
		shards <- s
	}
	close(shards)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range shards {
				var keys []KeyHash
				for _, w := range d.workers {
					keys = append(keys, w.added[s]...)
					w.added[s] = nil
				}
				slices.SortFunc(keys, KeyHash.Compare)
				for i := 0; i < len(keys); {
					j := i + 1
					for j < len(keys) && keys[j] == keys[i] {
						j++
					}
					if j-i > 1 {
						mu.Lock()
						res.Duplicates[keys[i]] = j - i
						mu.Unlock()
					}
					i = j
				}
			}
		}()
	}
	wg.Wait()
}
