package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
)

// The tests below run this test binary again as a child process, with
// helperEnv naming what the child does.
const (
	helperEnv   = "IMDSGUARD_STORE_HELPER"
	helperDBEnv = "IMDSGUARD_STORE_HELPER_DB"
)

// TestHelperProcess is the child's side; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperDBEnv)
	switch os.Getenv(helperEnv) {
	case "writer":
		helperWriter(path)
	case "open":
		st, err := Open(path)
		if err != nil {
			fmt.Printf("error: %v\n", err)
			os.Exit(0)
		}
		st.Close()
		fmt.Println("opened")
		os.Exit(0)
	}
}

// helperWriter saves one batch after another, printing "saved AUDITID"
// once each is acknowledged, until it is killed (or a minute passes).
func helperWriter(path string) {
	st, err := Open(path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var tb helperTB
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		x := newSession(fmt.Sprintf("kill-%05d", i))
		if _, err := st.SaveBatch(context.Background(), []*alert.Alert{x.alert(&tb, received, started)}, []string{"siem"}); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("saved", x.audit)
	}
	os.Exit(1)
}

// helperTB lets the fixtures run outside a test.
type helperTB struct{ testing.TB }

func (helperTB) Helper() {}
func (helperTB) Fatal(args ...any) {
	fmt.Println(append([]any{"error:"}, args...)...)
	os.Exit(1)
}
func (h helperTB) Fatalf(format string, args ...any) { h.Fatal(fmt.Sprintf(format, args...)) }

// An alert acknowledged by SaveBatch survives kill -9 of the process that
// saved it, even while that process was writing the next batch.
func TestDurabilityAcrossKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=writer", helperDBEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the writer after a few acknowledged batches, while it is busy
	// with the next.
	const acked = 25
	var saved []string
	lines := bufio.NewScanner(out)
	for len(saved) < acked && lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 2 && f[0] == "saved" {
			saved = append(saved, f[1])
		} else {
			t.Errorf("child: %s", lines.Text())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v\n%s", err, stderr.String())
	}
	if len(saved) < acked {
		t.Fatalf("child acknowledged %d batches before it was killed, want %d\n%s", len(saved), acked, stderr.String())
	}
	// The killed writer never closed the database: its write-ahead log is
	// left behind, for the next Open to recover.
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no write-ahead log left by the killed writer: %v", err)
	}

	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var check string
	if err := st.r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check %q, %v", check, err)
	}
	ctx := context.Background()
	for _, audit := range saved {
		want := newSession(audit).alert(t, received, started)
		got, err := st.Get(ctx, want.ID)
		if err != nil {
			t.Errorf("acknowledged alert %s lost: %v", audit, err)
			continue
		}
		if mustJSON(t, got) != mustJSON(t, want) {
			t.Errorf("alert %s after the kill:\n got %s\nwant %s", audit, mustJSON(t, got), mustJSON(t, want))
		}
	}
	items, err := st.Pending(ctx, "siem", time.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]bool{}
	for _, it := range items {
		queued[it.Alert.AuditID] = true
	}
	for _, audit := range saved {
		if !queued[audit] {
			t.Errorf("outbox item of acknowledged alert %s lost", audit)
		}
	}
	all, err := st.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged batches survived kill -9; %d alerts stored in all", len(saved), len(all))
}

// Open in a directory the process cannot write names the file and says
// why. Root writes anywhere, so as root the Open runs in a child process
// as user nobody.
func TestOpenUnwritableDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "readonly")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alerts.db")
	var msg string
	if os.Geteuid() != 0 {
		st, err := Open(path)
		if err == nil {
			st.Close()
			t.Fatal("Open in a read-only directory gave no error")
		}
		msg = err.Error()
	} else {
		msg = openAsNobody(t, base, path)
	}
	if !strings.Contains(msg, path) || !strings.Contains(msg, "directory "+dir+" is not writable") {
		t.Errorf("error %q: want the path and that %s is not writable", msg, dir)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a database file was created in the read-only directory")
	}
}

// openAsNobody runs Open(path) in a copy of the test binary as uid 65534
// and returns the error it printed.
func openAsNobody(t *testing.T, base, path string) string {
	t.Helper()
	// The child must reach its binary and the directory.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "store.test")
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=open", helperDBEnv+"="+path, "GOCOVERDIR=", "HOME=/")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if msg, ok := strings.CutPrefix(line, "error: "); ok {
			return strings.TrimSpace(msg)
		}
		if strings.TrimSpace(line) == "opened" {
			t.Fatal("Open as nobody in a read-only directory gave no error")
		}
	}
	t.Fatalf("child printed no result:\n%s", out)
	return ""
}
