package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/detect"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// session describes one exec session; its stages become alerts through
// alert.Sessions, as the server builds them from a webhook batch.
type session struct {
	audit     string
	user      string
	namespace string
	target    string // cloud target
	access    string
	at        time.Time
}

type stage struct {
	stage auditv1.Stage
	code  int32
}

var (
	received = stage{auditv1.StageRequestReceived, 0}
	started  = stage{auditv1.StageResponseStarted, 101}
	complete = stage{auditv1.StageResponseComplete, 200}
	denied   = stage{auditv1.StageResponseStarted, 403}
)

func (x session) event(st stage) *auditv1.Event {
	e := &auditv1.Event{
		AuditID:    types.UID(x.audit),
		Stage:      st.stage,
		Verb:       "create",
		User:       authUser(x.user),
		SourceIPs:  []string{"10.0.0.7"},
		RequestURI: "/api/v1/namespaces/" + x.namespace + "/pods/web-0/exec?command=curl&command=169.254.169.254&container=app",
		ObjectRef: &auditv1.ObjectReference{Resource: "pods", Subresource: "exec",
			Namespace: x.namespace, Name: "web-0"},
		RequestReceivedTimestamp: metav1.NewMicroTime(x.at),
		StageTimestamp:           metav1.NewMicroTime(x.at.Add(time.Second)),
	}
	if st.code != 0 {
		e.ResponseStatus = &metav1.Status{Code: st.code}
	}
	return e
}

// alert is the alert one webhook batch holding these stages of the
// session gives.
func (x session) alert(t testing.TB, stages ...stage) *alert.Alert {
	t.Helper()
	s := alert.NewSessions()
	for _, st := range stages {
		s.Add(x.input(t, st), x.exec(), x.verdict())
	}
	as := s.Alerts()
	if len(as) != 1 {
		t.Fatalf("%d alerts from one session", len(as))
	}
	return as[0]
}

func (x session) input(t testing.TB, st stage) alert.Input {
	e := x.event(st)
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return alert.Input{Event: e, Raw: raw, Time: x.at, Source: alert.Source{File: "webhook", Line: 1}}
}

func (x session) exec() detect.Exec {
	return detect.Exec{Namespace: x.namespace, Pod: "web-0", Container: "app", Command: []string{"curl", "169.254.169.254"}}
}

func (x session) verdict() detect.Verdict {
	return detect.Verdict{Match: true, CloudTarget: x.target, Access: x.access, CredentialTheft: x.access == "credential",
		Normalized: "curl 169.254.169.254"}
}

func authUser(name string) authnv1.UserInfo {
	return authnv1.UserInfo{Username: name, Groups: []string{"system:authenticated"}}
}

func newSession(audit string) session {
	return session{audit: audit, user: "alice", namespace: "prod", target: "AWS_IMDS", access: "credential", at: t0}
}

func openTemp(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "alerts.db")
	st, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func save(t testing.TB, st *Store, sinks []string, as ...*alert.Alert) []*alert.Alert {
	t.Helper()
	out, err := st.SaveBatch(context.Background(), as, sinks)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(as []*alert.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.AuditID
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
