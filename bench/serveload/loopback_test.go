package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsguard/imdsguard/auditgen"
	"github.com/imdsguard/imdsguard/serve"
	"github.com/imdsguard/imdsguard/store"
)

// BenchmarkLoopback posts 400-event batches from 8 clients over loopback
// to a server in the same process, so that client and server share the
// machine's cores as serveload and `imdsguard serve` do:
//
//   - null: a handler that only reads the body and answers 200, the ceiling
//     net/http (and TLS) allow on this machine;
//
//   - serve: serve.Server's handler with a durable store in a temporary
//     directory (no token: authentication is a header compare).
//
//     go test ./bench/serveload -run '^$' -bench Loopback -benchtime 10s
func BenchmarkLoopback(b *testing.B) {
	p, err := newPool(auditgen.Config{Seed: 1}, 256, 400)
	if err != nil {
		b.Fatal(err)
	}
	null := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte(`"auditID"`))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"events":%d,"alerts":0}`+"\n", n)
	})
	for _, name := range []string{"null", "serve"} {
		for _, useTLS := range []bool{false, true} {
			proto := map[bool]string{false: "http", true: "https"}[useTLS]
			b.Run(name+"/"+proto, func(b *testing.B) {
				var h http.Handler = null
				var st *store.Store
				if name == "serve" {
					var srv *serve.Server
					var reg *prometheus.Registry
					srv, reg, st = newServer(b, b.TempDir())
					h = srv.Handler(reg)
				}
				ts := httptest.NewUnstartedServer(h)
				if useTLS {
					ts.StartTLS()
				} else {
					ts.Start()
				}
				defer ts.Close()
				tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true,
					TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
				if useTLS {
					tr.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
				}
				c := &http.Client{Transport: tr}
				defer tr.CloseIdleConnections()
				var next atomicCounter
				b.SetBytes(p.bytes / int64(len(p.bodies)))
				b.SetParallelism(4) // 8 clients with GOMAXPROCS 2
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					var buf []byte
					for pb.Next() {
						buf = p.body(buf, next.next())
						req, _ := http.NewRequest(http.MethodPost, ts.URL+"/audit/v1", bytes.NewReader(buf))
						req.Header.Set("Content-Type", "application/json")
						resp, err := c.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("HTTP %d", resp.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*p.events)/b.Elapsed().Seconds(), "events/s")
				if st != nil {
					// Alerts were stored, durably.
					as, err := st.List(context.Background(), store.Filter{})
					if err != nil || (b.N >= len(p.bodies) && len(as) == 0) {
						b.Fatalf("%d alerts stored, %v", len(as), err)
					}
					b.ReportMetric(float64(len(as)), "alerts")
				}
			})
		}
	}
}
