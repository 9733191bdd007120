package facebook

import (
	"hash/maphash"
	"maps"
	"slices"
)

// Member is one row of an audience as it was added: the identifiers it carried,
// by schema key (hashed values as lower-case hex; MADID lower case; EXTERN_ID
// and PAGEUID as sent). Empty cells are not identifiers.
type Member struct {
	Identifiers map[string]string
	// LookalikeValue is the row's LOOKALIKE_VALUE (value-based audiences), or nil.
	LookalikeValue *float64
	// DataProcessingOptions is the row's DATA_PROCESSING_OPTIONS, e.g. ["LDU"].
	DataProcessingOptions []string
}

// strongKeys identify a person alone; the other identifier keys (name, city,
// date of birth, gender…) identify one only together.
var strongKeys = map[string]bool{"EMAIL": true, "PHONE": true, "MADID": true, "EXTERN_ID": true, "PAGEUID": true}

// members is an audience's membership: a set of identifier tuples. Meta matches
// each row to at most one person; the simulator keeps the rows instead of
// people. A row's match keys are each of its strong identifiers and, when it
// has other identifiers, all of those together. Adding a row with the same
// identifiers again changes nothing but its value and options; a row sharing
// only some identifiers with another is another member. Removing a row removes
// every member that shares a match key with it.
//
// The indexes hold hashes and positions only, so that the garbage collector
// does not walk them: a large audience is millions of rows.
type members struct {
	seed     maphash.Seed
	rows     []member // in order of first addition; a removed row has ids == nil
	live     int
	tuples   map[uint64]int32   // hash of a row's identifiers → its position
	tuplesX  map[string]int32   // rows whose tuple hash collided with another's
	matches  map[uint64]int32   // hash of a match key → a row with it
	matchesX map[uint64][]int32 // further rows with a match key of that hash
	buf      []byte
}

type member struct {
	ids   []ident // sorted by key
	value *float64
	dpo   []string
}

func newMembers() *members {
	return &members{seed: maphash.MakeSeed(), tuples: map[uint64]int32{}, tuplesX: map[string]int32{},
		matches: map[uint64]int32{}, matchesX: map[uint64][]int32{}}
}

func (ms *members) len() int { return ms.live }

// tuple writes the canonical text of sorted identifiers into ms.buf.
func (ms *members) tuple(ids []ident) []byte {
	b := ms.buf[:0]
	for i, id := range ids {
		if i > 0 {
			b = append(b, '\x1f')
		}
		b = append(append(append(b, id.key...), '='), id.value...)
	}
	ms.buf = b
	return b
}

// matchKeys calls fn with the hash of each match key of the identifiers and a
// check that a row has that key.
func (ms *members) matchKeys(ids []ident, fn func(h uint64, has func([]ident) bool)) {
	weak := 0
	for _, id := range ids {
		if strongKeys[id.key] {
			ms.buf = append(append(append(ms.buf[:0], id.key...), '='), id.value...)
			fn(maphash.Bytes(ms.seed, ms.buf), func(other []ident) bool { return slices.Contains(other, id) })
		} else {
			weak++
		}
	}
	if weak == 0 {
		return
	}
	b := append(ms.buf[:0], '~')
	for _, id := range ids {
		if !strongKeys[id.key] {
			b = append(append(append(append(b, id.key...), '='), id.value...), '\x1f')
		}
	}
	ms.buf = b
	fn(maphash.Bytes(ms.seed, b), func(other []ident) bool { return slices.Equal(weakOf(other), weakOf(ids)) })
}

func weakOf(ids []ident) []ident {
	return slices.DeleteFunc(slices.Clone(ids), func(id ident) bool { return strongKeys[id.key] })
}

func (ms *members) add(r row) {
	t := ms.tuple(r.ids)
	h := maphash.Bytes(ms.seed, t)
	i, taken := ms.tuples[h]
	if !taken || !slices.Equal(ms.rows[i].ids, r.ids) {
		i, taken = ms.tuplesX[string(t)]
		if !taken {
			ms.insert(r, h, t)
			return
		}
	}
	ms.rows[i].value, ms.rows[i].dpo = r.value, r.dpo
}

