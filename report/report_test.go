package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/imdsguard/imdsguard/alert"
)

var hostile = []string{
	"\x1b]0;pwned\x07",           // set the window title
	"\x1b[2J\x1b[H",              // clear the screen
	"curl 169.254.169.254\r# ok", // carriage return hides the start
	"a\u202eb",                   // right-to-left override
	"zero\u200bwidth",
	"c1\u009b31m", // 8-bit CSI
	"line\u2028sep",
	"bad\xffutf8",
	"<script>alert(1)</script>&",
	"tab\there",
}

func TestEscapeLeavesNoDangerousRune(t *testing.T) {
	for _, s := range hostile {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Errorf("%q: invalid UTF-8 out", s)
		}
		for _, r := range out {
			if dangerous(r) {
				t.Errorf("%q -> %q keeps %U", s, out, r)
			}
		}
	}
	if got := Escape("curl http://169.254.169.254/ é 日本"); got != "curl http://169.254.169.254/ é 日本" {
		t.Errorf("plain text changed: %q", got)
	}
	if got := Escape("\x1b[31m"); got != `\x1b[31m` {
		t.Errorf("got %q", got)
	}
}

func hostileAlert() *alert.Alert {
	return &alert.Alert{
		SchemaVersion: alert.SchemaVersion, ID: "0123", Engine: "strict", AuditID: "a",
		Time: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Timestamp: "2026-11-20T09:00:00Z",
		User: alert.User{Username: hostile[0], Groups: []string{}}, Namespace: "ns", Pod: hostile[3],
		Command: hostile, ExecutedCommand: strings.Join(hostile, " "), CloudTarget: "AWS_IMDS",
		IsCredentialTheft: "yes", Outcome: "allowed",
		Events: []json.RawMessage{json.RawMessage(`{"auditID":"a","annotations":{"authorization.k8s.io/decision":"allow"}}`)},
	}
}

func TestFormatsAreSafe(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			h, err := New(format, &buf, Options{Now: func() time.Time { return time.Unix(0, 0) }})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Alert(hostileAlert()); err != nil {
				t.Fatal(err)
			}
			if err := h.Flush(); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, r := range out {
				if r != '\n' && dangerous(r) {
					t.Fatalf("output keeps %U: %q", r, out)
				}
			}
			if strings.ContainsAny(out, "<>") && format != "table" {
				t.Fatalf("JSON output keeps HTML metacharacters: %s", out)
			}
			if format == "table" {
				return
			}
			// Every line is JSON and the command survives intact.
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %v: %s", err, line)
				}
				if _, isAction := m["create"]; isAction {
					continue
				}
				var cmd any
				if format == "ndjson" {
					cmd = m["command"]
				} else {
					cmd = m["process"].(map[string]any)["args"]
				}
				args := cmd.([]any)
				for i, a := range args {
					if want := strings.ToValidUTF8(hostile[i], "\uFFFD"); a != want {
						t.Fatalf("arg %d: %q, want %q", i, a, want)
					}
				}
			}
		})
	}
}

func TestECSShape(t *testing.T) {
	var buf bytes.Buffer
	h, _ := New("ecs", &buf, Options{Now: func() time.Time { return time.Unix(0, 0) }})
	a := hostileAlert()
	h.Alert(a)
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kibana.alert.severity":         "high",
		"kibana.alert.risk_score":       float64(73),
		"kibana.alert.original_time":    "2026-11-20T09:00:00Z",
		"kibana.alert.uuid":             "0123",
		"Esql.cloud_target":             "AWS_IMDS",
		"Esql.is_credential_theft":      "yes",
		"kibana.alert.rule.max_signals": float64(100),
		"kibana.alert.rule.interval":    "5m",
		"kibana.alert.rule.from":        "now-6m",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	if doc["event"].(map[string]any)["kind"] != "signal" {
		t.Error("event.kind is not signal")
	}
	audit := doc["kubernetes"].(map[string]any)["audit"].(map[string]any)
	if audit["annotations"].(map[string]any)["authorization_k8s_io/decision"] != "allow" {
		t.Errorf("annotations not dedotted: %v", audit["annotations"])
	}
	threat := doc["kibana.alert.rule.threat"].([]any)
	if len(threat) != 2 {
		t.Fatalf("threat %v", threat)
	}
	sub := threat[0].(map[string]any)["technique"].([]any)[0].(map[string]any)["subtechnique"].([]any)[0].(map[string]any)
	if sub["id"] != "T1552.005" {
		t.Errorf("subtechnique %v", sub)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		for _, r := range out {
			if dangerous(r) {
				t.Fatalf("%q -> %q keeps %U", s, out, r)
			}
		}
		b, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil || back != strings.ToValidUTF8(s, "\uFFFD") {
			// encoding/json replaces each invalid byte, not each run.
			if err != nil || !utf8.ValidString(back) {
				t.Fatalf("JSON round trip of %q: %q, %v", s, back, err)
			}
		}
	})
}
