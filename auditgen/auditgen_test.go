package auditgen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

func generate(t *testing.T, cfg Config) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, cfg)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes(), st
}

func lines(b []byte) [][]byte {
	out := bytes.SplitAfter(b, []byte("\n"))
	if len(out) > 0 && len(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}

// decode reads one line strictly: unknown fields are errors.
func decode(t *testing.T, l []byte) auditv1.Event {
	t.Helper()
	var ev auditv1.Event
	d := json.NewDecoder(bytes.NewReader(l))
	d.DisallowUnknownFields()
	if err := d.Decode(&ev); err != nil {
		t.Fatalf("line does not decode as an audit event: %v\n%s", err, l)
	}
	return ev
}

// metadataHosts are the addresses the attack commands use.
var metadataHosts = []string{"169.254.169.254", "metadata.google.internal", "169.254.170.2"}

func isAttack(argv []string) bool {
	s := strings.Join(argv, " ")
	for _, h := range metadataHosts {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}

func execArgv(t *testing.T, uri string) []string {
	t.Helper()
	_, raw, ok := strings.Cut(uri, "?")
	if !ok {
		t.Fatalf("exec URI without query: %s", uri)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("exec query %q: %v", raw, err)
	}
	return q["command"]
}

func isExec(ev *auditv1.Event) bool {
	return ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Subresource == "exec"
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 42, Events: 3000, ExecShare: 0.02}
	a, _ := generate(t, cfg)
	b, _ := generate(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("the same Config gave different output")
	}
	cfg.Seed = 43
	c, _ := generate(t, cfg)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same output")
	}
	if len(a) == 0 {
		t.Fatal("no output")
	}
}

// TestEncodedLikeAPIServer decodes every line and encodes it again with
// json.Encoder, as kube-apiserver's log backend does: the bytes must match.
func TestEncodedLikeAPIServer(t *testing.T) {
	t.Parallel()
	out, st := generate(t, Config{Seed: 7, Events: 5000, ExecShare: 0.02, AttackShare: 0.5})
	ls := lines(out)
	if int64(len(ls)) != st.Events || st.Events != 5000 {
		t.Fatalf("got %d lines, Stats.Events %d, want 5000", len(ls), st.Events)
	}
	if int64(len(out)) != st.Bytes {
		t.Fatalf("Stats.Bytes %d, output %d bytes", st.Bytes, len(out))
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	stamp := regexp.MustCompile(`"stageTimestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"`)
	var prev time.Time
	var re bytes.Buffer
	enc := json.NewEncoder(&re)
	for i, l := range ls {
		ev := decode(t, l)
		re.Reset()
		if err := enc.Encode(&ev); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re.Bytes(), l) {
			t.Fatalf("line %d is not what json.Encoder writes for its event:\n got %s\nwant %s", i+1, l, re.Bytes())
		}
		if ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1" {
			t.Fatalf("line %d: kind %q apiVersion %q", i+1, ev.Kind, ev.APIVersion)
		}
		if !uuid.MatchString(string(ev.AuditID)) {
			t.Fatalf("line %d: auditID %q is not a v4 UUID", i+1, ev.AuditID)
		}
		if !stamp.Match(l) {
			t.Fatalf("line %d: stageTimestamp not RFC 3339 with microseconds", i+1)
		}
		switch ev.Level {
		case auditv1.LevelMetadata, auditv1.LevelRequest, auditv1.LevelRequestResponse:
		default:
			t.Fatalf("line %d: level %q", i+1, ev.Level)
		}
		if ev.Stage == auditv1.StageRequestReceived {
			if ev.ResponseStatus != nil || ev.Annotations != nil || !ev.StageTimestamp.Equal(&ev.RequestReceivedTimestamp) {
				t.Fatalf("line %d: RequestReceived with a response status, annotations or its own time: %s", i+1, l)
			}
		} else if ev.ResponseStatus == nil || ev.ResponseStatus.Code == 0 {
			t.Fatalf("line %d: %s without response code", i+1, ev.Stage)
		}
		if ev.StageTimestamp.Time.Before(prev) {
			t.Fatalf("line %d: stage time %v before the previous line's %v", i+1, ev.StageTimestamp.Time, prev)
		}
		prev = ev.StageTimestamp.Time
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	out, st := generate(t, Config{Seed: 3, Events: 10000, ExecShare: 0.05})
	if st.ExecRequests == 0 {
		t.Fatal("no exec requests to look at")
	}
	execs := 0
	for i, l := range lines(out) {
		if bytes.ContainsAny(l, "&<>") {
			t.Fatalf("line %d holds a raw &, < or >: %s", i+1, l)
		}
		if bytes.IndexByte(l, '\n') != len(l)-1 {
			t.Fatalf("line %d: newline not only at the end", i+1)
		}
		if !bytes.Contains(l, []byte(`"subresource":"exec"`)) {
			continue
		}
		ev := decode(t, l)
		if !isExec(&ev) {
			continue
		}
		execs++
		if !strings.Contains(ev.RequestURI, "&") {
			t.Fatalf("exec URI has one parameter only: %s", ev.RequestURI)
		}
		if !bytes.Contains(l, []byte(`\u0026container=`)) {
			t.Fatalf("line %d: exec requestURI separators not written as \\u0026: %s", i+1, l)
		}
	}
	if execs == 0 {
		t.Fatal("no exec events")
	}
	// Request and response objects carry &, < and > too (configmap data);
	// they must be escaped inside them as well.
	if !bytes.Contains(out, []byte(`\u003cb\u003eWelcome`)) {
		t.Fatal("no escaped < > in a logged object: the check above proves less than it should")
	}
}

