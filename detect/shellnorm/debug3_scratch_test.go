package shellnorm

import (
	"os"
	"strings"
	"testing"
)

func BenchmarkScratch(b *testing.B) {
	argv := strings.Split(os.Getenv("SN"), "\x1f")
	for b.Loop() {
		Normalize(argv, Options{Budget: 10e9, MaxSteps: 1e9})
	}
}
