package auditlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imdsguard/imdsguard/auditgen"
)

// eventKey identifies a record for comparing the two read paths.
func eventKey(r *Record) string {
	sub := ""
	if r.Event.ObjectRef != nil {
		sub = r.Event.ObjectRef.Subresource
	}
	return fmt.Sprintf("%d %s %s %s", r.Line, r.Event.AuditID, r.Event.Stage, sub)
}

// readExec reads data and returns the events with subresource exec (the
// only ones either engine can alert on), with their line numbers.
func readExec(data []byte, opts Options) ([]string, Stats) {
	var out []string
	var nerr int
	opts.OnError = func(e *Error) { nerr++ }
	st := NewReader(opts).Read("x", bytes.NewReader(data), func(r *Record) {
		if r.Event.ObjectRef != nil && r.Event.ObjectRef.Subresource == "exec" {
			out = append(out, eventKey(r))
		}
	})
	return out, st
}

// TestPrefilterIsSound runs the full decoder and the prefiltered reader
// side by side: every exec event the full decoder finds, the prefiltered
// reader finds too, at the same line.
func TestPrefilterIsSound(t *testing.T) {
	var inputs = map[string][]byte{}
	for seed := int64(1); seed <= 3; seed++ {
		var b bytes.Buffer
		if _, err := auditgen.Write(&b, auditgen.Config{Seed: seed, Events: 20000, ExecShare: 0.05}); err != nil {
			t.Fatal(err)
		}
		inputs[fmt.Sprintf("generated seed %d", seed)] = b.Bytes()
	}
	// Writers other than the API server: other key orders, spacing, and
	// escapes of any character, as Fluent Bit, Vector or a hostile writer
	// may produce.
	var escaped bytes.Buffer
	rnd := rand.New(rand.NewSource(9))
	for _, line := range bytes.Split(inputs["generated seed 1"], []byte("\n"))[:5000] {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		json.Unmarshal(line, &m)
		b, _ := json.MarshalIndent(m, "", "")
		b = bytes.ReplaceAll(b, []byte("\n"), []byte(" "))
		// Escape some letters of "exec" the way a writer may.
		s := string(b)
		switch rnd.Intn(4) {
		case 0:
			s = strings.ReplaceAll(s, `"exec"`, `"\u0065xec"`)
		case 1:
			s = strings.ReplaceAll(s, `"exec"`, `"e\u0078ec"`)
		case 2:
			s = strings.ReplaceAll(s, `"exec"`, `"exe\u0063"`)
		}
		escaped.WriteString(s + "\n")
	}
	inputs["re-encoded and escaped"] = escaped.Bytes()
	// The fuzz corpus of FuzzRead.
	files, _ := filepath.Glob("testdata/fuzz/FuzzRead/*")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		inputs["corpus "+filepath.Base(f)] = data
	}
	for name, data := range inputs {
		full, fst := readExec(data, Options{NoPrefilter: true})
		fast, pst := readExec(data, Options{})
		missing := map[string]bool{}
		for _, k := range full {
			missing[k] = true
		}
		for _, k := range fast {
			delete(missing, k)
		}
		if len(missing) > 0 {
			t.Errorf("%s: the prefilter dropped %d exec events the full decoder reads, e.g. %v", name, len(missing), missing)
		}
		if fst.Lines != pst.Lines {
			t.Errorf("%s: %d lines without the prefilter, %d with", name, fst.Lines, pst.Lines)
		}
		if strings.HasPrefix(name, "generated") && (len(full) == 0 || pst.Events >= fst.Events/2) {
			t.Errorf("%s: %d exec events, %d of %d events decoded: the prefilter does not filter", name, len(full), pst.Events, fst.Events)
		}
	}
}

func TestMayBeExec(t *testing.T) {
	yes := []string{`"subresource":"exec"`, `"subresource":"\u0065xec"`, `"e\u0078ec"`, `"exe\u0063"`, `{"kubernetes.audit.objectRef.subresource":"exec"}`}
	no := []string{`"subresource":"status"`, `"requestURI":"/api/v1/pods?limit=500\u0026watch=true"`, `xec`}
	for _, s := range yes {
		if !MayBeExec([]byte(s)) {
			t.Errorf("%s: dropped", s)
		}
	}
	for _, s := range no {
		if MayBeExec([]byte(s)) {
			t.Errorf("%s: kept", s)
		}
	}
}

func BenchmarkPrefilter(b *testing.B) {
	var buf bytes.Buffer
	auditgen.Write(&buf, auditgen.Config{Seed: 1, Bytes: 32 << 20})
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for p := 0; ; {
			h := nextCandidate(data, p)
			if h < 0 {
				break
			}
			n++
			p = h + 1
		}
	}
}

func BenchmarkReadLines(b *testing.B) {
	var buf bytes.Buffer
	auditgen.Write(&buf, auditgen.Config{Seed: 1, Bytes: 32 << 20})
	data := buf.Bytes()
	for _, mode := range []struct {
		name string
		opts Options
	}{{"prefilter", Options{}}, {"full-decode", Options{NoPrefilter: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				NewReader(mode.opts).Read("x", bytes.NewReader(data), func(*Record) {})
			}
		})
	}
}
