// Package e2e runs a real kube-apiserver (against a real etcd) whose audit
// webhook points at a real `imdsguard serve`, issues exec requests the way
// kubectl does, and checks the alerts imdsguard stored against the audit
// log the API server wrote.
//
// Run it with e2e/run.sh from the repository root: that script builds (and
// caches) kube-apiserver and imdsguard, installs etcd if needed, and sets
// IMDSGUARD_E2E=1 plus the binary paths this test reads. Without
// IMDSGUARD_E2E the test skips and says so; with it, a missing binary is a
// failure.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream" // what kubectl v1.37 and client-go use (not apimachinery's copy)
)

// Environment variables set by run.sh.
const (
	envEnable        = "IMDSGUARD_E2E"                // "1": run (otherwise skip)
	envImdsguard     = "IMDSGUARD_E2E_IMDSGUARD"      // imdsguard binary built from this repo
	envKubeAPIServer = "IMDSGUARD_E2E_KUBE_APISERVER" // kube-apiserver binary
	envEtcd          = "IMDSGUARD_E2E_ETCD"           // etcd binary (default: etcd on PATH)
	envRepo          = "IMDSGUARD_E2E_REPO"           // repository root (default: ..)
)

type binaries struct {
	imdsguard, kubeAPIServer, etcd string
	repo                           string // repository root: deploy/ is read from there
}

func requireBinaries(t *testing.T) binaries {
	t.Helper()
	if os.Getenv(envEnable) == "" {
		t.Skipf("end-to-end test against a real kube-apiserver: run e2e/run.sh from the repository root "+
			"(it builds kube-apiserver and imdsguard, installs etcd if missing, and sets %s=1 and the binary paths)", envEnable)
	}
	b := binaries{
		imdsguard:     os.Getenv(envImdsguard),
		kubeAPIServer: os.Getenv(envKubeAPIServer),
		etcd:          os.Getenv(envEtcd),
		repo:          os.Getenv(envRepo),
	}
	if b.etcd == "" {
		b.etcd, _ = exec.LookPath("etcd")
	}
	if b.repo == "" {
		b.repo = ".."
	}
	var err error
	if b.repo, err = filepath.Abs(b.repo); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{envImdsguard: b.imdsguard, envKubeAPIServer: b.kubeAPIServer, envEtcd + " (or etcd on PATH)": b.etcd} {
		if path == "" {
			t.Fatalf("%s=1 but %s is not set: run e2e/run.sh from the repository root, which builds the binaries and sets it", envEnable, name)
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			t.Fatalf("%s=%s: not an executable file (%v): run e2e/run.sh from the repository root", name, path, err)
		}
	}
	if _, err := os.Stat(filepath.Join(b.repo, "deploy", "audit-policy.yaml")); err != nil {
		t.Fatalf("%s: the repository root must hold deploy/audit-policy.yaml: %v", envRepo, err)
	}
	return b
}

// TestAuditWebhook is the whole end-to-end run: one etcd, then for each
// way the API server authenticates to imdsguard (bearer token, client
// certificate) a fresh imdsguard serve and a fresh kube-apiserver on its
// own etcd prefix.
func TestAuditWebhook(t *testing.T) {
	bins := requireBinaries(t)
	dir := t.TempDir()
	dumpLogsOnFailure(t, dir)
	p := newPKI(t, filepath.Join(dir, "pki"))
	etcdURL := startEtcd(t, bins, dir)

	t.Run("token", func(t *testing.T) {
		runScenario(t, bins, p, etcdURL, scenario{
			name:      "token",
			mtls:      false,
			pods:      []podSpec{pendingPod, boundPod},
			executors: []string{"spdy", "websocket", "fallback"},
			cases:     execCases,
			// A pause between executors so the API server sends
			// several batches (one every --audit-webhook-batch-max-wait).
			pause:        1500 * time.Millisecond,
			batchMaxSize: 400,
		})
	})
	t.Run("mtls", func(t *testing.T) {
		runScenario(t, bins, p, etcdURL, scenario{
			name:      "mtls",
			mtls:      true,
			pods:      []podSpec{pendingPod},
			executors: []string{"spdy", "websocket"},
			cases:     []execCase{execCases[0], execCases[3]},
			// One event per batch: the stages of a session arrive in
			// separate, concurrent POSTs (the webhook backend delivers
			// batches asynchronously), and imdsguard must fold them
			// into one alert whatever their order.
			batchMaxSize: 1,
		})
	})
}

