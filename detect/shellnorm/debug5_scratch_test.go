package shellnorm

import (
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

func BenchmarkScratchParse(b *testing.B) {
	src := "echo $((" + strings.Repeat("1+", 5000) + "1))"
	for b.Loop() {
		p := syntax.NewParser()
		p.Parse(strings.NewReader(src), "")
	}
}
