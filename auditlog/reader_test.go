package auditlog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

func sampleEvents() []auditv1.Event {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 123456000, time.UTC)
	mk := func(id, stage, uri string, code int32) auditv1.Event {
		ev := auditv1.Event{
			TypeMeta:                 metav1.TypeMeta{Kind: "Event", APIVersion: "audit.k8s.io/v1"},
			Level:                    auditv1.LevelMetadata,
			AuditID:                  types.UID("audit-" + id),
			Stage:                    auditv1.Stage(stage),
			RequestURI:               uri,
			Verb:                     "get",
			User:                     authnv1.UserInfo{Username: "alice@example.com", Groups: []string{"dev", "system:authenticated"}},
			SourceIPs:                []string{"10.0.0.7"},
			UserAgent:                "kubectl/v1.37.2 (linux/amd64) kubernetes/abc",
			ObjectRef:                &auditv1.ObjectReference{Resource: "pods", Namespace: "prod", Name: "web-0", APIVersion: "v1", Subresource: "exec"},
			RequestReceivedTimestamp: metav1.NewMicroTime(t0),
			StageTimestamp:           metav1.NewMicroTime(t0.Add(time.Second)),
			Annotations:              map[string]string{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed"},
		}
		if code != 0 {
			ev.ResponseStatus = &metav1.Status{Code: code}
		}
		return ev
	}
	uri := "/api/v1/namespaces/prod/pods/web-0/exec?command=curl&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F&container=app&stderr=true&stdout=true"
	return []auditv1.Event{
		mk("1", "RequestReceived", uri, 0),
		mk("1", "ResponseStarted", uri, 101),
		mk("1", "ResponseComplete", uri, 101),
		mk("2", "ResponseComplete", "/api/v1/namespaces/prod/pods?limit=500", 200),
	}
}

type got struct {
	AuditID, Stage, URI, Decision string
	Groups                        []string
	Line                          int
}

func readAll(t *testing.T, data []byte, opts Options) ([]got, Stats, []*Error) {
	t.Helper()
	var errs []*Error
	opts.OnError = func(e *Error) { errs = append(errs, e) }
	var out []got
	st := NewReader(opts).Read("input", bytes.NewReader(data), func(r *Record) {
		d := r.Event.Annotations["authorization.k8s.io/decision"]
		if d == "" {
			d = r.Event.Annotations["authorization_k8s_io/decision"]
		}
		out = append(out, got{string(r.Event.AuditID), string(r.Event.Stage), r.Event.RequestURI, d, r.Event.User.Groups, r.Line})
	})
	return out, st, errs
}

// apiServerLines encodes events exactly as the log backend does.
func apiServerLines(evs []auditv1.Event) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range evs {
		enc.Encode(&evs[i])
	}
	return b.Bytes()
}

