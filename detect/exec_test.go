package detect

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

var execURICases = []struct {
	name string
	uri  string
	want Exec
	qerr bool
}{
	{name: "kubectl -it", uri: "/api/v1/namespaces/default/pods/web-0/exec?command=sh&container=app&stdin=true&stdout=true&tty=true",
		want: Exec{Namespace: "default", Pod: "web-0", Container: "app", Command: []string{"sh"}, Stdin: true, Stdout: true, TTY: true}},
	{name: "escaped separators stay inside the argument",
		uri:  "/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&command=a%26%26b+%2B1%0Ac&container=c&stderr=true&stdout=true",
		want: Exec{Namespace: "ns", Pod: "p", Container: "c", Command: []string{"sh", "-c", "a&&b +1\nc"}, Stdout: true, Stderr: true}},
	{name: "command anywhere in the query",
		uri:  "/api/v1/namespaces/ns/pods/p/exec?stdout=true&command=curl&container=c&command=169.254.169.254",
		want: Exec{Namespace: "ns", Pod: "p", Container: "c", Command: []string{"curl", "169.254.169.254"}, Stdout: true}},
	{name: "bad pairs dropped, the rest kept",
		uri:  "/api/v1/namespaces/ns/pods/p/exec?command=%zz&command=curl&command=169.254.169.254;x&command=ok&container=c",
		want: Exec{Namespace: "ns", Pod: "p", Container: "c", Command: []string{"curl", "ok"}}, qerr: true},
	{name: "first container wins", uri: "/api/v1/namespaces/default/pods/nginx/exec?command=bash&container=nginx1&container=other",
		want: Exec{Namespace: "default", Pod: "nginx", Container: "nginx1", Command: []string{"bash"}}},
	{name: "empty arguments kept", uri: "/api/v1/namespaces/a/pods/b/exec?command=echo&command=&command=x",
		want: Exec{Namespace: "a", Pod: "b", Command: []string{"echo", "", "x"}}},
	{name: "booleans as the API server reads them", uri: "/api/v1/namespaces/a/pods/b/exec?command=x&stdin=&stdout=0&stderr=FALSE&tty=yes",
		want: Exec{Namespace: "a", Pod: "b", Command: []string{"x"}, Stdin: true, TTY: true}},
	{name: "key case matters", uri: "/api/v1/namespaces/a/pods/b/exec?Command=curl&COMMAND=x",
		want: Exec{Namespace: "a", Pod: "b"}},
}

func TestParseExecURI(t *testing.T) {
	for _, c := range execURICases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseExecURI(c.uri)
			if (got.QueryError != "") != c.qerr {
				t.Fatalf("query error %q, want error: %v", got.QueryError, c.qerr)
			}
			got.QueryError = ""
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestIsPodExec(t *testing.T) {
	cases := []struct {
		res, sub, verb string
		want           bool
	}{
		{"pods", "exec", "create", true},
		{"pods", "exec", "get", true},
		{"pods", "exec", "list", false},
		{"pods", "attach", "create", false},
		{"nodes", "exec", "create", false},
		{"pods", "", "create", false},
	}
	for _, c := range cases {
		ev := &auditv1.Event{Verb: c.verb, ObjectRef: &auditv1.ObjectReference{Resource: c.res, Subresource: c.sub}}
		if got := IsPodExec(ev); got != c.want {
			t.Errorf("%s/%s %s: %v, want %v", c.res, c.sub, c.verb, got, c.want)
		}
	}
	if IsPodExec(&auditv1.Event{Verb: "create"}) {
		t.Error("event without objectRef is not exec")
	}
}

func TestExecFromEventPrefersObjectRef(t *testing.T) {
	ev := &auditv1.Event{
		RequestURI: "/api/v1/namespaces/from-path/pods/path-pod/exec?command=id",
		ObjectRef:  &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "ns", Name: "pod"},
	}
	x := ExecFromEvent(ev)
	if x.Namespace != "ns" || x.Pod != "pod" || !reflect.DeepEqual(x.Command, []string{"id"}) {
		t.Fatalf("got %+v", x)
	}
}

func FuzzParseExecURI(f *testing.F) {
	for _, c := range execURICases {
		f.Add(c.uri)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		x := ParseExecURI(uri)
		// Each command value comes from one pair of the query (keys may
		// be percent-encoded, so count pairs, not "command=").
		_, q, _ := strings.Cut(uri, "?")
		if pairs := strings.Count(q, "&") + 1; len(x.Command) > pairs {
			t.Fatalf("%d commands from %d pairs", len(x.Command), pairs)
		}
		if x.QueryError == "" && strings.HasPrefix(q, "command=") && len(x.Command) == 0 {
			t.Fatalf("no command from %q", uri)
		}
	})
}

// FuzzExecRoundTrip builds request URIs the way kubectl does and requires
// the parser to give back exactly the argv and container that went in.
func FuzzExecRoundTrip(f *testing.F) {
	f.Add("sh", "-c", "curl 169.254.169.254 && echo a+b%26", "app")
	f.Add("", "\n\x00", "&command=x", "c&d")
	f.Fuzz(func(t *testing.T, a0, a1, a2, container string) {
		argv := []string{a0, a1, a2}
		q := url.Values{"command": argv}
		if container != "" {
			q.Set("container", container)
		}
		q.Set("stdout", "true")
		x := ParseExecURI("/api/v1/namespaces/ns/pods/p/exec?" + q.Encode())
		if x.QueryError != "" {
			t.Fatalf("query error on an encoded query: %s", x.QueryError)
		}
		if !reflect.DeepEqual(x.Command, argv) || x.Container != container || !x.Stdout {
			t.Fatalf("got %+v, want argv %q container %q", x, argv, container)
		}
	})
}
