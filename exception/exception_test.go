package exception

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// session builds an alert as the strict engine would for a kubectl exec.
func session() *alert.Alert {
	return &alert.Alert{
		User:            alert.User{Username: "breakglass-ana@example.com", Groups: []string{"system:authenticated", "sre-oncall"}},
		SourceIPs:       []string{"10.1.2.3"},
		UserAgent:       "kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef",
		Namespace:       "kube-bootstrap",
		Pod:             "bootstrap-7d9f",
		Container:       "init",
		Command:         []string{"/opt/bootstrap/region.sh"},
		ExecutedCommand: "/opt/bootstrap/region.sh",
	}
}

// matchCases is the one table of match decisions: each changes the
// session and says whether the exception still applies.
var matchCases = []struct {
	name   string
	exc    Exception
	change func(*alert.Alert)
	want   bool
}{
	{"user glob", Exception{Users: []string{"breakglass-*@example.com"}}, nil, true},
	{"user glob is anchored", Exception{Users: []string{"breakglass-*"}}, func(a *alert.Alert) { a.User.Username = "x-breakglass-ana" }, false},
	{"user exact", Exception{Users: []string{"alice"}}, nil, false},
	{"any of several users", Exception{Users: []string{"alice", "breakglass-ana@example.com"}}, nil, true},
	{"question mark is one character", Exception{Pods: []string{"bootstrap-7d9?"}}, nil, true},
	{"question mark is not two", Exception{Pods: []string{"bootstrap-7d?"}}, nil, false},
	{"glob metacharacters of regexp are literal", Exception{Pods: []string{"bootstrap.7d9f"}}, nil, false},
	{"group", Exception{Groups: []string{"sre-*"}}, nil, true},
	{"group missing", Exception{Groups: []string{"admins"}}, nil, false},
	{"no groups at all", Exception{Groups: []string{"*"}}, func(a *alert.Alert) { a.User.Groups = nil }, false},
	{"namespace and pod and container", Exception{Namespaces: []string{"kube-bootstrap"}, Pods: []string{"bootstrap-*"}, Containers: []string{"init"}}, nil, true},
	{"every condition must hold", Exception{Namespaces: []string{"kube-bootstrap"}, Containers: []string{"main"}}, nil, false},
	{"source inside", Exception{SourceCIDRs: []string{"10.0.0.0/8"}}, nil, true},
	{"single address", Exception{SourceCIDRs: []string{"10.1.2.3"}}, nil, true},
	{"IPv4-mapped source", Exception{SourceCIDRs: []string{"10.0.0.0/8"}}, func(a *alert.Alert) { a.SourceIPs = []string{"::ffff:10.9.9.9"} }, true},
	{"forwarded-for cannot vouch for the real peer", Exception{SourceCIDRs: []string{"10.0.0.0/8"}}, func(a *alert.Alert) { a.SourceIPs = []string{"10.1.2.3", "203.0.113.9"} }, false},
	{"no source recorded", Exception{SourceCIDRs: []string{"0.0.0.0/0"}}, func(a *alert.Alert) { a.SourceIPs = nil }, false},
	{"unparsable source", Exception{SourceCIDRs: []string{"0.0.0.0/0"}}, func(a *alert.Alert) { a.SourceIPs = []string{"10.1.2.3:443"} }, false},
	{"user agent", Exception{Namespaces: []string{"*"}, UserAgents: []string{"kubectl/*"}}, nil, true},
	{"command full match", Exception{Namespaces: []string{"kube-bootstrap"}, Command: `/opt/bootstrap/region\.sh`}, nil, true},
	{"payload appended to an excepted command", Exception{Namespaces: []string{"kube-bootstrap"}, Command: `/opt/bootstrap/region\.sh`},
		func(a *alert.Alert) {
			a.ExecutedCommand = "sh -c '/opt/bootstrap/region.sh; curl http://169.254.169.254/latest/meta-data/iam/security-credentials/'"
		}, false},
	{"alternation stays anchored", Exception{Namespaces: []string{"kube-bootstrap"}, Command: `true|/opt/bootstrap/region\.sh`},
		func(a *alert.Alert) { a.ExecutedCommand = "x; /opt/bootstrap/region.sh" }, false},
	{"command across lines", Exception{Namespaces: []string{"*"}, Command: `.*region.*`},
		func(a *alert.Alert) { a.ExecutedCommand = "sh -c 'echo\ncurl region'" }, false},
	{"dot-all on purpose", Exception{Namespaces: []string{"*"}, Command: `(?s).*region.*`},
		func(a *alert.Alert) { a.ExecutedCommand = "sh -c 'echo\ncurl region'" }, true},
	{"expired in the meantime", Exception{Namespaces: []string{"*"}, Expires: "2026-11-25T11:00:00Z"}, nil, false},
	{"expires later today", Exception{Namespaces: []string{"*"}, Expires: "2026-11-25"}, nil, true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.exc
			e.Name, e.Reason = "e", "testing"
			set, err := New([]Exception{e}, WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			a := session()
			if tc.change != nil {
				tc.change(a)
			}
			got := set.Match(a)
			if (got != nil) != tc.want {
				t.Fatalf("Match = %v, want match %v", got, tc.want)
			}
			if got != nil && (got.Exception != "e" || got.Reason != "testing") {
				t.Errorf("suppression = %+v", got)
			}
		})
	}
}

