package auditlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	magicGzip = []byte{0x1f, 0x8b, 0x08}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns the decompressed stream of br when it starts with a
// gzip or zstd magic number, or br itself.
func (f *file) decompress(br *bufio.Reader, counted *countingReader) io.Reader {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, magicGzip[:2]):
		return &gzipStream{f: f, src: br, counted: counted}
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			f.fail(0, fmt.Errorf("zstd: %w", err))
			return bytes.NewReader(nil)
		}
		return &zstdStream{f: f, zr: zr, counted: counted}
	}
	return br
}

// gzipStream decompresses a (multi-member) gzip stream. A corrupt member is
// reported with its compressed offset; reading resumes at the next member
// header, after a newline so the cut line stands alone.
type gzipStream struct {
	f       *file
	src     *bufio.Reader
	counted *countingReader
	zr      *gzip.Reader
	pending []byte
	done    bool
}

func (g *gzipStream) Read(p []byte) (int, error) {
	for {
		if len(g.pending) > 0 {
			n := copy(p, g.pending)
			g.pending = g.pending[n:]
			return n, nil
		}
		if g.done {
			return 0, io.EOF
		}
		if g.zr == nil {
			zr, err := gzip.NewReader(g.src)
			if err != nil {
				if err == io.EOF {
					g.done = true
					continue
				}
				g.corrupt(err)
				continue
			}
			g.zr = zr
		}
		n, err := g.zr.Read(p)
		if err == nil || err == io.EOF {
			if err == io.EOF {
				g.done = true
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if n > 0 {
			g.pending = append(g.pending[:0], p[:n]...)
		}
		g.corrupt(err)
	}
}

// corrupt reports a damaged member and moves to the next member header.
func (g *gzipStream) corrupt(err error) {
	off := g.counted.n - int64(g.src.Buffered())
	msg := "corrupt gzip data"
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "truncated gzip data"
	}
	g.f.fail(0, fmt.Errorf("%s at compressed offset %d: %v; resuming at the next gzip member", msg, off, err))
	g.zr = nil
	g.pending = append(g.pending, '\n')
	// Find the next member header.
	for {
		b, err := g.src.Peek(len(magicGzip))
		if len(b) < len(magicGzip) || err != nil {
			g.done = true
			return
		}
		if bytes.Equal(b, magicGzip) {
			return
		}
		g.src.Discard(1)
	}
}

type zstdStream struct {
	f       *file
	zr      *zstd.Decoder
	counted *countingReader
	failed  bool
}

func (z *zstdStream) Read(p []byte) (int, error) {
	if z.failed {
		return 0, io.EOF
	}
	n, err := z.zr.Read(p)
	if err != nil && err != io.EOF {
		z.failed = true
		z.zr.Close()
		z.f.fail(0, fmt.Errorf("corrupt zstd data near compressed offset %d: %v", z.counted.n, err))
		return n, nil
	}
	if err == io.EOF {
		z.failed = true // finished: later reads see EOF
		z.zr.Close()
	}
	return n, err
}

// readAhead decompresses in its own goroutine, a few blocks ahead of the
// scan, so decompression and scanning use two cores. Memory is bounded by
// the blocks in flight.
type readAhead struct {
	ch   chan []byte
	free chan []byte
	cur  []byte
	buf  []byte
	err  error
	errc chan error
	stop chan struct{}
}

const (
	aheadBlocks    = 4
	aheadBlockSize = 1 << 20
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		ch:   make(chan []byte, aheadBlocks),
		free: make(chan []byte, aheadBlocks+1),
		errc: make(chan error, 1),
		stop: make(chan struct{}),
	}
	for i := 0; i < aheadBlocks+1; i++ {
		ra.free <- make([]byte, aheadBlockSize)
	}
	go func() {
		defer close(ra.ch)
		for {
			var b []byte
			select {
			case b = <-ra.free:
			case <-ra.stop:
				return
			}
			n, err := io.ReadFull(r, b)
			if n > 0 {
				select {
				case ra.ch <- b[:n]:
				case <-ra.stop:
					return
				}
			}
			if err != nil {
				if err == io.ErrUnexpectedEOF {
					err = io.EOF
				}
				ra.errc <- err
				return
			}
		}
	}()
	return ra
}

// next hands out the next decompressed block itself, without a copy.
func (ra *readAhead) next() ([]byte, error) {
	if len(ra.cur) > 0 { // left over by Read
		b := ra.cur
		ra.cur = nil
		return b, nil
	}
	if ra.buf != nil {
		ra.free <- ra.buf[:cap(ra.buf)]
		ra.buf = nil
	}
	b, ok := <-ra.ch
	if !ok {
		if ra.err == nil {
			ra.err = <-ra.errc
		}
		return nil, ra.err
	}
	ra.buf = b
	return b, nil
}

func (ra *readAhead) Read(p []byte) (int, error) {
	if len(ra.cur) == 0 {
		b, err := ra.next()
		if err != nil {
			return 0, err
		}
		ra.cur = b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine when the reader is abandoned early.
func (ra *readAhead) Close() {
	select {
	case <-ra.stop:
	default:
		close(ra.stop)
	}
}
