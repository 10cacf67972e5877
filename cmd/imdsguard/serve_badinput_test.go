package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/store"
)

// Bad input at the process level, with the real timeouts: slow clients
// are cut off, oversized and malformed bodies refused, a huge single
// event read, and good batches go on being stored throughout.
func TestServeBadInput(t *testing.T) {
	bin := buildImdsguard(t)
	db := filepath.Join(t.TempDir(), "alerts.db")
	addr := freeAddr(t)
	srv := startServe(t, bin, addr, "--store", db, "--read-timeout", "1s", "--max-body", "4MiB", "--max-in-flight", "2")
	good := makeBatches(t, 3)

	// A client that sends half its headers, and one that sends its
	// headers and stalls in the body, each hold a connection.
	dial := func(t *testing.T, payload string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, payload)
		return c
	}
	slowHeaders := dial(t, "POST /audit/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
	slowBody := dial(t, "POST /audit/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"kind\":\"EventList\",\"items\":[")

	// Meanwhile a good batch is served at once.
	start := time.Now()
	if code, err := post(addr, good[0].body); err != nil || code != 200 {
		t.Fatalf("good batch beside slow clients: %d %v", code, err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("good batch took %v beside slow clients", d)
	}
	for name, c := range map[string]net.Conn{"slow headers": slowHeaders, "slow body": slowBody} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		reply, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: connection still open after 5s", name)
			continue
		}
		t.Logf("%s: closed after %v, reply %q", name, time.Since(start).Round(100*time.Millisecond), firstLine(reply))
		if strings.Contains(string(reply), " 200 ") {
			t.Errorf("%s: answered 200", name)
		}
	}

	postRaw := func(ctype string, body []byte) (int, string) {
		resp, err := http.Post("http://"+addr+"/audit/v1", ctype, bytes.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// One event of 3 MiB, under the limit: read and judged.
	huge := strings.Repeat("A", 3<<20)
	uri := "/api/v1/namespaces/prod/pods/web-0/exec?command=sh&command=-c&command=" +
		url.QueryEscape("X="+huge[:1<<20]+"; curl http://169.254.169.254/latest/meta-data/iam/security-credentials/") + "&container=app"
	event := fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"huge-1","stage":"ResponseStarted","requestURI":%q,"verb":"create","user":{"username":"mallory"},"sourceIPs":["10.0.0.9"],"objectRef":{"resource":"pods","namespace":"prod","name":"web-0","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-20T09:00:00.000000Z","stageTimestamp":"2026-11-20T09:00:00.000000Z"}`, uri)
	cases := []struct {
		name, ctype string
		body        []byte
		want        int
	}{
		{"huge single event", "application/json", []byte(event), 200},
		{"over the body limit", "application/json", []byte(`{"kind":"EventList","items":["` + huge[:5<<20/2] + huge[:5<<20/2] + `"]}`), 413},
		{"malformed JSON", "application/json", []byte(`{"kind":"EventList","items":[{"auditID":"a",}]}`), 400},
		{"wrong content type", "application/x-www-form-urlencoded", good[1].body, 415},
		{"binary", "application/json", []byte("\x00\x01\x02\x1f\x8b"), 400},
		{"empty", "application/json", nil, 400},
	}
	for _, c := range cases {
		if code, body := postRaw(c.ctype, c.body); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, firstLine([]byte(body)), c.want)
		}
	}
	// Good batches after all that.
	for _, b := range good[1:] {
		if code, err := post(addr, b.body); err != nil || code != 200 {
			t.Fatalf("good batch after bad input: %d %v", code, err)
		}
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, err := st.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := len(good[0].want) + len(good[1].want) + len(good[2].want) + 1
	if len(as) != want {
		t.Fatalf("%d alerts stored, want %d", len(as), want)
	}
	if a, err := st.Get(context.Background(), alertIDFor(as, "huge-1")); err != nil || a.CloudTarget != "AWS_IMDS" {
		t.Fatalf("huge event: %v %v", a, err)
	}
	if srv.cmd.ProcessState != nil {
		t.Fatalf("server exited: %s", srv.log.String())
	}
}

func alertIDFor(as []*alert.Alert, auditID string) string {
	for _, a := range as {
		if a.AuditID == auditID {
			return a.ID
		}
	}
	return ""
}

func firstLine(b []byte) string {
	line, _, _ := bufio.NewReader(bytes.NewReader(b)).ReadLine()
	return string(line)
}
