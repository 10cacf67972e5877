package detect

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/imdsguard/imdsguard/detect/esql"
)

type labelled struct {
	file, cmd      string
	line           int
	target, access string // target "BENIGN" means no alert
}

// loadTSV reads TARGET ACCESS<TAB>command lines (or bare commands, which
// are benign).
func loadTSV(t testing.TB, name string) []labelled {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		l := labelled{file: name, line: n, target: "BENIGN"}
		if label, cmd, ok := strings.Cut(line, "\t"); ok {
			l.cmd = cmd
			l.target, l.access, _ = strings.Cut(label, " ")
		} else {
			l.cmd = line
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return out
}

func allCases(t testing.TB) []labelled {
	var all []labelled
	for _, f := range []string{"attack-commands.tsv", "disguised.tsv", "benign.tsv"} {
		all = append(all, loadTSV(t, f)...)
	}
	return all
}

// TestStrictVerdicts runs every labelled command: attacks from public
// material and disguised variants must alert with the right cloud target
// and access and carry indicators; look-alikes must stay silent.
func TestStrictVerdicts(t *testing.T) {
	s := NewStrict()
	for _, c := range allCases(t) {
		v := s.Analyze([]string{"sh", "-c", c.cmd})
		where := c.file + ":" + itoa(c.line)
		if c.target == "BENIGN" {
			if v.Match {
				t.Errorf("%s: false alarm on %q: %+v", where, c.cmd, v.Indicators)
			}
			continue
		}
		if !v.Match {
			t.Errorf("%s: missed %q (texts %q)", where, c.cmd, v.Texts)
			continue
		}
		if v.CloudTarget != c.target || v.Access != c.access {
			t.Errorf("%s: %q: got %s %s, want %s %s; indicators %+v", where, c.cmd, v.CloudTarget, v.Access, c.target, c.access, v.Indicators)
		}
		if len(v.Indicators) == 0 {
			t.Errorf("%s: alert without indicators", where)
		}
		if v.CredentialTheft != (v.Access == AccessCredential) {
			t.Errorf("%s: is_credential_theft disagrees with access", where)
		}
	}
}

// TestStrictBeatsTheRule measures the published rule on the same attacks:
// the strict engine must catch every one the rule catches, and more.
func TestStrictBeatsTheRule(t *testing.T) {
	s := NewStrict()
	var attacks, ruleHits, ruleRight, strictHits, strictRight int
	for _, c := range allCases(t) {
		if c.target == "BENIGN" {
			continue
		}
		attacks++
		argv := []string{"sh", "-c", c.cmd}
		ruleMatch := esql.MatchesIndicators(strings.Join(argv, " "))
		v := s.Analyze(argv)
		if ruleMatch {
			ruleHits++
			if target, _ := esql.Classify(strings.Join(argv, " ")); target == c.target {
				ruleRight++
			}
			if !v.Match {
				t.Errorf("the rule catches %q but strict does not", c.cmd)
			}
		}
		if v.Match {
			strictHits++
			if v.CloudTarget == c.target {
				strictRight++
			}
		}
	}
	t.Logf("%d attacks: published rule alerts on %d (%d%%) with the right cloud on %d (%d%%); strict alerts on %d with the right cloud on %d",
		attacks, ruleHits, 100*ruleHits/attacks, ruleRight, 100*ruleRight/attacks, strictHits, strictRight)
	if strictHits <= ruleHits || strictRight <= ruleRight {
		t.Errorf("strict (%d, %d) is not ahead of the rule (%d, %d)", strictHits, strictRight, ruleHits, ruleRight)
	}
}

func TestCloudHint(t *testing.T) {
	cmd := []string{"curl", "http://169.254.169.254/"}
	if v := NewStrict().Analyze(cmd); v.CloudTarget != TargetUnknown {
		t.Errorf("shared address without a hint: %s", v.CloudTarget)
	}
	if v := NewStrict(WithCloud(TargetAzureIMDS)).Analyze(cmd); v.CloudTarget != TargetAzureIMDS {
		t.Errorf("shared address with --cloud azure: %s", v.CloudTarget)
	}
	// A provider's own path outweighs the hint.
	gcp := []string{"curl", "-H", "Metadata-Flavor: Google", "http://169.254.169.254/computeMetadata/v1/"}
	if v := NewStrict(WithCloud(TargetAWSIMDS)).Analyze(gcp); v.CloudTarget != TargetGCP {
		t.Errorf("GCP path with --cloud aws: %s", v.CloudTarget)
	}
	// The hint never applies to an address the cloud does not use.
	if v := NewStrict(WithCloud(TargetAWSIMDS)).Analyze([]string{"curl", "http://[fe80::a9fe:a9fe]/"}); v.CloudTarget != TargetUnknown {
		t.Errorf("OpenStack/Hetzner address with --cloud aws: %s", v.CloudTarget)
	}
}

func TestArgvWithoutShell(t *testing.T) {
	s := NewStrict()
	v := s.Analyze([]string{"curl", "-H", "X-aws-ec2-metadata-token: t", "http://169.254.169.254/latest/meta-data/iam/security-credentials/role"})
	if !v.Match || v.CloudTarget != TargetAWSIMDS || v.Access != AccessCredential {
		t.Fatalf("got %+v", v)
	}
	// A newline inside an argument hides nothing.
	v = s.Analyze([]string{"sh", "-c", "true\ncurl 169.254.169.254/latest/meta-data/"})
	if !v.Match {
		t.Fatal("newline hid the command")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