// execCase is one command run with kubectl exec. target and access are
// what imdsguard must report ("" target: no alert).
type execCase struct {
	name           string
	argv           []string
	target, access string
}

var execCases = []execCase{
	{"aws-creds", []string{"curl", "-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}, "AWS_IMDS", "credential"},
	{"gcp-token", []string{"sh", "-c", "wget -qO- --header 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"}, "GCP_METADATA", "credential"},
	{"azure-token", []string{"curl", "-H", "Metadata: true", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"}, "AZURE_IMDS", "credential"},
	{"ls", []string{"ls", "/"}, "", ""},
	{"cat-hostname", []string{"cat", "/etc/hostname"}, "", ""},
	{"curl-example", []string{"curl", "http://example.com/"}, "", ""},
}

// podSpec is a pod to exec into and, per executor, the requests the API
// server audits for one exec, in order.
type podSpec struct {
	name   string
	onNode bool // bound to a Node object whose kubelet address has nothing listening
	want   map[string][]wantRequest
}

// wantRequest is what the audit log must show for one request: its verb,
// response code and a substring of the answer's message.
type wantRequest struct {
	verb    string
	code    int32
	message string
}

// pendingPod has no node: the API server answers every exec 400 before any
// upgrade, so kubectl's fallback executor tries the WebSocket (GET) and
// then SPDY (POST): one kubectl exec, two audited requests, two sessions.
var pendingPod = podSpec{
	name: "victim",
	want: map[string][]wantRequest{
		"spdy":      {{"create", 400, "does not have a host assigned"}},
		"websocket": {{"get", 400, "does not have a host assigned"}},
		"fallback":  {{"get", 400, "does not have a host assigned"}, {"create", 400, "does not have a host assigned"}},
	},
}

// boundPod is on a node whose kubelet cannot be reached. SPDY: the API
// server proxies the upgrade to the kubelet and fails, 500. WebSocket: the
// API server upgrades the client itself (101) and only then dials the
// kubelet, so the session is audited as 101 although nothing ran; the
// fallback executor does not fall back after a 101.
var boundPod = podSpec{
	name:   "bound",
	onNode: true,
	want: map[string][]wantRequest{
		"spdy":      {{"create", 500, "error dialing backend"}},
		"websocket": {{"get", 101, ""}},
		"fallback":  {{"get", 101, ""}},
	},
}

type scenario struct {
	name         string
	mtls         bool // the API server authenticates with a client certificate, not a token
	pods         []podSpec
	executors    []string
	cases        []execCase
	pause        time.Duration // between executors
	batchMaxSize int           // --audit-webhook-batch-max-size
}

const (
	namespace = "e2e"
	container = "app"
	nodeName  = "fake-node"
)

func runScenario(t *testing.T, bins binaries, p *pki, etcdURL string, sc scenario) {
	dir := t.TempDir()
	dumpLogsOnFailure(t, dir)

	srv := startServe(t, bins, p, dir, sc.mtls)
	hook := writeWebhookKubeconfig(t, bins, p, dir, srv)
	api := startAPIServer(t, bins, p, dir, etcdURL, "/registry-"+sc.name, hook, sc.batchMaxSize)
	cs := kubernetes.NewForConfigOrDie(api.cfg)
	createPods(t, cs, sc.pods)

	// Exec every command in every pod with every executor, as kubectl
	// would. No kubelet runs, so every exec fails; the API server still
	// audits each request.
	type call struct {
		pod      podSpec
		executor string
		c        execCase
		ua       string
	}
	var calls []call
	for i, ex := range sc.executors {
		if i > 0 {
			time.Sleep(sc.pause)
		}
		for _, pod := range sc.pods {
			for _, c := range sc.cases {
				ua := fmt.Sprintf("imdsguard-e2e/%s/%s/%s/%s", sc.name, pod.name, ex, c.name)
				err := runExec(api.cfg, ua, ex, pod.name, c.argv)
				if err == nil {
					t.Errorf("%s exec %q in pod %s succeeded, but no kubelet runs", ex, c.argv, pod.name)
				} else {
					t.Logf("%-6s %-9s %-13s exec error (expected): %v", pod.name, ex, c.name, err)
				}
				calls = append(calls, call{pod, ex, c, ua})
			}
		}
	}

	// The audit log is the ground truth: which requests the API server
	// made of each exec, their audit IDs, verbs and response codes.
	var reqs map[string][]*auditRequest // by user agent
	waitFor(t, "audit log to record every exec", 15*time.Second, func() error {
		reqs = readAuditLog(t, api.auditLog)
		for _, c := range calls {
			want := c.pod.want[c.executor]
			got := reqs[c.ua]
			if len(got) < len(want) {
				return fmt.Errorf("%s: %d exec requests in the audit log, want %d", c.ua, len(got), len(want))
			}
			for _, r := range got {
				if !slices.Contains(r.stages, "ResponseComplete") {
					return fmt.Errorf("%s: audit ID %s has no ResponseComplete yet", c.ua, r.id)
				}
			}
		}
		return nil
	}, api.p)

	type want struct {
		c   execCase
		pod string
		ex  string
		r   *auditRequest
	}
	alerting := map[string]want{} // by audit ID
	benign := map[string]want{}
	for _, c := range calls {
		wantReqs := c.pod.want[c.executor]
		if got := reqs[c.ua]; len(got) != len(wantReqs) {
			t.Errorf("%s: %d exec requests in the audit log, want %d", c.ua, len(got), len(wantReqs))
		}
		for i, r := range reqs[c.ua] {
			// The API server's answers are what this setup expects.
			if i < len(wantReqs) {
				wr := wantReqs[i]
				if r.verb != wr.verb || r.code != wr.code || !strings.Contains(r.message, wr.message) {
					t.Errorf("%s: request %d (audit ID %s) is %s answered %d %q; want %s answered %d %q",
						c.ua, i, r.id, r.verb, r.code, r.message, wr.verb, wr.code, wr.message)
				}
			}
			w := want{c.c, c.pod.name, c.executor, r}
			if c.c.target != "" {
				alerting[r.id] = w
			} else {
				benign[r.id] = w
			}
		}
	}

	// imdsguard serve stores the alerts as the webhook batches arrive.
	ready := func() error {
		got := alertsByAuditID(listAlerts(t, bins, srv.db))
		for id, w := range alerting {
			as := got[id]
			if len(as) == 0 {
				return fmt.Errorf("no alert yet for %s (audit ID %s)", w.r.ua, id)
			}
			if a := as[0]; a.Outcome == "unknown" || len(a.Stages) < len(w.r.stages) {
				return fmt.Errorf("alert for %s has stages %v, outcome %s so far", w.r.ua, a.Stages, a.Outcome)
			}
		}
		return nil
	}
	waitFor(t, fmt.Sprintf("imdsguard to store %d alerts", len(alerting)), 30*time.Second, ready, srv.p, api.p)

	// Stop the API server (it flushes its audit buffer), so nothing can
	// arrive after the final look.
	if err := api.p.stop(60 * time.Second); err != nil {
		t.Errorf("kube-apiserver: %v", err)
	}
	// "Error in audit plugin 'webhook'" is a batch imdsguard did not take
	// (after the retries). ("'buffered' ... audit backend shut down" is an
	// event made during shutdown: not ours.)
	if b, _ := os.ReadFile(api.p.log); bytes.Contains(b, []byte("Error in audit plugin 'webhook'")) {
		t.Errorf("kube-apiserver could not deliver audit events to imdsguard (in %s):\n%s", api.p.log, grepLines(b, "Error in audit plugin 'webhook'", 10))
	}
	// Everything the API server audited is in the log by now.
	reqs = readAuditLog(t, api.auditLog)

	all := listAlerts(t, bins, srv.db)
	got := alertsByAuditID(all)
	var rows []string
	for id, w := range alerting {
		as := got[id]
		if len(as) != 1 {
			t.Errorf("%s (audit ID %s, %s %v): %d alerts, want exactly 1", w.r.ua, id, w.ex, w.c.argv, len(as))
			if len(as) == 0 {
				continue
			}
		}
		a := as[0]
		check := func(field string, got, want any) {
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s (audit ID %s): alert %s = %v, want %v", w.r.ua, id, field, got, want)
			}
		}
		check("cloud_target", a.CloudTarget, w.c.target)
		check("access", a.Access, w.c.access)
		check("response_code", a.ResponseCode, w.r.code)
		check("outcome", a.Outcome, outcomeFor(w.r.code, w.r.message))
		check("stages", a.Stages, w.r.stages)
		check("verb", a.Verb, w.r.verb)
		check("command", a.Command, w.c.argv)
		check("namespace", a.Namespace, namespace)
		check("pod", a.Pod, w.pod)
		check("container", a.Container, container)
		check("user", a.User.Username, "admin")
		check("user_agent", a.UserAgent, w.r.ua)
		rows = append(rows, fmt.Sprintf("%-6s %-9s %-12s verb=%-6s code=%d outcome=%-7s %-12s audit_id=%s alert=%s",
			w.pod, w.ex, w.c.name, a.Verb, a.ResponseCode, a.Outcome, a.CloudTarget, id, a.ID))
	}
	for id, w := range benign {
		if len(got[id]) > 0 {
			t.Errorf("benign exec %v (%s, audit ID %s) raised an alert: %+v", w.c.argv, w.r.ua, id, got[id][0])
		}
	}
	for id, as := range got {
		if _, ok := alerting[id]; !ok {
			if _, ok := benign[id]; !ok {
				t.Errorf("alert for an audit ID this test did not make: %s (%d alerts, first %+v)", id, len(as), as[0])
			}
		}
	}
	if len(all) != len(alerting) {
		t.Errorf("%d alerts stored, want %d (one per metadata exec session)", len(all), len(alerting))
	}
	sort.Strings(rows)
	t.Logf("alerts (%d exec requests audited, %d alerting):\n  %s", len(alerting)+len(benign), len(alerting), strings.Join(rows, "\n  "))

	// What serve saw: every exec event the API server logged was
	// delivered once, and every batch was answered 200.
	execEvents := 0
	for _, rs := range reqs {
		for _, r := range rs {
			execEvents += len(r.stages)
		}
	}
	m := srv.metrics(t)
	for name, v := range m {
		if strings.HasPrefix(name, "imdsguard_intake_requests_total{") && name != `imdsguard_intake_requests_total{code="200"}` && v != 0 {
			t.Errorf("imdsguard answered the API server with something else than 200: %s %v", name, v)
		}
	}
	for _, name := range []string{"imdsguard_malformed_bodies_total", "imdsguard_auth_failures_total"} {
		if m[name] != 0 {
			t.Errorf("%s = %v, want 0", name, m[name])
		}
	}
	if got := m["imdsguard_exec_events_total"]; int(got) != execEvents {
		t.Errorf("imdsguard_exec_events_total = %v, want %d (the exec events in the audit log)", got, execEvents)
	}
	t.Logf("imdsguard: %v batches answered 200, %v exec events received", m[`imdsguard_intake_requests_total{code="200"}`], m["imdsguard_exec_events_total"])

	if err := srv.p.stop(30 * time.Second); err != nil {
		t.Errorf("imdsguard serve: %v", err)
	}
	if b, _ := os.ReadFile(srv.p.log); bytes.Contains(b, []byte(`"level":"ERROR"`)) || bytes.Contains(b, []byte(`"level":"WARN"`)) {
		t.Errorf("imdsguard serve logged warnings or errors:\n%s", grepLines(b, `"level":"`, 20))
	}
}

// outcomeFor is the outcome imdsguard documents for a response code:
// allowed when the API server started the session (101 or 2xx), denied for
// 401/403 (and an admission webhook's 400), failed for any other code.
func outcomeFor(code int32, message string) string {
	switch {
	case code == 101 || code >= 200 && code < 300:
		return "allowed"
	case code == 401 || code == 403:
		return "denied"
	case code == 400 && strings.Contains(message, "admission webhook") && strings.Contains(message, "denied the request"):
		return "denied"
	case code == 0:
		return "unknown"
	}
	return "failed"
}

// ---- etcd ----

func startEtcd(t *testing.T, bins binaries, dir string) string {
	client, peer := freePort(t), freePort(t)
	curl := fmt.Sprintf("http://127.0.0.1:%d", client)
	purl := fmt.Sprintf("http://127.0.0.1:%d", peer)
	p := startProc(t, "etcd", filepath.Join(dir, "etcd.log"), bins.etcd,
		"--name=e2e", "--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+curl, "--advertise-client-urls="+curl,
		"--listen-peer-urls="+purl, "--initial-advertise-peer-urls="+purl,
		"--initial-cluster=e2e="+purl)
	waitFor(t, "etcd healthy", 30*time.Second, func() error {
		resp, err := http.Get(curl + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"health":"true"`)) {
			return fmt.Errorf("/health: %d %s", resp.StatusCode, b)
		}
		return nil
	}, p)
	return curl
}

// ---- imdsguard serve ----

type serveInst struct {
	p      *proc
	url    string // https://127.0.0.1:PORT
	db     string
	token  string // bearer token ("" with mTLS)
	mtls   bool
	client *http.Client
}

func startServe(t *testing.T, bins binaries, p *pki, dir string, mtls bool) *serveInst {
	port := freePort(t)
	s := &serveInst{url: fmt.Sprintf("https://127.0.0.1:%d", port), db: filepath.Join(dir, "alerts.db"), mtls: mtls}
	args := []string{"serve", fmt.Sprintf("--listen=127.0.0.1:%d", port),
		"--tls-cert=" + p.ServeCert, "--tls-key=" + p.ServeKey, "--store=" + s.db}
	tlsCfg := &tls.Config{RootCAs: p.pool()}
	if mtls {
		args = append(args, "--client-ca="+p.CA)
		cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	} else {
		s.token = randomToken(t)
		tokenFile := filepath.Join(dir, "imdsguard-token")
		if err := os.WriteFile(tokenFile, []byte(s.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--token-file="+tokenFile)
	}
	s.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	s.p = startProc(t, "imdsguard serve", filepath.Join(dir, "imdsguard.log"), bins.imdsguard, args...)
	waitFor(t, "imdsguard serve /healthz", 30*time.Second, func() error {
		resp, err := s.client.Get(s.url + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	}, s.p)
	return s
}

// metrics scrapes /metrics into name{labels} -> value.
func (s *serveInst) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := s.client.Get(s.url + "/metrics")
	if err != nil {
		t.Fatalf("scraping imdsguard /metrics: %v", err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "imdsguard_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

func randomToken(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeWebhookKubeconfig fills in the project's template,
// deploy/webhook-kubeconfig.yaml: the server, the CA, and either the
// template's client certificate (mTLS) or, as its comment says, a token
// instead.
func writeWebhookKubeconfig(t *testing.T, bins binaries, p *pki, dir string, s *serveInst) string {
	tmpl := filepath.Join(bins.repo, "deploy", "webhook-kubeconfig.yaml")
	cfg, err := clientcmd.LoadFromFile(tmpl)
	if err != nil {
		t.Fatalf("loading %s: %v", tmpl, err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		t.Fatalf("%s: current-context %q is not defined", tmpl, cfg.CurrentContext)
	}
	cluster, user := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	if cluster == nil || user == nil {
		t.Fatalf("%s: context %q names an undefined cluster or user", tmpl, cfg.CurrentContext)
	}
	if !strings.HasSuffix(cluster.Server, "/audit/v1") {
		t.Errorf("%s: server %s does not end in /audit/v1", tmpl, cluster.Server)
	}
	if user.ClientCertificate == "" || user.ClientKey == "" {
		t.Errorf("%s: the user has no client-certificate/client-key", tmpl)
	}
	cluster.Server = s.url + "/audit/v1"
	cluster.CertificateAuthority = p.CA
	if s.mtls {
		user.ClientCertificate, user.ClientKey = p.ClientCert, p.ClientKey
	} else {
		user.ClientCertificate, user.ClientKey = "", ""
		user.Token = s.token
	}
	path := filepath.Join(dir, "audit-webhook.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// ---- kube-apiserver ----

type apiServer struct {
	p        *proc
	cfg      *rest.Config
	auditLog string
}

func startAPIServer(t *testing.T, bins binaries, p *pki, dir, etcdURL, etcdPrefix, hookKubeconfig string, batchMaxSize int) *apiServer {
	port := freePort(t)
	token := randomToken(t)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &apiServer{auditLog: filepath.Join(dir, "audit.log")}
	a.p = startProc(t, "kube-apiserver", filepath.Join(dir, "kube-apiserver.log"), bins.kubeAPIServer,
		"--etcd-servers="+etcdURL, "--etcd-prefix="+etcdPrefix,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file="+p.APIServerCert, "--tls-private-key-file="+p.APIServerKey,
		"--client-ca-file="+p.CA,
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+p.SAPub,
		"--service-account-signing-key-file="+p.SAKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// The default lease reconciler refuses a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--audit-policy-file="+filepath.Join(bins.repo, "deploy", "audit-policy.yaml"),
		"--audit-log-path="+a.auditLog, "--audit-log-format=json",
		"--audit-webhook-config-file="+hookKubeconfig,
		"--audit-webhook-mode=batch",
		fmt.Sprintf("--audit-webhook-batch-max-size=%d", batchMaxSize),
		"--audit-webhook-batch-max-wait=1s",
	)
	a.cfg = &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", port),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: p.CA},
		QPS:             100,
		Burst:           200,
		// No Timeout: it would add timeout=... to the exec URL, which
		// kubectl does not send.
	}
	rt, err := rest.TransportFor(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt, Timeout: 5 * time.Second}
	waitFor(t, "kube-apiserver /readyz", 90*time.Second, func() error {
		resp, err := hc.Get(a.cfg.Host + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("/readyz: %s %s", resp.Status, lastLines(string(b), 3))
		}
		return nil
	}, a.p)
	return a
}

// createPods makes the namespace, its default ServiceAccount (no
// controller manager runs to make it, and the ServiceAccount admission
// plugin needs it) and the pods, which stay Pending: no kubelet runs. A
// pod with onNode is bound to a Node object whose kubelet port has nothing
// listening.
func createPods(t *testing.T, cs kubernetes.Interface, pods []podSpec) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	create := func(what string, f func() error) {
		waitFor(t, "created "+what, 20*time.Second, func() error {
			err := f()
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		})
	}
	create("namespace "+namespace, func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
		return err
	})
	create("serviceaccount default", func() error {
		_, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		return err
	})
	for _, pod := range pods {
		if !pod.onNode {
			continue
		}
		kubeletPort := int32(freePort(t)) // nothing listens there: dials are refused
		create("node "+nodeName, func() error {
			_, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: nodeName},
				Status: corev1.NodeStatus{
					Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
					DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: kubeletPort}},
				},
			}, metav1.CreateOptions{})
			return err
		})
		break
	}
	for _, pod := range pods {
		spec := corev1.PodSpec{Containers: []corev1.Container{{
			Name: container, Image: "busybox", Command: []string{"sleep", "3600"},
		}}}
		if pod.onNode {
			spec.NodeName = nodeName
		}
		create("pod "+pod.name, func() error {
			_, err := cs.CoreV1().Pods(namespace).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.name}, Spec: spec}, metav1.CreateOptions{})
			return err
		})
		got, err := cs.CoreV1().Pods(namespace).Get(ctx, pod.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.NodeName != spec.NodeName || got.Status.Phase != corev1.PodPending {
			t.Fatalf("pod %s: node %q phase %s, want node %q and Pending", pod.name, got.Spec.NodeName, got.Status.Phase, spec.NodeName)
		}
	}
}

// runExec executes argv in the pod the way kubectl exec (without -i/-t)
// does: the same URL and query, and one of client-go's executors: "spdy"
// (POST), "websocket" (GET, v5.channel.k8s.io) or "fallback", kubectl's
// default, which tries the WebSocket and falls back to SPDY when the
// upgrade fails.
func runExec(base *rest.Config, userAgent, executor, pod string, argv []string) error {
	cfg := rest.CopyConfig(base)
	cfg.UserAgent = userAgent
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Name(pod).Namespace(namespace).SubResource("exec")
	req.VersionedParams(&corev1.PodExecOptions{
		Container: container,
		Command:   argv,
		Stdout:    true,
		Stderr:    true,
	}, scheme.ParameterCodec)
	u := req.URL()

	var ex remotecommand.Executor
	switch executor {
	case "spdy":
		ex, err = remotecommand.NewSPDYExecutor(cfg, "POST", u)
	case "websocket":
		ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	case "fallback": // kubectl/pkg/cmd/exec createExecutor
		var spdy, ws remotecommand.Executor
		if spdy, err = remotecommand.NewSPDYExecutor(cfg, "POST", u); err != nil {
			return err
		}
		if ws, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String()); err != nil {
			return err
		}
		ex, err = remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	default:
		return fmt.Errorf("unknown executor %q", executor)
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &out})
}

// ---- audit log ----

// auditRequest is one exec request as the API server's audit log records it.
type auditRequest struct {
	id, verb, ua, uri string
	stages            []string // in log order
	code              int32    // of the latest stage
	message           string
}

// readAuditLog returns the pods/exec requests in the audit log by user agent.
func readAuditLog(t *testing.T, path string) map[string][]*auditRequest {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byID := map[string]*auditRequest{}
	var order []*auditRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			AuditID    string `json:"auditID"`
			Stage      string `json:"stage"`
			Verb       string `json:"verb"`
			UserAgent  string `json:"userAgent"`
			RequestURI string `json:"requestURI"`
			ObjectRef  *struct {
				Resource, Subresource string
			} `json:"objectRef"`
			ResponseStatus *struct {
				Code    int32  `json:"code"`
				Message string `json:"message"`
			} `json:"responseStatus"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // a line being written
		}
		if ev.ObjectRef == nil || ev.ObjectRef.Resource != "pods" || ev.ObjectRef.Subresource != "exec" {
			continue
		}
		r := byID[ev.AuditID]
		if r == nil {
			r = &auditRequest{id: ev.AuditID, verb: ev.Verb, ua: ev.UserAgent, uri: ev.RequestURI}
			byID[ev.AuditID] = r
			order = append(order, r)
		}
		r.stages = append(r.stages, ev.Stage)
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code != 0 {
			r.code, r.message = ev.ResponseStatus.Code, ev.ResponseStatus.Message
		}
	}
	out := map[string][]*auditRequest{}
	for _, r := range order {
		out[r.ua] = append(out[r.ua], r)
	}
	return out
}

// ---- imdsguard alerts list ----

type alertJSON struct {
	ID           string   `json:"id"`
	AuditID      string   `json:"audit_id"`
	CloudTarget  string   `json:"cloud_target"`
	Access       string   `json:"access"`
	Outcome      string   `json:"outcome"`
	ResponseCode int32    `json:"response_code"`
	Stages       []string `json:"stages"`
	Verb         string   `json:"verb"`
	Command      []string `json:"command"`
	Namespace    string   `json:"namespace"`
	Pod          string   `json:"pod"`
	Container    string   `json:"container"`
	UserAgent    string   `json:"user_agent"`
	User         struct {
		Username string `json:"username"`
	} `json:"user"`
}

// listAlerts runs `imdsguard alerts list --format ndjson` on the store the
// server has open.
func listAlerts(t *testing.T, bins binaries, db string) []alertJSON {
	t.Helper()
	cmd := exec.Command(bins.imdsguard, "alerts", "list", "--store", db, "--format", "ndjson")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imdsguard alerts list --store %s: %v\n%s", db, err, stderr.String())
	}
	var as []alertJSON
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var a alertJSON
		if err := dec.Decode(&a); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("imdsguard alerts list: bad ndjson: %v\n%s", err, out)
		}
		as = append(as, a)
	}
	return as
}

func alertsByAuditID(as []alertJSON) map[string][]alertJSON {
	m := map[string][]alertJSON{}
	for _, a := range as {
		m[a.AuditID] = append(m[a.AuditID], a)
	}
	return m
}

func grepLines(b []byte, substr string, max int) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			if len(l) > 600 {
				l = l[:600] + "...(cut)"
			}
			out = append(out, "  | "+l)
			if len(out) == max {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
