package serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsguard/imdsguard/auditgen"
	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/store"
)

// pki is a throwaway CA with a server and a client certificate, written
// to files as an operator would have them.
type pki struct {
	dir                       string
	caFile, certFile, keyFile string
	clientCert                tls.Certificate
	roots                     *x509.CertPool
	strangerCert              tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(ca)
	issue := func(cn string, usage x509.ExtKeyUsage, signer *x509.Certificate, signerKey *ecdsa.PrivateKey) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
		kb, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
		pair, _ := tls.X509KeyPair(certPEM, keyPEM)
		return pair, certPEM, keyPEM
	}
	_, certPEM, keyPEM := issue("imdsguard", x509.ExtKeyUsageServerAuth, ca, caKey)
	p.clientCert, _, _ = issue("kube-apiserver", x509.ExtKeyUsageClientAuth, ca, caKey)
	// A client certificate from another CA.
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &otherKey.PublicKey, otherKey)
	other, _ := x509.ParseCertificate(otherDER)
	p.strangerCert, _, _ = issue("stranger", x509.ExtKeyUsageClientAuth, other, otherKey)
	p.caFile, p.certFile, p.keyFile = filepath.Join(p.dir, "ca.pem"), filepath.Join(p.dir, "tls.crt"), filepath.Join(p.dir, "tls.key")
	os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	os.WriteFile(p.certFile, certPEM, 0o600)
	os.WriteFile(p.keyFile, keyPEM, 0o600)
	return p
}

type testServer struct {
	url   string
	st    *store.Store
	token string
	p     *pki
	reg   *prometheus.Registry
	srv   *Server
}

func startServer(t *testing.T, limits Limits, opts ...Option) *testServer {
	t.Helper()
	p := newPKI(t)
	tokenFile := filepath.Join(p.dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600)
	tok, err := NewFileToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	srv := New(st, detect.NewStrict(), Auth{MTLS: true, Token: tok}, reg, append([]Option{WithLimits(limits), WithSinks("file"),
		WithBusy(func(err error) bool { return err == store.ErrOutboxFull })}, opts...)...)
	tlsCfg, err := TLSConfig(p.certFile, p.keyFile, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler(reg))
	// httptest adds its own certificate unless one is set.
	pair, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg.Certificates = []tls.Certificate{pair}
	ts.TLS = tlsCfg
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &testServer{url: ts.URL, st: st, token: "s3cret-token", p: p, reg: reg, srv: srv}
}

func (ts *testServer) client(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: ts.p.roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func (ts *testServer) post(t *testing.T, c *http.Client, path, ctype, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.url+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventList builds a webhook batch from a generated log with attacks.
func eventList(t *testing.T, seed int64, events int) []byte {
	var b bytes.Buffer
	if _, err := auditgen.Write(&b, auditgen.Config{Seed: seed, Events: events, ForceAttack: 3, ForceBenign: 2}); err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	for _, l := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
		items = append(items, json.RawMessage(l))
	}
	out, _ := json.Marshal(map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": map[string]any{}, "items": items})
	return out
}

func TestIntake(t *testing.T) {
	ts := startServer(t, Limits{MaxBodyBytes: 4 << 20, MaxInFlight: 4})
	batch := eventList(t, 11, 300)
	anon := ts.client(nil)
	mtls := ts.client(&ts.p.clientCert)
	cases := []struct {
		name   string
		c      *http.Client
		path   string
		ctype  string
		token  string
		body   []byte
		want   int
		substr string
	}{
		{"token", anon, "/audit/v1", "application/json", ts.token, batch, 200, `"alerts":3`},
		{"mtls", mtls, "/k8s-audit", "application/json", "", batch, 200, `"alerts":3`},
		{"no credentials", anon, "/audit/v1", "application/json", "", batch, 401, "no client certificate"},
		{"wrong token", anon, "/audit/v1", "application/json", "nope", batch, 403, "wrong bearer token"},
		{"wrong content type", anon, "/audit/v1", "text/plain", ts.token, batch, 415, "application/json"},
		{"malformed", anon, "/audit/v1", "application/json", ts.token, []byte(`{"kind":"EventList","items":[{"auditID":`), 400, "malformed"},
		{"too big", anon, "/audit/v1", "application/json", ts.token, bytes.Repeat([]byte(" "), 5<<20), 413, "body over"},
	}
	for _, c := range cases {
		code, body := ts.post(t, c.c, c.path, c.ctype, c.token, c.body)
		if code != c.want || !strings.Contains(body, c.substr) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.want, c.substr)
		}
	}
	// A client certificate from another CA fails the handshake.
	if code, _ := ts.post(t, ts.client(&ts.p.strangerCert), "/audit/v1", "application/json", "", batch); code != 0 {
		t.Errorf("stranger certificate got HTTP %d", code)
	}
	// The same batch twice (a retry) stored its sessions once.
	got, err := ts.st.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d alerts stored, want 3 (one per session, retries deduplicated)", len(got))
	}
	depth, _ := ts.st.OutboxDepth(context.Background())
	if depth["file"] != 3 {
		t.Errorf("outbox depth %v, want 3 for sink file", depth)
	}
}

func TestOverloadAnswers503(t *testing.T) {
	ts := startServer(t, Limits{MaxBodyBytes: 32 << 20, MaxInFlight: 1})
	big := eventList(t, 12, 6000)
	c := ts.client(nil)
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := ts.post(t, c, "/audit/v1", "application/json", ts.token, big)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[503] == 0 || n[200] == 0 || n[200]+n[503] != 16 {
		t.Fatalf("codes under overload: %v (want some 200 and some 503)", n)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ts := startServer(t, Limits{MaxBodyBytes: 4 << 20, MaxInFlight: 2})
	c := ts.client(nil)
	ts.post(t, c, "/audit/v1", "application/json", ts.token, eventList(t, 13, 200))
	ts.post(t, c, "/audit/v1", "application/json", "bad", []byte("{}"))
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ok",
		"/metrics": "imdsguard_auth_failures_total 1"} {
		resp, err := c.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
		if path == "/metrics" {
			for _, m := range []string{"imdsguard_events_received_total", "imdsguard_alerts_total{access=", "imdsguard_intake_request_seconds_bucket"} {
				if !strings.Contains(string(b), m) {
					t.Errorf("metrics lack %s", m)
				}
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "tlsCert and tlsKey are required") || !strings.Contains(err.Error(), "clientCA or tokenFile") {
		t.Fatalf("default config without TLS: %v", err)
	}
	c.Insecure = true
	if err := c.Validate(); err != nil {
		t.Fatalf("insecure: %v", err)
	}
	c.TokenFile = "/x"
	if err := c.Validate(); err == nil {
		t.Fatal("insecure with a token accepted")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("listen: ':9443'\nreadTimeout: 5s\nbogus: 1\n"), 0o600)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown field: %v", err)
	}
	os.WriteFile(p, []byte("listen: ':9443'\nreadTimeout: 5s\ninsecure: true\n"), 0o600)
	c, err = LoadConfig(p)
	if err != nil || c.Listen != ":9443" || c.ReadTimeout.Duration != 5*time.Second || c.Validate() != nil {
		t.Fatalf("%+v %v", c, err)
	}
}

var _ = fmt.Sprint
