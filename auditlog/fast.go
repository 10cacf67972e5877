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

// readLinesFast reads JSON lines in blocks and decodes only the lines the
// prefilter keeps. Lines are counted, not split: most of a log is never
// looked at line by line.
func (f *file) readLinesFast(r io.Reader, lineBase int) int {
	max := f.r.opts.MaxLineSize
	buf := make([]byte, 0, blockSize)
	done := lineBase // lines completed so far
	skipping := false  // inside an oversized line
	skipped := 0       // bytes of it so far
	eof := false
	for !eof {
		if len(buf) == cap(buf) {
			// No newline in a full buffer: grow up to the line limit.
			if cap(buf) < max+1 {
				nb := make([]byte, len(buf), min(2*cap(buf), max+blockSize))
				copy(nb, buf)
				buf = nb
			} else {
				// The line is over the limit: drop what we have and
				// skip to its end.
				skipped += len(buf)
				skipping = true
				buf = buf[:0]
			}
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			eof = true
		} else if err != nil {
			f.fail(done+1, fmt.Errorf("read error after line %d: %w", done, describeReadErr(err)))
			eof = true
		}
		end := bytes.LastIndexByte(buf, '\n')
		if eof && len(buf) > 0 {
			end = len(buf) - 1 // the last line has no newline
		}
		if end < 0 {
			continue
		}
		block := buf[:end+1]
		if skipping {
			// Finish the oversized line.
			nl := bytes.IndexByte(block, '\n')
			if nl < 0 {
				nl = len(block) - 1
			}
			skipped += nl + 1
			done++
			f.stats.Lines++
			f.stats.Oversized++
			f.fail(done, fmt.Errorf("line of %d bytes is longer than the maximum of %d bytes (raise --max-line-size); skipped", skipped-1, max))
			skipping, skipped = false, 0
			block = block[nl+1:]
			if len(block) == 0 {
				buf = buf[:copy(buf, buf[end+1:])]
				continue
			}
		}
		done = f.block(block, done)
		buf = buf[:copy(buf, buf[end+1:])]
	}
	if skipping && skipped > 0 {
		done++
		f.stats.Lines++
		f.stats.Oversized++
		f.fail(done, fmt.Errorf("line of %d bytes is longer than the maximum of %d bytes (raise --max-line-size); skipped", skipped, max))
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
