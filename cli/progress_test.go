package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/scan"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressLine(t *testing.T) {
	var out syncBuffer
	p := &scan.Progress{}
	p.Bytes.Store(512 << 20)
	p.Lines.Store(1000)
	p.ExecEvents.Store(7)
	clear, stop := startProgress(Streams{Err: &out}, p, 1<<30)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "ETA") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	clear()
	stop()
	stop() // idempotent
	got := out.String()
	for _, want := range []string{"50%", "512.0 MiB read", "1000 lines", "7 exec events", "ETA", "\r\x1b[K"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress output %q lacks %q", got, want)
		}
	}
	n := len(out.String())
	time.Sleep(700 * time.Millisecond)
	if len(out.String()) != n {
		t.Error("progress still drawn after stop")
	}
}
