package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imdsguard/imdsguard/cli"
)

var update = flag.Bool("update", false, "rewrite the golden output in testdata/script")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"imdsguard": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: each holds its
// input files and the exact output expected (go test -update rewrites it).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"gzip":    cmdGzip,
			"cut":     cmdCut,
			"bigline": cmdBigline,
		},
	})
}

// gzip FILE compresses FILE into FILE.gz.
func cmdGzip(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: gzip FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	ts.Check(zw.Close())
	ts.Check(os.WriteFile(ts.MkAbs(args[0]+".gz"), buf.Bytes(), 0o644))
}

// cut FILE N truncates FILE to N bytes less than its size.
func cmdCut(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cut FILE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	p := ts.MkAbs(args[0])
	st, err := os.Stat(p)
	ts.Check(err)
	ts.Check(os.Truncate(p, st.Size()-int64(n)))
}

// bigline FILE BYTES appends one JSON line of about BYTES bytes to FILE.
func cmdBigline(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: bigline FILE BYTES")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	ts.Check(err)
	defer f.Close()
	_, err = fmt.Fprintf(f, "{\"auditID\":\"big\",\"stage\":\"ResponseComplete\",\"annotations\":{\"pad\":\"%s\"}}\n", strings.Repeat("p", n))
	ts.Check(err)
}
