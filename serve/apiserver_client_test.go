package serve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/util/wait"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/plugin/pkg/audit/buffered"
	"k8s.io/apiserver/plugin/pkg/audit/webhook"

	"github.com/imdsguard/imdsguard/auditgen"
	"github.com/imdsguard/imdsguard/scan"
	"github.com/imdsguard/imdsguard/store"
)

// These tests drive the server with the API server's own audit webhook
// client: k8s.io/apiserver's webhook backend behind its buffered batching
// backend, configured from a kubeconfig as --audit-webhook-config-file
// is, with the batch size the API server uses by default (400).

// kubeconfig writes the webhook's kubeconfig; user holds the credential
// lines (token, or client certificate and key).
func (ts *testServer) kubeconfig(t *testing.T, user string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit-webhook.kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: imdsguard
  cluster:
    server: %s/audit/v1
    certificate-authority: %s
contexts:
- name: default
  context:
    cluster: imdsguard
    user: kube-apiserver
current-context: default
users:
- name: kube-apiserver
  user:
%s
`, ts.url, ts.p.caFile, user)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientCertFiles writes the PKI's client certificate and key as PEM.
func (p *pki) clientCertFiles(t *testing.T) (string, string) {
	t.Helper()
	certFile, keyFile := filepath.Join(p.dir, "client.crt"), filepath.Join(p.dir, "client.key")
	key, err := x509.MarshalPKCS8PrivateKey(p.clientCert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.clientCert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	return certFile, keyFile
}

// apiserverBackend is the API server's webhook backend, batching as
// --audit-webhook-batch-max-size=400 does, retrying quickly. flush stops
// it as the API server does on shutdown, sending every batch.
func apiserverBackend(t *testing.T, kubeconfig string) (b audit.Backend, flush func()) {
	t.Helper()
	hook, err := webhook.NewBackend(kubeconfig, auditv1.SchemeGroupVersion,
		wait.Backoff{Duration: 100 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b = buffered.NewBackend(hook, buffered.BatchConfig{BufferSize: 100000, MaxBatchSize: 400,
		MaxBatchWait: 200 * time.Millisecond, AsyncDelegate: true})
	stop := make(chan struct{})
	if err := b.Run(stop); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	flush = func() { once.Do(func() { close(stop); b.Shutdown() }) }
	t.Cleanup(flush)
	return b, flush
}

// generated returns a generated log as the API server's internal events
// and the alerts scan finds in it.
func generated(t *testing.T, cfg auditgen.Config) ([]*auditinternal.Event, []string) {
	t.Helper()
	var log bytes.Buffer
	if _, err := auditgen.Write(&log, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(path, log.Bytes(), 0o600)
	res, err := scan.Run([]string{path}, scan.Options{Engine: scan.EngineStrict})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range res.Alerts {
		want = append(want, a.ID+" "+a.Outcome)
	}
	sort.Strings(want)
	var events []*auditinternal.Event
	sc := bufio.NewScanner(&log)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v1 auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &v1); err != nil {
			t.Fatal(err)
		}
		in := &auditinternal.Event{}
		if err := audit.Scheme.Convert(&v1, in, nil); err != nil {
			t.Fatal(err)
		}
		events = append(events, in)
	}
	return events, want
}

func storedAlerts(t *testing.T, st *store.Store) []string {
	t.Helper()
	as, err := st.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, a.ID+" "+a.Outcome)
	}
	sort.Strings(got)
	return got
}

func TestAPIServerWebhookClient(t *testing.T) {
	for _, auth := range []string{"token", "mtls"} {
		t.Run(auth, func(t *testing.T) {
			ts := startServer(t, Limits{MaxBodyBytes: 16 << 20, MaxInFlight: 8})
			user := "    token: " + ts.token
			if auth == "mtls" {
				cert, key := ts.p.clientCertFiles(t)
				user = "    client-certificate: " + cert + "\n    client-key: " + key
			}
			backend, flush := apiserverBackend(t, ts.kubeconfig(t, user))
			events, want := generated(t, auditgen.Config{Seed: 21, Events: 4000, ExecShare: 0.01, ForceAttack: 12, ForceBenign: 6})
			if len(want) < 12 {
				t.Fatalf("generated log has %d alerts", len(want))
			}
			backend.ProcessEvents(events...)
			flush()
			if got := storedAlerts(t, ts.st); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("stored alerts differ from scan's:\n got %q\nwant %q", got, want)
			}
			if v := gauge(t, ts.reg, "imdsguard_intake_requests_total", "code", "200"); v < 10 || v > 14 {
				t.Errorf("%v batches for %d events, want about %d of 400", v, len(events), len(events)/400)
			}
			if v := counter(t, ts.reg, "imdsguard_events_received_total"); int(v) != len(events) {
				t.Errorf("%v events received, want %d", v, len(events))
			}
		})
	}
}

// A full intake queue answers 503; the API server's backend retries and
// the batch is stored once the queue frees up.
func TestAPIServerRetriesA503(t *testing.T) {
	ts := startServer(t, Limits{MaxBodyBytes: 16 << 20, MaxInFlight: 1})
	backend, flush := apiserverBackend(t, ts.kubeconfig(t, "    token: "+ts.token))
	events, want := generated(t, auditgen.Config{Seed: 22, Events: 300, ForceAttack: 3})
	ts.srv.slots <- struct{}{} // the queue is full
	backend.ProcessEvents(events...)
	waitFor(t, "a 503", func() bool { return gauge(t, ts.reg, "imdsguard_intake_requests_total", "code", "503") >= 1 })
	<-ts.srv.slots
	flush()
	if got := storedAlerts(t, ts.st); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after the retry: got %q, want %q", got, want)
	}
	if v := gauge(t, ts.reg, "imdsguard_intake_requests_total", "code", "200"); v != 1 {
		t.Errorf("%v batches accepted, want 1", v)
	}
}

// counter reads an unlabelled counter.
func counter(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}
