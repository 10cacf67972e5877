package auditlog

import (
	"bytes"
	"fmt"
	"io"
)

// The prefilter. Every event that either engine can alert on has
// objectRef.subresource "exec", so its line holds the JSON string "exec",
// quotes included.
// A JSON writer may escape any character as \uXXXX, so a line can also
// spell it with \u0065 (e), \u0078 (x) or \u0063 (c); those escapes are
// searched too. A line with none of these cannot alert and is never
// decoded. The search starts from the rare byte: "xec" is found with a
// vectorised byte search on 'x', then the '"e' before it is checked.
var (
	needleXec  = []byte("xec\"")
	needleU006 = []byte(`\u006`) // \u0063 c, \u0065 e (and other letters: sound, a little wide)
	needleU007 = []byte(`\u0078`)
)

// MayBeExec reports whether a line could hold a pods/exec event. It is
// exported for the soundness test and the benchmark.
func MayBeExec(line []byte) bool {
	return nextCandidate(line, 0) >= 0
}

// nextCandidate returns the offset of the next prefilter hit at or after
// from, or -1.
func nextCandidate(b []byte, from int) int {
	best := -1
	for off := from; off < len(b); {
		i := bytes.Index(b[off:], needleXec)
		if i < 0 {
			break
		}
		if p := off + i; p-2 >= from && b[p-1] == 'e' && b[p-2] == '"' {
			best = p - 2
			break
		}
		off += i + 1
	}
	limit := len(b)
	if best >= 0 {
		limit = best
	}
	// Escapes are rare; search only up to the literal hit.
	if i := bytes.Index(b[from:limit], needleU006); i >= 0 {
		best, limit = from+i, from+i
	}
	if i := bytes.Index(b[from:limit], needleU007); i >= 0 {
		best = from + i
	}
	return best
}

// blockSize is how much is read at a time in the fast path.
const blockSize = 1 << 20

// blockReader yields the input in blocks. A block is valid until the next
// call; lines are cut at block edges and joined by the caller.
type blockReader interface {
	next() ([]byte, error)
}

// plainBlocks reads an io.Reader into one reused buffer.
type plainBlocks struct {
	r   io.Reader
	buf []byte
}

func (p *plainBlocks) next() ([]byte, error) {
	n, err := io.ReadFull(p.r, p.buf)
	if err == io.ErrUnexpectedEOF {
		err = nil
		if n == 0 {
			err = io.EOF
		}
	}
	return p.buf[:n], err
}

// readLinesFast reads JSON lines in blocks and decodes only the lines the
// prefilter keeps. Lines are counted, not split: most of a log is never
// looked at line by line, and blocks from the decompressor are scanned
// where they are (only a line cut by a block edge is copied).
func (f *file) readLinesFast(r io.Reader, lineBase int) int {
	return f.readBlocks(&plainBlocks{r: r, buf: make([]byte, blockSize)}, lineBase)
}

// chainBlocks yields first, then the blocks of rest.
type chainBlocks struct {
	first []byte
	rest  blockReader
}

func (c *chainBlocks) next() ([]byte, error) {
	if c.first != nil {
		b := c.first
		c.first = nil
		return b, nil
	}
	return c.rest.next()
}

func (f *file) readBlocks(src blockReader, lineBase int) int {
	max := f.r.opts.MaxLineSize
	done := lineBase  // lines completed so far
	var carry []byte  // the start of a line cut by a block edge
	skipping := false // inside an oversized line
	skipped := 0      // its length so far
	oversized := func(n int) {
		done++
		f.stats.Lines++
		f.stats.Oversized++
		f.fail(done, fmt.Errorf("line of %d bytes is longer than the maximum of %d bytes (raise --max-line-size); skipped", n, max))
	}
	for {
		b, err := src.next()
		if len(b) > 0 && (len(carry) > 0 || skipping) {
			nl := bytes.IndexByte(b, '\n')
			if nl < 0 {
				if skipping {
					skipped += len(b)
				} else if len(carry)+len(b) > max {
					skipping, skipped, carry = true, len(carry)+len(b), carry[:0]
				} else {
					carry = append(carry, b...)
				}
				b = nil
			} else {
				part := b[:nl+1]
				switch {
				case skipping:
					oversized(skipped + nl)
				case len(carry)+nl > max:
					oversized(len(carry) + nl)
				default:
					carry = append(carry, part...)
					done = f.block(carry, done)
				}
				carry, skipping, skipped = carry[:0], false, 0
				b = b[nl+1:]
			}
		}
		if len(b) > 0 {
			rest := b
			if last := bytes.LastIndexByte(b, '\n'); last >= 0 {
				done = f.block(b[:last+1], done)
				rest = b[last+1:]
			}
			if len(rest) > max {
				skipping, skipped = true, len(rest)
			} else {
				carry = append(carry, rest...)
			}
		}
		if err != nil {
			if err != io.EOF {
				f.fail(done+1, fmt.Errorf("read error after line %d: %w", done, describeReadErr(err)))
			}
			break
		}
	}
	switch {
	case skipping:
		oversized(skipped)
	case len(carry) > 0:
		done = f.block(carry, done)
	}
	return done
}

// block handles whole lines (the last may lack its newline); line is the
// number of lines before it. It returns the number after it.
func (f *file) block(block []byte, before int) int {
	total := bytes.Count(block, []byte{'\n'})
	if len(block) > 0 && block[len(block)-1] != '\n' {
		total++
	}
	max := f.r.opts.MaxLineSize
	counted := 0 // offset up to which newlines are counted into line
	cur := before
	for pos := 0; pos < len(block); {
		hit := nextCandidate(block, pos)
		if hit < 0 {
			break
		}
		start := bytes.LastIndexByte(block[:hit], '\n') + 1
		end := bytes.IndexByte(block[hit:], '\n')
		if end < 0 {
			end = len(block)
		} else {
			end += hit
		}
		cur += bytes.Count(block[counted:start], []byte{'\n'})
		counted = start
		l := block[start:end]
		if len(l) > max {
			f.stats.Oversized++
			f.fail(cur+1, fmt.Errorf("line of %d bytes is longer than the maximum of %d bytes (raise --max-line-size); skipped", len(l), max))
		} else {
			f.line(cur+1, line{data: bytes.TrimSuffix(l, []byte("\r"))})
		}
		pos = end + 1
	}
	f.stats.Lines += int64(total)
	if f.r.opts.ProgressLines != nil {
		f.r.opts.ProgressLines.Add(int64(total))
	}
	return before + total
}
