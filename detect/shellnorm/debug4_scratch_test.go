package shellnorm

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestScratchDeep(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("$(", 50000) + strings.Repeat(")", 50000),
		strings.Repeat("(", 100000) + "curl" + strings.Repeat(")", 100000),
		strings.Repeat("{ ", 50000) + "curl;" + strings.Repeat("}; ", 50000),
		strings.Repeat("if true; then ", 20000) + "curl;" + strings.Repeat("fi; ", 20000),
		strings.Repeat("$((", 30000) + "1" + strings.Repeat("))", 30000),
		"echo " + strings.Repeat("${x:-", 40000) + "a" + strings.Repeat("}", 40000),
		strings.Repeat("`", 60000),
		strings.Repeat("\"$(", 40000),
		strings.Repeat("a|", 60000) + "b",
		"echo $((" + strings.Repeat("1+", 60000) + "1))",
		strings.Repeat("echo $((1+", 10000) + strings.Repeat("1))", 10000),
	} {
		runtime.GC()
		var m1, m2 runtime.MemStats
		runtime.ReadMemStats(&m1)
		start := time.Now()
		if len(src) > 65536 { src = src[:65536] }
		res := Normalize([]string{"bash", "-c", src}, Options{})
		runtime.ReadMemStats(&m2)
		t.Logf("%q... took %v alloc %dKB stacksys %dMB trunc=%v reason=%.100q ntexts=%d", src[:10], time.Since(start), (m2.TotalAlloc-m1.TotalAlloc)>>10, m2.StackSys>>20, res.Truncated, res.Reason, len(res.Texts))
	}
}
