package esql

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// javaVector is one line of testdata/javaref/vectors.jsonl, produced by the
// JDK's URLDecoder and java.util.regex (see EsqlRef.java).
type javaVector struct {
	URI             string `json:"uri"`
	DecodeError     bool   `json:"decode_error"`
	Decoded         string `json:"decoded"`
	Grok            bool   `json:"grok"`
	RawCommands     string `json:"raw_commands"`
	ExecutedCommand string `json:"executed_command"`
	Where           bool   `json:"where"`
	CloudTarget     string `json:"cloud_target"`
	CredentialTheft string `json:"is_credential_theft"`
}

func loadJavaVectors(t testing.TB) []javaVector {
	f, err := os.Open("testdata/javaref/vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []javaVector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v javaVector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("vector %d: %v", len(vs)+1, err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 1000 {
		t.Fatalf("only %d vectors", len(vs))
	}
	return vs
}

// TestAgainstJava runs every reference vector through the Go port, step by
// step, and requires the same result as the JDK at each step.
func TestAgainstJava(t *testing.T) {
	exec := "exec"
	for i, v := range loadJavaVectors(t) {
		dec, err := URLDecode(v.URI)
		if (err != nil) != v.DecodeError {
			t.Errorf("vector %d %q: decode error %v, Java error %v", i+1, v.URI, err, v.DecodeError)
			continue
		}
		if v.DecodeError {
			continue
		}
		if dec != v.Decoded {
			t.Errorf("vector %d %q: decoded\n got %q\nwant %q", i+1, v.URI, dec, v.Decoded)
			continue
		}
		uri := v.URI
		row, miss, _ := Evaluate(Input{Subresource: &exec, RequestURI: &uri})
		if utf16Len(uri) > IgnoreAbove {
			if miss != MissURITooLong {
				t.Errorf("vector %d: long URI gave %v", i+1, miss)
			}
			continue
		}
		want := Matched
		switch {
		case !strings.Contains(uri, "command="):
			want = MissNoCommand
		case !v.Grok:
			want = MissGrok
		case !v.Where:
			want = MissNoIndicator
		}
		if miss != want {
			t.Errorf("vector %d %q: %v, want %v", i+1, v.URI, miss, want)
			continue
		}
		if miss != Matched {
			continue
		}
		if row.RawCommands != v.RawCommands || row.ExecutedCommand != v.ExecutedCommand ||
			row.CloudTarget != v.CloudTarget || row.CredentialTheft != v.CredentialTheft {
			t.Errorf("vector %d %q:\n got %+v\nwant %+v", i+1, v.URI, row, v)
		}
	}
}
