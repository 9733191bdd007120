package record_test

import (
	"testing"

	"github.com/sluicehq/sluice/record"
)

func BenchmarkAppendJSONString(b *testing.B) {
	s := "user123456@example.com and some longer text value"
	var buf []byte
	b.SetBytes(int64(len(s)))
	for range b.N {
		buf = record.AppendJSONString(buf[:0], s)
	}
}
