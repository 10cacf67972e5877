package detect

import (
	"net/url"
	"strings"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Exec is a pods/exec request rebuilt from its audit event the way the API
// server reads it: the query parsed with url.ParseQuery, keeping the pairs
// that parse, and every command value in order, wherever it stands.
type Exec struct {
	Namespace string
	Pod       string
	Container string
	Command   []string
	Stdin     bool
	Stdout    bool
	Stderr    bool
	TTY       bool
	// QueryError is set when the query had pairs that did not parse; the
	// API server drops them silently (req.URL.Query ignores the error).
	QueryError string
}

// IsPodExec reports whether ev is a pods/exec request: resource pods,
// subresource exec, verb create (SPDY, POST) or get (WebSocket, GET).
func IsPodExec(ev *auditv1.Event) bool {
	if ev.ObjectRef == nil || ev.ObjectRef.Resource != "pods" || ev.ObjectRef.Subresource != "exec" {
		return false
	}
	return ev.Verb == "create" || ev.Verb == "get"
}

// ExecFromEvent rebuilds the exec request of a pods/exec event. Namespace and
// pod come from objectRef, falling back to the request path.
func ExecFromEvent(ev *auditv1.Event) Exec {
	x := ParseExecURI(ev.RequestURI)
	if ev.ObjectRef != nil {
		if ev.ObjectRef.Namespace != "" {
			x.Namespace = ev.ObjectRef.Namespace
		}
		if ev.ObjectRef.Name != "" {
			x.Pod = ev.ObjectRef.Name
		}
	}
	return x
}

// ParseExecURI reads an exec request URI such as
// /api/v1/namespaces/NS/pods/POD/exec?command=sh&command=-c&container=app.
func ParseExecURI(requestURI string) Exec {
	var x Exec
	path, rawQuery, _ := strings.Cut(requestURI, "?")
	x.Namespace, x.Pod = podFromPath(path)
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		x.QueryError = err.Error()
	}
	x.Command = q["command"]
	x.Container = first(q, "container")
	x.Stdin = queryBool(q, "stdin")
	x.Stdout = queryBool(q, "stdout")
	x.Stderr = queryBool(q, "stderr")
	x.TTY = queryBool(q, "tty")
	return x
}

// podFromPath takes namespace and pod from .../namespaces/NS/pods/POD/...
func podFromPath(p string) (namespace, pod string) {
	parts := strings.Split(p, "/")
	for i := 0; i+1 < len(parts); i++ {
		switch parts[i] {
		case "namespaces":
			if namespace == "" {
				namespace = unescapePath(parts[i+1])
			}
		case "pods":
			if pod == "" {
				pod = unescapePath(parts[i+1])
			}
		}
	}
	return namespace, pod
}

func unescapePath(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// first is how the API server's parameter codec turns a repeated string
// parameter into a field: the first value wins.
func first(q url.Values, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// queryBool follows apimachinery's Convert_Slice_string_To_bool: absent,
// "0" and "false" are false, anything else (even empty) is true.
func queryBool(q url.Values, key string) bool {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return false
	}
	return v[0] != "0" && !strings.EqualFold(v[0], "false")
}
