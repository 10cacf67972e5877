package shellnorm

import (
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

func TestScratchBrace(t *testing.T) {
	src := "echo " + strings.Repeat("{a,b}", 20)
	p := syntax.NewParser()
	f, err := p.Parse(strings.NewReader(src), "")
	if err != nil {
		t.Fatal(err)
	}
	w := f.Stmts[0].Cmd.(*syntax.CallExpr).Args[1]
	start := time.Now()
	n := 0
	for _, err := range expand.FieldsSeq(&expand.Config{}, w) {
		if err != nil {
			t.Log(err)
			break
		}
		n++
		if n > 4096 {
			break
		}
	}
	t.Log(n, time.Since(start))
}
