package diff

import (
	"math/bits"
	"slices"
)

// Index is a baseline's entries sorted by key hash, with a directory of bucket starts
// so that a lookup touches two or three cache lines whatever the size.
type Index struct {
	entries []Entry
	dir     []uint32 // dir[b] is the first entry whose Key.Hi>>shift >= b
	shift   uint
}

// NewIndex builds an index over entries, sorting them in place if they are not sorted.
// Entries with equal keys must not occur; the last one wins if they do.
func NewIndex(entries []Entry) *Index {
	if !slices.IsSortedFunc(entries, compareEntries) {
		slices.SortFunc(entries, compareEntries)
	}
	entries = slices.CompactFunc(entries, func(a, b Entry) bool { return a.Key == b.Key })
	ix := &Index{entries: entries}
	// About eight entries per bucket keeps the directory at half a byte per entry.
	nb := 1
	if len(entries) > 8 {
		nb = 1 << bits.Len(uint(len(entries)/8))
	}
	ix.shift = uint(64 - bits.TrailingZeros(uint(nb)))
	if nb == 1 {
		ix.shift = 64
	}
	ix.dir = make([]uint32, nb+1)
	b := 0
	for i, e := range entries {
		eb := int(ix.bucket(e.Key))
		for b <= eb {
			ix.dir[b] = uint32(i)
			b++
		}
	}
	for ; b <= nb; b++ {
		ix.dir[b] = uint32(len(entries))
	}
	return ix
}

func compareEntries(a, b Entry) int { return a.Key.Compare(b.Key) }

func (ix *Index) bucket(k KeyHash) uint64 {
	if ix.shift >= 64 {
		return 0
	}
	return k.Hi >> ix.shift
}

// Len is the number of entries.
func (ix *Index) Len() int { return len(ix.entries) }

// Entries returns the sorted entries; callers must not modify them.
func (ix *Index) Entries() []Entry { return ix.entries }

// Find returns the position of k and whether it is present.
func (ix *Index) Find(k KeyHash) (int, bool) {
	b := ix.bucket(k)
	lo, hi := int(ix.dir[b]), int(ix.dir[b+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := ix.entries[m].Key.Compare(k); {
		case c == 0:
			return m, true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo, false
}

// At returns entry i.
func (ix *Index) At(i int) Entry { return ix.entries[i] }
