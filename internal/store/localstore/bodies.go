package localstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/s2"
)

// bodies keeps the request and response bodies of each run's exchanges in one file
// per run (exchanges/<run-id>.s2), each body compressed on its own so that any one
// can be read back; the run log refers to them by offset. A million-row run writes
// hundreds of megabytes of JSON: in SQLite that costs more than the sync itself.
type bodies struct {
	dir  string
	mu   sync.Mutex
	open map[string]*bodyFile
	// scratch and buf are reused across appends (under mu).
	scratch, buf []byte
}

type bodyFile struct {
	f    *os.File
	size int64
}

func newBodies(stateDir string) *bodies {
	return &bodies{dir: filepath.Join(stateDir, "exchanges"), open: map[string]*bodyFile{}}
}

func (b *bodies) path(runID string) string { return filepath.Join(b.dir, runID+".s2") }

// append writes the blocks and returns the offset of the first and each one's length.
func (b *bodies) append(runID string, blocks ...[]byte) (int64, []int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bf, ok := b.open[runID]
	if !ok {
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return 0, nil, err
		}
		f, err := os.OpenFile(b.path(runID), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return 0, nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, nil, err
		}
		bf = &bodyFile{f: f, size: fi.Size()}
		b.open[runID] = bf
	}
	buf := b.buf[:0]
	lens := make([]int, len(blocks))
	for i, blk := range blocks {
		if len(blk) == 0 {
			continue
		}
		need := s2.MaxEncodedLen(len(blk))
		if cap(b.scratch) < need {
			b.scratch = make([]byte, need)
		}
		enc := s2.Encode(b.scratch[:need], blk)
		buf = append(buf, enc...)
		lens[i] = len(enc)
	}
	b.buf = buf
	off := bf.size
	if _, err := bf.f.Write(buf); err != nil {
		bf.f.Truncate(bf.size)
		return 0, nil, err
	}
	bf.size += int64(len(buf))
	return off, lens, nil
}

// read returns the decompressed block at off.
func (b *bodies) read(runID string, off int64, n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	f, err := os.Open(b.path(runID))
	if err != nil {
		return nil, fmt.Errorf("bodies of run %s: %w", runID, err)
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("bodies of run %s: %w", runID, err)
	}
	out, err := s2.Decode(nil, buf)
	if err != nil {
		return nil, fmt.Errorf("bodies of run %s are damaged: %w", runID, err)
	}
	return out, nil
}

// finish closes a run's file once the run is over.
func (b *bodies) finish(runID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bf, ok := b.open[runID]; ok {
		bf.f.Close()
		delete(b.open, runID)
	}
}

func (b *bodies) remove(runID string) {
	b.finish(runID)
	os.Remove(b.path(runID))
}

func (b *bodies) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, bf := range b.open {
		bf.f.Close()
		delete(b.open, id)
	}
}
