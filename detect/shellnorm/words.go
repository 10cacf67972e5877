package shellnorm

import (
	"fmt"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Word expansion goes through mvdan.cc/sh/v3/expand, which has no bounds of
// its own on the size of what it produces: ${x//?/$x} squares the size of
// x. Before expanding a word, wordBound computes an upper bound of its
// expansion from the sizes of the variables it uses, and a word that could
// exceed MaxBytes is kept as written instead.

const sat = 1 << 40 // a saturated size: too large

func addSat(a, b int) int {
	if a+b > sat {
		return sat
	}
	return a + b
}

func mulSat(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > sat/b {
		return sat
	}
	return min(a*b, sat)
}

// wordBound returns an upper bound of the size of the expansion of one
// field of w, or of w as a single string.
func (s *shell) wordBound(w *syntax.Word) int {
	if w == nil {
		return 0
	}
	s.n.step(len(w.Parts) / 8) // the walk and the expansion cost per part
	total := 0
	for _, wp := range w.Parts {
		total = addSat(total, s.partBound(wp))
	}
	return total
}

func (s *shell) partBound(wp syntax.WordPart) int {
	switch wp := wp.(type) {
	case *syntax.Lit:
		return len(wp.Value)
	case *syntax.SglQuoted:
		// $'\u1234' is 6 bytes for 3; no escape grows.
		return len(wp.Value)
	case *syntax.DblQuoted:
		total := 0
		for _, p := range wp.Parts {
			total = addSat(total, s.partBound(p))
		}
		return total
	case *syntax.ParamExp:
		return s.paramBound(wp)
	case *syntax.CmdSubst:
		return s.n.substSize // outputs are capped
	case *syntax.ArithmExp:
		return addSat(24, s.arithBound(wp.X))
	case *syntax.ProcSubst:
		return 24
	case *syntax.ExtGlob:
		if wp.Pattern != nil {
			return len(wp.Pattern.Value) + 3
		}
		return 3
	case *syntax.BraceExp:
		if wp.Sequence {
			return 64
		}
		most := 2
		for _, e := range wp.Elems {
			most = max(most, s.wordBound(e))
		}
		return most
	}
	return sat
}

// arithBound returns 0, or sat if an arithmetic expression uses a word that
// is too large to expand.
func (s *shell) arithBound(x syntax.ArithmExpr) int {
	if x == nil {
		return 0
	}
	bad, nodes := 0, 0
	syntax.Walk(x, func(node syntax.Node) bool {
		if nodes++; nodes%64 == 0 {
			s.n.step(16) // evaluating costs per node
		}
		if w, ok := node.(*syntax.Word); ok {
			if s.wordBound(w) > s.n.maxBytes {
				bad = sat
			}
			return false
		}
		return bad == 0
	})
	return bad
}

// valueSize returns the size of the value of a parameter.
func (s *shell) valueSize(name string) int {
	switch name {
	case "@", "*":
		total := len(s.params)
		for _, p := range s.params {
			total += len(p)
		}
		return total
	case "0":
		return len(s.arg0)
	}
	if s.n.ovOn && name == s.n.ovName {
		return len(s.n.ovVal)
	}
	v, ok := s.vars.m[name]
	if !ok {
		vr := s.Get(name) // special and positional parameters
		return len(vr.Str) + 24
	}
	if v.big {
		return s.n.maxVar
	}
	switch v.v.Kind {
	case expand.NameRef:
		return s.n.maxVar
	case expand.Indexed:
		total := len(v.v.List)
		for _, e := range v.v.List {
			total += len(e)
		}
		return total
	case expand.Associative:
		total := len(v.v.Map)
		for k, e := range v.v.Map {
			total += len(k) + len(e)
		}
		return total
	}
	return len(v.v.Str)
}

func (s *shell) paramBound(pe *syntax.ParamExp) int {
	if pe.Param == nil {
		return sat // zsh's nested forms; not worth the risk
	}
	base := s.valueSize(pe.Param.Value)
	if pe.Excl {
		// Indirection can name any variable, and ${!prefix@} lists names.
		names := 0
		for name := range s.vars.m {
			names += len(name) + 1
		}
		base = max(s.n.maxVar, names)
	}
	checks := s.arithBound(pe.Index)
	if pe.Slice != nil {
		checks = addSat(checks, addSat(s.arithBound(pe.Slice.Offset), s.arithBound(pe.Slice.Length)))
	}
	switch {
	case pe.Length:
		return addSat(24, checks)
	case pe.Width, pe.IsSet:
		return checks
	case pe.Repl != nil:
		if s.wordBound(pe.Repl.Orig) > s.n.maxBytes {
			return sat
		}
		with := s.wordBound(pe.Repl.With)
		// An empty match can happen between any two characters.
		return addSat(checks, addSat(base, mulSat(base+1, with)))
	case pe.Exp != nil:
		arg := s.wordBound(pe.Exp.Word)
		switch pe.Exp.Op {
		case syntax.RemSmallPrefix, syntax.RemLargePrefix,
			syntax.RemSmallSuffix, syntax.RemLargeSuffix:
			if arg > s.n.maxBytes {
				return sat
			}
			return addSat(checks, base)
		case syntax.UpperFirst, syntax.UpperAll, syntax.LowerFirst, syntax.LowerAll:
			if arg > s.n.maxBytes {
				return sat
			}
			return addSat(checks, mulSat(base, 4))
		case syntax.OtherParamOps:
			// ${x@Q} quotes, ${x@A} adds a declaration.
			return addSat(checks, addSat(mulSat(base, 4), 64+len(pe.Param.Value)))
		}
		return addSat(checks, max(base, arg))
	}
	return addSat(checks, base)
}

// wordCost returns an upper bound of the bytes that expanding w reads and
// writes, not counting command substitutions, whose commands are accounted
// for when they run.
func (s *shell) wordCost(w *syntax.Word) int {
	s.n.substSize = 0
	defer func() { s.n.substSize = s.n.maxVar }()
	return s.wordBound(w)
}

// tooLarge reports whether the expansion of w could exceed limit bytes,
// and records it as a bound hit.
func (s *shell) tooLarge(w *syntax.Word, limit int) bool {
	if s.wordBound(w) > limit {
		s.n.limit("expansion too large")
		return true
	}
	return false
}

// printWord returns a word as written, for words that cannot be expanded.
func printWord(w *syntax.Word) string {
	var sb strings.Builder
	if err := syntax.NewPrinter().Print(&sb, w); err != nil {
		return ""
	}
	return sb.String()
}

// recoverExpand turns a panic of the expand package into a fallback, but
// lets the unwinding of a hard bound through.
func (s *shell) recoverExpand(fallback func()) {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(stopPanic); ok {
		panic(r)
	}
	s.n.reason("expansion error")
	fallback()
}

// fields expands command words into fields: brace expansion, expansions,
// field splitting and quote removal, but no globbing.
func (s *shell) fields(words []*syntax.Word) []string {
	var out []string
	for _, w := range words {
		out = s.wordFields(w, out)
	}
	return out
}

func (s *shell) wordFields(w *syntax.Word, out []string) (res []string) {
	if w == nil {
		return out
	}
	s.n.step(1)
	if s.tooLarge(w, s.n.maxBytes) {
		return append(out, printWord(w))
	}
	count := 0
	defer s.recoverExpand(func() {
		if count == 0 {
			res = append(out, printWord(w))
		} else {
			res = out
		}
	})
	cfg := s.ecfg()
	cost := s.wordCost(w)
	braceWords(w, func(bw *syntax.Word) bool {
		s.n.charge(cost)
		for f, err := range expand.FieldsSeq(cfg, bw) {
			if err != nil {
				if count == 0 {
					out = append(out, printWord(w))
					count++
				}
				return false
			}
			if count++; count > maxFields {
				s.n.limit("too many fields")
				return false
			}
			s.n.step(1)
			s.n.charge(len(f))
			out = append(out, f)
		}
		return true
	})
	return out
}

// braceWords calls fn with each word of the brace expansion of w, in order,
// until fn returns false. Words are made one at a time and the word passed
// to fn is reused, so that a huge expansion costs nothing until used; the
// expand package's own brace expansion allocates much more per word.
func braceWords(w *syntax.Word, fn func(*syntax.Word) bool) {
	split := *w
	if !syntax.SplitBraces(&split) {
		fn(w)
		return
	}
	leaf := &syntax.Word{}
	var parts []syntax.WordPart
	// segs is the work left: the parts of the current segment first.
	type seg struct {
		parts []syntax.WordPart
		next  *seg
	}
	var rec func(cur *seg) bool
	rec = func(cur *seg) bool {
		for cur != nil {
			for i, wp := range cur.parts {
				br, ok := wp.(*syntax.BraceExp)
				if !ok {
					parts = append(parts, wp)
					continue
				}
				mark := len(parts)
				rest := &seg{parts: cur.parts[i+1:], next: cur.next}
				if br.Sequence {
					return braceSeq(br, func(lit *syntax.Lit) bool {
						parts = append(parts[:mark], lit)
						return rec(rest)
					})
				}
				for _, e := range br.Elems {
					parts = parts[:mark]
					if !rec(&seg{parts: e.Parts, next: rest}) {
						return false
					}
				}
				return true
			}
			cur = cur.next
		}
		leaf.Parts = mergeLits(leaf.Parts[:0], parts)
		return fn(leaf)
	}
	rec(&seg{parts: split.Parts})
}

// mergeLits appends parts to dst with adjacent literals joined, as the
// shell sees a brace-expanded word as one piece of text: this also makes
// the expansion of each word much cheaper.
func mergeLits(dst, parts []syntax.WordPart) []syntax.WordPart {
	for i := 0; i < len(parts); i++ {
		lit, ok := parts[i].(*syntax.Lit)
		if !ok {
			dst = append(dst, parts[i])
			continue
		}
		j := i + 1
		for j < len(parts) {
			if _, ok := parts[j].(*syntax.Lit); !ok {
				break
			}
			j++
		}
		if j == i+1 {
			dst = append(dst, lit)
			continue
		}
		var sb strings.Builder
		for _, p := range parts[i:j] {
			sb.WriteString(p.(*syntax.Lit).Value)
		}
		dst = append(dst, &syntax.Lit{ValuePos: lit.ValuePos, Value: sb.String()})
		i = j - 1
	}
	return dst
}

// braceSeq calls fn for each element of a sequence such as {1..9..2},
// {01..10} or {a..z}, like bash.
func braceSeq(br *syntax.BraceExp, fn func(*syntax.Lit) bool) bool {
	if len(br.Elems) < 2 {
		return true
	}
	fromLit, toLit := br.Elems[0].Lit(), br.Elems[1].Lit()
	if fromLit == "" || toLit == "" {
		return true
	}
	from, err1 := strconv.ParseInt(fromLit, 10, 64)
	to, err2 := strconv.ParseInt(toLit, 10, 64)
	chars := err1 != nil || err2 != nil
	if chars {
		from, to = int64(fromLit[0]), int64(toLit[0])
	}
	width := 0
	if !chars && (hasLeadingZero(fromLit) || hasLeadingZero(toLit)) {
		width = max(len(fromLit), len(toLit))
	}
	incr := int64(1)
	if len(br.Elems) > 2 {
		if n, err := strconv.ParseInt(br.Elems[2].Lit(), 10, 64); err == nil && n != 0 {
			incr = n
			if incr < 0 {
				incr = -incr
			}
		}
	}
	if incr < 0 { // the most negative step
		return true
	}
	if from > to {
		incr = -incr
	}
	for v := from; ; {
		var val string
		switch {
		case chars:
			val = string(rune(v))
		case width > 0:
			val = fmt.Sprintf("%0*d", width, v)
		default:
			val = strconv.FormatInt(v, 10)
		}
		if !fn(&syntax.Lit{Value: val}) {
			return false
		}
		// Stop at the end without overflowing.
		if incr > 0 && uint64(to)-uint64(v) < uint64(incr) ||
			incr < 0 && uint64(v)-uint64(to) < uint64(-incr) {
			return true
		}
		v += incr
	}
}

func hasLeadingZero(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return len(s) > 1 && s[0] == '0'
}

// literal expands a word to a single string, as in a redirection.
func (s *shell) literal(w *syntax.Word) string {
	v, _ := s.literalMax(w, s.n.maxBytes)
	return v
}

// value expands the value of an assignment. A value that could exceed the
// size of a variable is kept as written, and big reports it: it would be
// cut anyway, and this keeps x=$x$x repeated from costing more.
func (s *shell) value(w *syntax.Word) (v string, big bool) {
	return s.literalMax(w, s.n.maxVar)
}

func (s *shell) literalMax(w *syntax.Word, limit int) (res string, big bool) {
	if w == nil {
		return "", false
	}
	s.n.step(1)
	if s.tooLarge(w, limit) {
		return printWord(w), true
	}
	s.n.charge(s.wordCost(w))
	defer s.recoverExpand(func() { res = printWord(w) })
	v, err := expand.Literal(s.ecfg(), w)
	if err != nil {
		return printWord(w), false
	}
	s.n.charge(len(v))
	return v, false
}

// document expands the body of a here-document.
func (s *shell) document(w *syntax.Word) (res string) {
	if w == nil {
		return ""
	}
	s.n.step(1)
	if s.tooLarge(w, s.n.maxBytes) {
		return w.Lit()
	}
	defer s.recoverExpand(func() { res = printWord(w) })
	v, err := expand.Document(s.ecfg(), w)
	if err != nil {
		return printWord(w)
	}
	s.n.charge(len(v))
	return v
}

// arith evaluates an arithmetic expression; errors give 0.
func (s *shell) arith(x syntax.ArithmExpr) (res int) {
	if x == nil {
		return 0
	}
	s.n.step(1)
	if s.arithBound(x) != 0 {
		s.n.limit("expansion too large")
		return 0
	}
	defer s.recoverExpand(func() { res = 0 })
	v, err := expand.Arithm(s.ecfg(), x)
	if err != nil {
		return 0
	}
	return v
}
