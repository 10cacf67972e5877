package scan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/auditgen"
)

// essence is what must not depend on the input format.
type essence struct {
	ID, AuditID, Stage, Timestamp, Outcome, Cloud, Theft, Executed, NS, Pod, Container, User string
	Stages, Command                                                                          []string
}

func essentials(as []*alert.Alert) []essence {
	var out []essence
	for _, a := range as {
		out = append(out, essence{a.ID, a.AuditID, a.Stage, a.Timestamp, a.Outcome, a.CloudTarget, a.IsCredentialTheft,
			a.ExecutedCommand, a.Namespace, a.Pod, a.Container, a.User.Username, a.Stages, a.Command})
	}
	return out
}

func readEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, m)
	}
	return evs
}

func elasticDoc(ev map[string]any) map[string]any {
	b, _ := json.Marshal(ev)
	var a map[string]any
	json.Unmarshal(b, &a)
	if ann, ok := a["annotations"].(map[string]any); ok {
		d := map[string]any{}
		for k, v := range ann {
			d[strings.ReplaceAll(k, ".", "_")] = v
		}
		a["annotations"] = d
	}
	return map[string]any{"@timestamp": a["stageTimestamp"], "data_stream": map[string]any{"dataset": "kubernetes.audit_logs"}, "kubernetes": map[string]any{"audit": a}}
}

func flatten(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok && !strings.HasSuffix(prefix, ".annotations") {
		for k, x := range m {
			flatten(prefix+"."+k, x, out)
		}
		return
	}
	out[prefix] = v
}

// renderings writes the fixture in every input form into dir.
func renderings(t *testing.T, dir string) map[string]string {
	evs := readEvents(t, "testdata/sessions.log")
	files := map[string]string{}
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	raw, _ := os.ReadFile("testdata/sessions.log")
	write("native.log", raw)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	write("native.log.gz.1", gz.Bytes())
	list, _ := json.Marshal(map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": map[string]any{}, "items": evs})
	write("eventlist.json", list)
	arr, _ := json.MarshalIndent(evs, "", "  ")
	write("array.json", arr)
	var nested, dotted bytes.Buffer
	var hits []any
	for _, ev := range evs {
		d := elasticDoc(ev)
		b, _ := json.Marshal(d)
		nested.Write(append(b, '\n'))
		flat := map[string]any{}
		flatten("kubernetes.audit", d["kubernetes"].(map[string]any)["audit"], flat)
		flat["@timestamp"] = d["@timestamp"]
		b, _ = json.Marshal(flat)
		dotted.Write(append(b, '\n'))
		hits = append(hits, map[string]any{"_index": "logs", "_id": "x", "_source": d})
	}
	write("elastic-nested.ndjson", nested.Bytes())
	write("elastic-dotted.ndjson", dotted.Bytes())
	resp, _ := json.MarshalIndent(map[string]any{"took": 1, "hits": map[string]any{"hits": hits}}, "", "  ")
	write("search.json", resp)
	return files
}

func TestSameAlertsWhateverTheFormat(t *testing.T) {
	files := renderings(t, t.TempDir())
	for _, engine := range []string{EngineStrict, EngineESQL} {
		var want []essence
		for _, name := range []string{"native.log", "native.log.gz.1", "eventlist.json", "array.json", "elastic-nested.ndjson", "elastic-dotted.ndjson", "search.json"} {
			var errs []error
			res, err := Run([]string{files[name]}, Options{Engine: engine, OnError: func(e error) { errs = append(errs, e) }})
			if err != nil || len(errs) > 0 {
				t.Fatalf("%s %s: %v %v", engine, name, err, errs)
			}
			got := essentials(res.Alerts)
			if want == nil {
				want = got
				if len(want) == 0 {
					t.Fatalf("%s: no alerts from the fixture", engine)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s:\n got %+v\nwant %+v", engine, name, got, want)
			}
		}
	}
}

func TestStrictOneAlertPerSession(t *testing.T) {
	dir := t.TempDir()
	files := renderings(t, dir)
	// The same sessions read twice (a log and its rotated copy) still
	// give one alert each.
	res, err := Run([]string{files["native.log"], files["native.log.gz.1"]}, Options{NoPrefilter: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range res.Alerts {
		if seen[a.AuditID] {
			t.Errorf("duplicate alert for %s", a.AuditID)
		}
		seen[a.AuditID] = true
	}
	if len(res.Alerts) != 3 {
		t.Fatalf("%d alerts, want 3", len(res.Alerts))
	}
	if res.Summary.Files != 2 || res.Summary.Events != 20 {
		t.Errorf("summary %+v", res.Summary)
	}
}

func TestDirectoryWalk(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile("testdata/sessions.log")
	for _, name := range []string{"audit.log", "audit.log.1", "audit-2026-11-20T09-00-00.000.log", "sub/audit.log.2", ".hidden/audit.log", ".audit.log.swp"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, raw, 0o644)
	}
	files, errs := expand([]string{dir})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, r)
	}
	want := []string{"audit-2026-11-20T09-00-00.000.log", "audit.log", "audit.log.1", "sub/audit.log.2"}
	if !reflect.DeepEqual(rel, want) {
		t.Fatalf("got %v, want %v", rel, want)
	}
}

func TestUnreadableInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.log")
	raw, _ := os.ReadFile("testdata/sessions.log")
	os.WriteFile(good, raw, 0o644)
	var errs []error
	res, err := Run([]string{filepath.Join(dir, "missing.log"), good}, Options{OnError: func(e error) { errs = append(errs, e) }})
	if err != nil || len(res.Alerts) != 3 || res.Summary.Unreadable != 1 || len(errs) != 1 {
		t.Fatalf("err %v, %d alerts, summary %+v, errors %v", err, len(res.Alerts), res.Summary, errs)
	}
	_, err = Run([]string{filepath.Join(dir, "missing.log")}, Options{OnError: func(error) {}})
	if err != ErrNoInput {
		t.Fatalf("no readable input gave %v", err)
	}
}

