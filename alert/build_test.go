package alert

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/imdsguard/imdsguard/detect"
)

func ev(id string, stage auditv1.Stage, code int32, msg string, at time.Time) *auditv1.Event {
	e := &auditv1.Event{
		AuditID:                  types.UID("id-" + id),
		Stage:                    stage,
		Verb:                     "create",
		RequestURI:               "/api/v1/namespaces/ns/pods/p/exec?command=curl&command=169.254.169.254&container=c",
		ObjectRef:                &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "ns", Name: "p"},
		RequestReceivedTimestamp: metav1.NewMicroTime(at),
		StageTimestamp:           metav1.NewMicroTime(at.Add(time.Second)),
	}
	if code != 0 {
		e.ResponseStatus = &metav1.Status{Code: code, Message: msg}
	}
	return e
}

func TestOutcomeOf(t *testing.T) {
	now := time.Now()
	cases := []struct {
		stage auditv1.Stage
		code  int32
		msg   string
		want  string
	}{
		{auditv1.StageRequestReceived, 0, "", OutcomeUnknown},
		{auditv1.StageResponseStarted, 101, "", OutcomeAllowed},
		{auditv1.StageResponseComplete, 200, "Connection closed early", OutcomeAllowed},
		{auditv1.StageResponseComplete, 204, "", OutcomeAllowed},
		{auditv1.StageResponseStarted, 403, "forbidden", OutcomeDenied},
		{auditv1.StageResponseStarted, 401, "Authentication failed", OutcomeDenied},
		{auditv1.StageResponseComplete, 400, `admission webhook "imds.example.com" denied the request: no`, OutcomeDenied},
		{auditv1.StageResponseComplete, 400, `container "x" not found`, OutcomeFailed},
		{auditv1.StageResponseComplete, 404, "not found", OutcomeFailed},
		{auditv1.StagePanic, 500, "APIServer panic'd", OutcomeFailed},
	}
	for _, c := range cases {
		got, _ := OutcomeOf(ev("1", c.stage, c.code, c.msg, now))
		if got != c.want {
			t.Errorf("%s %d %q: %s, want %s", c.stage, c.code, c.msg, got, c.want)
		}
	}
}

func TestSessionsFoldStages(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	x := detect.Exec{Namespace: "ns", Pod: "p", Command: []string{"curl", "169.254.169.254"}}
	v := detect.NewStrict().Analyze(x.Command)
	s := NewSessions()
	add := func(e *auditv1.Event, line int) {
		s.Add(Input{Event: e, Raw: json.RawMessage(`{}`), Time: e.RequestReceivedTimestamp.Time, Source: Source{File: "f", Line: line}}, x, v)
	}
	// Read out of order, with a duplicate (a retried webhook batch).
	add(ev("a", auditv1.StageResponseComplete, 101, "", t0), 3)
	add(ev("a", auditv1.StageRequestReceived, 0, "", t0), 1)
	add(ev("a", auditv1.StageResponseStarted, 101, "", t0), 2)
	add(ev("a", auditv1.StageResponseStarted, 101, "", t0), 2)
	add(ev("b", auditv1.StageResponseStarted, 403, "forbidden", t0.Add(-time.Minute)), 4)
	add(ev("c", auditv1.StageRequestReceived, 0, "", t0.Add(time.Minute)), 5)
	as := s.Alerts()
	if len(as) != 3 {
		t.Fatalf("%d alerts, want 3", len(as))
	}
	if as[0].AuditID != "id-b" || as[1].AuditID != "id-a" || as[2].AuditID != "id-c" {
		t.Fatalf("order %s %s %s", as[0].AuditID, as[1].AuditID, as[2].AuditID)
	}
	a := as[1]
	if !reflect.DeepEqual(a.Stages, []string{"RequestReceived", "ResponseStarted", "ResponseComplete"}) {
		t.Errorf("stages %v", a.Stages)
	}
	if a.Outcome != OutcomeAllowed || a.ResponseCode != 101 {
		t.Errorf("outcome %s %d", a.Outcome, a.ResponseCode)
	}
	if len(a.Sources) != 3 || a.Sources[0].Line != 1 || a.Sources[2].Line != 3 || len(a.Events) != 3 {
		t.Errorf("sources %+v", a.Sources)
	}
	if as[0].Outcome != OutcomeDenied || as[2].Outcome != OutcomeUnknown {
		t.Errorf("outcomes %s %s", as[0].Outcome, as[2].Outcome)
	}
	if a.Timestamp != "2026-11-20T09:00:00.000000Z" {
		t.Errorf("timestamp %s", a.Timestamp)
	}
	// The id depends on the session only.
	s2 := NewSessions()
	s2.Add(Input{Event: ev("a", auditv1.StageResponseStarted, 101, "", t0)}, x, v)
	if s2.Alerts()[0].ID != a.ID {
		t.Error("id changed with the events read")
	}
}

