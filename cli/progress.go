package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/imdsguard/imdsguard/scan"
)

// totalSize is the size of the input files, for the progress ETA; 0 when
// unknown (stdin).
func totalSize(paths []string) int64 {
	var total int64
	for _, p := range paths {
		if p == "-" {
			return 0
		}
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
					total += st.Size()
				}
			}
			return nil
		})
	}
	return total
}

// startProgress redraws one status line on stderr twice a second. clear
// erases it before other output (it comes back at the next tick); stop
// ends it.
func startProgress(s Streams, p *scan.Progress, total int64) (clear, stop func()) {
	var mu sync.Mutex
	start := time.Now()
	shown, stopped := false, false
	done := make(chan struct{})
	clear = func() {
		mu.Lock()
		defer mu.Unlock()
		if shown {
			fmt.Fprint(s.Err, "\r\x1b[K")
			shown = false
		}
	}
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			b := p.Bytes.Load()
			rate := float64(b) / time.Since(start).Seconds()
			line := fmt.Sprintf("%s read, %d lines, %d exec events, %d flagged, %s/s", size(b), p.Lines.Load(), p.ExecEvents.Load(), p.Flagged.Load(), size(int64(rate)))
			if total > 0 && rate > 0 && b <= total {
				eta := time.Duration(float64(total-b) / rate * float64(time.Second)).Round(time.Second)
				line = fmt.Sprintf("%3.0f%% %s, ETA %s", 100*float64(b)/float64(total), line, eta)
			}
			mu.Lock()
			if !stopped {
				fmt.Fprintf(s.Err, "\r\x1b[K%s", line)
				shown = true
			}
			mu.Unlock()
		}
	}()
	stop = func() {
		clear()
		mu.Lock()
		if !stopped {
			stopped = true
			close(done)
		}
		mu.Unlock()
	}
	return clear, stop
}

func size(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
