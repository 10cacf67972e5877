package scan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/imdsguard/imdsguard/auditgen"
)

type labelledCmd struct {
	cmd, target, access string
}

func loadLabelled(t *testing.T, name string) []labelledCmd {
	f, err := os.Open(filepath.Join("../detect/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelledCmd
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := labelledCmd{target: "BENIGN"}
		if label, cmd, ok := strings.Cut(line, "\t"); ok {
			c.cmd = cmd
			c.target, c.access, _ = strings.Cut(label, " ")
		} else {
			c.cmd = line
		}
		out = append(out, c)
	}
	return out
}

// TestDisguisedLog writes every labelled command as a kubectl exec session
// (sh -c COMMAND, all three stages, the way the API server logs them) and
// scans the log with both engines. Strict must alert on every attack
// session with the right target and access and on no benign one; the
// published rule's figures are logged for comparison.
func TestDisguisedLog(t *testing.T) {
	var cmds []labelledCmd
	for _, f := range []string{"attack-commands.tsv", "disguised.tsv", "benign.tsv"} {
		cmds = append(cmds, loadLabelled(t, f)...)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	want := map[string]labelledCmd{}
	for i, c := range cmds {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		want[id] = c
		argv := []string{"sh", "-c", c.cmd}
		at := t0.Add(time.Duration(i) * time.Second)
		for _, st := range []auditv1.Stage{auditv1.StageRequestReceived, auditv1.StageResponseStarted, auditv1.StageResponseComplete} {
			ev := auditv1.Event{
				TypeMeta: metav1.TypeMeta{Kind: "Event", APIVersion: "audit.k8s.io/v1"},
				Level:    auditv1.LevelMetadata, AuditID: types.UID(id), Stage: st,
				RequestURI:               auditgen.ExecRequestURI("prod", "web-0", "app", argv, i%2 == 0),
				Verb:                     []string{"get", "create"}[i%2],
				User:                     authnv1.UserInfo{Username: "alice@example.com", Groups: []string{"system:authenticated"}},
				SourceIPs:                []string{"10.0.0.7"},
				ObjectRef:                &auditv1.ObjectReference{Resource: "pods", Namespace: "prod", Name: "web-0", APIVersion: "v1", Subresource: "exec"},
				RequestReceivedTimestamp: metav1.NewMicroTime(at),
				StageTimestamp:           metav1.NewMicroTime(at.Add(time.Second)),
			}
			if st != auditv1.StageRequestReceived {
				ev.ResponseStatus = &metav1.Status{Code: 101}
			}
			if err := enc.Encode(&ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()

	attacks := 0
	for _, c := range want {
		if c.target != "BENIGN" {
			attacks++
		}
	}
	res, err := Run([]string{path}, Options{OnError: func(e error) { t.Error(e) }})
	if err != nil {
		t.Fatal(err)
	}
	caught, rightCloud, rightAccess := 0, 0, 0
	for _, a := range res.Alerts {
		c := want[a.AuditID]
		if c.target == "BENIGN" {
			t.Errorf("benign session alerted: %q", c.cmd)
			continue
		}
		caught++
		if a.CloudTarget == c.target {
			rightCloud++
		}
		if a.Access == c.access {
			rightAccess++
		}
		if len(a.Indicators) == 0 || len(a.Stages) != 3 || a.Outcome != "allowed" {
			t.Errorf("incomplete alert for %q: %+v", c.cmd, a)
		}
	}
	rows, err := Run([]string{path}, Options{Engine: EngineESQL})
	if err != nil {
		t.Fatal(err)
	}
	ruleCaught, ruleRight := map[string]bool{}, map[string]bool{}
	for _, a := range rows.Alerts {
		c := want[a.AuditID]
		if c.target != "BENIGN" {
			ruleCaught[a.AuditID] = true
			if a.CloudTarget == c.target {
				ruleRight[a.AuditID] = true
			}
		}
	}
	t.Logf("%d sessions (%d attacks): strict alerts on %d, right cloud %d, right access %d; published rule alerts on %d (%.0f%%), right cloud %d (%.0f%%)",
		len(want), attacks, caught, rightCloud, rightAccess, len(ruleCaught), 100*float64(len(ruleCaught))/float64(attacks),
		len(ruleRight), 100*float64(len(ruleRight))/float64(attacks))
	if caught != attacks || rightCloud != attacks || rightAccess != attacks {
		t.Errorf("strict: %d of %d caught, %d right cloud, %d right access", caught, attacks, rightCloud, rightAccess)
	}
}
