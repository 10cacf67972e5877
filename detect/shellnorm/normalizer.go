package shellnorm

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// Bounds that are not configurable.
const (
	maxLoopIters  = 64   // iterations of one loop
	maxFields     = 1024 // fields from one word, after brace expansion
	maxCallDepth  = 16   // nested function calls
	maxAlts       = 3    // remembered earlier values of a variable
	maxFieldSets  = 8    // variants of one command line
	maxReasons    = 4    // distinct reasons reported
	checkInterval = 32   // steps between two looks at the clock
	maxFiles      = 64   // virtual files written by redirections
)

// stopPanic unwinds the evaluation when a hard bound is hit. It never
// escapes [Normalize].
type stopPanic struct{}

// normalizer holds the state of one [Normalize] call.
type normalizer struct {
	maxDepth int
	maxBytes int // total text
	maxVar   int // one value
	maxSteps int
	budget   time.Duration

	env       map[string]string
	start     time.Time
	steps     int
	nextCheck int

	texts    []string
	seen     map[string]struct{}
	produced int

	truncated bool
	reasons   []string

	// files holds what redirections and process substitutions wrote,
	// so that a later `sh FILE`, `. FILE` or `cat FILE` can read it.
	files map[string]string
	procN int

	// substSize is the size bound of a command substitution's output in
	// [shell.wordBound]; 0 while computing a cost.
	substSize int

	// Alternatives: see [shell.withAlts].
	anyAlts bool
	ovName  string
	ovVal   string
	ovOn    bool
}

func newNormalizer(opts Options) *normalizer {
	n := &normalizer{
		maxDepth: opts.MaxDepth,
		maxBytes: opts.MaxBytes,
		maxSteps: opts.MaxSteps,
		budget:   opts.Budget,
		env:      opts.Env,
		start:    time.Now(),
	}
	if n.maxDepth <= 0 {
		n.maxDepth = DefaultMaxDepth
	}
	if n.maxBytes <= 0 {
		n.maxBytes = DefaultMaxBytes
	}
	if n.maxSteps <= 0 {
		n.maxSteps = DefaultMaxSteps
	}
	if n.budget <= 0 {
		n.budget = DefaultBudget
	}
	n.maxVar = max(n.maxBytes/4, 1)
	n.substSize = n.maxVar
	n.nextCheck = checkInterval
	return n
}

// run evaluates the shell invocation found in argv, whose literal form is raw.
func (n *normalizer) run(raw string, inv invocation) (res Result) {
	n.texts = make([]string, 0, 8)
	n.seen = make(map[string]struct{}, 8)
	// The literal argv is always the first text and is not produced
	// here, so it does not count against MaxBytes.
	if raw != "" {
		n.texts = append(n.texts, raw)
		n.seen[raw] = struct{}{}
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopPanic); !ok {
				// A bug in this package or in mvdan.cc/sh: never let it
				// take the caller down, but say so.
				n.limit(fmt.Sprintf("internal error: %v", r))
			}
		}
		res = n.result()
	}()
	sh := newShell(n, inv, n.env)
	for _, a := range inv.assigns {
		name, val, _ := strings.Cut(a, "=")
		sh.setVar(name, val, nil)
	}
	sh.invoke(inv, "")
	return res
}

func (n *normalizer) result() Result {
	return Result{
		Texts:     n.texts,
		Truncated: n.truncated,
		Reason:    strings.Join(n.reasons, "; "),
	}
}

// reason records why the result is incomplete, once per distinct reason.
func (n *normalizer) reason(r string) {
	for _, have := range n.reasons {
		if have == r {
			return
		}
	}
	if len(n.reasons) < maxReasons {
		n.reasons = append(n.reasons, r)
	}
}

// limit records that a bound was hit; evaluation goes on with less.
func (n *normalizer) limit(r string) {
	n.truncated = true
	n.reason(r)
}

// abort records that a hard bound was hit and stops the evaluation.
func (n *normalizer) abort(r string) {
	n.limit(r)
	panic(stopPanic{})
}

// step accounts for cost units of work, aborting past MaxSteps or the
// time budget.
func (n *normalizer) step(cost int) {
	n.steps += cost
	if n.steps > n.maxSteps {
		n.abort("max steps")
	}
	if n.steps >= n.nextCheck {
		n.nextCheck = n.steps + checkInterval
		if time.Since(n.start) > n.budget {
			n.abort("time budget")
		}
	}
}

// charge accounts for size bytes processed: one step per KiB.
func (n *normalizer) charge(size int) {
	if size >= 1024 {
		n.step(size >> 10)
	}
}

