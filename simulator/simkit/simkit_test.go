package simkit

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

func TestWindowRolls(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := NewWindow(3, 10*time.Second, c.now)
	for i := range 3 {
		ok, rem, _ := w.Take(1)
		require.True(t, ok)
		require.Equal(t, int64(2-i), rem)
		c.add(time.Second)
	}
	ok, rem, wait := w.Take(1)
	require.False(t, ok)
	require.Zero(t, rem)
	require.Equal(t, 7*time.Second, wait, "the first request leaves the window 10 s after it came")
	c.add(7 * time.Second)
	ok, _, _ = w.Take(1)
	require.True(t, ok)
	require.Zero(t, w.Remaining())

	bw := NewWindow(100, time.Minute, c.now)
	ok, _, _ = bw.Take(60)
	require.True(t, ok)
	ok, rem, _ = bw.Take(60)
	require.False(t, ok)
	require.Equal(t, int64(40), rem)
}

func TestDailyResetsAtMidnightInItsZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data")
	}
	c := &fakeClock{t: time.Date(2026, 3, 2, 4, 30, 0, 0, time.UTC)} // 23:30 in New York
	d := NewDaily(2, ny, c.now)
	require.Equal(t, 30*time.Minute, d.ResetIn())
	ok, rem := d.Take(1)
	require.True(t, ok && rem == 1)
	ok, _ = d.Take(1)
	require.True(t, ok)
	ok, _ = d.Take(1)
	require.False(t, ok)
	c.add(31 * time.Minute)
	require.Equal(t, int64(2), d.Remaining())
}

func TestInjectorCountsDown(t *testing.T) {
	var in Injector
	in.Set(Faults{Force429: 1, Fail5xx: 2})
	a, _ := in.Before(context.Background())
	require.Equal(t, Force429, a)
	a, s1 := in.Before(context.Background())
	require.Equal(t, Fail5xx, a)
	a, s2 := in.Before(context.Background())
	require.Equal(t, Fail5xx, a)
	require.NotEqual(t, s1, s2)
	require.GreaterOrEqual(t, s1, 500)
	a, _ = in.Before(context.Background())
	require.Equal(t, Proceed, a)
	require.Zero(t, in.Get().Fail5xx)
}

func TestLogKeepsTheNewest(t *testing.T) {
	l := Log{Limit: 2, KeepBodies: true}
	for _, p := range []string{"/a", "/b", "/c"} {
		l.Add(Request{Path: p, Body: []byte("x")})
	}
	reqs := l.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "/b", reqs[0].Path)
	require.Equal(t, "x", string(reqs[1].Body))
}

func TestReadBodyGunzipsAndLimits(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat("a", 100)))
	zw.Close()
	r := httptest.NewRequest("POST", "/", &buf)
	r.Header.Set("Content-Encoding", "gzip")
	b, err := ReadBody(r, 100, nil)
	require.NoError(t, err)
	require.Len(t, b, 100)
	r = httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", 101)))
	_, err = ReadBody(r, 100, nil)
	require.ErrorIs(t, err, ErrTooLarge)
}
