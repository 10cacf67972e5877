package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/imdsguard/imdsguard/alert"
)

func testAlert(id string) *alert.Alert {
	return &alert.Alert{
		SchemaVersion: alert.SchemaVersion, ID: id, Engine: "strict", AuditID: "audit-" + id,
		Timestamp: "2026-11-20T09:00:00.000000Z",
		User:      alert.User{Username: "carol@example.com", Groups: []string{"system:authenticated"}},
		SourceIPs: []string{"10.0.0.7"}, Namespace: "prod", Pod: "web-0", Container: "app",
		Command:         []string{"curl", "-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
		ExecutedCommand: "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		CloudTarget:     "AWS_IMDS", Access: "credential", IsCredentialTheft: "yes", Outcome: "allowed",
	}
}

func TestNDJSONFileAppendsAndSyncs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.ndjson")
	s := NewNDJSONFile("file", path)
	ctx := context.Background()
	if err := s.Deliver(ctx, []*alert.Alert{testAlert("a"), testAlert("b")}); err != nil {
		t.Fatal(err)
	}
	// The file is rotated away: the next delivery starts a new one.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(ctx, []*alert.Alert{testAlert("c")}); err != nil {
		t.Fatal(err)
	}
	ids := func(p string) []string {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var a alert.Alert
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			out = append(out, a.ID)
		}
		return out
	}
	if got := strings.Join(ids(path+".1"), ","); got != "a,b" {
		t.Errorf("rotated file holds %s", got)
	}
	if got := strings.Join(ids(path), ","); got != "c" {
		t.Errorf("new file holds %s", got)
	}
}

func TestNDJSONFileUnwritableFails(t *testing.T) {
	s := NewNDJSONFile("file", filepath.Join(t.TempDir(), "missing-dir", "alerts.ndjson"))
	if err := s.Deliver(context.Background(), []*alert.Alert{testAlert("a")}); err == nil {
		t.Fatal("delivery into a missing directory succeeded")
	}
	if Delivered(errors.New("x"), 3) != 0 {
		t.Fatal("a plain error delivered something")
	}
}

