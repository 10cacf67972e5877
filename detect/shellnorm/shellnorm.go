// Package shellnorm statically normalizes the argv of an exec request into the
// texts that a POSIX-like shell would really run.
//
// Attackers who know that a detection looks for a metadata address in the
// command line disguise it with shell tricks: variables, quoting, $'\x31'
// strings, brace expansion, ${IFS}, base64 payloads piped into sh, nested
// shells and eval. [Normalize] undoes those tricks without executing
// anything: it parses each shell payload with mvdan.cc/sh/v3/syntax and
// evaluates the syntax tree with a small evaluator of its own. Word expansion
// goes through mvdan.cc/sh/v3/expand with an environment and a command
// substitution callback of this package; there is no globbing, no file or
// network access and no use of the process environment. A few builtins whose
// output matters for decoding (echo, printf, base64, xxd, tr, ...) are
// computed; every other command only has its expanded argv recorded.
//
// All work is bounded by [Options]: a hostile script stops at a bound with
// [Result.Truncated] set, and the caller then also scans the raw text.
package shellnorm

import (
	"strings"
	"time"
)

// Defaults for the zero fields of [Options].
const (
	DefaultMaxDepth = 8
	DefaultMaxBytes = 256 << 10
	DefaultMaxSteps = 20000
	DefaultBudget   = 20 * time.Millisecond
)

// Options bounds the work of [Normalize]. A zero field takes its default.
type Options struct {
	// MaxDepth bounds nested shells, eval, source and decoded payloads that
	// are evaluated as scripts (default 8).
	MaxDepth int
	// MaxBytes bounds the total size of the texts produced (default 256 KiB).
	// A quarter of it bounds the value of any one variable, command
	// substitution or builtin output (64 KiB by default).
	MaxBytes int
	// MaxSteps bounds the syntax nodes evaluated (default 20000). Large
	// expansions cost one more step per KiB produced.
	MaxSteps int
	// Budget bounds the wall-clock time of one call (default 20ms). It is
	// checked every few dozen steps, so it can be overrun by one step's work.
	Budget time.Duration
	// Env holds the initial variables of the evaluated shells. IFS defaults
	// to " \t\n".
	Env map[string]string
}

// Result is the outcome of [Normalize].
type Result struct {
	// Texts are the normalized fragments, in the order they were produced:
	// first the literal argv joined by spaces, then, for a shell payload,
	// each expanded command line, assignment, redirection target,
	// here-document, builtin output and decoded script. Duplicates are
	// dropped.
	Texts []string
	// Truncated reports that a bound was hit: some of the payload may not
	// have been evaluated.
	Truncated bool
	// Reason says which bounds were hit and any parse error, separated by
	// "; ". It is empty when nothing went wrong.
	Reason string
}

// Normalize returns the texts that argv, as given to the exec API (each
// element literal, no shell parsing), would run. Shell payloads such as
// `sh -c SCRIPT`, also behind wrappers like env, nohup, timeout, sudo, su -c
// or nsenter, are evaluated statically. An argv without a shell payload costs
// a single join.
func Normalize(argv []string, opts Options) Result {
	raw := joinArgv(argv)
	inv, ok := findShell(argv)
	if !ok {
		if raw == "" {
			return Result{}
		}
		return Result{Texts: []string{raw}}
	}
	n := newNormalizer(opts)
	return n.run(raw, inv)
}

func joinArgv(argv []string) string {
	switch len(argv) {
	case 0:
		return ""
	case 1:
		return argv[0]
	}
	return strings.Join(argv, " ")
}
