package auditlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
	"unicode/utf8"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// DefaultMaxLineSize is the longest line read by default; events logged at
// RequestResponse level can be large.
const DefaultMaxLineSize = 16 << 20

// DefaultMaxDocumentSize bounds a whole-document input (EventList, JSON
// array, search response), which is read into memory.
const DefaultMaxDocumentSize = 1 << 30

// Record is one audit event read from the input.
type Record struct {
	Event auditv1.Event
	// Raw is the event object as read (for Elastic documents, the
	// kubernetes.audit object rebuilt from nested or dotted keys).
	Raw json.RawMessage
	// Time is the request's receive time, else its stage time, else the
	// @timestamp of the Elastic document holding it.
	Time time.Time
	File string
	Line int
}

// Options configure a Reader.
type Options struct {
	Format          Format
	MaxLineSize     int
	MaxDocumentSize int64
	// OnError receives every problem found. It may be nil.
	OnError func(*Error)
	// NoPrefilter decodes every line of JSON-lines input, so that every
	// malformed line is reported, instead of only the lines that could
	// hold a pods/exec event.
	NoPrefilter bool
	// OnlyExec emits only events whose objectRef.subresource is "exec"
	// (the only ones an engine can alert on); the others are counted but
	// not fully decoded.
	OnlyExec bool
	// Progress, when set, is advanced by every byte read from the input.
	Progress *atomic.Int64
	// ProgressLines, when set, is advanced by every line read.
	ProgressLines *atomic.Int64
}

// Reader reads audit events from streams.
type Reader struct {
	opts Options
}

// NewReader returns a Reader with opts, defaults filled in.
func NewReader(opts Options) *Reader {
	if opts.MaxLineSize <= 0 {
		opts.MaxLineSize = DefaultMaxLineSize
	}
	if opts.MaxDocumentSize <= 0 {
		opts.MaxDocumentSize = DefaultMaxDocumentSize
	}
	return &Reader{opts: opts}
}

var (
	errBinary      = errors.New("binary data, not a JSON audit log; skipped")
	errNotJSON     = errors.New("no JSON object at the start of any line, not a JSON audit log; skipped")
	errNotAudit    = errors.New("JSON object is not an audit event, EventList, Elastic document or search response")
	errInvalidUTF8 = errors.New("invalid UTF-8 (bytes replaced with U+FFFD)")
)

// file is the state of reading one input.
type file struct {
	// ahead is the decompressor's read-ahead, scanned block by block when
	// nothing has been buffered from it yet.
	ahead *readAhead
	r     *Reader
	name  string
	stats Stats
	emit  func(*Record)
}

func (f *file) fail(line int, err error) {
	f.stats.Malformed++
	f.report(&Error{File: f.name, Line: line, Err: err})
}

func (f *file) report(e *Error) {
	if f.r.opts.OnError != nil {
		f.r.opts.OnError(e)
	}
}

// Read reads every event in src, named name in messages, calling emit for
// each. Gzip input is recognised by its magic bytes. It returns what it
// counted; problems go to Options.OnError and never stop the read early
// unless the stream itself fails.
func (r *Reader) Read(name string, src io.Reader, emit func(*Record)) Stats {
	f := &file{r: r, name: name, emit: emit}
	counted := &countingReader{r: src, progress: r.opts.Progress}
	br := bufio.NewReaderSize(counted, 64<<10)
	if d := f.decompress(br, counted); d != br {
		ra := newReadAhead(d)
		defer ra.Close()
		f.ahead = ra
		br = bufio.NewReaderSize(ra, 64<<10)
	}
	f.readDecoded(br)
	f.stats.Bytes = counted.n
	return f.stats
}

