package scan

import (
	"os"
	"testing"
)

// BenchmarkScanFile scans the file named by IMDSGUARD_BENCH_FILE (the
// bench script's 1 GiB log); it is skipped without one, as it needs a
// large input that the repository does not hold.
func BenchmarkScanFile(b *testing.B) {
	path := os.Getenv("IMDSGUARD_BENCH_FILE")
	if path == "" {
		b.Skip("IMDSGUARD_BENCH_FILE not set")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for i := 0; i < b.N; i++ {
		if _, err := Run([]string{path}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
