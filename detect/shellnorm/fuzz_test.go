package shellnorm

import (
	"strings"
	"testing"
	"time"
)

// FuzzNormalize feeds fuzzed scripts and argvs to Normalize: it must never
// panic (a recovered panic shows as "internal error" in the reason), must
// keep to its bounds, and must always return the literal argv first.
func FuzzNormalize(f *testing.F) {
	for _, c := range cases {
		if len(c.argv) >= 3 && c.argv[1] == "-c" {
			f.Add(c.argv[2])
		}
	}
	f.Add("echo $'\\x41' ${x//a/b} {1..3} $((1+2)) `echo a` <(echo b)")
	opts := Options{Budget: 50 * time.Millisecond}
	f.Fuzz(func(t *testing.T, s string) {
		for _, argv := range [][]string{
			{"sh", "-c", s},
			{"bash", "-c", s, "zero", s},
			{"zsh", "-c", s},
			{s},
			strings.Fields(s),
			append([]string{"env", "A=1", "timeout", "5"}, strings.Fields(s)...),
		} {
			start := time.Now()
			res := Normalize(argv, opts)
			// Only a hang fails: wall time is noisy on a loaded machine
			// under fuzzing; the bounds are checked by TestNormalizeHostile.
			if took := time.Since(start); took > 20*time.Second {
				t.Fatalf("%q took %v", argv, took)
			}
			if strings.Contains(res.Reason, "internal error") || strings.Contains(res.Reason, "panic") {
				t.Fatalf("%q: %s", argv, res.Reason)
			}
			if res.Truncated && res.Reason == "" {
				t.Fatalf("%q: truncated without a reason", argv)
			}
			raw := strings.Join(argv, " ")
			if raw != "" && (len(res.Texts) == 0 || res.Texts[0] != raw) {
				t.Fatalf("%q: first text %q", argv, res.Texts)
			}
			produced := 0
			for _, x := range res.Texts[min(1, len(res.Texts)):] {
				produced += len(x)
			}
			if produced > DefaultMaxBytes {
				t.Fatalf("%q: %d bytes of text", argv, produced)
			}
		}
	})
}