func TestShares(t *testing.T) {
	t.Parallel()
	const execShare, attackShare = 0.02, 0.3
	out, st := generate(t, Config{Seed: 11, Events: 40000, ExecShare: execShare, AttackShare: attackShare})
	requests := map[string]bool{}
	execIDs := map[string]bool{}
	attackIDs := map[string]bool{}
	for _, l := range lines(out) {
		// Decoding every event takes long; read the audit ID in place
		// and decode only exec events.
		i := bytes.Index(l, []byte(`"auditID":"`))
		if i < 0 || len(l) < i+11+36 {
			t.Fatalf("no auditID in %s", l)
		}
		requests[string(l[i+11:i+11+36])] = true
		if !bytes.Contains(l, []byte(`"subresource":"exec"`)) {
			continue
		}
		ev := decode(t, l)
		if isExec(&ev) {
			execIDs[string(ev.AuditID)] = true
			if isAttack(execArgv(t, ev.RequestURI)) {
				attackIDs[string(ev.AuditID)] = true
			}
		}
	}
	if int64(len(requests)) != st.Requests || int64(len(execIDs)) != st.ExecRequests || int64(len(attackIDs)) != st.AttackRequests {
		t.Fatalf("Stats %+v disagree with the log: %d requests, %d exec, %d attack", st, len(requests), len(execIDs), len(attackIDs))
	}
	es := float64(len(execIDs)) / float64(len(requests))
	if es < execShare*0.8 || es > execShare*1.2 {
		t.Fatalf("exec share %.4f, want about %.4f", es, execShare)
	}
	as := float64(len(attackIDs)) / float64(len(execIDs))
	if as < attackShare*0.75 || as > attackShare*1.25 {
		t.Fatalf("attack share %.3f, want about %.3f", as, attackShare)
	}
	// Zero shares mean the defaults.
	zero, _ := generate(t, Config{Seed: 11, Events: 3000})
	def, _ := generate(t, Config{Seed: 11, Events: 3000, ExecShare: DefaultExecShare, AttackShare: DefaultAttackShare})
	if !bytes.Equal(zero, def) {
		t.Fatal("zero ExecShare and AttackShare do not mean the defaults")
	}
	_, none := generate(t, Config{Seed: 11, Events: 20000, ExecShare: -1})
	if none.ExecRequests != 0 {
		t.Fatalf("ExecShare < 0 still gave %d exec requests", none.ExecRequests)
	}
}

