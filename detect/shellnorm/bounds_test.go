package shellnorm

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"
	"time"
)

// nestedSh wraps cmd in n levels of sh -c with proper quoting.
func nestedSh(cmd string, n int) string {
	for range n {
		cmd = "sh -c '" + strings.ReplaceAll(cmd, "'", `'\''`) + "'"
	}
	return cmd
}

// nestedB64 wraps cmd in n levels of echo BASE64 | base64 -d | sh.
func nestedB64(cmd string, n int) string {
	for range n {
		cmd = "echo " + base64.StdEncoding.EncodeToString([]byte(cmd)) + " | base64 -d | sh"
	}
	return cmd
}

func zipBomb() string {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, 16<<20))
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

type hostileCase struct {
	name string
	argv []string
	// mayFinish is set for inputs that are evaluated in bounded work
	// without hitting a bound, such as a while loop, whose body is
	// evaluated once.
	mayFinish bool
}

var hostile = []hostileCase{
	{name: "doubling", argv: bash("x=a; " + strings.Repeat("x=$x$x; ", 200) + curl)},
	{name: "doubling cmdsubst", argv: bash("x=a; " + strings.Repeat(`x=$(echo "$x$x"); `, 200) + curl)},
	{name: "squaring", argv: bash(`x=$(printf '%4000s' a); x=$x$x$x$x; y=${x//?/$x}; z=${y//?/$y}; echo ${#z}`)},
	{name: "many copies in one word", argv: bash(`x=$(printf '%4000s' a); x=$x$x$x$x$x$x$x$x$x$x$x$x$x$x; echo ` + strings.Repeat("$x", 2000))},
	{name: "brace sequence", argv: bash("echo {1..100000000}")},
	{name: "brace product", argv: bash("echo " + strings.Repeat("{a,b}", 40))},
	{name: "brace sequence product", argv: bash("echo {1..100000}{1..100000}{1..100000}")},
	{name: "brace loop", argv: bash("for i in {1..100000000}; do curl $i; done")},
	{name: "fork bomb", argv: bash(":(){ :|:& };:")},
	{name: "fork bomb named", argv: sh("bomb(){ bomb | bomb & }; bomb")},
	{name: "recursion", argv: bash("f(){ f; f; f; }; f")},
	{name: "c-style infinite loop", argv: bash("for ((;;)); do x=$x.; done")},
	{name: "while infinite loop", argv: sh("while :; do :; done; until false; do :; done"), mayFinish: true},
	{name: "read loop", argv: bash("while read l; do eval \"$l\"; done <<< \"$(printf 'echo %s\\n' {1..100000})\"")},
	{name: "eval recursion", argv: bash(`x='eval "$x"'; eval "$x"`)},
	{name: "source recursion", argv: bash(`s='. <(echo "$s")'; eval "$s"`)},
	{name: "nested sh", argv: sh(nestedSh(curl, 9))},
	{name: "nested decoding", argv: sh(nestedB64(curl, 20))},
	{name: "decode recursion", argv: bash(`p='echo "$p" | sh'; echo "$p" | sh`)},
	{name: "huge arithmetic", argv: bash("echo $((" + strings.Repeat("1+", 30000) + "1))")},
	{name: "arithmetic powers", argv: bash("echo $((2**9999999999999)) $(( (1<<62)*(1<<62) )) " + strings.Repeat("$((x+=1))", 30000))},
	{name: "printf width", argv: bash("printf '%999999999d%.999999999f' 1 2")},
	{name: "printf many args", argv: bash("printf '%s' {1..10000000}")},
	{name: "deep cmdsubst", argv: bash(strings.Repeat("$(", 50000) + strings.Repeat(")", 50000))},
	{name: "deep subshells", argv: bash(strings.Repeat("(", 100000) + "curl" + strings.Repeat(")", 100000))},
	{name: "deep unclosed parens", argv: bash(strings.Repeat("(", 60000))},
	{name: "deep blocks", argv: bash(strings.Repeat("{ ", 50000) + "curl;" + strings.Repeat("}; ", 50000))},
	{name: "deep ifs", argv: bash(strings.Repeat("if true; then ", 20000) + "curl;" + strings.Repeat("fi; ", 20000))},
	{name: "deep params", argv: bash("echo " + strings.Repeat("${x:-", 40000) + "a" + strings.Repeat("}", 40000))},
	{name: "deep quotes", argv: bash(strings.Repeat(`"$(`, 40000))},
	{name: "long pipeline", argv: bash(strings.Repeat("a|", 30000) + "b")},
	{name: "many statements", argv: bash(strings.Repeat("x=1;", 30000))},
	{name: "huge script", argv: bash(strings.Repeat("echo a; ", 200000))},
	{name: "zip bomb", argv: sh("echo " + zipBomb() + " | base64 -d | gunzip | sh")},
	{name: "big variables", argv: bash(`x=$(printf '%4000s' a); x=$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x; ` +
		strings.Repeat(`a=$x.; b=$a.; `, 300))},
	{name: "regex work", argv: bash(`x=$(printf '%4000s' a); x=$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x; ` +
		strings.Repeat(`y=${x//*a*a*a*a*b/c}; `, 300))},
	{name: "output flood", argv: bash(`x=$(printf '%4000s' a); x=$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x; ` +
		strings.Repeat(`echo $x$RANDOM; x=$x.; `, 50))},
	{name: "alternatives", argv: bash(strings.Repeat(`if true; then a=$a$b; else b=$b$a; fi; `, 2000) + "curl $a $b")},
	{name: "many functions", argv: bash(strings.Repeat("f(){ f; g; }; g(){ f; g; }; ", 100) + "f")},
}

