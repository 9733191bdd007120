// Package diff finds what changed between a sync's baseline (what the destination is
// known to hold) and the model's current rows, by primary key and a hash of the mapped
// fields. It is built for tens of millions of rows: the baseline is a sorted array of
// 24-byte entries with a bucket directory, and observations are safe from many goroutines.
package diff

import (
	"cmp"
	"encoding/binary"

	"github.com/zeebo/xxh3"
)

// KeyHash identifies a primary key: the 128-bit xxh3 hash of its canonical text.
// At 128 bits two distinct keys of one sync never share a hash in practice
// (about 10^-24 for ten million keys), so the differ never needs the key text.
type KeyHash struct{ Hi, Lo uint64 }

// HashKey returns the KeyHash of a canonical key (see record.KeyString).
func HashKey(key string) KeyHash {
	h := xxh3.HashString128(key)
	return KeyHash{Hi: h.Hi, Lo: h.Lo}
}

// HashKeyBytes is HashKey of a key held in bytes.
func HashKeyBytes(key []byte) KeyHash {
	h := xxh3.Hash128(key)
	return KeyHash{Hi: h.Hi, Lo: h.Lo}
}

// Compare orders key hashes.
func (k KeyHash) Compare(o KeyHash) int {
	if c := cmp.Compare(k.Hi, o.Hi); c != 0 {
		return c
	}
	return cmp.Compare(k.Lo, o.Lo)
}

// Bytes returns the 16-byte big-endian form used on disk.
func (k KeyHash) Bytes() [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.Hi)
	binary.BigEndian.PutUint64(b[8:], k.Lo)
	return b
}

// KeyHashFromBytes is the inverse of Bytes.
func KeyHashFromBytes(b []byte) KeyHash {
	return KeyHash{Hi: binary.BigEndian.Uint64(b[:8]), Lo: binary.BigEndian.Uint64(b[8:16])}
}

// Entry is one row of a baseline: a key and the hash of the fields last acknowledged for it.
type Entry struct {
	Key KeyHash
	Row uint64
}

// RowHasher hashes encoded fields (record.AppendValues) under a seed derived from the
// field names, so renaming a destination field changes every row's hash.
type RowHasher struct{ seed uint64 }

// NewRowHasher returns a hasher for records with the given field names.
func NewRowHasher(names []string) RowHasher {
	var b []byte
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	return RowHasher{seed: xxh3.Hash(b)}
}

// Hash returns the row hash of encoded field values.
func (h RowHasher) Hash(encoded []byte) uint64 {
	return xxh3.HashSeed(encoded, h.seed)
}
