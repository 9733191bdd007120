package localstore

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/sluicehq/sluice/internal/diff"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// baseline is a sync's baseline in files (see baseline_files.go for the layout).
type baseline struct {
	// mu serialises Lookup, Apply and Close: a run looks up previous fields from
	// several goroutines while acknowledged rows are applied.
	mu sync.Mutex

	dir      string
	readOnly bool
	lock     *os.File

	m     *manifest
	index *diff.Index
	locs  []loc // parallel to index entries; loaded on first use unless a tail forced it

	readers  map[int]*os.File
	tailPuts map[int]int64 // put frames after the index, by log
	locsFile *os.File      // the index's locations, read one at a time until lookups are many
	lookups  int

	active     *os.File
	activeSize int64
	buf        []byte
	schemaIDs  map[string]int
	lastNames  []string
	lastSchema int
}

var _ store.Baseline = (*baseline)(nil)

// foldTail is how many tail frames make opening fold them into a new index: an
// eighth of the index, and at least enough to make the work worth it.
func foldTail(indexed int) int { return max(indexed/8, 50_000) }

func openBaseline(dir string, readOnly bool) (*baseline, error) {
	b := &baseline{dir: dir, readOnly: readOnly, readers: map[int]*os.File{}, schemaIDs: map[string]int{}, tailPuts: map[int]int64{}}
	if readOnly {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			b.m = &manifest{Format: manifestFormat, NextFile: 1}
			b.index = diff.NewIndex(nil)
			return b, nil
		}
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := b.takeLock(); err != nil {
			return nil, err
		}
	}
	if err := b.load(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *baseline) takeLock() error {
	f, err := os.OpenFile(filepath.Join(b.dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w (held by %s)", store.ErrLocked, strings.TrimSpace(string(holder)))
		}
		return err
	}
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("pid %d\n", os.Getpid())), 0)
	b.lock = f
	return nil
}

type tailEntry struct {
	entry  diff.Entry
	loc    loc
	remove bool
}

func (b *baseline) load() error {
	m, err := readManifest(b.dir)
	if err != nil {
		return err
	}
	b.m = m
	for i, s := range m.Schemas {
		b.schemaIDs[schemaKey(s)] = i
	}
	// The tail is replayed first so that the index can be read into arrays with
	// room to merge it in place: a ten-million-key baseline is not held twice.
	tail, err := b.replayTail()
	if err != nil {
		return err
	}
	entries := make([]diff.Entry, m.IndexCount, m.IndexCount+len(tail))
	if m.Index != "" {
		err := readIndexFile(filepath.Join(b.dir, m.Index+".keys"), keysMagic, m.IndexCount, 24, func(i int, rec []byte) {
			entries[i] = diff.Entry{
				Key: diff.KeyHash{Hi: binary.LittleEndian.Uint64(rec), Lo: binary.LittleEndian.Uint64(rec[8:])},
				Row: binary.LittleEndian.Uint64(rec[16:]),
			}
		})
		if err != nil {
			return err
		}
	}
	if len(tail) == 0 {
		b.index = diff.NewIndex(entries)
	} else {
		if err := b.loadLocs(len(tail)); err != nil {
			return err
		}
		merged, locs := mergeTail(entries, b.locs, tail)
		b.index, b.locs = diff.NewIndex(merged), locs
	}
	if b.readOnly {
		return nil
	}
	if err := b.openActive(); err != nil {
		return err
	}
	if len(tail) >= foldTail(m.IndexCount) {
		return b.fold()
	}
	return nil
}