// emitRaw records a text as is.
func (n *normalizer) emitRaw(s string) {
	if s == "" {
		return
	}
	if _, ok := n.seen[s]; ok {
		return
	}
	if n.produced+len(s) > n.maxBytes {
		if rest := n.maxBytes - n.produced; rest > 0 {
			n.texts = append(n.texts, s[:rest])
			n.produced = n.maxBytes
		}
		n.abort("max bytes")
	}
	n.seen[s] = struct{}{}
	n.texts = append(n.texts, s)
	n.produced += len(s)
}

// emit records a text without surrounding blank lines.
func (n *normalizer) emit(s string) {
	n.emitRaw(strings.Trim(s, " \t\r\n"))
}

// capValue truncates a value to the per-value bound.
func (n *normalizer) capValue(s, what string) string {
	if len(s) > n.maxVar {
		n.limit(what + " too large")
		return s[:n.maxVar]
	}
	return s
}

// cat concatenates two outputs within the per-value bound.
func (n *normalizer) cat(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if len(a)+len(b) > n.maxVar {
		return n.capValue(a+b[:min(len(b), n.maxVar)], "output")
	}
	return a + b
}

// Parsers are kept across calls: a new one costs several allocations.
var parserPools = map[syntax.LangVariant]*sync.Pool{
	syntax.LangBash:       newParserPool(syntax.LangBash),
	syntax.LangPOSIX:      newParserPool(syntax.LangPOSIX),
	syntax.LangMirBSDKorn: newParserPool(syntax.LangMirBSDKorn),
	syntax.LangZsh:        newParserPool(syntax.LangZsh),
}

func newParserPool(lang syntax.LangVariant) *sync.Pool {
	return &sync.Pool{New: func() any {
		return syntax.NewParser(syntax.Variant(lang))
	}}
}

// langFor returns the dialects to try for a shell name, best first.
func langFor(name string) []syntax.LangVariant {
	switch name {
	case "zsh":
		return []syntax.LangVariant{syntax.LangZsh, syntax.LangBash}
	case "ksh", "ksh93", "mksh", "lksh", "pdksh", "oksh", "loksh":
		return []syntax.LangVariant{syntax.LangMirBSDKorn, syntax.LangBash}
	}
	return []syntax.LangVariant{syntax.LangBash, syntax.LangPOSIX}
}

// parse parses src as a script for the shell name. It returns the
// statements parsed, which are those before the first error if no dialect
// parses the whole script.
func (n *normalizer) parse(src, name string) ([]*syntax.Stmt, error) {
	n.charge(len(src) * 4) // parsing costs more than copying
	var best []*syntax.Stmt
	var firstErr error
	for _, lang := range langFor(name) {
		stmts, err := n.parseWith(lang, src)
		if err == nil {
			return stmts, nil
		}
		if errors.Is(err, errBudget) {
			n.abort("time budget")
		}
		if firstErr == nil {
			firstErr = err
			best = stmts
		} else if len(stmts) > len(best) {
			best = stmts
		}
	}
	return best, firstErr
}

// errBudget stops the parser when the time budget is spent.
var errBudget = errors.New("time budget spent while parsing")

// budgetReader feeds a script to the parser, which reads it 1 KiB at a
// time, and fails once the time budget is spent: some scripts cost the
// parser time quadratic in their nesting.
type budgetReader struct {
	src string
	n   *normalizer
}

func (r *budgetReader) Read(p []byte) (int, error) {
	if r.src == "" {
		return 0, io.EOF
	}
	if time.Since(r.n.start) > r.n.budget {
		return 0, errBudget
	}
	k := copy(p, r.src)
	r.src = r.src[k:]
	return k, nil
}

func (n *normalizer) parseWith(lang syntax.LangVariant, src string) (stmts []*syntax.Stmt, err error) {
	pool := parserPools[lang]
	p := pool.Get().(*syntax.Parser)
	defer func() {
		if r := recover(); r != nil {
			// A parser bug: do not put this parser back.
			err = fmt.Errorf("parser panic: %v", r)
			return
		}
		pool.Put(p)
	}()
	// The whole sequence is consumed: the parser may yield again after
	// an error, which would panic had the loop been left.
	for st, perr := range p.StmtsSeq(&budgetReader{src: src, n: n}) {
		switch {
		case perr != nil:
			if err == nil {
				err = perr
			}
		case err == nil && st != nil:
			stmts = append(stmts, st)
		}
	}
	return stmts, err
}
