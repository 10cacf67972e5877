package auditlog

import (
	"bytes"
	"strings"
	"testing"
)

// A damaged document must not cost quadratic time: an unterminated string
// at the top followed by many object lines used to be re-read from every
// line.
func BenchmarkDamagedDocument(b *testing.B) {
	data := []byte("[\n{\"auditID\": \"unterminated\n" + strings.Repeat("{\"a\":1}\n", 20000))
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		NewReader(Options{}).Read("x", bytes.NewReader(data), func(*Record) {})
	}
}
