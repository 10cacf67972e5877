package shellnorm

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// semantic returns the options for tests of what Normalize finds: the time
// budget is lifted so that a loaded machine or the race detector cannot
// make them flaky; the other bounds keep their defaults.
func semantic(env map[string]string) Options {
	return Options{Env: env, Budget: time.Minute}
}

// hasText reports whether some text contains sub.
func hasText(texts []string, sub string) bool {
	for _, t := range texts {
		if strings.Contains(t, sub) {
			return true
		}
	}
	return false
}

func TestNormalizeCases(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Normalize(c.argv, semantic(c.env))
			for _, w := range c.want {
				if !hasText(res.Texts, w) {
					t.Errorf("no text contains %q\ntexts: %q\nreason: %q", w, res.Texts, res.Reason)
				}
			}
			for _, n := range c.not {
				if hasText(res.Texts, n) {
					t.Errorf("a text contains %q\ntexts: %q", n, res.Texts)
				}
			}
			if res.Truncated {
				t.Errorf("truncated: %s", res.Reason)
			}
		})
	}
}

// The literal argv is always the first text.
func TestNormalizeLiteralFirst(t *testing.T) {
	for _, c := range cases {
		res := Normalize(c.argv, semantic(c.env))
		if len(res.Texts) == 0 || res.Texts[0] != strings.Join(c.argv, " ") {
			t.Errorf("%s: first text %q, want the joined argv", c.name, res.Texts)
		}
	}
}

// The same input gives the same output: no state leaks between calls.
func TestNormalizeDeterministic(t *testing.T) {
	for _, c := range cases {
		a := Normalize(c.argv, semantic(c.env))
		b := Normalize(c.argv, semantic(c.env))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs differ:\n%q\n%q", c.name, a.Texts, b.Texts)
		}
	}
}

// Under tiny bounds every case stops early, never panics, respects
// MaxBytes, and says why.
func TestNormalizeTinyBounds(t *testing.T) {
	opts := Options{MaxSteps: 5, MaxBytes: 64, MaxDepth: 1}
	truncated := 0
	for _, c := range cases {
		res := Normalize(c.argv, opts)
		produced := 0
		for _, x := range res.Texts[1:] {
			produced += len(x)
		}
		if produced > opts.MaxBytes {
			t.Errorf("%s: %d bytes of text, MaxBytes %d", c.name, produced, opts.MaxBytes)
		}
		if res.Truncated {
			truncated++
			if res.Reason == "" {
				t.Errorf("%s: truncated without a reason", c.name)
			}
		}
	}
	if truncated < len(cases)/2 {
		t.Errorf("only %d of %d cases hit the tiny bounds", truncated, len(cases))
	}
}

func TestNormalizeParseError(t *testing.T) {
	res := Normalize(sh(`curl 169.254.169.254; echo 'unterminated`), semantic(nil))
	if !strings.HasPrefix(res.Reason, "parse error: ") {
		t.Errorf("reason %q, want a parse error", res.Reason)
	}
	if !hasText(res.Texts[1:], `echo 'unterminated`) {
		t.Errorf("raw script missing from texts %q", res.Texts)
	}
	res = Normalize(sh(`if then fi (((`), semantic(nil))
	if !strings.HasPrefix(res.Reason, "parse error: ") || res.Truncated {
		t.Errorf("got reason %q truncated %v", res.Reason, res.Truncated)
	}
}

// A variable of the process environment must not be seen.
func TestNormalizeIgnoresProcessEnv(t *testing.T) {
	t.Setenv("SHELLNORM_TEST_LEAK", imds)
	res := Normalize(sh("curl $SHELLNORM_TEST_LEAK"), semantic(nil))
	if hasText(res.Texts, imds) {
		t.Errorf("process environment leaked: %q", res.Texts)
	}
}

func TestNormalizeEmpty(t *testing.T) {
	for _, argv := range [][]string{nil, {}, {""}, {"sh", "-c", ""}, {"sh", "-c"}, {"bash", "-c", "   \n"}} {
		res := Normalize(argv, semantic(nil))
		if res.Truncated || strings.Contains(res.Reason, "internal") {
			t.Errorf("%q: %+v", argv, res)
		}
	}
}

func TestFindShellNoPayload(t *testing.T) {
	for _, argv := range [][]string{
		{"ls", "-la"}, {"sh"}, {"bash", "-i"}, {"env"}, {"timeout", "5", "curl", "x"},
		{"sudo", "cat", "/etc/shadow"}, {"sh", "-c"}, {"su", "root"}, {"command", "-v", "sh"},
	} {
		inv, ok := findShell(argv)
		if ok && (inv.hasScript || inv.file != "") {
			t.Errorf("%q: unexpected payload %+v", argv, inv)
		}
	}
	inv, ok := findShell([]string{"sudo", "-u", "x", "A=1", "/bin/bash", "-ex", "-c", "s", "zero", "one"})
	if !ok || inv.script != "s" || inv.arg0 != "zero" || len(inv.params) != 1 || inv.params[0] != "one" ||
		len(inv.assigns) != 1 || inv.name != "bash" {
		t.Errorf("got %+v %v", inv, ok)
	}
}
