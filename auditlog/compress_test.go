package auditlog

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	kgz "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/imdsguard/imdsguard/auditgen"
)

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// A corrupt member in the middle of a multi-member gzip file (as logrotate
// with compression, or cat of several .gz files, makes) is reported with
// its offset and the members after it are still read.
func TestCorruptGzipMember(t *testing.T) {
	lines := apiServerLines(sampleEvents())
	m1, m2, m3 := gz(lines), gz(lines), gz(lines)
	bad := append([]byte{}, m2...)
	for i := 20; i < len(bad)-10; i++ {
		bad[i] ^= 0x5a // damage the deflate data, keep the header
	}
	data := append(append(append([]byte{}, m1...), bad...), m3...)
	out, st, errs := readAll(t, data, Options{})
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "compressed offset") {
		t.Fatalf("corrupt member not reported with its offset: %v", errs)
	}
	if len(out) < 8 {
		t.Fatalf("%d events: the members around the damage were not both read (%+v)", len(out), st)
	}
}

func TestZstd(t *testing.T) {
	lines := apiServerLines(sampleEvents())
	var b bytes.Buffer
	w, _ := zstd.NewWriter(&b)
	w.Write(lines)
	w.Close()
	out, _, errs := readAll(t, b.Bytes(), Options{})
	if len(out) != 4 || len(errs) != 0 {
		t.Fatalf("zstd: %d events, %v", len(out), errs)
	}
	cut := b.Bytes()[:b.Len()-8]
	_, _, errs = readAll(t, cut, Options{})
	if len(errs) == 0 {
		t.Fatal("truncated zstd not reported")
	}
}

// BenchmarkGunzip compares reading a gzipped log with decompression alone.
func BenchmarkGunzip(b *testing.B) {
	var raw bytes.Buffer
	auditgen.Write(&raw, auditgen.Config{Seed: 2, Bytes: 32 << 20})
	data := gz(raw.Bytes())
	b.Run("decompress-only", func(b *testing.B) {
		b.SetBytes(int64(raw.Len()))
		for i := 0; i < b.N; i++ {
			r, _ := kgzip(data)
			var sink [1 << 16]byte
			for {
				if _, err := r.Read(sink[:]); err != nil {
					break
				}
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(raw.Len()))
		for i := 0; i < b.N; i++ {
			NewReader(Options{}).Read("x", bytes.NewReader(data), func(*Record) {})
		}
	})
}

func kgzip(data []byte) (*kgz.Reader, error) { return kgz.NewReader(bytes.NewReader(data)) }

// Lines cut by the edges of decompressed blocks are read whole: a gzipped
// log gives the same exec events, at the same lines, as the plain one.
func TestGzipBlockEdges(t *testing.T) {
	var raw bytes.Buffer
	auditgen.Write(&raw, auditgen.Config{Seed: 4, Bytes: 6 << 20, ExecShare: 0.05})
	plain, pst := readExec(raw.Bytes(), Options{})
	zipped, zst := readExec(gz(raw.Bytes()), Options{})
	if len(plain) == 0 || strings.Join(plain, "\n") != strings.Join(zipped, "\n") || pst.Lines != zst.Lines {
		t.Fatalf("plain %d exec events / %d lines, gzip %d / %d", len(plain), pst.Lines, len(zipped), zst.Lines)
	}
	// And with lines longer than a block, kept and dropped.
	long := append(bytes.Repeat([]byte("x"), 3<<20), '\n')
	data := append(append(append([]byte{}, raw.Bytes()[:1<<20]...), long...), raw.Bytes()[1<<20:]...)
	_, st, errs := readAll(t, gz(data), Options{MaxLineSize: 2 << 20})
	if st.Oversized != 1 || len(errs) == 0 {
		t.Fatalf("a 3 MiB line over a 2 MiB limit: %+v %v", st, errs)
	}
}