// receiver is an HTTPS endpoint that records what it is sent and answers
// with the status code fail gives (200 when nil).
type receiver struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	fail   func(n int) int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.bodies)
		code := 200
		if r.fail != nil {
			code = r.fail(n)
		}
		if code/100 == 2 {
			r.bodies = append(r.bodies, body)
			r.heads = append(r.heads, req.Header.Clone())
		}
		r.mu.Unlock()
		if code/100 == 3 {
			w.Header().Set("Location", "https://elsewhere.example/")
		}
		w.WriteHeader(code)
		io.WriteString(w, "receiver says \x1b[31mno\x1b[0m")
	}))
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWebhookSignsEachAlert(t *testing.T) {
	r := newReceiver(t)
	secret := []byte("0123456789abcdef-shared")
	w, err := NewWebhook("siem", r.srv.URL+"/hook", secret, HTTPOptions{CAFile: r.caFile, UserAgent: "imdsguard/test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Deliver(context.Background(), []*alert.Alert{testAlert("a"), testAlert("b")}); err != nil {
		t.Fatal(err)
	}
	if len(r.bodies) != 2 {
		t.Fatalf("%d requests, want one per alert", len(r.bodies))
	}
	for i, id := range []string{"a", "b"} {
		var got alert.Alert
		if err := json.Unmarshal(r.bodies[i], &got); err != nil || got.ID != id {
			t.Fatalf("body %d: %s (%v)", i, r.bodies[i], err)
		}
		h := r.heads[i]
		if h.Get(AlertIDHeader) != id || h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "imdsguard/test" {
			t.Errorf("headers %v", h)
		}
		if err := Verify(secret, h.Get(SignatureHeader), r.bodies[i], time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		if err := Verify([]byte("another-secret-of-16"), h.Get(SignatureHeader), r.bodies[i], time.Now(), time.Minute); err == nil {
			t.Error("signature verified with the wrong key")
		}
		tampered := append([]byte{}, r.bodies[i]...)
		tampered[len(tampered)-2] ^= 1
		if err := Verify(secret, h.Get(SignatureHeader), tampered, time.Now(), time.Minute); err == nil {
			t.Error("signature verified a tampered body")
		}
		if err := Verify(secret, h.Get(SignatureHeader), r.bodies[i], time.Now().Add(time.Hour), time.Minute); err == nil {
			t.Error("an hour-old signature verified: replay")
		}
	}
}

func TestWebhookFailuresSayHowFarItGot(t *testing.T) {
	r := newReceiver(t)
	r.fail = func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	}
	w, err := NewWebhook("siem", r.srv.URL+"/secret-token-in-path", nil, HTTPOptions{CAFile: r.caFile})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Deliver(context.Background(), []*alert.Alert{testAlert("a"), testAlert("b"), testAlert("c")})
	if Delivered(err, 3) != 1 {
		t.Fatalf("Delivered = %d (%v), want 1", Delivered(err, 3), err)
	}
	msg := err.Error()
	if strings.Contains(msg, "secret-token-in-path") {
		t.Errorf("error shows the URL's path: %s", msg)
	}
	if strings.Contains(msg, "\x1b") || !strings.Contains(msg, "500") {
		t.Errorf("error %q: want the status, with the receiver's text escaped", msg)
	}
}

func TestWebhookRefusesRedirectsAndUntrustedCerts(t *testing.T) {
	r := newReceiver(t)
	r.fail = func(int) int { return 302 }
	w, _ := NewWebhook("siem", r.srv.URL, nil, HTTPOptions{CAFile: r.caFile})
	if err := w.Deliver(context.Background(), []*alert.Alert{testAlert("a")}); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("redirect: %v, want a failure", err)
	}
	r.fail = nil
	untrusting, _ := NewWebhook("siem", r.srv.URL, nil, HTTPOptions{})
	if err := untrusting.Deliver(context.Background(), []*alert.Alert{testAlert("a")}); err == nil {
		t.Fatal("delivered to a receiver whose certificate nobody trusts")
	}
	if len(r.bodies) != 0 {
		t.Fatalf("receiver got %d alerts", len(r.bodies))
	}
}

