package shellnorm

import (
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

func TestScratchParse(t *testing.T) {
	for _, n := range []int{8000, 60000} {
		for _, mk := range []func(int) string{
			func(n int) string { return strings.Repeat("a|", n) + "b" },
			func(n int) string { return strings.Repeat("a&&", n) + "b" },
			func(n int) string { return strings.Repeat("a;", n) + "b" },
			func(n int) string { return "echo " + strings.Repeat("${a:-", n) + strings.Repeat("}", n) },
			func(n int) string { return "echo $((" + strings.Repeat("1+", n) + "1))" },
			func(n int) string { return "echo $((" + strings.Repeat("-", n) + "1))" },
			func(n int) string { return "echo " + strings.Repeat("{a,", n) + strings.Repeat("}", n) },
			func(n int) string { return "echo " + strings.Repeat("\"$(echo ", n) },
			func(n int) string { return strings.Repeat("! ", n) + "a" },
			func(n int) string { return "a=" + strings.Repeat("(", n) },
			func(n int) string { return "[[ " + strings.Repeat("( ", n) + "a" + strings.Repeat(" )", n) + " ]]" },
			func(n int) string { return "[[ " + strings.Repeat("! ", n) + "a ]]" },
			func(n int) string { return "[[ " + strings.Repeat("a && ", n) + "a ]]" },
		} {
			src := mk(n)
			start := time.Now()
			p := syntax.NewParser()
			_, err := p.Parse(strings.NewReader(src), "")
			t.Logf("%d %.8q %v %v", n, src, time.Since(start), err != nil)
		}
	}
}
