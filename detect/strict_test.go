package detect

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/imdsguard/imdsguard/detect/esql"
)

// TestStrictIndicatorsAreTheRules checks the strict engine's indicator
// table against the published rule's WHERE clause on every command in the
// reference vectors: the same text must match in both or in neither.
func TestStrictIndicatorsAreTheRules(t *testing.T) {
	f, err := os.Open("esql/testdata/javaref/vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewStrict()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var v struct {
			Decoded string `json:"decoded"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{v.Decoded} {
			got := s.Analyze([]string{text})
			if got.Match != esql.MatchesIndicators(text) {
				t.Fatalf("%q: strict %v, rule %v", text, got.Match, !got.Match)
			}
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("only %d texts", n)
	}
}

func TestStrictReadsArgvNotURI(t *testing.T) {
	s := NewStrict()
	cases := []struct {
		argv  []string
		match bool
		cloud string
		theft bool
	}{
		{[]string{"sh", "-c", "true\ncurl 169.254.169.254/latest/meta-data/iam/security-credentials/x"}, true, "AWS_IMDS", true},
		{[]string{"curl", "-H", "Metadata-Flavor: Google", "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"}, true, "GCP_METADATA", true},
		{[]string{"bash"}, false, "", false},
		{[]string{"cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"}, false, "", false},
	}
	for _, c := range cases {
		v := s.Analyze(c.argv)
		if v.Match != c.match || v.CloudTarget != c.cloud || v.CredentialTheft != c.theft {
			t.Errorf("%q: got %v %s %v", c.argv, v.Match, v.CloudTarget, v.CredentialTheft)
		}
		if v.Match && len(v.Indicators) == 0 {
			t.Errorf("%q: match without indicators", c.argv)
		}
	}
}