// replayTail reads every frame after the indexed position. A torn frame at the end of
// the newest log (a write cut short by a crash or a full disk) is cut off in write mode.
func (b *baseline) replayTail() ([]tailEntry, error) {
	var tail []tailEntry
	for li := range b.m.Logs {
		info := &b.m.Logs[li]
		if info.Num < b.m.IndexedLog {
			continue
		}
		start := int64(0)
		if info.Num == b.m.IndexedLog {
			start = b.m.IndexedOffset
		}
		path := filepath.Join(b.dir, logName(info.Num))
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && li == len(b.m.Logs)-1 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err == nil && tail == nil {
			tail = make([]tailEntry, 0, (fi.Size()-start)/48+16) // frames are rarely smaller
		}
		end, puts, err := scanFrames(f, start, func(off int64, payload []byte) error {
			op, put, err := decodePayload(payload)
			if err != nil {
				return fmt.Errorf("%s at offset %d: %w", path, off, err)
			}
			tail = append(tail, tailEntry{
				entry:  diff.Entry{Key: put.key, Row: put.row},
				loc:    makeLoc(info.Num, off),
				remove: op == frameRemove,
			})
			return nil
		})
		f.Close()
		if err != nil {
			return nil, err
		}
		// Counted apart from the manifest's figures, which cover what an index
		// covers; the manifest may be saved again before the next fold.
		b.tailPuts[info.Num] += puts
		fi, statErr := os.Stat(path)
		if statErr != nil {
			return nil, statErr
		}
		if end < fi.Size() {
			if li != len(b.m.Logs)-1 {
				return nil, fmt.Errorf("%s is damaged at offset %d: the baseline cannot be trusted; delete the sync's baseline directory and run with --full-resync", path, end)
			}
			if !b.readOnly {
				if err := os.Truncate(path, end); err != nil {
					return nil, err
				}
			}
		}
		info.Bytes = end
	}
	return tail, nil
}

// scanFrames calls fn for each valid frame from start and returns where valid frames
// end and how many were puts.
func scanFrames(f *os.File, start int64, fn func(off int64, payload []byte) error) (int64, int64, error) {
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return start, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	off := start
	var puts int64
	var hdr [frameHeader]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return off, puts, nil
		}
		size := int(binary.LittleEndian.Uint32(hdr[:]))
		if size == 0 || size > maxLogBytes {
			return off, puts, nil
		}
		payload = slices.Grow(payload[:0], size)[:size]
		if _, err := io.ReadFull(r, payload); err != nil {
			return off, puts, nil
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			return off, puts, nil
		}
		if err := fn(off, payload); err != nil {
			return off, puts, err
		}
		if payload[0] == framePut {
			puts++
		}
		off += int64(frameHeader + size)
	}
}

// sortTail orders frames by key, and frames of one key by position: a later frame
// sits at a higher position (log numbers are the high bits), so the last one of each
// key sorts last. Key hashes are uniform, so splitting by their top bits gives every
// CPU an even share to sort.
func sortTail(tail []tailEntry) {
	byKey := func(a, b tailEntry) int {
		if c := a.entry.Key.Compare(b.entry.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.loc, b.loc)
	}
	parts := 1
	for parts < runtime.GOMAXPROCS(0) && parts < 64 {
		parts *= 2
	}
	if parts == 1 || len(tail) < 1<<16 {
		slices.SortFunc(tail, byKey)
		return
	}
	// Partition in place by the top bits, one boundary at a time.
	bounds := []int{0, len(tail)}
	for level := 1; level < parts; level *= 2 {
		var next []int
		for i := 0; i+1 < len(bounds); i++ {
			lo, hi := bounds[i], bounds[i+1]
			// within [lo, hi) the top bits above this level agree; split on the next bit
			bit := uint(63 - bits.TrailingZeros(uint(level)))
			j := lo
			for k := lo; k < hi; k++ {
				if tail[k].entry.Key.Hi>>bit&1 == 0 {
					tail[j], tail[k] = tail[k], tail[j]
					j++
				}
			}
			next = append(next, lo, j)
		}
		bounds = append(next, len(tail))
	}
	var wg sync.WaitGroup
	for i := 0; i+1 < len(bounds); i++ {
		wg.Add(1)
		go func(part []tailEntry) {
			defer wg.Done()
			slices.SortFunc(part, byKey)
		}(tail[bounds[i]:bounds[i+1]])
	}
	wg.Wait()
}

