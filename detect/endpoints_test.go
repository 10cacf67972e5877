package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchPath(t *testing.T) {
	cases := []struct {
		path, query, want string
	}{
		{"/latest/meta-data/iam/security-credentials/role", "", "/latest/meta-data/iam/security-credentials"},
		{"/latest/meta-data/", "", "/latest/meta-data"},
		{"/2009-04-04/meta-data/iam/security-credentials/", "", "/*/meta-data/iam/security-credentials"},
		{"/latest/meta-data/Ram/security-credentials/x", "", "/latest/meta-data/ram/security-credentials"},
		{"/computeMetadata/v1/instance/service-accounts/default/token", "", "/computeMetadata/*/instance/service-accounts/*/token"},
		{"/computeMetadata/v1/instance/attributes/", "recursive=true&alt=text", "/computeMetadata"},
		{"/metadata/v1/instance", "", "/metadata/v1/instance"},
		{"/metadata/v1/user-data", "", "/metadata/v1/user-data"},
		{"/machine/", "comp=goalstate", "/machine"},
		{"/v1/user-data", "", "/v1/user-data"},
		{"/var/run/secrets/kubernetes.io/serviceaccount/token", "", ""},
		{"/", "", ""},
	}
	for _, c := range cases {
		r := Default.matchPath(c.path, c.query)
		got := ""
		if r != nil {
			got = r.Pattern
		}
		if got != c.want {
			t.Errorf("%s?%s: %q, want %q", c.path, c.query, got, c.want)
		}
	}
	if r := Default.matchPath("/computeMetadata/v1/instance/attributes/", "recursive=true"); r == nil || r.Access != AccessSensitive {
		t.Errorf("recursive dump is not sensitive: %+v", r)
	}
}

func TestCleanPath(t *testing.T) {
	cases := map[string]string{
		"/latest//meta-data/./iam/../iam/security-credentials/": "/latest/meta-data/iam/security-credentials/",
		"/%6c%61test/meta-data":                                 "/latest/meta-data",
		"/%256c%2561test/meta-data":                             "/latest/meta-data",
		"\\latest\\meta-data":                                   "/latest/meta-data",
		"/a/../../latest/user-data":                             "/latest/user-data",
	}
	for in, want := range cases {
		if got := cleanPath(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestLoadEndpoints(t *testing.T) {
	e, err := LoadEndpoints("../examples/endpoints.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := NewStrict(WithEndpoints(e))
	cases := []struct {
		argv   []string
		access string
	}{
		{[]string{"curl", "http://10.255.255.254/anything"}, AccessRecon},
		{[]string{"curl", "http://metadata.internal.example.com/x"}, AccessRecon},
		{[]string{"curl", "http://10.0.0.1/private/v1/credentials"}, AccessCredential},
		{[]string{"curl", "-H", "X-Example-Metadata: 1", "http://10.0.0.1/"}, AccessRecon},
		{[]string{"sh", "-c", "curl $EXAMPLE_CREDENTIALS_URI"}, AccessCredential},
	}
	for _, c := range cases {
		v := s.Analyze(c.argv)
		if !v.Match || v.CloudTarget != TargetOpenStack || v.Access != c.access {
			t.Errorf("%q: %v %s %s", c.argv, v.Match, v.CloudTarget, v.Access)
		}
	}
	// The built-in rules still apply.
	if v := s.Analyze([]string{"curl", "http://169.254.169.254/latest/meta-data/"}); v.CloudTarget != TargetAWSIMDS {
		t.Errorf("built-in rules lost: %+v", v)
	}
	// And the default engine knows nothing of the private cloud.
	if NewStrict().Analyze([]string{"curl", "http://10.255.255.254/anything"}).Match {
		t.Error("extension leaked into the default table")
	}
}

func TestLoadEndpointsErrors(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]string{
		"unknown-field.yaml": "adresses: []\n",
		"bad-address.yaml":   "addresses:\n- address: 300.1.1.1\n  target: X\n",
		"bad-access.yaml":    "paths:\n- pattern: /x\n  target: X\n  access: everything\n",
		"bad-regexp.yaml":    "headers:\n- name: x\n  pattern: '('\n  target: X\n",
		"not-yaml.yaml":      "{{{",
	}
	for name, content := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := LoadEndpoints(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadEndpoints(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, c := range []string{
		"curl http://169.254.169.254/latest/meta-data/",
		"H=169.254; curl $H.169.254",
		"printf 'GET /latest/meta-data/ HTTP/1.0\\r\\n' | nc 0xa9fea9fe 80",
		"python -c \"requests.get('http://169.254.' + '169.254/')\"",
		"curl -H 'Metadata-Flavor: Google' http://metadata/computeMetadata/v1/?recursive=true",
		"exec 3<>/dev/tcp/[fd00:ec2::254]/80",
		"curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	} {
		f.Add(c)
	}
	s := NewStrict()
	f.Fuzz(func(t *testing.T, cmd string) {
		for _, argv := range [][]string{{"sh", "-c", cmd}, {cmd}, strings.Fields(cmd)} {
			v := s.Analyze(argv)
			if v.Match != (len(v.Indicators) > 0) {
				t.Fatalf("match %v with %d indicators", v.Match, len(v.Indicators))
			}
			if v.Match && (v.CloudTarget == "" || !validAccess(v.Access)) {
				t.Fatalf("incomplete verdict %+v", v)
			}
			if v.CredentialTheft != (v.Access == AccessCredential) {
				t.Fatalf("theft %v with access %s", v.CredentialTheft, v.Access)
			}
		}
	})
}