// ReadBytes reads one document held in memory, such as a webhook batch.
// An EventList is split item by item in place, so only the items that
// could be pods/exec events are decoded; anything else is read as Read
// reads it.
func (r *Reader) ReadBytes(name string, body []byte, emit func(*Record)) Stats {
	f := &file{r: r, name: name, emit: emit}
	if !f.splitsEventLists() {
		return r.Read(name, bytes.NewReader(body), emit)
	}
	spans, ok := eventListItems(body)
	if !ok {
		return r.Read(name, bytes.NewReader(body), emit)
	}
	f.stats.Bytes = int64(len(body))
	f.stats.Lines = int64(bytes.Count(body, []byte("\n")))
	if len(body) > 0 && body[len(body)-1] != '\n' {
		f.stats.Lines++
	}
	if r.opts.Progress != nil {
		r.opts.Progress.Add(int64(len(body)))
	}
	if !utf8.Valid(body) {
		f.stats.InvalidUTF8++
		f.report(&Error{File: f.name, Line: 1 + bytes.Count(body[:firstInvalidUTF8(body)], []byte("\n")), Err: errInvalidUTF8, Warning: true})
	}
	f.items(body, spans, 1)
	return f.stats
}

func (f *file) readDecoded(br *bufio.Reader) {
	peek, _ := br.Peek(8 << 10)
	if bytes.IndexByte(peek, 0) >= 0 {
		f.fail(0, errBinary)
		return
	}
	first := firstNonSpace(peek)
	mode := f.r.opts.Format
	switch mode {
	case FormatEventList, FormatESSearch:
		f.readDocument(br)
		return
	case FormatEvents, FormatElastic:
		f.readLines(br, nil)
		return
	}
	if first == '[' {
		f.readDocument(br)
		return
	}
	if first != '{' {
		// A log whose first lines are damaged still has objects at the
		// start of later lines; a text file without any is not a log.
		if !bytes.Contains(peek, []byte("\n{")) {
			f.fail(0, errNotJSON)
			return
		}
		f.readLines(br, nil)
		return
	}
	// A file that starts with an object is JSON lines when its first line
	// is a whole JSON value; otherwise it is one pretty-printed document.
	if nl := bytes.IndexByte(peek, '\n'); nl >= 0 && json.Valid(bytes.TrimSpace(peek[:nl])) {
		f.readLines(br, nil)
		return
	}
	line, err := readLine(br, f.r.opts.MaxLineSize)
	if (err == nil || err == io.EOF) && json.Valid(bytes.TrimSpace(line.data)) || line.oversized {
		f.readLines(br, &line)
		return
	}
	if err != nil && err != io.EOF {
		f.readLines(br, &line)
		return
	}
	f.readDocument(io.MultiReader(bytes.NewReader(line.raw()), br))
}

func firstNonSpace(b []byte) byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

type line struct {
	data      []byte
	oversized bool
	size      int
	ended     bool // ended with '\n'
	cr        bool // ended with "\r\n"
}

// raw gives the line back as it was in the input.
func (l line) raw() []byte {
	b := l.data
	if l.cr {
		b = append(b, '\r')
	}
	if l.ended {
		b = append(b, '\n')
	}
	return b
}

// readLine reads one line up to max bytes; a longer line is consumed to its
// end and returned empty with oversized set.
func readLine(br *bufio.Reader, max int) (line, error) {
	var l line
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		l.size += len(chunk)
		if !l.oversized {
			if len(buf)+len(chunk) > max+1 { // +1: the newline is not content
				l.oversized = true
				buf = nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil {
			l.ended = true
		}
		if l.ended {
			buf = bytes.TrimSuffix(buf, []byte("\n"))
			if bytes.HasSuffix(buf, []byte("\r")) {
				buf, l.cr = buf[:len(buf)-1], true
			}
		}
		l.data = buf
		return l, err
	}
}

// readLines reads JSON lines. pending is a first line already read.
func (f *file) readLines(br *bufio.Reader, pending *line) {
	if !f.r.opts.NoPrefilter {
		n := 0
		if pending != nil {
			n = 1
			f.stats.Lines++
			f.line(1, *pending)
		}
		if f.ahead != nil {
			// What detection buffered, then the decompressor's blocks.
			head, _ := br.Peek(br.Buffered())
			f.readBlocks(&chainBlocks{first: append([]byte(nil), head...), rest: f.ahead}, n)
		} else {
			f.readLinesFast(br, n)
		}
		return
	}
	max := f.r.opts.MaxLineSize
	n := 0
	for {
		var l line
		var err error
		if pending != nil {
			l, pending = *pending, nil
			if l.ended {
				err = nil
			} else {
				err = io.EOF
			}
		} else {
			l, err = readLine(br, max)
		}
		if l.size > 0 {
			n++
			f.stats.Lines++
			f.line(n, l)
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			f.fail(n, fmt.Errorf("read error after line %d: %w", n, describeReadErr(err)))
			return
		}
	}
}

func describeReadErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (truncated compressed data?)", err)
	}
	return err
}

