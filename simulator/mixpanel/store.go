package mixpanel

import (
	"encoding/json"
	"hash/maphash"
	"sync"
	"time"
)

// Event is one event in the simulator's final state: what Mixpanel's queries
// would show after deduplication.
type Event struct {
	Name       string
	DistinctID string
	InsertID   string
	Time       time.Time // as stored: milliseconds, UTC
	// Properties is the properties object as stored (long strings truncated),
	// decoded with encoding/json (numbers are float64).
	Properties map[string]any
	// Raw is the properties object as stored, for golden files.
	Raw json.RawMessage
}

// pending is an event of a request on its way into the store. props holds the
// properties as stored; distinctID and insertID are usually substrings of it (at
// dOff and iOff), unless owned.
type pending struct {
	name, distinctID, insertID, props string
	timeMs                            int64
	dOff, iOff                        int
	owned                             bool
}

func (p *pending) key() dedupKey {
	return dedupKey{p.name, p.distinctID, p.insertID, p.timeMs}
}

func (p *pending) event() Event {
	return newEvent(p.name, p.distinctID, p.insertID, p.props, p.timeMs)
}

func newEvent(name, distinctID, insertID, props string, timeMs int64) Event {
	e := Event{
		Name:       name,
		DistinctID: distinctID,
		InsertID:   insertID,
		Time:       time.UnixMilli(timeMs).UTC(),
		Raw:        json.RawMessage(props),
	}
	_ = json.Unmarshal([]byte(props), &e.Properties)
	return e
}

// record is how an event is kept: 40 bytes besides its properties, which are
// part of one string holding a whole request's. The name is an index in the
// store's table; distinct_id and $insert_id are found inside the properties (or,
// when they were escaped or truncated, in the store's owned map).
type record struct {
	props  string
	timeMs int64
	name   uint32
	dOff   uint32
	iOff   uint32
	dLen   uint16
	iLen   uint8
	owned  bool
}

// ownedIDs are the IDs of a record that cannot point into its properties.
type ownedIDs struct {
	distinctID, insertID string
}

// dedupKey is what Mixpanel deduplicates on.
type dedupKey struct {
	name, distinctID, insertID string
	timeMs                     int64
}

const chunkBits = 16

// eventStore keeps the deduplicated events in first-seen order. The index maps a
// 64-bit hash of the dedup key to the record; the rare hash collision between
// different keys goes to overflow, keyed by the full key.
type eventStore struct {
	seed maphash.Seed

	mu       sync.Mutex
	chunks   [][]record
	n        int
	index    map[uint64]int32
	overflow map[dedupKey]int32
	names    []string
	nameIdx  map[string]uint32
	owned    map[int32]ownedIDs
}

func newEventStore() *eventStore {
	st := &eventStore{seed: maphash.MakeSeed()}
	st.clear()
	return st
}

func (st *eventStore) clear() {
	st.chunks, st.n, st.names = nil, 0, nil
	st.index, st.overflow = map[uint64]int32{}, map[dedupKey]int32{}
	st.nameIdx, st.owned = map[string]uint32{}, map[int32]ownedIDs{}
}

func (st *eventStore) hash(p *pending) uint64 {
	return maphash.Comparable(st.seed, p.key())
}

func (st *eventStore) at(i int32) *record {
	return &st.chunks[i>>chunkBits][i&(1<<chunkBits-1)]
}

// ids returns a stored record's distinct_id and $insert_id.
func (st *eventStore) ids(i int32, r *record) (distinctID, insertID string) {
	if r.owned {
		o := st.owned[i]
		return o.distinctID, o.insertID
	}
	return r.props[r.dOff : r.dOff+uint32(r.dLen)], r.props[r.iOff : r.iOff+uint32(r.iLen)]
}

func (st *eventStore) key(i int32) dedupKey {
	r := st.at(i)
	d, id := st.ids(i, r)
	return dedupKey{st.names[r.name], d, id, r.timeMs}
}

// put stores p at i (a new index when i is n).
func (st *eventStore) put(i int32, p *pending) {
	n, ok := st.nameIdx[p.name]
	if !ok {
		n = uint32(len(st.names))
		st.names = append(st.names, p.name)
		st.nameIdx[p.name] = n
	}
	r := record{props: p.props, timeMs: p.timeMs, name: n}
	if p.owned || len(p.distinctID) > 1<<16-1 || len(p.insertID) > 1<<8-1 {
		r.owned = true
		st.owned[i] = ownedIDs{p.distinctID, p.insertID}
	} else {
		r.dOff, r.dLen, r.iOff, r.iLen = uint32(p.dOff), uint16(len(p.distinctID)), uint32(p.iOff), uint8(len(p.insertID))
		delete(st.owned, i)
	}
	if int(i) < st.n {
		*st.at(i) = r
		return
	}
	if st.n>>chunkBits == len(st.chunks) {
		st.chunks = append(st.chunks, make([]record, 0, 1<<chunkBits))
	}
	c := &st.chunks[len(st.chunks)-1]
	*c = append(*c, r)
	st.n++
}

// add stores a batch; hashes[i] is st.hash(&ps[i]). A duplicate replaces the
// stored event in place: Mixpanel shows the most recently ingested version.
func (st *eventStore) add(ps []pending, hashes []uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range ps {
		p := &ps[i]
		j, ok := st.index[hashes[i]]
		switch {
		case !ok:
			j = int32(st.n)
			st.index[hashes[i]] = j
		case st.key(j) == p.key():
		default:
			if j, ok = st.overflow[p.key()]; !ok {
				j = int32(st.n)
				st.overflow[p.key()] = j
			}
		}
		st.put(j, p)
	}
}

func (st *eventStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.n
}

// pendings returns the stored events, in first-seen order, in their long form
// (the strings share the stored ones).
func (st *eventStore) pendings() []pending {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]pending, 0, st.n)
	for i := int32(0); i < int32(st.n); i++ {
		r := st.at(i)
		d, id := st.ids(i, r)
		out = append(out, pending{name: st.names[r.name], distinctID: d, insertID: id, props: r.props, timeMs: r.timeMs})
	}
	return out
}

func (st *eventStore) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clear()
}

// names interns event names: a few names repeat across millions of events.
type names struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxInterned = 10_000

func (n *names) intern(b []byte) string {
	n.mu.RLock()
	s, ok := n.m[string(b)]
	n.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	n.mu.Lock()
	if n.m == nil {
		n.m = map[string]string{}
	}
	if len(n.m) < maxInterned {
		n.m[s] = s
	}
	n.mu.Unlock()
	return s
}