// mergeTail applies tail frames (in write order) to sorted entries and their locations.
func mergeTail(entries []diff.Entry, locs []loc, tail []tailEntry) ([]diff.Entry, []loc) {
	sortTail(tail)
	// keep the last frame of each key
	w := 0
	for i := range tail {
		if i+1 < len(tail) && tail[i+1].entry.Key == tail[i].entry.Key {
			continue
		}
		tail[w] = tail[i]
		w++
	}
	tail = tail[:w]
	// Merge from the back into the room after the entries (the caller made it),
	// which never overwrites an entry not yet read, then close the gap that
	// replaced and removed keys leave.
	n := len(entries)
	entries = slices.Grow(entries, len(tail))[:n+len(tail)]
	locs = slices.Grow(locs, len(tail))[:n+len(tail)]
	i, j, at := n-1, len(tail)-1, n+len(tail)-1
	for j >= 0 {
		c := -1
		if i >= 0 {
			c = entries[i].Key.Compare(tail[j].entry.Key)
		}
		if c > 0 {
			entries[at], locs[at] = entries[i], locs[i]
			i, at = i-1, at-1
			continue
		}
		if c == 0 {
			i-- // replaced or removed by the tail
		}
		if !tail[j].remove {
			entries[at], locs[at] = tail[j].entry, tail[j].loc
			at--
		}
		j--
	}
	// entries[:i+1] are in place; the merged rest starts at at+1.
	kept := copy(entries[i+1:], entries[at+1:])
	copy(locs[i+1:], locs[at+1:])
	return entries[:i+1+kept], locs[:i+1+kept]
}

// loadLocs reads every location of the index into memory, with room for extra more.
func (b *baseline) loadLocs(extra int) error {
	if b.locs != nil || b.m.Index == "" {
		if b.locs == nil {
			b.locs = make([]loc, 0, extra)
		}
		return nil
	}
	locs := make([]loc, b.m.IndexCount, b.m.IndexCount+extra)
	err := readIndexFile(filepath.Join(b.dir, b.m.Index+".locs"), locsMagic, b.m.IndexCount, 8, func(i int, rec []byte) {
		locs[i] = loc(binary.LittleEndian.Uint64(rec))
	})
	if err != nil {
		return err
	}
	b.locs = locs
	return nil
}

// locAt is the location of entry pos, from memory or read from the index file.
func (b *baseline) locAt(pos int) (loc, error) {
	if b.locs != nil {
		return b.locs[pos], nil
	}
	if b.locsFile == nil {
		f, err := os.Open(filepath.Join(b.dir, b.m.Index+".locs"))
		if err != nil {
			return 0, err
		}
		b.locsFile = f
	}
	var buf [8]byte
	if _, err := b.locsFile.ReadAt(buf[:], 16+8*int64(pos)); err != nil {
		return 0, fmt.Errorf("baseline index %s: %w", b.locsFile.Name(), err)
	}
	return loc(binary.LittleEndian.Uint64(buf[:])), nil
}

