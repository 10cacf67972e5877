package auditlog

import (
	"bytes"
	"encoding/json"
	"io"
)

// Splittable reports whether a file that starts with head can be read in
// ranges in parallel: uncompressed JSON lines (its first line is a whole
// JSON object), read with the prefilter.
func (r *Reader) Splittable(head []byte) bool {
	if r.opts.NoPrefilter || r.opts.Format == FormatEventList || r.opts.Format == FormatESSearch {
		return false
	}
	if bytes.HasPrefix(head, magicGzip[:2]) || bytes.HasPrefix(head, magicZstd) || bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 {
		return false
	}
	first := bytes.TrimSpace(head[:nl])
	return len(first) > 0 && first[0] == '{' && json.Valid(first)
}

// lineStart returns the offset of the first line that starts at or after
// off: off itself when a line ends just before it.
func lineStart(ra io.ReaderAt, off, size int64) int64 {
	if off <= 0 {
		return 0
	}
	buf := make([]byte, 64<<10)
	for pos := off - 1; pos < size; {
		n, err := ra.ReadAt(buf, pos)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i) + 1
		}
		pos += int64(n)
		if err != nil {
			break
		}
	}
	return size
}

// ReadRange reads the JSON lines that start in [start, end) of a file of
// the given size, as Read does for a whole file. Lines are numbered from 1
// within the range (the caller adds the lines of the ranges before); it
// returns the number of lines in the range.
func (r *Reader) ReadRange(name string, ra io.ReaderAt, size, start, end int64, emit func(*Record)) (Stats, int) {
	f := &file{r: r, name: name, emit: emit}
	s, e := lineStart(ra, start, size), lineStart(ra, end, size)
	if s >= e {
		return f.stats, 0
	}
	counted := &countingReader{r: io.NewSectionReader(ra, s, e-s), progress: r.opts.Progress}
	n := f.readLinesFast(counted, 0)
	f.stats.Bytes = counted.n
	return f.stats, n
}