// The public samples from ../shared/testdata/audit-samples (copied with
// their source line) must parse without an alert.
func TestPublicSamplesParseWithoutAlert(t *testing.T) {
	for _, engine := range []string{EngineStrict, EngineESQL} {
		var errs []error
		res, err := Run([]string{"testdata/public"}, Options{Engine: engine, NoPrefilter: true, OnError: func(e error) { errs = append(errs, e) }})
		if err != nil || len(errs) > 0 {
			t.Fatalf("%v %v", err, errs)
		}
		if res.Summary.Events != 2 || res.Summary.ExecEvents != 1 || len(res.Alerts) != 0 {
			t.Fatalf("%s: %+v, %d alerts", engine, res.Summary, len(res.Alerts))
		}
	}
}

// TestParallelIsDeterministic: the same alerts, messages and counts with
// one job or several, whole files or ranges of them.
func TestParallelIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	var big bytes.Buffer
	if _, err := auditgen.Write(&big, auditgen.Config{Seed: 5, Events: 30000, ExecShare: 0.02}); err != nil {
		t.Fatal(err)
	}
	// Damage a few lines that hold exec so messages are produced too.
	data := bytes.Replace(big.Bytes(), []byte(`"subresource":"exec"`), []byte(`"subresource":"exec",`), 3)
	os.WriteFile(filepath.Join(dir, "a.log"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "b.log"), big.Bytes()[:len(big.Bytes())/3], 0o644)
	type run struct {
		alerts []essence
		msgs   []string
		sum    Summary
	}
	do := func(jobs int, rangeSize int64) run {
		var r run
		res, err := Run([]string{dir}, Options{Jobs: jobs, RangeSize: rangeSize, OnError: func(e error) { r.msgs = append(r.msgs, e.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		r.alerts, r.sum = essentials(res.Alerts), res.Summary
		for _, a := range res.Alerts {
			for _, s := range a.Sources {
				r.msgs = append(r.msgs, fmt.Sprintf("%s:%d", s.File, s.Line))
			}
		}
		return r
	}
	want := do(1, 1<<40)
	if len(want.alerts) == 0 || len(want.msgs) < 3 {
		t.Fatalf("fixture gives %d alerts and %d messages", len(want.alerts), len(want.msgs))
	}
	for _, c := range []struct {
		jobs int
		size int64
	}{{4, 1 << 40}, {1, 64 << 10}, {4, 64 << 10}, {3, 12345}} {
		got := do(c.jobs, c.size)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("jobs %d, ranges of %d bytes: differs from one job\n got %+v\nwant %+v", c.jobs, c.size, got.sum, want.sum)
			for i := range got.msgs {
				if i < len(want.msgs) && got.msgs[i] != want.msgs[i] {
					t.Errorf("first difference: %q vs %q", got.msgs[i], want.msgs[i])
					break
				}
			}
		}
	}
}