// insert adds a new row whose tuple t has hash h.
func (ms *members) insert(r row, h uint64, t []byte) {
	pos := int32(len(ms.rows))
	ms.rows = append(ms.rows, member{ids: r.ids, value: r.value, dpo: r.dpo})
	ms.live++
	if _, taken := ms.tuples[h]; taken {
		ms.tuplesX[string(t)] = pos
	} else {
		ms.tuples[h] = pos
	}
	ms.matchKeys(r.ids, func(h uint64, _ func([]ident) bool) {
		if _, taken := ms.matches[h]; taken {
			ms.matchesX[h] = append(ms.matchesX[h], pos)
		} else {
			ms.matches[h] = pos
		}
	})
}

// remove deletes every row sharing a match key with r.
func (ms *members) remove(r row) {
	var doomed []int32
	ms.matchKeys(r.ids, func(h uint64, has func([]ident) bool) {
		first, ok := ms.matches[h]
		if !ok {
			return
		}
		for _, i := range append([]int32{first}, ms.matchesX[h]...) {
			if has(ms.rows[i].ids) {
				doomed = append(doomed, i)
			}
		}
	})
	for _, i := range doomed {
		if ms.rows[i].ids != nil {
			ms.drop(i)
		}
	}
	if dead := len(ms.rows) - ms.live; dead > 1024 && dead > ms.live {
		ms.compact()
	}
}

func (ms *members) drop(pos int32) {
	ids := ms.rows[pos].ids
	t := ms.tuple(ids)
	if h := maphash.Bytes(ms.seed, t); hasPos(ms.tuples, h, pos) {
		delete(ms.tuples, h)
	} else {
		delete(ms.tuplesX, string(t))
	}
	ms.matchKeys(ids, func(h uint64, _ func([]ident) bool) {
		more := ms.matchesX[h]
		first, ok := ms.matches[h]
		switch {
		case !ok:
		case first == pos && len(more) == 0:
			delete(ms.matches, h)
		case first == pos:
			ms.matches[h] = more[0]
			more = more[1:]
		default:
			more = slices.DeleteFunc(more, func(x int32) bool { return x == pos })
		}
		if len(more) == 0 {
			delete(ms.matchesX, h)
		} else {
			ms.matchesX[h] = more
		}
	})
	ms.rows[pos] = member{}
	ms.live--
}

func hasPos(m map[uint64]int32, h uint64, pos int32) bool {
	p, ok := m[h]
	return ok && p == pos
}

// compact rebuilds the store without the removed rows.
func (ms *members) compact() {
	fresh := newMembers()
	for _, m := range ms.rows {
		if m.ids != nil {
			fresh.add(row{ids: m.ids, value: m.value, dpo: m.dpo})
		}
	}
	*ms = *fresh
}

// has reports whether a row carries the identifier.
func (ms *members) has(key, value string) bool {
	id := ident{key, value}
	if strongKeys[key] {
		h := maphash.String(ms.seed, key+"="+value) // not ms.buf: has runs under a read lock

		first, ok := ms.matches[h]
		if !ok {
			return false
		}
		for _, i := range append([]int32{first}, ms.matchesX[h]...) {
			if slices.Contains(ms.rows[i].ids, id) {
				return true
			}
		}
		return false
	}
	for _, m := range ms.rows {
		if slices.Contains(m.ids, id) {
			return true
		}
	}
	return false
}

// values returns each distinct value of a key, sorted.
func (ms *members) values(key string) []string {
	seen := map[string]bool{}
	for _, m := range ms.rows {
		for _, id := range m.ids {
			if id.key == key {
				seen[id.value] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// export returns the members in the order they were first added.
func (ms *members) export() []Member {
	out := make([]Member, 0, ms.live)
	for _, m := range ms.rows {
		if m.ids == nil {
			continue
		}
		ids := make(map[string]string, len(m.ids))
		for _, id := range m.ids {
			ids[id.key] = id.value
		}
		e := Member{Identifiers: ids, DataProcessingOptions: slices.Clone(m.dpo)}
		if m.value != nil {
			v := *m.value
			e.LookalikeValue = &v
		}
		out = append(out, e)
	}
	return out
}

// rowOf turns a Member (from SeedMembers) into a row, or says which identifier
// is not a known key.
func rowOf(m Member) (row, string) {
	var r row
	for _, k := range slices.Sorted(maps.Keys(m.Identifiers)) {
		if kind, ok := schemaKeys[k]; !ok || kind > kindPageUID {
			return row{}, k
		}
		if v := m.Identifiers[k]; v != "" {
			r.ids = append(r.ids, ident{k, v})
		}
	}
	r.value = m.LookalikeValue
	r.dpo = slices.Clone(m.DataProcessingOptions)
	return r, ""
}
