package localstore

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/internal/diff"
)

// A baseline directory holds:
//
//	MANIFEST            JSON: the current index, the logs, the field-name schemas
//	data-NNNNNN.log     append-only frames, one per acknowledged write (put or remove)
//	index-NNNNNN.keys   the sorted (key hash, row hash) entries of every live key
//	index-NNNNNN.locs   where each entry's put frame lives (log number and offset)
//
// Acknowledged writes are appended to the newest log. The index covers the logs up
// to a recorded position; frames after it (the tail) are replayed when the baseline is
// opened, and folded into a new index once the tail grows. Records are never moved by
// that fold, so its cost is the index alone (32 bytes per key); logs that are mostly
// dead records are rewritten when dead bytes outnumber live ones.

const (
	manifestName   = "MANIFEST"
	lockName       = "LOCK"
	manifestFormat = 1

	frameHeader = 8 // u32 payload length, u32 CRC-32C of the payload

	framePut    byte = 1
	frameRemove byte = 2

	keysMagic = "SLKEYS01"
	locsMagic = "SLLOCS01"

	maxLogBytes = 512 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type manifest struct {
	Format int `json:"format"`
	// Index names the current index files (without extension); empty before the first fold.
	Index      string `json:"index,omitempty"`
	IndexCount int    `json:"index_count"`
	// The index covers every frame before (IndexedLog, IndexedOffset).
	IndexedLog    int   `json:"indexed_log"`
	IndexedOffset int64 `json:"indexed_offset"`
	// Logs lists the data logs, oldest first; the last is the one appended to.
	Logs []logInfo `json:"logs"`
	// Schemas are the field-name lists that put frames refer to by position.
	Schemas  [][]string `json:"schemas"`
	NextFile int        `json:"next_file"`
}

type logInfo struct {
	Num int `json:"num"`
	// Puts counts put frames in the log up to IndexedOffset (for the newest log) or in
	// all of it; with the index it tells how much of the log is dead.
	Puts  int64 `json:"puts"`
	Bytes int64 `json:"bytes"`
}

func logName(num int) string   { return fmt.Sprintf("data-%06d.log", num) }
func indexName(num int) string { return fmt.Sprintf("index-%06d", num) }

func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return &manifest{Format: manifestFormat, NextFile: 1}, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%s has format %d; this version of sluice reads format %d", filepath.Join(dir, manifestName), m.Format, manifestFormat)
	}
	return &m, nil
}

// writeFileAtomic writes a file through a temporary name, fsyncs it and renames it
// into place, then fsyncs the directory: readers see the old or the new file whole.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (m *manifest) save(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, manifestName, b)
}

func (m *manifest) activeLog() int {
	if len(m.Logs) == 0 {
		return 0
	}
	return m.Logs[len(m.Logs)-1].Num
}

// loc packs a frame's position: log number in the high 24 bits, offset in the low 40.
type loc uint64

func makeLoc(log int, off int64) loc { return loc(uint64(log)<<40 | uint64(off)) }
func (l loc) log() int               { return int(l >> 40) }
func (l loc) offset() int64          { return int64(l & (1<<40 - 1)) }

