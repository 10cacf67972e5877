package auditlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imdsguard/imdsguard/auditgen"
)

func TestEventListItems(t *testing.T) {
	cases := []struct {
		doc   string
		items []string // nil: not split (the general path reads it)
	}{
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"a":1},{"b":[1,{"c":"}]"}]}]}`, []string{`{"a":1}`, `{"b":[1,{"c":"}]"}]}`}},
		{"{\n  \"items\": [\n    {\"a\": \"x\\\"y\"} ,\n\t{}\n  ]\n}\n", []string{`{"a": "x\"y"}`, `{}`}},
		{`{"items":[]}`, []string{}},
		{`{"items":[1,"s",null,[2],-0.5e+3,true]}`, []string{`1`, `"s"`, `null`, `[2]`, `-0.5e+3`, `true`}},
		{`{"items":[{"a":"\\"},{"b":2}]}`, []string{`{"a":"\\"}`, `{"b":2}`}},
		// Not split:
		{`{"kind":"EventList"}`, nil},             // no items
		{`{"items":{}}`, nil},                     // items not an array
		{`{"items":[{}],"items":[{}]}`, nil},      // twice: which one counts is the decoder's business
		{`{"\u0069tems":[{}]}`, nil},              // an escaped key
		{`{"items":[{}],"hits":{}}`, nil},         // a search response
		{`{"kubernetes":{},"items":[{}]}`, nil},   // an Elastic document
		{`{"items":[{"a":1]}]}`, nil},             // brackets do not match
		{`{"items":[{"a":"unclosed}]}`, nil},      // string does not close
		{`{"items":[{"a":1}]} {"items":[]}`, nil}, // trailing value
		{`{"items":[{"a":1}]`, nil},               // truncated
		{`{"items":[{"a":1},]}`, nil},             // trailing comma
		{`{"items":[{"a":1}{"b":2}]}`, nil},       // missing comma
		{`{"items":[{"a":<script>}]}`, nil},       // not a JSON token
		{`[{"items":[]}]`, nil},                   // not an object
		{`{"items":[{"a":1}] "x":1}`, nil},        // missing comma between keys
		{"\xef\xbb\xbf{\"items\":[]}", nil},       // a BOM: left to the general path
		{`{"items":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`, []string{strings.Repeat("[", 100) + strings.Repeat("]", 100)}},
	}
	for _, c := range cases {
		spans, ok := eventListItems([]byte(c.doc))
		if ok != (c.items != nil) {
			t.Errorf("%q: split %v, want %v", c.doc, ok, c.items != nil)
			continue
		}
		var got []string
		for _, sp := range spans {
			got = append(got, c.doc[sp[0]:sp[1]])
		}
		if ok && fmt.Sprint(got) != fmt.Sprint(c.items) {
			t.Errorf("%q: items %q, want %q", c.doc, got, c.items)
		}
	}
}

// webhookBodies cuts a generated log into EventList bodies of n events,
// compact as the API server sends them, and pretty-printed.
func webhookBodies(t testing.TB, cfg auditgen.Config, n int) [][]byte {
	var log bytes.Buffer
	if _, err := auditgen.Write(&log, cfg); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(log.Bytes()), []byte("\n"))
	var bodies [][]byte
	for i := 0; i < len(lines); i += n {
		items := lines[i:min(i+n, len(lines))]
		compact := append([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`), bytes.Join(items, []byte(","))...)
		compact = append(compact, "]}"...)
		var pretty bytes.Buffer
		json.Indent(&pretty, compact, "", "  ")
		bodies = append(bodies, compact, pretty.Bytes())
	}
	return bodies
}

// readBytesExec is readExec for ReadBytes.
func readBytesExec(data []byte, opts Options) ([]string, int) {
	var out []string
	nerr := 0
	opts.OnError = func(e *Error) {
		if !e.Warning {
			nerr++
		}
	}
	NewReader(opts).ReadBytes("x", data, func(r *Record) {
		if r.Event.ObjectRef != nil && r.Event.ObjectRef.Subresource == "exec" {
			out = append(out, eventKey(r))
		}
	})
	return out, nerr
}

// The split path finds every exec event the whole decode finds, at the
// same line, in webhook bodies, the fuzz corpus and escaped variants.
func TestReadBytesIsSound(t *testing.T) {
	inputs := map[string][]byte{}
	for i, b := range webhookBodies(t, auditgen.Config{Seed: 5, Events: 8000, ExecShare: 0.02}, 400) {
		inputs[fmt.Sprintf("body %d", i)] = b
		if i%4 == 0 {
			inputs[fmt.Sprintf("body %d escaped", i)] = bytes.ReplaceAll(b, []byte(`"exec"`), []byte(`"\u0065xec"`))
		}
	}
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		inputs["corpus "+filepath.Base(f)] = data
	}
	totalExec := 0
	for name, data := range inputs {
		full, _ := readExec(data, Options{NoPrefilter: true})
		fast, _ := readBytesExec(data, Options{OnlyExec: true})
		totalExec += len(full)
		if fmt.Sprint(full) != fmt.Sprint(fast) {
			t.Errorf("%s: whole decode found %v, split path %v", name, full, fast)
		}
	}
	if totalExec < 100 {
		t.Fatalf("only %d exec events in the inputs: the test proves little", totalExec)
	}
}

// Bodies the split path refuses are read as before, with the same
// problems reported.
func TestReadBytesReportsMalformedBodies(t *testing.T) {
	for _, body := range []string{
		`{"kind":"EventList","items":[{"auditID":`,
		`{"kind":"EventList","items":[{"auditID":"a","objectRef":{"subresource":"exec"}},]}`,
		`not json`,
	} {
		_, nerr := readBytesExec([]byte(body), Options{OnlyExec: true})
		if nerr == 0 {
			t.Errorf("%q: no problem reported", body)
		}
	}
}

func FuzzReadBytes(f *testing.F) {
	for _, b := range webhookBodies(f, auditgen.Config{Seed: 6, Events: 6, ExecShare: 0.5}, 3)[:2] {
		f.Add(b)
	}
	f.Add([]byte(`{"items":[{"objectRef":{"subresource":"\u0065xec"},"auditID":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		full, _ := readExec(data, Options{NoPrefilter: true})
		fast, _ := readBytesExec(data, Options{OnlyExec: true})
		// Sound: nothing the whole decode finds is missed. The split
		// path may find more only in what the general path reads after
		// giving up on a damaged document.
		seen := map[string]bool{}
		for _, k := range fast {
			seen[k] = true
		}
		for _, k := range full {
			if !seen[k] {
				t.Fatalf("whole decode found %v, split path missed %s (found %v)", full, k, fast)
			}
		}
		if json.Valid(data) && fmt.Sprint(full) != fmt.Sprint(fast) {
			t.Fatalf("valid JSON: whole decode found %v, split path %v", full, fast)
		}
		spans, ok := eventListItems(data)
		if !ok {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("split accepted invalid JSON")
		}
		// What the split accepts and encoding/json finds valid, both cut
		// into the same items.
		var doc struct{ Items []json.RawMessage }
		if json.Valid(data) && json.Unmarshal(data, &doc) == nil {
			if len(doc.Items) != len(spans) {
				t.Fatalf("%d items, encoding/json finds %d", len(spans), len(doc.Items))
			}
			for i, sp := range spans {
				if !bytes.Equal(data[sp[0]:sp[1]], doc.Items[i]) {
					t.Fatalf("item %d: %q, encoding/json has %q", i, data[sp[0]:sp[1]], doc.Items[i])
				}
			}
		}
	})
}