func TestQuoteArgv(t *testing.T) {
	cases := map[string][]string{
		`curl http://169.254.169.254/latest/meta-data/`: {"curl", "http://169.254.169.254/latest/meta-data/"},
		`sh -c 'curl -s x | head'`:                      {"sh", "-c", "curl -s x | head"},
		`echo ''`:                                       {"echo", ""},
		`printf $'a\nb'`:                                {"printf", "a\nb"},
		`echo "it's"`:                                   {"echo", "it's"},
	}
	for want, argv := range cases {
		if got := QuoteArgv(argv); got != want {
			t.Errorf("%q: got %s, want %s", argv, got, want)
		}
	}
}

func TestMergeAcrossBatches(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	x := detect.Exec{Namespace: "ns", Pod: "p", Command: []string{"curl", "169.254.169.254"}}
	v := detect.NewStrict().Analyze(x.Command)
	batch := func(evs ...*auditv1.Event) *Alert {
		s := NewSessions()
		for _, e := range evs {
			s.Add(Input{Event: e, Raw: json.RawMessage(`{}`), Time: e.RequestReceivedTimestamp.Time}, x, v)
		}
		return s.Alerts()[0]
	}
	first := batch(ev("a", auditv1.StageRequestReceived, 0, "", t0))
	if first.Outcome != OutcomeUnknown {
		t.Fatalf("outcome %s", first.Outcome)
	}
	second := batch(ev("a", auditv1.StageResponseStarted, 403, "forbidden", t0), ev("a", auditv1.StageResponseComplete, 403, "forbidden", t0))
	if second.ID != first.ID {
		t.Fatal("ids differ")
	}
	if !Merge(first, second) {
		t.Fatal("merge reported no change")
	}
	if first.Outcome != OutcomeDenied || len(first.Stages) != 3 || first.Stages[2] != "ResponseComplete" {
		t.Fatalf("after merge: %s %v", first.Outcome, first.Stages)
	}
	// A retried batch changes nothing.
	if Merge(first, second) {
		t.Fatal("retried batch changed the alert")
	}
	// An earlier stage arriving late keeps the later outcome.
	late := batch(ev("a", auditv1.StageRequestReceived, 0, "", t0))
	Merge(first, late)
	if first.Outcome != OutcomeDenied {
		t.Fatalf("late early stage changed the outcome to %s", first.Outcome)
	}
}

// Events stay aligned with their sources when an earlier stage arrives
// after a later one.
func TestMergeKeepsEventsAligned(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	x := detect.Exec{Namespace: "ns", Pod: "p", Command: []string{"curl", "169.254.169.254"}}
	v := detect.NewStrict().Analyze(x.Command)
	one := func(e *auditv1.Event, raw string) *Alert {
		s := NewSessions()
		s.Add(Input{Event: e, Raw: json.RawMessage(raw), Time: t0, Source: Source{File: "f", Line: 1}}, x, v)
		return s.Alerts()[0]
	}
	a := one(ev("a", auditv1.StageResponseComplete, 101, "", t0), `{"stage":"ResponseComplete"}`)
	Merge(a, one(ev("a", auditv1.StageRequestReceived, 0, "", t0), `{"stage":"RequestReceived"}`))
	for i, s := range a.Sources {
		if !strings.Contains(string(a.Events[i]), s.Stage) {
			t.Fatalf("source %d is %s but its event is %s", i, s.Stage, a.Events[i])
		}
	}
}

// A session is suppressed only while every stage was judged suppressed.
func TestMergeUnsuppressesWhenAStageIsNot(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	x := detect.Exec{Namespace: "ns", Pod: "p", Command: []string{"curl", "169.254.169.254"}}
	v := detect.NewStrict().Analyze(x.Command)
	one := func(stage auditv1.Stage, sup *Suppression) *Alert {
		s := NewSessions()
		s.Add(Input{Event: ev("a", stage, 101, "", t0), Raw: json.RawMessage(`{}`), Time: t0}, x, v)
		a := s.Alerts()[0]
		a.Suppressed = sup
		return a
	}
	sup := &Suppression{Exception: "e", Reason: "r"}
	a := one(auditv1.StageRequestReceived, sup)
	if !Merge(a, one(auditv1.StageResponseStarted, sup)) || a.Suppressed == nil {
		t.Fatalf("suppressed stages: suppressed = %v", a.Suppressed)
	}
	// The same stage again, judged after the exception was removed.
	if !Merge(a, one(auditv1.StageResponseStarted, nil)) {
		t.Fatal("losing the suppression is a change")
	}
	if a.Suppressed != nil {
		t.Fatal("still suppressed")
	}
	// An exception added later does not hide a session already alerted.
	Merge(a, one(auditv1.StageResponseComplete, sup))
	if a.Suppressed != nil {
		t.Fatal("suppressed after alerting")
	}
}