func TestSlackMessageCannotBeSteeredByTheCommand(t *testing.T) {
	r := newReceiver(t)
	s, err := NewSlack("chat", r.srv.URL+"/services/T000/B000/XXXX", HTTPOptions{CAFile: r.caFile})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("a")
	a.ExecutedCommand = "curl http://169.254.169.254/ # <!channel> <https://evil.example|click here> *urgent* \x1b]0;pwned\x07 \u202eevil" + strings.Repeat("&", 5000)
	a.User.Username = "<@U0ADMIN>"
	if err := s.Deliver(context.Background(), []*alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	body := string(r.bodies[0])
	var msg struct {
		Text   string `json:"text"`
		Mrkdwn bool   `json:"mrkdwn"`
		Blocks []struct {
			Type   string `json:"type"`
			Text   *struct{ Type, Text string }
			Fields []struct{ Type, Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(r.bodies[0], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Mrkdwn {
		t.Error("top-level text formatted as mrkdwn")
	}
	var texts []string
	texts = append(texts, msg.Text)
	for _, b := range msg.Blocks {
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
			if b.Text.Type != "plain_text" {
				t.Errorf("block text of type %s", b.Text.Type)
			}
		}
		for _, f := range b.Fields {
			texts = append(texts, f.Text)
			if f.Type != "plain_text" {
				t.Errorf("field of type %s", f.Type)
			}
		}
	}
	for _, text := range texts {
		if strings.ContainsAny(text, "<>\x1b\x07\u202e") {
			t.Errorf("unescaped control in %q", text)
		}
		if len(text) > 3000 {
			t.Errorf("text of %d bytes", len(text))
		}
		if i := strings.LastIndexByte(text, '&'); i >= 0 && !strings.Contains(text[i:], ";") {
			t.Errorf("text ends in half an entity: %q", text[i:])
		}
	}
	if !strings.Contains(msg.Text, "&lt;!channel&gt;") || !strings.Contains(msg.Text, "AWS_IMDS credential") || !strings.Contains(body, `\u0026lt;@U0ADMIN`) {
		t.Errorf("message lost its content: %s", msg.Text)
	}
}

func TestParseFlagAndValidate(t *testing.T) {
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "slack-url")
	os.WriteFile(urlFile, []byte("https://hooks.example/services/x\n"), 0o600)
	cases := []struct {
		spec    string
		want    Config
		problem string
	}{
		{spec: "ndjson:-", want: Config{Name: "ndjson", Type: "ndjson", Path: "-"}},
		{spec: "audit=ndjson:/var/log/a.ndjson", want: Config{Name: "audit", Type: "ndjson", Path: "/var/log/a.ndjson"}},
		{spec: "siem=webhook:https://siem.example/hook?x=1", want: Config{Name: "siem", Type: "webhook", URL: "https://siem.example/hook?x=1"}},
		{spec: "slack:@" + urlFile, want: Config{Name: "slack", Type: "slack", URLFile: urlFile}},
		{spec: "webhook:http://siem.example/hook", want: Config{Name: "webhook", Type: "webhook", URL: "http://siem.example/hook"}, problem: "want an https:// URL"},
		{spec: "bad name=ndjson:-", want: Config{Name: "bad name", Type: "ndjson", Path: "-"}, problem: "name: want"},
		{spec: "kafka:broker:9092", problem: "unknown sink type"},
		{spec: "ndjson", problem: "want [NAME=]TYPE:TARGET"},
	}
	for _, tc := range cases {
		c, err := ParseFlag(tc.spec)
		if err == nil {
			if c != tc.want {
				t.Errorf("%s: %+v, want %+v", tc.spec, c, tc.want)
			}
			err = Validate([]Config{c})
		}
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: %v", tc.spec, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: error %v, want %q", tc.spec, err, tc.problem)
		}
	}
	err := Validate([]Config{{Name: "a", Type: "ndjson", Path: "-"}, {Name: "a", Type: "slack", URL: "https://x/y", SecretFile: "/nope"}})
	for _, want := range []string{"sinks[1] (a): name: used twice", "sinks[1] (a): secretFile: stat /nope", "Slack webhooks are not signed"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("tiny"), 0o600)
	if _, err := Build(Config{Name: "w", Type: "webhook", URL: "https://x/y", SecretFile: short}, io.Discard, ""); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short HMAC key: %v", err)
	}
	if s, err := Build(Config{Name: "chat", Type: "slack", URLFile: urlFile}, io.Discard, ""); err != nil || s.Name() != "chat" {
		t.Errorf("slack from a URL file: %v", err)
	}
}

// Whatever the attacker writes, Slack text holds no control sequence or
// raw control character, stays valid UTF-8 and within its limit.
func FuzzSlackEscape(f *testing.F) {
	f.Add("curl http://169.254.169.254/ <!channel> &amp; \x1b[2J \u202e", 40)
	f.Add(strings.Repeat("&", 100), 7)
	f.Add("\xff\xfe<", 3)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = 8 + int(uint(limit)%4000)
		out := slackEscape(s, limit)
		if len(out) > limit {
			t.Fatalf("%d bytes over a limit of %d", len(out), limit)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		for _, r := range out {
			if r == '<' || r == '>' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
				t.Fatalf("unescaped %U in %q", r, out)
			}
		}
		if i := strings.LastIndexByte(out, '&'); i >= 0 && !strings.Contains(out[i:], ";") {
			t.Fatalf("half an entity: %q", out[i:])
		}
	})
}
