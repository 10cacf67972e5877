package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsguard/imdsguard/auditgen"
	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/serve"
	"github.com/imdsguard/imdsguard/store"
)

// TestPoolBodies checks the bodies are EventLists of the batch size and
// that later passes give every event a new audit ID, the same for the
// stages of one request.
func TestPoolBodies(t *testing.T) {
	p, err := newPool(auditgen.Config{Seed: 3}, 4, 50)
	if err != nil {
		t.Fatal(err)
	}
	type list struct {
		Kind  string
		Items []struct {
			AuditID string
			Stage   string
		}
	}
	seen := map[string]string{} // audit ID -> pass:stage list
	var buf []byte
	for k := range uint64(12) {
		buf = p.body(buf, k)
		var l list
		if err := json.Unmarshal(buf, &l); err != nil {
			t.Fatalf("body %d: %v", k, err)
		}
		if l.Kind != "EventList" || len(l.Items) != 50 {
			t.Fatalf("body %d: kind %q, %d items", k, l.Kind, len(l.Items))
		}
		pass := fmt.Sprint(k / 4)
		for _, it := range l.Items {
			key := it.AuditID + "/" + it.Stage
			if prev, ok := seen[key]; ok {
				t.Fatalf("body %d: audit ID and stage %s already sent in pass %s", k, key, prev)
			}
			seen[key] = pass
			if k >= 4 && it.AuditID[:8] != fmt.Sprintf("%08x", k/4) {
				t.Fatalf("body %d: audit ID %s lacks the pass", k, it.AuditID)
			}
		}
	}
	// Later passes leave the pool as generated.
	if !bytes.Equal(p.body(nil, 0), p.bodies[0]) || bytes.Equal(p.body(nil, 4), p.bodies[0]) {
		t.Fatal("passes should copy the pool's bodies, changing the IDs after the first")
	}
	// Another run ID gives other IDs from the first pass on.
	p.runID = 0xabc
	if b := p.body(nil, 5); !bytes.Contains(b, []byte(`"auditID":"00000abd-`)) {
		t.Fatalf("run ID 0xabc, pass 1: %.200s", b)
	}
}

// newServer is serve.New as `imdsguard serve` sets it up (no sinks, the
// default limits), over a store in dir (the real file system, durable).
func newServer(tb testing.TB, dir string) (*serve.Server, *prometheus.Registry, *store.Store) {
	st, err := store.Open(filepath.Join(dir, "alerts.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	srv := serve.New(st, detect.NewStrict(), serve.Auth{}, reg,
		serve.WithLimits(serve.Limits{MaxBodyBytes: 16 << 20, MaxInFlight: 8}),
		serve.WithBusy(func(err error) bool { return err == store.ErrOutboxFull }))
	return srv, reg, st
}

// BenchmarkIntake posts 400-event batches to the server's handler in
// process, without network or TLS: what a batch costs the server itself.
// Audit IDs are new every pass over the pool, so alerts are stored.
//
//	go test ./bench/serveload -run '^$' -bench Intake -benchtime 2000x -cpuprofile cpu.out
func BenchmarkIntake(b *testing.B) {
	p, err := newPool(auditgen.Config{Seed: 1}, 256, 400)
	if err != nil {
		b.Fatal(err)
	}
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) {
			srv, reg, _ := newServer(b, b.TempDir())
			h := srv.Handler(reg)
			var next atomicCounter
			b.SetBytes(p.bytes / int64(len(p.bodies)))
			b.SetParallelism(par) // goroutines = par * GOMAXPROCS
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var buf []byte
				for pb.Next() {
					buf = p.body(buf, next.next())
					req := httptest.NewRequest(http.MethodPost, "/audit/v1", bytes.NewReader(buf))
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK && w.Code != http.StatusServiceUnavailable {
						b.Errorf("HTTP %d: %s", w.Code, w.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*p.events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

type atomicCounter struct{ n atomic.Uint64 }

func (c *atomicCounter) next() uint64 { return c.n.Add(1) - 1 }