// TestExecSessions checks that every exec request is logged with all three
// stages, in order, and that they agree on everything but stage data.
func TestExecSessions(t *testing.T) {
	t.Parallel()
	out, st := generate(t, Config{Seed: 5, Events: 12000, ExecShare: 0.05, AttackShare: 0.5})
	type seen struct {
		stages []auditv1.Stage
		first  auditv1.Event
	}
	byID := map[string]*seen{}
	var order []string
	for _, l := range lines(out) {
		if !bytes.Contains(l, []byte(`"subresource":"exec"`)) {
			continue
		}
		ev := decode(t, l)
		if !isExec(&ev) {
			continue // a SelfSubjectAccessReview about pods/exec
		}
		s := byID[string(ev.AuditID)]
		if s == nil {
			s = &seen{first: ev}
			byID[string(ev.AuditID)] = s
			order = append(order, string(ev.AuditID))
		}
		s.stages = append(s.stages, ev.Stage)
		f := s.first
		if ev.RequestURI != f.RequestURI || ev.Verb != f.Verb || ev.User.Username != f.User.Username ||
			!ev.RequestReceivedTimestamp.Equal(&f.RequestReceivedTimestamp) || ev.ObjectRef.Name != f.ObjectRef.Name {
			t.Fatalf("stages of %s disagree:\n%+v\n%+v", ev.AuditID, f, ev)
		}
		if ev.Verb != "get" && ev.Verb != "create" {
			t.Fatalf("exec verb %q", ev.Verb)
		}
		if ev.Stage != auditv1.StageRequestReceived {
			code := ev.ResponseStatus.Code
			if code != 101 && code != 403 {
				t.Fatalf("exec response code %d", code)
			}
			if code == 403 && (ev.Annotations["authorization.k8s.io/decision"] != "forbid" || ev.ResponseStatus.Reason != "Forbidden" ||
				!strings.Contains(ev.ResponseStatus.Message, `cannot `+ev.Verb+` resource "pods/exec" in API group "" in the namespace "`+ev.ObjectRef.Namespace+`"`)) {
				t.Fatalf("denied exec logged wrongly: %+v %+v", ev.ResponseStatus, ev.Annotations)
			}
			if code == 101 && ev.Annotations["authorization.k8s.io/decision"] != "allow" {
				t.Fatalf("allowed exec without allow decision: %v", ev.Annotations)
			}
		}
	}
	want := []auditv1.Stage{auditv1.StageRequestReceived, auditv1.StageResponseStarted, auditv1.StageResponseComplete}
	for _, id := range order {
		if !slices.Equal(byID[id].stages, want) {
			t.Fatalf("exec %s has stages %v, want %v", id, byID[id].stages, want)
		}
	}
	if int64(len(order)) != st.ExecRequests || len(order) < 100 {
		t.Fatalf("%d exec requests in the log, Stats says %d", len(order), st.ExecRequests)
	}
	if st.DeniedSessions == 0 {
		t.Fatal("no denied session in a large log")
	}
	verbs := map[string]int{}
	for _, id := range order {
		verbs[byID[id].first.Verb]++
	}
	if verbs["get"] == 0 || verbs["create"] == 0 {
		t.Fatalf("want both WebSocket (get) and SPDY (create) exec requests, got %v", verbs)
	}
}

func TestEventSizes(t *testing.T) {
	t.Parallel()
	out, _ := generate(t, Config{Seed: 13, Events: 8000})
	ls := lines(out)
	inside := 0
	levels := map[auditv1.Level]int{}
	withObject := 0
	for _, l := range ls {
		if len(l) >= 300 && len(l) <= 4096 {
			inside++
		}
		ev := decode(t, l)
		levels[ev.Level]++
		if ev.RequestObject != nil || ev.ResponseObject != nil {
			withObject++
		}
	}
	if share := float64(inside) / float64(len(ls)); share < 0.98 {
		t.Fatalf("only %.1f%% of events are 300 B..4 KB", 100*share)
	}
	if levels[auditv1.LevelRequest] == 0 || levels[auditv1.LevelRequestResponse] == 0 || levels[auditv1.LevelMetadata] < len(ls)/2 {
		t.Fatalf("levels %v: want mostly Metadata with some Request and RequestResponse", levels)
	}
	if withObject == 0 {
		t.Fatal("no event carries a request or response object")
	}
}

func TestExecRequestURI(t *testing.T) {
	t.Parallel()
	got := ExecRequestURI("prod", "web-0", "web", []string{"sh", "-c", "echo a && cat /etc/x y"}, false)
	want := "/api/v1/namespaces/prod/pods/web-0/exec?command=sh&command=-c&command=echo+a+%26%26+cat+%2Fetc%2Fx+y&container=web&stderr=true&stdout=true"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = ExecRequestURI("default", "web-1", "nginx", []string{"bash"}, true)
	want = "/api/v1/namespaces/default/pods/web-1/exec?command=bash&container=nginx&stdin=true&stdout=true&tty=true"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, argv := range append(slices.Clone(AttackArgv), BenignArgv...) {
		if back := execArgv(t, ExecRequestURI("ns", "p", "c", argv, Interactive(argv))); !slices.Equal(back, argv) {
			t.Fatalf("argv %q came back as %q", argv, back)
		}
	}
}

func TestArgvLists(t *testing.T) {
	t.Parallel()
	for _, a := range AttackArgv {
		if !isAttack(a) {
			t.Errorf("attack argv %q names no metadata service", a)
		}
	}
	for _, a := range BenignArgv {
		if isAttack(a) {
			t.Errorf("benign argv %q names a metadata service", a)
		}
	}
}