func TestNormalizeHostile(t *testing.T) {
	for _, c := range hostile {
		t.Run(c.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			res := Normalize(c.argv, Options{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%v, %d KiB allocated, %d texts, reason %q", took, alloc>>10, len(res.Texts), res.Reason)
			// Generous, so as not to be flaky: the real figures are in
			// BenchmarkNormalizeHostile, well under 100ms.
			if took > 2*time.Second {
				t.Errorf("took %v", took)
			}
			if alloc > 256<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			if !c.mayFinish && !res.Truncated {
				t.Errorf("not truncated; reason %q", res.Reason)
			}
			if res.Truncated && res.Reason == "" {
				t.Errorf("truncated without a reason")
			}
			if strings.Contains(res.Reason, "internal error") {
				t.Errorf("reason %q", res.Reason)
			}
			produced := 0
			for _, x := range res.Texts[1:] {
				produced += len(x)
			}
			if produced > DefaultMaxBytes {
				t.Errorf("%d bytes of texts", produced)
			}
		})
	}
}

// The bounds of Options are honoured.
func TestNormalizeOptions(t *testing.T) {
	isText := func(texts []string, s string) bool {
		for _, x := range texts {
			if x == s {
				return true
			}
		}
		return false
	}
	res := Normalize(sh(nestedSh(curl, 3)), Options{MaxDepth: 2, Budget: time.Minute})
	if !res.Truncated || !strings.Contains(res.Reason, "max depth") || isText(res.Texts, curl) {
		t.Errorf("MaxDepth 2: %+v", res)
	}
	res = Normalize(sh(nestedSh(curl, 3)), Options{MaxDepth: 4, Budget: time.Minute})
	if res.Truncated || !isText(res.Texts, curl) {
		t.Errorf("MaxDepth 4: %+v", res)
	}
	res = Normalize(sh(strings.Repeat("a=1; ", 100)), Options{MaxSteps: 50, Budget: time.Minute})
	if !res.Truncated || res.Reason != "max steps" {
		t.Errorf("MaxSteps: %+v", res)
	}
	res = Normalize(sh("echo {1..600}"), Options{MaxBytes: 2000, Budget: time.Minute})
	if !res.Truncated || res.Reason != "max bytes" {
		t.Errorf("MaxBytes: %+v", res)
	}
	res = Normalize(sh(`x=$(printf '%200s' a); y=$x$x`), Options{MaxBytes: 400, Budget: time.Minute})
	if !res.Truncated || len(res.Texts) < 2 {
		t.Errorf("variable size: %+v", res)
	}
	// The budget also stops the parser, in every dialect.
	for _, name := range []string{"sh", "zsh", "mksh"} {
		res = Normalize([]string{name, "-c", strings.Repeat("x=$(echo \"$x$x\"); ", 400)}, Options{Budget: time.Microsecond})
		if !res.Truncated || strings.Contains(res.Reason, "panic") || strings.Contains(res.Reason, "internal") {
			t.Errorf("%s with a tiny budget: %q", name, res.Reason)
		}
	}
	start := time.Now()
	res = Normalize(bash(strings.Repeat("x=1;", 30000)), Options{Budget: time.Millisecond, MaxSteps: 1 << 30})
	if took := time.Since(start); !res.Truncated || !strings.Contains(res.Reason, "time budget") || took > time.Second {
		t.Errorf("Budget: %v %+v", took, res.Reason)
	}
}
