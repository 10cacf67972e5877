package shellnorm

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	s := os.Getenv("SN")
	if s == "" {
		return
	}
	argv := strings.Split(s, "\x1f")
	start := time.Now()
	res := Normalize(argv, Options{})
	t.Logf("took %v truncated=%v reason=%q", time.Since(start), res.Truncated, res.Reason)
	for i, x := range res.Texts {
		if len(x) > 300 {
			x = x[:300] + "..."
		}
		t.Logf("%d: %q", i, x)
	}
}
