package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/report"
)

// NDJSON writes one alert a line, in the ndjson contract of `scan`.
type NDJSON struct {
	name string
	path string // "" for the writer given
	mu   sync.Mutex
	w    io.Writer
}

// NewNDJSONFile returns a sink appending to path, synced to disk before
// an alert counts as delivered. The file is opened on each delivery, so
// a rotated file is followed by a new one.
func NewNDJSONFile(name, path string) *NDJSON { return &NDJSON{name: name, path: path} }

// NewNDJSONWriter returns a sink writing to w (standard output).
func NewNDJSONWriter(name string, w io.Writer) *NDJSON { return &NDJSON{name: name, w: w} }

// Name implements Sink.
func (s *NDJSON) Name() string { return s.name }

// Deliver implements Sink: all the lines go out in one write.
func (s *NDJSON) Deliver(ctx context.Context, alerts []*alert.Alert) error {
	var buf bytes.Buffer
	for _, a := range alerts {
		b, err := report.Marshal(a)
		if err != nil {
			return fmt.Errorf("encoding alert %s: %w", a.ID, err)
		}
		buf.Write(b) // one line, newline included
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		_, err := s.w.Write(buf.Bytes())
		return err
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	// A failed write is cut back off, so the retry does not follow half a
	// line.
	var size int64 = -1
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		if size >= 0 {
			f.Truncate(size)
		}
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