func TestForcedSessions(t *testing.T) {
	t.Parallel()
	out, st := generate(t, Config{Seed: 7, Events: 400, ForceBenign: 6, ForceAttack: 5, ForceDenied: 1})
	if st.ExecSessions != 11 || st.AttackSessions != 5 || st.DeniedSessions != 1 {
		t.Fatalf("Stats %+v: want 11 sessions, 5 attack, 1 denied", st)
	}
	var attacks [][]string
	seen := map[string]bool{}
	denied := 0
	var positions []int
	ls := lines(out)
	for i, l := range ls {
		ev := decode(t, l)
		if !isExec(&ev) || ev.Stage != auditv1.StageRequestReceived || seen[ev.RequestURI] {
			continue
		}
		seen[ev.RequestURI] = true
		positions = append(positions, i)
		argv := execArgv(t, ev.RequestURI)
		if isAttack(argv) {
			attacks = append(attacks, argv)
		}
	}
	for _, l := range ls {
		ev := decode(t, l)
		if isExec(&ev) && ev.Stage == auditv1.StageResponseComplete && ev.ResponseStatus.Code == 403 {
			denied++
		}
	}
	if len(attacks) != 5 || !slices.Equal(attacks[0], AttackArgv[0]) || !slices.Equal(attacks[3], AttackArgv[3]) {
		t.Fatalf("attack commands %q, want AttackArgv[0:5] in order", attacks)
	}
	if denied == 0 {
		t.Fatal("no 403 exec response")
	}
	if len(positions) != 11 || positions[len(positions)-1]-positions[0] < len(ls)/2 {
		t.Fatalf("sessions at lines %v of %d: not spread through the log", positions, len(ls))
	}
}

func TestStagesOption(t *testing.T) {
	t.Parallel()
	out, st := generate(t, Config{Seed: 1, Events: 2000, Stages: []auditv1.Stage{auditv1.StageResponseComplete}})
	for _, l := range lines(out) {
		if ev := decode(t, l); ev.Stage != auditv1.StageResponseComplete {
			t.Fatalf("stage %s written though only ResponseComplete was asked for", ev.Stage)
		}
	}
	if st.Events != 2000 || st.Requests != 2000 {
		t.Fatalf("Stats %+v: want 2000 events, one per request", st)
	}
	if _, err := Write(io.Discard, Config{Events: 1, Stages: []auditv1.Stage{"Panic"}}); err == nil {
		t.Fatal("unknown stage accepted")
	}
}

func TestBytesAndGzip(t *testing.T) {
	t.Parallel()
	plain, st := generate(t, Config{Seed: 2, Bytes: 1 << 20})
	if st.Bytes < 1<<20 || st.Bytes > 1<<20+64<<10 {
		t.Fatalf("asked for 1 MiB, got %d bytes", st.Bytes)
	}
	zipped, zst := generate(t, Config{Seed: 2, Bytes: 1 << 20, Gzip: true})
	if zst != st {
		t.Fatalf("gzip changed the stats: %+v vs %+v", zst, st)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	un, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(un, plain) {
		t.Fatal("gzipped output differs from plain output once uncompressed")
	}
	if len(zipped)*4 > len(plain) {
		t.Fatalf("gzip output %d bytes for %d: not compressed", len(zipped), len(plain))
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{}, {Events: 10, ForceAttack: 1, ForceDenied: 2}, {Events: 10, ForceBenign: -1}} {
		if _, err := Write(io.Discard, cfg); err == nil {
			t.Errorf("Config %+v accepted", cfg)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1GiB": 1 << 30, "200MB": 200e6, "512KiB": 512 << 10, "10M": 10 << 20, "4096": 4096, "1.5GB": 1.5e9} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "12XB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// TestOutputReadsAsLines makes sure nothing but whole lines is written.
func TestOutputReadsAsLines(t *testing.T) {
	t.Parallel()
	out, st := generate(t, Config{Seed: 21, Events: 1000})
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n := int64(0)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("line %d is not JSON", n+1)
		}
		n++
	}
	if n != st.Events || !bytes.HasSuffix(out, []byte("\n")) {
		t.Fatalf("%d lines, %d events", n, st.Events)
	}
}

// TestExampleUpToDate regenerates examples/audit.log with the command its
// README gives; a change to the generator must come with a new example.
func TestExampleUpToDate(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../examples/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	got, st := generate(t, Config{Seed: 7, Events: 400, ForceBenign: 6, ForceAttack: 5, ForceDenied: 1, Rate: 0.5})
	if !bytes.Equal(got, want) {
		t.Fatal("examples/audit.log differs from the generator's output; regenerate it with the command in examples/README.md")
	}
	if st.Events != 400 || st.ExecSessions != 11 || st.AttackSessions != 5 || st.DeniedSessions != 1 {
		t.Fatalf("example stats %+v", st)
	}
}