func toMap(ev auditv1.Event) map[string]any {
	b, _ := json.Marshal(ev)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func dedot(m map[string]any) map[string]any {
	ann := m["annotations"].(map[string]any)
	out := map[string]any{}
	for k, v := range ann {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	m["annotations"] = out
	return m
}

func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, x := range m {
		flatten(prefix+"."+k, x, out)
	}
}

// formats renders the same events in every supported input form.
func formats(evs []auditv1.Event) map[string][]byte {
	out := map[string][]byte{}
	out["api server lines"] = apiServerLines(evs)
	var items []any
	for _, ev := range evs {
		items = append(items, toMap(ev))
	}
	list := map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": map[string]any{}, "items": items}
	out["eventlist compact"], _ = json.Marshal(list)
	out["eventlist pretty"], _ = json.MarshalIndent(list, "", "  ")
	out["json array pretty"], _ = json.MarshalIndent(items, "", "    ")
	var nested, dotted, mixed bytes.Buffer
	var hits []any
	for _, ev := range evs {
		a := dedot(toMap(ev))
		doc := map[string]any{"@timestamp": "2026-11-20T09:00:00Z", "kubernetes": map[string]any{"audit": a}, "event": map[string]any{"dataset": "kubernetes.audit_logs"}}
		b, _ := json.Marshal(doc)
		nested.Write(append(b, '\n'))
		hits = append(hits, map[string]any{"_index": ".ds-logs-kubernetes.audit_logs-default", "_id": "x", "_source": doc})
		flat := map[string]any{"@timestamp": "2026-11-20T09:00:00Z"}
		flatten("kubernetes.audit", dedot(toMap(ev)), flat)
		b, _ = json.Marshal(flat)
		dotted.Write(append(b, '\n'))
		// Half dotted: objectRef as a dotted key inside the nested object.
		m := dedot(toMap(ev))
		if or, ok := m["objectRef"].(map[string]any); ok {
			delete(m, "objectRef")
			for k, v := range or {
				m["objectRef."+k] = v
			}
		}
		b, _ = json.Marshal(map[string]any{"kubernetes.audit": m})
		mixed.Write(append(b, '\n'))
	}
	out["elastic nested"] = nested.Bytes()
	out["elastic dotted"] = dotted.Bytes()
	out["elastic mixed"] = mixed.Bytes()
	resp := map[string]any{"took": 3, "hits": map[string]any{"total": map[string]any{"value": len(hits)}, "hits": hits}}
	out["es search response"], _ = json.MarshalIndent(resp, "", "  ")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(out["api server lines"])
	zw.Close()
	out["gzip lines"] = gz.Bytes()
	return out
}

func TestAllFormatsGiveTheSameEvents(t *testing.T) {
	evs := sampleEvents()
	var want []got
	for _, ev := range evs {
		want = append(want, got{string(ev.AuditID), string(ev.Stage), ev.RequestURI, "allow", ev.User.Groups, 0})
	}
	if !bytes.Contains(formats(evs)["api server lines"], []byte(`\u0026`)) {
		t.Fatal("fixture is not escaped as the API server escapes it")
	}
	for name, data := range formats(evs) {
		t.Run(name, func(t *testing.T) {
			out, st, errs := readAll(t, data, Options{})
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			for i := range out {
				out[i].Line = 0
			}
			if !reflect.DeepEqual(out, want) {
				t.Fatalf("got  %+v\nwant %+v", out, want)
			}
			if st.Events != int64(len(want)) || st.Malformed != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestForcedFormat(t *testing.T) {
	data := formats(sampleEvents())["elastic nested"]
	out, _, errs := readAll(t, data, Options{Format: FormatElastic})
	if len(out) != 4 || len(errs) != 0 {
		t.Fatalf("elastic forced: %d events, errors %v", len(out), errs)
	}
	// Native events forced to be read as Elastic documents are refused.
	out, st, _ := readAll(t, formats(sampleEvents())["api server lines"], Options{Format: FormatElastic})
	if len(out) != 0 || st.Malformed != 4 {
		t.Fatalf("native read as elastic: %d events, %+v", len(out), st)
	}
}

func TestBadInputIsReportedAndSkipped(t *testing.T) {
	lines := apiServerLines(sampleEvents())
	good := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
	cases := []struct {
		name      string
		data      []byte
		opts      Options
		events    int
		malformed int64
		errLines  []int
		stats     func(Stats) bool
	}{
		{name: "malformed JSON line", data: join(good[0], []byte(`{"auditID": "x", "stage":`), good[1]),
			events: 2, malformed: 1, errLines: []int{2}},
		{name: "not an object", data: join(good[0], []byte(`garbage here`), []byte(`[1,2]`), good[1]),
			events: 2, malformed: 2, errLines: []int{2, 3}},
		{name: "unknown object", data: join([]byte(`{"hello":"world"}`), good[0]),
			events: 1, malformed: 1, errLines: []int{1}},
		{name: "wrong field type", data: join([]byte(`{"auditID":"a","stage":"ResponseComplete","objectRef":"pods"}`), good[0]),
			events: 1, malformed: 1, errLines: []int{1}},
		{name: "oversized line", data: join(good[0], []byte(`{"auditID":"`+strings.Repeat("x", 5000)+`"}`), good[1]),
			opts: Options{MaxLineSize: 4096}, events: 2, malformed: 1, errLines: []int{2},
			stats: func(s Stats) bool { return s.Oversized == 1 && s.Lines == 3 }},
		{name: "invalid UTF-8 is a warning, the event is kept", data: join(bytes.Replace(good[0], []byte("alice"), []byte("al\xffce"), 1), good[1]),
			events: 2, malformed: 0, errLines: []int{1}, stats: func(s Stats) bool { return s.InvalidUTF8 == 1 }},
		{name: "blank lines and CRLF", data: []byte("\r\n" + string(good[0]) + "\r\n\r\n" + string(good[1]) + "\r\n"),
			events: 2},
		{name: "no final newline", data: bytes.TrimSpace(lines), events: 4},
		{name: "binary", data: []byte("\x7fELF\x02\x01\x01\x00\x00\x00garbage"), malformed: 1, errLines: []int{0}},
		{name: "bad element of a JSON array", data: []byte("[\n" + string(good[0]) + ",\n{\"auditID\": oops},\n" + string(good[1]) + "\n]\n"),
			events: 2, malformed: 1, errLines: []int{3}},
		{name: "truncated JSON array keeps whole elements", data: []byte("[\n" + string(good[0]) + ",\n" + string(good[1]) + ",\n" + string(good[2][:40])),
			events: 2, malformed: 1, errLines: []int{4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// These bad lines hold no "exec": without the prefilter
			// every line is decoded and every problem reported.
			c.opts.NoPrefilter = true
			out, st, errs := readAll(t, c.data, c.opts)
			if len(out) != c.events || st.Malformed != c.malformed {
				t.Fatalf("events %d malformed %d, want %d and %d; errors %v", len(out), st.Malformed, c.events, c.malformed, errs)
			}
			var lines []int
			for _, e := range errs {
				lines = append(lines, e.Line)
				if e.File != "input" {
					t.Errorf("error without file: %v", e)
				}
			}
			if len(c.errLines) > 0 || len(lines) > 0 {
				if !reflect.DeepEqual(lines, c.errLines) {
					t.Fatalf("error lines %v, want %v (%v)", lines, c.errLines, errs)
				}
			}
			if c.stats != nil && !c.stats(st) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func join(parts ...[]byte) []byte {
	return append(bytes.Join(parts, []byte("\n")), '\n')
}

func TestLineNumbers(t *testing.T) {
	data := apiServerLines(sampleEvents())
	out, _, _ := readAll(t, data, Options{})
	for i, g := range out {
		if g.Line != i+1 {
			t.Fatalf("event %d on line %d", i, g.Line)
		}
	}
	pretty := formats(sampleEvents())["json array pretty"]
	out, _, _ = readAll(t, pretty, Options{})
	if out[0].Line != 2 {
		t.Fatalf("first element of a pretty array on line %d, want 2", out[0].Line)
	}
}

func TestTruncatedGzip(t *testing.T) {
	gz := formats(sampleEvents())["gzip lines"]
	cut := gz[:len(gz)-12] // lose the trailer and some data
	out, st, errs := readAll(t, cut, Options{})
	if len(errs) == 0 {
		t.Fatal("truncated gzip not reported")
	}
	if !strings.Contains(errs[len(errs)-1].Error(), "truncated") {
		t.Errorf("message does not say truncated: %v", errs[len(errs)-1])
	}
	if len(out) == 0 || st.Events == 0 {
		t.Fatalf("events before the cut were lost: %+v", st)
	}
}

func TestLargeLine(t *testing.T) {
	ev := sampleEvents()[0]
	ev.Annotations["padding"] = strings.Repeat("p", 17<<20)
	data := apiServerLines([]auditv1.Event{ev, sampleEvents()[1]})
	out, st, errs := readAll(t, data, Options{})
	if len(out) != 1 || st.Oversized != 1 || len(errs) != 1 || errs[0].Line != 1 {
		t.Fatalf("17 MiB line with the default limit: %d events, %+v, %v", len(out), st, errs)
	}
	out, _, errs = readAll(t, data, Options{MaxLineSize: 32 << 20})
	if len(out) != 2 || len(errs) != 0 {
		t.Fatalf("17 MiB line with a 32 MiB limit: %d events, %v", len(out), errs)
	}
}

func FuzzRead(f *testing.F) {
	for _, data := range formats(sampleEvents()) {
		f.Add(data)
	}
	f.Add([]byte("{\"kubernetes.audit.objectRef.subresource\":\"exec\"}\n{"))
	f.Add([]byte("[{\"items\":[{\"auditID\":1}]}, 3, \"x\"]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var errs int64
		opts := Options{MaxLineSize: 1 << 16, OnError: func(e *Error) {
			if !e.Warning {
				errs++
			}
			if e.File != "fuzz" {
				t.Fatalf("error without file: %v", e)
			}
		}}
		events := int64(0)
		st := NewReader(opts).Read("fuzz", bytes.NewReader(data), func(r *Record) { events++ })
		if st.Events != events {
			t.Fatalf("stats say %d events, %d emitted", st.Events, events)
		}
		if st.Malformed != errs {
			t.Fatalf("stats say %d malformed, %d reported", st.Malformed, errs)
		}
	})
}
