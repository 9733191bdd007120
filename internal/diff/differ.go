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
	added [addedShards]chunks
	sink  uint64 // keeps the prefetching loads in ObserveBatch from being optimised away
}

// chunks is an append-only list in fixed-size blocks: growing it never copies,
// which matters when every one of ten million rows is new.
type chunks struct{ blocks [][]KeyHash }

const chunkLen = 4096

func (c *chunks) add(k KeyHash) {
	n := len(c.blocks)
	if n == 0 || len(c.blocks[n-1]) == chunkLen {
		c.blocks = append(c.blocks, make([]KeyHash, 0, chunkLen))
		n++
	}
	c.blocks[n-1] = append(c.blocks[n-1], k)
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
		w.added[k.Hi>>58].add(k)
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

// ObserveBatch classifies rows in bulk: verdicts[i] is Observe(keys[i], rows[i]).
// Looking up many keys at once lets the processor fetch their entries from memory
// in parallel; a ten-million-key baseline does not fit in any cache, and one key at
// a time waits for memory on every row.
func (w *Worker) ObserveBatch(keys []KeyHash, rows []uint64, verdicts []Verdict) {
	ix := w.d.base
	if ix.Len() > 0 {
		// Touch each key's bucket first: these loads do not depend on each other,
		// so they overlap, and the searches below find the lines in cache.
		var sink uint64
		for _, k := range keys {
			b := ix.bucket(k)
			start := ix.dir[b]
			if int(start) < len(ix.entries) {
				sink += ix.entries[start].Row
			}
		}
		w.sink += sink
	}
	for i, k := range keys {
		verdicts[i] = w.Observe(k, rows[i])
	}
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
	for wi := range d.seen {
		missing := ^d.seen[wi].Load()
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
			var his []uint64
			for s := range shards {
				// Sorting the high halves alone is much faster than sorting whole
				// hashes; keys whose high halves repeat are then counted exactly.
				his = his[:0]
				for _, w := range d.workers {
					for _, blk := range w.added[s].blocks {
						for _, k := range blk {
							his = append(his, k.Hi)
						}
					}
				}
				slices.Sort(his)
				var repeated map[uint64]bool
				for i := 1; i < len(his); i++ {
					if his[i] == his[i-1] {
						if repeated == nil {
							repeated = map[uint64]bool{}
						}
						repeated[his[i]] = true
					}
				}
				counts := map[KeyHash]int{}
				for _, w := range d.workers {
					if repeated != nil {
						for _, blk := range w.added[s].blocks {
							for _, k := range blk {
								if repeated[k.Hi] {
									counts[k]++
								}
							}
						}
					}
					w.added[s] = chunks{}
				}
				mu.Lock()
				for k, n := range counts {
					if n > 1 {
						res.Duplicates[k] = n
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