func (f *file) line(n int, l line) {
	if l.oversized {
		f.stats.Oversized++
		f.fail(n, fmt.Errorf("line of %d bytes is longer than the maximum of %d bytes (raise --max-line-size); skipped", l.size, f.r.opts.MaxLineSize))
		return
	}
	data := bytes.TrimSpace(l.data)
	if n == 1 {
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	}
	if len(data) == 0 {
		return
	}
	if !utf8.Valid(data) {
		f.stats.InvalidUTF8++
		f.report(&Error{File: f.name, Line: n, Err: errInvalidUTF8, Warning: true})
	}
	if data[0] != '{' {
		f.fail(n, fmt.Errorf("not a JSON object (starts with %q)", clip(data, 16)))
		return
	}
	f.value(data, n, false)
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// readDocument reads whole-document input: one or more JSON values, each an
// object or an array of objects. After a syntax error it resumes at the
// next line that starts an object, so one bad element loses only itself.
func (f *file) readDocument(src io.Reader) {
	data, err := io.ReadAll(io.LimitReader(src, f.r.opts.MaxDocumentSize+1))
	if int64(len(data)) > f.r.opts.MaxDocumentSize {
		f.fail(0, fmt.Errorf("document larger than %d bytes; only JSON lines input may be larger", f.r.opts.MaxDocumentSize))
		return
	}
	if err != nil {
		f.fail(0, fmt.Errorf("read error: %w", describeReadErr(err)))
		// Keep what was read: a truncated array still holds whole events.
	}
	f.stats.Lines += int64(bytes.Count(data, []byte("\n")))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		f.stats.Lines++
	}
	lines := newLineIndex(data)
	if !utf8.Valid(data) {
		f.stats.InvalidUTF8++
		bad := firstInvalidUTF8(data)
		f.report(&Error{File: f.name, Line: lines.at(bad), Err: errInvalidUTF8, Warning: true})
	}
	pos := 0
	recovering := false
	for {
		pos = skipSeparators(data, pos)
		if pos >= len(data) {
			return
		}
		// While recovering, an object is looked for only up to the next
		// line that opens one, so a damaged document costs linear time.
		end := len(data)
		if recovering {
			end = nextObjectLine(data, pos)
		}
		dec := json.NewDecoder(bytes.NewReader(data[pos:end]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			f.fail(lines.at(pos+syntaxOffset(err)), fmt.Errorf("malformed JSON: %v", err))
			pos = nextObjectLine(data, pos+1)
			recovering = true
			continue
		}
		f.value(raw, lines.at(pos), recovering)
		pos += int(dec.InputOffset())
	}
}

func syntaxOffset(err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 {
		return int(se.Offset) - 1
	}
	return 0
}

// skipSeparators skips whitespace and the brackets and commas of a
// top-level array, so its elements are decoded one by one.
func skipSeparators(data []byte, pos int) int {
	if pos == 0 {
		if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
			pos = 3
		}
	}
	for pos < len(data) {
		switch data[pos] {
		case ' ', '\t', '\r', '\n', ',', '[', ']':
			pos++
			continue
		}
		break
	}
	return pos
}

// nextObjectLine finds the next line at or after pos whose first
// non-blank byte opens an object.
func nextObjectLine(data []byte, pos int) int {
	for {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return len(data)
		}
		pos += i + 1
		j := pos
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\r') {
			j++
		}
		if j < len(data) && data[j] == '{' {
			return j
		}
	}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return 0
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) at(off int) int {
	lo, hi := 0, len(l)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if l[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress.Add(int64(n))
	}
	return n, err
}
