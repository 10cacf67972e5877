package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a child process whose output goes to a log file. It is stopped by
// PID when the test that started it ends, whatever happened; if the test
// binary dies, the kernel kills it (Pdeathsig).
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done is closed

	stopOnce sync.Once
}

func startProc(t *testing.T, name, logFile, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, log: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Logf("started %s (pid %d): %s %s", name, cmd.Process.Pid, bin, strings.Join(args, " "))
	t.Cleanup(func() {
		if err := p.stop(30 * time.Second); err != nil {
			t.Logf("stopping %s: %v", name, err)
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs. It returns the
// process's exit error unless the process was killed by the signals sent here.
func (p *proc) stop(grace time.Duration) error {
	var err error
	p.stopOnce.Do(func() {
		if p.exited() {
			err = fmt.Errorf("had already exited: %v", p.err)
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("did not stop within %v of SIGTERM; killed", grace)
			return
		}
		var ee *exec.ExitError
		if p.err != nil && !(errors.As(p.err, &ee) && ee.ExitCode() == -1) {
			// -1: ended by a signal (ours). Anything else is the
			// process's own failure.
			err = fmt.Errorf("exited after SIGTERM: %v", p.err)
		}
	})
	return err
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls check every 100 ms until it returns nil, the timeout
// passes, or one of procs exits.
func waitFor(t *testing.T, what string, timeout time.Duration, check func() error, procs ...*proc) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		for _, p := range procs {
			if p.exited() {
				t.Fatalf("waiting for %s: %s exited: %v (log %s)\n%s", what, p.name, p.err, p.log, tail(p.log, 30))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after %v: %v", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tail returns the last n lines of a file, each cut to 1000 bytes.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "  (" + err.Error() + ")\n"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		l := sc.Text()
		if len(l) > 1000 {
			l = l[:1000] + "...(cut)"
		}
		lines = append(lines, l)
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  | " + l + "\n")
	}
	return b.String()
}

// dumpLogsOnFailure prints the tails of every file in dir whose name ends
// in .log when the test fails. Register it before starting processes, so
// it runs after they have been stopped.
func dumpLogsOnFailure(t *testing.T, dir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, f := range files {
			t.Logf("==== tail of %s\n%s", f, tail(f, 40))
		}
	})
}
