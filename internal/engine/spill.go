package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/sluicehq/sluice/internal/diff"
)

// The spill holds, between the scan and the send, every row the differ did not find
// unchanged: sending waits until the scan has seen every row, because a key that turns
// out to be duplicated must not have been sent. Each scan worker writes its own file.

// spillRecord is one spilled row.
type spillRecord struct {
	verdict diff.Verdict // Added or Changed, or Unchanged on a full resync
	send    bool         // the mode sends it; otherwise only the key is kept, to report duplicates
	key     diff.KeyHash
	row     uint64
	text    string // canonical key
	values  []byte // record.AppendValues of the mapped fields; empty when !send
}

type spillWriter struct {
	f   *os.File
	w   *bufio.Writer
	buf []byte
	n   int
}

func newSpillWriter(path string) (*spillWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return &spillWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (s *spillWriter) write(r *spillRecord) error {
	b := s.buf[:0]
	flags := byte(r.verdict)
	if r.send {
		flags |= 0x80
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint64(b, r.key.Hi)
	b = binary.LittleEndian.AppendUint64(b, r.key.Lo)
	b = binary.LittleEndian.AppendUint64(b, r.row)
	b = binary.AppendUvarint(b, uint64(len(r.text)))
	b = append(b, r.text...)
	b = binary.AppendUvarint(b, uint64(len(r.values)))
	b = append(b, r.values...)
	s.buf = b
	s.n++
	_, err := s.w.Write(b)
	return err
}

// finish flushes the writer; the file stays open for reading.
func (s *spillWriter) finish() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	_, err := s.f.Seek(0, io.SeekStart)
	return err
}

func (s *spillWriter) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// spillReader reads back one spill file. Records it returns are valid until the next call.
type spillReader struct {
	r      *bufio.Reader
	values []byte
	text   []byte
}

func newSpillReader(f *os.File) *spillReader {
	return &spillReader{r: bufio.NewReaderSize(f, 1<<20)}
}

var errSpillCorrupt = errors.New("spill file is corrupt")

func (s *spillReader) next(rec *spillRecord) error {
	flags, err := s.r.ReadByte()
	if err != nil {
		return err // io.EOF at the end
	}
	rec.verdict = diff.Verdict(flags & 0x7f)
	rec.send = flags&0x80 != 0
	var fixed [24]byte
	if _, err := io.ReadFull(s.r, fixed[:]); err != nil {
		return fmt.Errorf("%w: %v", errSpillCorrupt, err)
	}
	rec.key = diff.KeyHash{Hi: binary.LittleEndian.Uint64(fixed[:]), Lo: binary.LittleEndian.Uint64(fixed[8:])}
	rec.row = binary.LittleEndian.Uint64(fixed[16:])
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return fmt.Errorf("%w: %v", errSpillCorrupt, err)
	}
	s.text = grow(s.text, int(n))
	if _, err := io.ReadFull(s.r, s.text); err != nil {
		return fmt.Errorf("%w: %v", errSpillCorrupt, err)
	}
	rec.text = unsafe.String(unsafe.SliceData(s.text), len(s.text))
	if n, err = binary.ReadUvarint(s.r); err != nil {
		return fmt.Errorf("%w: %v", errSpillCorrupt, err)
	}
	s.values = grow(s.values, int(n))
	if _, err := io.ReadFull(s.r, s.values); err != nil {
		return fmt.Errorf("%w: %v", errSpillCorrupt, err)
	}
	rec.values = s.values
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
