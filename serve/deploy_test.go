package serve

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/imdsguard/imdsguard/exception"
	"github.com/imdsguard/imdsguard/sink"
)

// The configuration shipped in deploy/kubernetes.yaml loads strictly and
// is valid, but for the files only the cluster has (certificates).
func TestDeployConfigIsValid(t *testing.T) {
	data, err := os.ReadFile("../deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var serveYAML string
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var cm struct {
			Kind string            `json:"kind"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal(doc, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Kind == "ConfigMap" {
			serveYAML = cm.Data["serve.yaml"]
		}
	}
	if serveYAML == "" {
		t.Fatal("no serve.yaml in the ConfigMap")
	}
	path := filepath.Join(t.TempDir(), "serve.yaml")
	os.WriteFile(path, []byte(serveYAML), 0o600)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sinks) == 0 || c.Store != "/var/lib/imdsguard/alerts.db" || c.ClientCA == "" {
		t.Fatalf("config read as %+v", c)
	}
	err = c.Validate()
	var rest []string
	for _, line := range strings.Split(errorText(err), "\n") {
		if line != "" && !strings.Contains(line, "no such file or directory") {
			rest = append(rest, line)
		}
	}
	if len(rest) > 0 {
		t.Fatalf("deploy config invalid: %s", strings.Join(rest, "\n"))
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var b strings.Builder
		for _, e := range joined.Unwrap() {
			b.WriteString(errorText(e) + "\n")
		}
		return b.String()
	}
	return err.Error()
}

// Validate builds sinks and exceptions as the server will, so what only
// fails when read (a short HMAC key, an exceptions file that does not
// compile, a name used in both places) fails the check.
func TestValidateReadsSinkAndExceptionFiles(t *testing.T) {
	dir := t.TempDir()
	key, excs := filepath.Join(dir, "hmac.key"), filepath.Join(dir, "exceptions.yaml")
	os.WriteFile(key, []byte("short"), 0o600)
	os.WriteFile(excs, []byte("exceptions:\n- name: lab\n  reason: r\n  namespaces: [lab]\n- name: broken\n  users: [a]\n"), 0o600)
	c := DefaultConfig()
	c.Insecure = true
	c.Sinks = []sink.Config{{Name: "siem", Type: "webhook", URL: "https://siem.example/hook", SecretFile: key}}
	c.Exceptions = []exception.Exception{{Name: "lab", Reason: "r", Users: []string{"b"}}}
	c.ExceptionsFile = excs
	err := c.Validate()
	for _, want := range []string{
		"secretFile: the HMAC key is 5 bytes",
		"exceptions (the 1 inline, then those of " + excs + "): exceptions[1] (lab): name: used twice",
		"exceptions[2] (broken): reason: required",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v\nwant %q", err, want)
		}
	}
}
