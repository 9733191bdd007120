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

// spillReader reads back one spill file through a large window, parsing records
// in place. Records it returns are valid until the next call.
type spillReader struct {
	f   io.Reader
	buf []byte
	pos int
	eof bool
}

func newSpillReader(f *os.File) *spillReader {
	return &spillReader{f: f, buf: make([]byte, 0, 4<<20)}
}

var errSpillCorrupt = errors.New("spill file is corrupt")

// fill makes at least n bytes available at pos, unless the file ends first.
func (s *spillReader) fill(n int) error {
	if len(s.buf)-s.pos >= n || s.eof {
		return nil
	}
	rest := copy(s.buf[:cap(s.buf)], s.buf[s.pos:])
	s.buf, s.pos = s.buf[:rest], 0
	if n > cap(s.buf) {
		s.buf = append(make([]byte, 0, n+cap(s.buf)), s.buf...)
	}
	for len(s.buf) < n && !s.eof {
		m, err := s.f.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+m]
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

const spillHeader = 1 + 24 + binary.MaxVarintLen64

func (s *spillReader) next(rec *spillRecord) error {
	if err := s.fill(spillHeader); err != nil {
		return err
	}
	if s.pos == len(s.buf) {
		return io.EOF
	}
	b := s.buf[s.pos:]
	if len(b) < 1+24+1 {
		return fmt.Errorf("%w: truncated record", errSpillCorrupt)
	}
	flags := b[0]
	rec.verdict = diff.Verdict(flags & 0x7f)
	rec.send = flags&0x80 != 0
	rec.key = diff.KeyHash{Hi: binary.LittleEndian.Uint64(b[1:]), Lo: binary.LittleEndian.Uint64(b[9:])}
	rec.row = binary.LittleEndian.Uint64(b[17:])
	textLen, k := binary.Uvarint(b[25:])
	if k <= 0 {
		return fmt.Errorf("%w: bad key length", errSpillCorrupt)
	}
	textAt := 25 + k
	// The key and the values' length prefix, then the values. Filling may move the
	// window, so positions are kept relative to the record's start.
	if err := s.fill(textAt + int(textLen) + binary.MaxVarintLen64); err != nil {
		return err
	}
	b = s.buf[s.pos:]
	at := textAt + int(textLen)
	if len(b) < at+1 {
		return fmt.Errorf("%w: truncated key", errSpillCorrupt)
	}
	valLen, k := binary.Uvarint(b[at:])
	if k <= 0 {
		return fmt.Errorf("%w: bad values length", errSpillCorrupt)
	}
	at += k
	if err := s.fill(at + int(valLen)); err != nil {
		return err
	}
	b = s.buf[s.pos:]
	if len(b) < at+int(valLen) {
		return fmt.Errorf("%w: truncated values", errSpillCorrupt)
	}
	rec.text = ""
	if textLen > 0 {
		rec.text = unsafe.String(&b[textAt], int(textLen))
	}
	rec.values = b[at : at+int(valLen) : at+int(valLen)]
	s.pos += at + int(valLen)
	return nil
}
