package engine

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/diff"
)

// Records of every size, including ones larger than the reader's window and ones
// that straddle its edge, come back exactly as written.
func TestSpillRoundTrip(t *testing.T) {
	t.Parallel()
	w, err := newSpillWriter(filepath.Join(t.TempDir(), "spill"))
	require.NoError(t, err)
	defer w.close()
	var want []spillRecord
	for i := range 3000 {
		n := i * 37 % 5000
		if i%1000 == 999 {
			n = 5 << 20 // bigger than the 4 MiB window
		}
		rec := spillRecord{
			verdict: diff.Verdict(1 + i%3), send: i%2 == 0,
			key: diff.HashKey(strconv.Itoa(i)), row: uint64(i) * 7,
			text:   strings.Repeat("k", i%300) + strconv.Itoa(i),
			values: bytes.Repeat([]byte{byte(i)}, n),
		}
		require.NoError(t, w.write(&rec))
		want = append(want, rec)
	}
	require.NoError(t, w.finish())
	r := newSpillReader(w.f)
	for i, exp := range want {
		var got spillRecord
		require.NoError(t, r.next(&got), "record %d", i)
		require.Equal(t, exp.verdict, got.verdict)
		require.Equal(t, exp.send, got.send)
		require.Equal(t, exp.key, got.key)
		require.Equal(t, exp.row, got.row)
		require.Equal(t, exp.text, got.text, "record %d", i)
		require.True(t, bytes.Equal(exp.values, got.values), "record %d values", i)
	}
	var rec spillRecord
	require.True(t, errors.Is(r.next(&rec), io.EOF))
}

func TestTruncatedSpillIsAnError(t *testing.T) {
	t.Parallel()
	w, err := newSpillWriter(filepath.Join(t.TempDir(), "spill"))
	require.NoError(t, err)
	defer w.close()
	require.NoError(t, w.write(&spillRecord{verdict: diff.Added, send: true, text: "key", values: []byte("0123456789")}))
	require.NoError(t, w.finish())
	fi, _ := w.f.Stat()
	require.NoError(t, w.f.Truncate(fi.Size()-3))
	var rec spillRecord
	err = newSpillReader(w.f).next(&rec)
	require.ErrorIs(t, err, errSpillCorrupt)
}