// writeIndex writes entries and their locations as index files named name.
func writeIndex(dir, name string, entries []diff.Entry, locs []loc) error {
	write := func(file, magic string, n int, put func(w *bufio.Writer, buf []byte, i int)) error {
		tmp := filepath.Join(dir, file+".tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		crc := crc32.New(castagnoli)
		w := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
		var hdr [16]byte
		copy(hdr[:8], magic)
		binary.LittleEndian.PutUint64(hdr[8:], uint64(n))
		w.Write(hdr[:])
		var buf [24]byte
		for i := range n {
			put(w, buf[:], i)
		}
		err = w.Flush()
		if err == nil {
			_, err = f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, filepath.Join(dir, file))
		}
		if err != nil {
			os.Remove(tmp)
		}
		return err
	}
	err := write(name+".keys", keysMagic, len(entries), func(w *bufio.Writer, buf []byte, i int) {
		e := entries[i]
		binary.LittleEndian.PutUint64(buf[0:], e.Key.Hi)
		binary.LittleEndian.PutUint64(buf[8:], e.Key.Lo)
		binary.LittleEndian.PutUint64(buf[16:], e.Row)
		w.Write(buf[:24])
	})
	if err != nil {
		return err
	}
	err = write(name+".locs", locsMagic, len(locs), func(w *bufio.Writer, buf []byte, i int) {
		binary.LittleEndian.PutUint64(buf, uint64(locs[i]))
		w.Write(buf[:8])
	})
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// readIndexFile reads an index file of fixed-size records, checking its magic, count and CRC.
func readIndexFile(path, magic string, want, size int, each func(i int, rec []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:8]) != magic {
		return fmt.Errorf("%s is not a baseline index file", path)
	}
	crc := crc32.Update(0, castagnoli, hdr[:])
	n := int(binary.LittleEndian.Uint64(hdr[8:]))
	if n != want {
		return fmt.Errorf("%s holds %d entries, the manifest says %d", path, n, want)
	}
	const perChunk = 8192
	chunk := make([]byte, perChunk*size)
	for i := 0; i < n; {
		m := min(perChunk, n-i)
		buf := chunk[:m*size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("%s is truncated at entry %d", path, i)
		}
		crc = crc32.Update(crc, castagnoli, buf)
		for j := range m {
			each(i+j, buf[j*size:(j+1)*size])
		}
		i += m
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil || binary.LittleEndian.Uint32(tail[:]) != crc {
		return fmt.Errorf("%s fails its checksum: the baseline index is damaged", path)
	}
	return nil
}

// parseFrame checks the frame at b and returns its payload and total length.
func parseFrame(b []byte) (payload []byte, n int, ok bool) {
	if len(b) < frameHeader {
		return nil, 0, false
	}
	size := int(binary.LittleEndian.Uint32(b))
	if size == 0 || len(b) < frameHeader+size {
		return nil, 0, false
	}
	payload = b[frameHeader : frameHeader+size]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, false
	}
	return payload, frameHeader + size, true
}

// putFrameHeader fills the header of a frame whose payload follows it in b.
func putFrameHeader(b []byte) {
	payload := b[frameHeader:]
	binary.LittleEndian.PutUint32(b, uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(payload, castagnoli))
}

// putFrame is a decoded put payload.
type putFrame struct {
	key    diff.KeyHash
	row    uint64
	schema int
	text   string
	values []byte
}

func appendPutPayload(b []byte, k diff.KeyHash, row uint64, schema int, key string, values []byte) []byte {
	b = append(b, framePut)
	kb := k.Bytes()
	b = append(b, kb[:]...)
	b = binary.LittleEndian.AppendUint64(b, row)
	b = binary.AppendUvarint(b, uint64(schema))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, values...)
}

func appendRemovePayload(b []byte, k diff.KeyHash) []byte {
	b = append(b, frameRemove)
	kb := k.Bytes()
	return append(b, kb[:]...)
}

var errBadPayload = errors.New("bad frame payload")

func decodePayload(p []byte) (op byte, put putFrame, err error) {
	if len(p) < 17 {
		return 0, put, errBadPayload
	}
	op = p[0]
	put.key = diff.KeyHashFromBytes(p[1:17])
	switch op {
	case frameRemove:
		if len(p) != 17 {
			return 0, put, errBadPayload
		}
		return op, put, nil
	case framePut:
		p = p[17:]
		if len(p) < 8 {
			return 0, put, errBadPayload
		}
		put.row = binary.LittleEndian.Uint64(p)
		p = p[8:]
		s, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, put, errBadPayload
		}
		p = p[k:]
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return 0, put, errBadPayload
		}
		put.schema = int(s)
		put.text = string(p[k : k+int(n)])
		put.values = p[k+int(n):]
		return op, put, nil
	}
	return 0, put, errBadPayload
}