func TestFirstExceptionInOrderNamesTheSuppression(t *testing.T) {
	set, err := New([]Exception{
		{Name: "narrow", Reason: "r1", Users: []string{"nobody"}},
		{Name: "broad", Reason: "r2", Namespaces: []string{"kube-*"}},
		{Name: "also", Reason: "r3", Pods: []string{"*"}},
	}, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	alerts := []*alert.Alert{session(), session()}
	alerts[1].Namespace = "default"
	if n := set.Apply(alerts); n != 2 {
		t.Fatalf("Apply = %d, want 2", n)
	}
	if alerts[0].Suppressed.Exception != "broad" || alerts[1].Suppressed.Exception != "also" {
		t.Errorf("suppressed by %q and %q", alerts[0].Suppressed.Exception, alerts[1].Suppressed.Exception)
	}
}

func TestExpiryIsJudgedWhenMatching(t *testing.T) {
	now := testNow
	set, err := New([]Exception{{Name: "e", Reason: "r", Namespaces: []string{"*"}, Expires: "2026-11-25T13:00:00Z"}},
		WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if set.Match(session()) == nil {
		t.Fatal("exception in force did not match")
	}
	now = now.Add(2 * time.Hour)
	if set.Match(session()) != nil {
		t.Fatal("exception applied after it expired")
	}
}

func TestLoad(t *testing.T) {
	set, err := Load("testdata/exceptions.yaml", WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 {
		t.Errorf("%d in force, want 2", set.Len())
	}
	if exp := set.Expired(); len(exp) != 1 || exp[0].Name != "old-migration" {
		t.Errorf("expired = %+v", exp)
	}
	if got := set.Match(session()); got == nil || got.Exception != "sre-break-glass" {
		t.Errorf("Match = %+v", got)
	}
	a := session()
	a.User = alert.User{Username: "system:serviceaccount:kube-bootstrap:job"}
	if got := set.Match(a); got == nil || got.Exception != "bootstrap-script" {
		t.Errorf("bootstrap session: Match = %+v", got)
	}
	a.Namespace = "default"
	if got := set.Match(a); got != nil {
		t.Errorf("other namespace: Match = %+v", got)
	}
}

func TestInvalidExceptionsAreAllReported(t *testing.T) {
	_, err := New([]Exception{
		{Name: "", Reason: "r", Users: []string{"a"}},
		{Name: "no-reason", Users: []string{"a"}},
		{Name: "nothing", Reason: "r"},
		{Name: "bad-cidr", Reason: "r", SourceCIDRs: []string{"10.0.0.0/33"}},
		{Name: "bad-regex", Reason: "r", Command: "(unclosed"},
		{Name: "bad-date", Reason: "r", Users: []string{"a"}, Expires: "next week"},
		{Name: "empty-glob", Reason: "r", Pods: []string{""}},
		{Name: "twice", Reason: "r", Users: []string{"a"}},
		{Name: "twice", Reason: "r", Users: []string{"b"}},
	}, WithClock(clock))
	if err == nil {
		t.Fatal("invalid exceptions accepted")
	}
	for _, want := range []string{
		"exceptions[0]: name: required",
		"exceptions[1] (no-reason): reason: required",
		"exceptions[2] (nothing): no condition",
		`exceptions[3] (bad-cidr): sourceCIDRs: "10.0.0.0/33"`,
		"exceptions[4] (bad-regex): command:",
		`exceptions[5] (bad-date): expires: "next week"`,
		"exceptions[6] (empty-glob): pods: empty pattern",
		"exceptions[8] (twice): name: used twice",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestUnknownFieldInFileIsRefused(t *testing.T) {
	path := t.TempDir() + "/x.yaml"
	writeFile(t, path, "exceptions:\n- name: a\n  reason: r\n  user: [alice]\n")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "user") {
		t.Fatalf("Load = %v, want an unknown-field error", err)
	}
}

func TestClientChosenConditionsAloneAreWarned(t *testing.T) {
	set, err := New([]Exception{
		{Name: "agent-only", Reason: "r", UserAgents: []string{"bootstrap/*"}, Command: "x"},
		{Name: "scoped", Reason: "r", Namespaces: []string{"ns"}, UserAgents: []string{"bootstrap/*"}},
	}, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	w := set.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "agent-only") {
		t.Errorf("warnings = %q", w)
	}
}

func TestNilSetMatchesNothing(t *testing.T) {
	var set *Set
	if set.Match(session()) != nil || set.Len() != 0 || set.Apply([]*alert.Alert{session()}) != 0 {
		t.Fatal("nil set matched")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
