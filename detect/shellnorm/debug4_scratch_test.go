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
		strings.Repeat("echo $((1+", 10000) + strings.Repeat("1))", 10000),
	} {
		var m1, m2 runtime.MemStats
		runtime.ReadMemStats(&m1)
		start := time.Now()
		res := Normalize([]string{"bash", "-c", src}, Options{})
		runtime.ReadMemStats(&m2)
		t.Logf("%q... took %v alloc %dKB trunc=%v reason=%.100q ntexts=%d", src[:10], time.Since(start), (m2.TotalAlloc-m1.TotalAlloc)>>10, res.Truncated, res.Reason, len(res.Texts))
	}
}