func (b *baseline) openActive() error {
	if len(b.m.Logs) == 0 {
		return b.newLog()
	}
	info := b.m.Logs[len(b.m.Logs)-1]
	f, err := os.OpenFile(filepath.Join(b.dir, logName(info.Num)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	b.active, b.activeSize = f, info.Bytes
	return nil
}

// newLog starts a new data log and records it in the manifest.
func (b *baseline) newLog() error {
	num := b.m.NextFile
	f, err := os.OpenFile(filepath.Join(b.dir, logName(num)), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// The old log stops being the last one, where a torn end is cut off on open:
	// it must be whole on disk before the manifest says another follows it.
	if b.active != nil {
		if err := b.active.Sync(); err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
	}
	next := *b.m
	next.NextFile = num + 1
	next.Logs = append(slices.Clone(b.m.Logs), logInfo{Num: num})
	if len(b.m.Logs) == 0 {
		next.IndexedLog, next.IndexedOffset = num, 0
	}
	if n := len(next.Logs); n >= 2 {
		next.Logs[n-2].Bytes = b.activeSize
	}
	if err := next.save(b.dir); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if b.active != nil {
		b.active.Close()
	}
	*b.m = next
	b.active, b.activeSize = f, 0
	return nil
}

// fold writes the current merged view as a new index, and rewrites the logs first
// when most of their bytes are dead.
func (b *baseline) fold() error {
	if err := b.loadLocs(0); err != nil {
		return err
	}
	var puts, bytes int64
	logs := slices.Clone(b.m.Logs)
	for i := range logs {
		logs[i].Puts += b.tailPuts[logs[i].Num]
		puts += logs[i].Puts
		bytes += logs[i].Bytes
	}
	live := int64(b.index.Len())
	var err error
	if puts-live > live && bytes > rewriteMinBytes {
		err = b.rewriteLogs()
	} else {
		err = b.writeIndex(logs, b.m.activeLog(), b.activeSize)
	}
	if err == nil {
		clear(b.tailPuts) // the new index and manifest count them
	}
	return err
}

func (b *baseline) writeIndex(logs []logInfo, indexedLog int, indexedOffset int64) error {
	// The index will point into the logs: they must be on disk before it is.
	if b.active != nil {
		if err := b.active.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", b.active.Name(), err)
		}
	}
	num := b.m.NextFile
	name := indexName(num)
	if err := writeIndex(b.dir, name, b.index.Entries(), b.locs); err != nil {
		return err
	}
	next := *b.m
	next.NextFile = num + 1
	next.Index, next.IndexCount = name, b.index.Len()
	next.IndexedLog, next.IndexedOffset = indexedLog, indexedOffset
	next.Logs = logs
	if err := next.save(b.dir); err != nil {
		os.Remove(filepath.Join(b.dir, name+".keys"))
		os.Remove(filepath.Join(b.dir, name+".locs"))
		return err
	}
	if old := b.m.Index; old != "" {
		os.Remove(filepath.Join(b.dir, old+".keys"))
		os.Remove(filepath.Join(b.dir, old+".locs"))
	}
	*b.m = next
	return nil
}

// rewriteLogs copies every live record into a fresh log, in index order, and drops the old logs.
func (b *baseline) rewriteLogs() error {
	num := b.m.NextFile
	path := filepath.Join(b.dir, logName(num))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	newLocs := make([]loc, len(b.locs))
	var off int64
	for i, l := range b.locs {
		frame, err := b.readFrame(l)
		if err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		newLocs[i] = makeLoc(num, off)
		if _, err := w.Write(frame); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		off += int64(len(frame))
	}
	err = w.Flush()
	if err == nil {
		err = syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	oldLogs := b.m.Logs
	b.m.NextFile = num + 1
	oldLocs := b.locs
	b.locs = newLocs
	logs := []logInfo{{Num: num, Puts: int64(len(newLocs)), Bytes: off}}
	if err := b.writeIndex(logs, num, off); err != nil {
		b.locs = oldLocs
		os.Remove(path)
		return err
	}
	b.closeReaders()
	if b.active != nil {
		b.active.Close()
	}
	for _, l := range oldLogs {
		os.Remove(filepath.Join(b.dir, logName(l.Num)))
	}
	b.active, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	b.activeSize = off
	return err
}

func (b *baseline) closeReaders() {
	for n, f := range b.readers {
		f.Close()
		delete(b.readers, n)
	}
}

// readFrame returns the whole frame at l.
func (b *baseline) readFrame(l loc) ([]byte, error) {
	f, ok := b.readers[l.log()]
	if !ok {
		var err error
		f, err = os.Open(filepath.Join(b.dir, logName(l.log())))
		if err != nil {
			return nil, err
		}
		b.readers[l.log()] = f
	}
	buf := make([]byte, 256)
	n, err := f.ReadAt(buf, l.offset())
	if n < frameHeader {
		return nil, fmt.Errorf("baseline log %s: short read at %d: %v", logName(l.log()), l.offset(), err)
	}
	size := frameHeader + int(binary.LittleEndian.Uint32(buf))
	if size > n {
		buf = make([]byte, size)
		if _, err := f.ReadAt(buf, l.offset()); err != nil {
			return nil, fmt.Errorf("baseline log %s: read at %d: %w", logName(l.log()), l.offset(), err)
		}
	}
	if _, _, ok := parseFrame(buf[:size]); !ok {
		return nil, fmt.Errorf("baseline log %s is damaged at offset %d", logName(l.log()), l.offset())
	}
	return buf[:size], nil
}

func (b *baseline) Index(ctx context.Context) (*diff.Index, error) { return b.index, nil }

func (b *baseline) Lookup(ctx context.Context, keys []diff.KeyHash) ([]store.Synced, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A run that looks up a few keys (a plan's samples, a small change set) reads
	// their locations one by one; past that, all of them at once (8 bytes a key).
	b.lookups += len(keys)
	if b.locs == nil && b.lookups > 50_000 {
		if err := b.loadLocs(0); err != nil {
			return nil, err
		}
	}
	out := make([]store.Synced, len(keys))
	for i, k := range keys {
		pos, ok := b.index.Find(k)
		if !ok {
			continue
		}
		l, err := b.locAt(pos)
		if err != nil {
			return nil, err
		}
		frame, err := b.readFrame(l)
		if err != nil {
			return nil, err
		}
		_, put, err := decodePayload(frame[frameHeader:])
		if err != nil || put.key != k || put.schema >= len(b.m.Schemas) {
			return nil, fmt.Errorf("baseline %s: record for a key is damaged", b.dir)
		}
		names := b.m.Schemas[put.schema]
		if !record.ValidEncoding(put.values, len(names)) {
			return nil, fmt.Errorf("baseline %s: the fields of key %q are damaged", b.dir, put.text)
		}
		out[i] = store.Synced{Found: true, Key: put.text, Fields: record.EncodedFields(names, put.values)}
	}
	return out, nil
}

func schemaKey(names []string) string { return strings.Join(names, "\x00") }

func (b *baseline) schemaID(names []string) (int, error) {
	if len(names) == len(b.lastNames) && (len(names) == 0 || unsafe.SliceData(names) == unsafe.SliceData(b.lastNames)) {
		return b.lastSchema, nil
	}
	key := schemaKey(names)
	id, ok := b.schemaIDs[key]
	if !ok {
		next := *b.m
		next.Schemas = append(slices.Clone(b.m.Schemas), slices.Clone(names))
		if err := next.save(b.dir); err != nil {
			return 0, err
		}
		*b.m = next
		id = len(next.Schemas) - 1
		b.schemaIDs[key] = id
	}
	b.lastNames, b.lastSchema = names, id
	return id, nil
}

func (b *baseline) Apply(ctx context.Context, muts []store.Mutation) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.readOnly {
		return errors.New("baseline opened read-only")
	}
	if b.activeSize > maxLogBytes {
		if err := b.newLog(); err != nil {
			return err
		}
	}
	buf := b.buf[:0]
	for _, m := range muts {
		// Each frame's payload is written in place after room for its header.
		at := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // frameHeader bytes
		if m.Remove {
			buf = appendRemovePayload(buf, m.Key)
		} else {
			id, err := b.schemaID(m.Names)
			if err != nil {
				return err
			}
			buf = appendPutPayload(buf, m.Key, m.Row, id, m.KeyText, m.Values)
		}
		putFrameHeader(buf[at:])
	}
	b.buf = buf
	if _, err := b.active.Write(buf); err != nil {
		// Cut off whatever part of the write landed, so the log ends on a whole frame.
		b.active.Truncate(b.activeSize)
		return fmt.Errorf("baseline: append to %s: %w", b.active.Name(), err)
	}
	// No fsync here: a write survives the process being killed, and after a power
	// failure a torn or lost tail only means its rows are sent again. The log is
	// synced before an index is written over it (fold), when losing it would matter.
	b.activeSize += int64(len(buf))
	return nil
}

func (b *baseline) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var err error
	if b.active != nil {
		err = b.active.Close()
		b.active = nil
	}
	b.closeReaders()
	if b.locsFile != nil {
		b.locsFile.Close()
		b.locsFile = nil
	}
	if b.lock != nil {
		syscall.Flock(int(b.lock.Fd()), syscall.LOCK_UN)
		b.lock.Close()
		b.lock = nil
	}
	return err
}

// syncFile is (*os.File).Sync; tests replace it to make a rewrite fail part way.
var syncFile = (*os.File).Sync

// rewriteMinBytes keeps small baselines from being rewritten for little gain.
var rewriteMinBytes int64 = 64 << 20
