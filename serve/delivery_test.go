package serve

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/exception"
	"github.com/imdsguard/imdsguard/sink"
	"github.com/imdsguard/imdsguard/store"
)

// siem is a webhook receiver that can be taken down: while down it answers
// 503, as a receiver being redeployed does.
type siem struct {
	srv    *httptest.Server
	caFile string
	down   atomic.Bool
	mu     sync.Mutex
	got    map[string]int // alert id -> deliveries
	tries  atomic.Int64
}

func newSIEM(t *testing.T) *siem {
	s := &siem{got: map[string]int{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.tries.Add(1)
		if s.down.Load() {
			http.Error(w, "redeploying", http.StatusServiceUnavailable)
			return
		}
		var a alert.Alert
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &a); err != nil || a.ID == "" || a.ID != r.Header.Get(sink.AlertIDHeader) {
			http.Error(w, "bad alert", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got[a.ID]++
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	s.caFile = filepath.Join(t.TempDir(), "siem-ca.pem")
	os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}), 0o600)
	return s
}

func (s *siem) received() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

// gauge reads one sample of a gathered metric, -1 when absent.
func gauge(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if m.Counter != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A sink that is down loses nothing: alerts wait in the outbox, its
// errors and depth show in the metrics, and everything goes out when it
// is back.
func TestSinkDownThenBack(t *testing.T) {
	rcv := newSIEM(t)
	rcv.down.Store(true)
	hook, err := sink.NewWebhook("siem", rcv.srv.URL+"/alerts", []byte("0123456789abcdef"), sink.HTTPOptions{CAFile: rcv.caFile})
	if err != nil {
		t.Fatal(err)
	}
	file := sink.NewNDJSONFile("file", filepath.Join(t.TempDir(), "alerts.ndjson"))
	reg := prometheus.NewRegistry()
	// The delivery's store is the server's, opened below; a holder lets
	// the delivery be built first.
	var d *Delivery
	ts := startServer(t, Limits{MaxBodyBytes: 8 << 20, MaxInFlight: 4}, func(s *Server) {
		d = NewDelivery(s.store.(Outbox), []sink.Sink{hook, file}, slog.New(slog.NewJSONHandler(io.Discard, nil)), reg,
			WithBackoff(Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}), WithPoll(50*time.Millisecond))
		WithDelivery(d)(s)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	c := ts.client(nil)
	for seed := int64(1); seed <= 4; seed++ {
		if code, body := ts.post(t, c, "/audit/v1", "application/json", ts.token, eventList(t, 100+seed, 300)); code != 200 {
			t.Fatalf("batch %d: %d %s", seed, code, body)
		}
	}
	stored, err := ts.st.List(context.Background(), store.Filter{})
	if err != nil || len(stored) != 12 {
		t.Fatalf("%d alerts stored (%v), want 12", len(stored), err)
	}
	waitFor(t, "failed attempts while the SIEM is down", func() bool { return rcv.tries.Load() >= 3 })
	if v := gauge(t, reg, "imdsguard_outbox_depth", "sink", "siem"); v < 12 {
		t.Fatalf("outbox depth of siem %v while it is down, want >= 12", v)
	}
	if v := gauge(t, reg, "imdsguard_sink_errors_total", "sink", "siem"); v < 1 {
		t.Fatalf("sink errors %v", v)
	}
	// The file sink is unaffected by the webhook's outage.
	waitFor(t, "the file sink to drain", func() bool { return gauge(t, reg, "imdsguard_outbox_depth", "sink", "file") == 0 })

	rcv.down.Store(false)
	waitFor(t, "the SIEM's backlog to drain", func() bool { return gauge(t, reg, "imdsguard_outbox_depth", "sink", "siem") == 0 })
	got := rcv.received()
	var want, have []string
	for _, a := range stored {
		want = append(want, a.ID)
	}
	for id, n := range got {
		have = append(have, id)
		if n != 1 {
			t.Errorf("alert %s delivered %d times", id, n)
		}
	}
	sort.Strings(want)
	sort.Strings(have)
	if strings.Join(want, ",") != strings.Join(have, ",") {
		t.Fatalf("delivered %v\nwant      %v", have, want)
	}
	if v := gauge(t, reg, "imdsguard_sink_delivered_total", "sink", "siem"); v != 12 {
		t.Errorf("delivered metric %v, want 12", v)
	}
}

// Suppressed sessions are stored, marked and counted, and owe nothing to
// the sinks.
func TestExceptionsSuppressInServe(t *testing.T) {
	set, err := exception.New([]exception.Exception{{Name: "lab", Reason: "every namespace is a lab here", Namespaces: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Limits{MaxBodyBytes: 8 << 20, MaxInFlight: 4}, WithExceptions(set))
	if code, body := ts.post(t, ts.client(nil), "/audit/v1", "application/json", ts.token, eventList(t, 7, 300)); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	got, err := ts.st.List(context.Background(), store.Filter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("%d alerts (%v), want 3", len(got), err)
	}
	for _, a := range got {
		if a.Suppressed == nil || a.Suppressed.Exception != "lab" {
			t.Errorf("alert %s not marked suppressed: %+v", a.ID, a.Suppressed)
		}
	}
	if depth, _ := ts.st.OutboxDepth(context.Background()); depth["file"] != 0 {
		t.Errorf("suppressed alerts queued: %v", depth)
	}
	if v := gauge(t, ts.reg, "imdsguard_alerts_suppressed_total", "exception", "lab"); v != 3 {
		t.Errorf("suppressed metric %v, want 3", v)
	}
}
