package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/auditgen"
	"github.com/imdsguard/imdsguard/scan"
	"github.com/imdsguard/imdsguard/store"
)

// buildImdsguard builds the command, to run it as its own process.
func buildImdsguard(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imdsguard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is an `imdsguard serve` process.
type server struct {
	cmd  *exec.Cmd
	addr string
	log  bytes.Buffer
}

func startServe(t *testing.T, bin, addr string, args ...string) *server {
	t.Helper()
	s := &server{addr: addr}
	s.cmd = exec.Command(bin, append([]string{"serve", "--insecure", "--listen", addr}, args...)...)
	s.cmd.Stderr = &s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %v\n%s", err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// batch is one webhook body and the alerts scan finds in it.
type batch struct {
	body []byte
	want []string // alert ids
}

func makeBatches(t *testing.T, n int) []batch {
	t.Helper()
	var out []batch
	for i := range n {
		var log bytes.Buffer
		if _, err := auditgen.Write(&log, auditgen.Config{Seed: int64(1000 + i), Events: 400, ForceAttack: 2, ForceBenign: 1}); err != nil {
			t.Fatal(err)
		}
		items := bytes.Split(bytes.TrimSpace(log.Bytes()), []byte("\n"))
		body := append([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`), bytes.Join(items, []byte(","))...)
		body = append(body, "]}"...)
		path := filepath.Join(t.TempDir(), "batch.json")
		os.WriteFile(path, body, 0o600)
		res, err := scan.Run([]string{path}, scan.Options{Engine: scan.EngineStrict})
		if err != nil || len(res.Alerts) == 0 {
			t.Fatalf("batch %d: %d alerts, %v", i, len(res.Alerts), err)
		}
		b := batch{body: body}
		for _, a := range res.Alerts {
			b.want = append(b.want, a.ID)
		}
		out = append(out, b)
	}
	return out
}

func post(addr string, body []byte) (int, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post("http://"+addr+"/audit/v1", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// The server is killed with SIGKILL while batches stream in, then
// restarted on the same store: every batch it acknowledged has its
// alerts stored exactly once; the batches the sender then retries (as the
// API server does) add theirs, again without duplicates; the ndjson sink
// gets every alert.
func TestServeSurvivesKill9MidStream(t *testing.T) {
	bin := buildImdsguard(t)
	dir := t.TempDir()
	db, sinkFile := filepath.Join(dir, "alerts.db"), filepath.Join(dir, "alerts.ndjson")
	args := []string{"--store", db, "--sink", "file=ndjson:" + sinkFile}
	batches := makeBatches(t, 60)
	addr := freeAddr(t)
	srv := startServe(t, bin, addr, args...)

	var mu sync.Mutex
	acked := map[int]bool{}
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				if code, err := post(addr, batches[i].body); err == nil && code == 200 {
					mu.Lock()
					acked[i] = true
					mu.Unlock()
				}
			}
		})
	}
	killed := false
	for i := range batches {
		next <- i
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 15 && !killed {
			// Mid-stream: requests are in flight as the process dies.
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	close(next)
	wg.Wait()
	if !killed {
		t.Fatal("the stream ended before the kill")
	}
	srv.cmd.Wait()
	if len(acked) == 0 || len(acked) == len(batches) {
		t.Fatalf("%d of %d batches acknowledged: the kill was not mid-stream", len(acked), len(batches))
	}

	srv = startServe(t, bin, addr, args...)
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := func() map[string]int {
		as, err := st.List(context.Background(), store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, a := range as {
			count[a.ID]++
			if count[a.ID] > 1 {
				t.Fatalf("alert %s stored twice", a.ID)
			}
		}
		return count
	}
	have := stored()
	for i := range acked {
		for _, id := range batches[i].want {
			if have[id] != 1 {
				t.Errorf("batch %d was acknowledged but alert %s is not stored", i, id)
			}
		}
	}
	t.Logf("%d of %d batches acknowledged before the kill; %d alerts stored", len(acked), len(batches), len(have))

	// The sender retries what was not acknowledged, and a few that were.
	var all []string
	for i, b := range batches {
		all = append(all, b.want...)
		if !acked[i] || i%7 == 0 {
			if code, err := post(addr, b.body); err != nil || code != 200 {
				t.Fatalf("retry of batch %d: %d %v", i, code, err)
			}
		}
	}
	have = stored()
	sort.Strings(all)
	var got []string
	for id := range have {
		got = append(got, id)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(all, ",") {
		t.Fatalf("after retries: %d alerts stored, want %d", len(got), len(all))
	}

	// The sink gets every alert (at least once; receivers dedupe by id).
	deadline := time.Now().Add(15 * time.Second)
	for {
		data, _ := os.ReadFile(sinkFile)
		delivered := map[string]bool{}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var a alert.Alert
			if json.Unmarshal(line, &a) == nil {
				delivered[a.ID] = true
			}
		}
		missing := 0
		for _, id := range all {
			if !delivered[id] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d alerts never reached the sink\n%s", missing, len(all), srv.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A clean stop drains and exits 0.
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, srv.log.String())
	}
	if !strings.Contains(srv.log.String(), `"msg":"shutting down: draining requests"`) {
		t.Errorf("no drain logged:\n%s", srv.log.String())
	}
}
