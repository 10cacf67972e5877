package shellnorm

import (
	"io"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

type funcDef struct {
	body *syntax.Stmt
}

// shell is one evaluated shell: its parameters, and the variables and
// functions it shares with the shells it starts. It implements
// [expand.WriteEnviron].
type shell struct {
	n    *normalizer
	vars *vars

	name   string // e.g. "bash"; decides a few dialect details
	arg0   string
	params []string

	depth int // nested shells, eval, source and decoded scripts
	calls int // nested function calls

	// cfgs holds one expansion config per nesting level of command and
	// process substitutions: the expand package keeps buffers in its
	// config, so a substitution must not reuse the config of the word
	// being expanded.
	cfgs  []*expand.Config
	level int
}

func newShell(n *normalizer, inv invocation, env map[string]string) *shell {
	s := &shell{
		n:      n,
		vars:   &vars{m: make(map[string]*variable, len(env)+4), funcs: make(map[string]funcDef)},
		name:   inv.name,
		arg0:   inv.arg0,
		params: inv.params,
	}
	s.vars.m["IFS"] = &variable{v: strVar(" \t\n")}
	for name, val := range env {
		s.setVariable(name, strVar(val))
	}
	return s
}

// child returns a shell started by s.
func (s *shell) child(inv invocation) *shell {
	return &shell{
		n:      s.n,
		vars:   s.vars,
		name:   inv.name,
		arg0:   inv.arg0,
		params: inv.params,
		depth:  s.depth + 1,
	}
}

func (s *shell) ecfg() *expand.Config {
	for len(s.cfgs) <= s.level {
		s.cfgs = append(s.cfgs, nil)
	}
	cfg := s.cfgs[s.level]
	if cfg == nil {
		// No ReadDir: no globbing. ExtGlob only keeps @(x) patterns as
		// they are instead of failing, since there is no globbing.
		cfg = &expand.Config{
			Env:       s,
			CmdSubst:  s.cmdSubst,
			ProcSubst: s.procSubst,
			ExtGlob:   true,
		}
		s.cfgs[s.level] = cfg
	}
	return cfg
}

// invoke runs the script of a shell invocation, with in as standard input.
func (s *shell) invoke(inv invocation, in string) string {
	var src string
	switch {
	case inv.hasScript:
		src = inv.script
	case inv.stdin:
		src, in = in, ""
	case inv.file != "":
		var ok bool
		if src, ok = s.readFile(inv.file, in); !ok {
			return ""
		}
		if inv.file == "-" || strings.HasPrefix(inv.file, "/dev/") || strings.HasPrefix(inv.file, "/proc/") {
			in = ""
		}
	}
	return s.script(src, in)
}

// nested starts a shell from s.
func (s *shell) nested(inv invocation, assigns []string, in string) string {
	if s.depth+1 > s.n.maxDepth {
		s.n.limit("max depth")
		return ""
	}
	c := s.child(inv)
	for _, a := range assigns {
		name, val, _ := strings.Cut(a, "=")
		c.setVar(name, val, nil)
	}
	return c.invoke(inv, in)
}

// evalScript runs src in s itself, as eval and source do.
func (s *shell) evalScript(src, in string) string {
	if s.depth+1 > s.n.maxDepth {
		s.n.limit("max depth")
		return ""
	}
	s.depth++
	out := s.script(src, in)
	s.depth--
	return out
}

// script parses and evaluates src. On a parse error, the raw script is a
// text and the statements before the error are still evaluated.
func (s *shell) script(src, in string) string {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	// Parsing costs much more than copying: a quarter of MaxBytes keeps
	// the worst case within the time budget.
	if len(src) > s.n.maxVar {
		s.n.limit("script too large")
		s.n.emit(src[:s.n.maxVar])
		src = src[:s.n.maxVar]
	}
	if tooDeep(src, maxNesting) {
		s.n.limit("nesting too deep")
		s.n.emit(src)
		return ""
	}
	stmts, err := s.n.parse(src, s.name)
	if err != nil {
		s.n.reason("parse error: " + err.Error())
		s.n.emit(src)
	}
	return s.stmts(stmts, in)
}

func (s *shell) stmts(list []*syntax.Stmt, in string) string {
	out := ""
	for _, st := range list {
		out = s.n.cat(out, s.stmt(st, in))
	}
	return out
}

// Where the standard output of a statement goes.
const (
	outPipe    = iota // to the pipe or substitution
	outFile           // to a file, which later commands may read
	outDiscard        // to /dev/null, stderr or another descriptor
)

type redirs struct {
	in     string
	out    int
	path   string
	append bool
}

func (s *shell) stmt(st *syntax.Stmt, in string) string {
	if st == nil {
		return ""
	}
	s.n.step(1)
	rd := s.redirects(st.Redirs, in)
	var out string
	if st.Cmd != nil {
		out = s.command(st.Cmd, rd.in)
	}
	switch rd.out {
	case outFile:
		s.writeFile(rd.path, out, rd.append)
		out = ""
	case outDiscard:
		out = ""
	}
	return out
}

// redirects records the targets of a statement's redirections as texts and
// works out its standard input and where its standard output goes.
func (s *shell) redirects(list []*syntax.Redirect, in string) redirs {
	r := redirs{in: in}
	for _, rd := range list {
		s.n.step(1)
		fd := ""
		if rd.N != nil {
			fd = rd.N.Value
		}
		isIn := fd == "" || fd == "0"
		isOut := fd == "" || fd == "1"
		switch rd.Op {
		case syntax.Hdoc, syntax.DashHdoc:
			body := s.heredoc(rd)
			s.n.emit(body)
			if isIn {
				r.in = body
			}
			continue
		case syntax.WordHdoc:
			body := s.literal(rd.Word) + "\n"
			s.n.emit(body)
			if isIn {
				r.in = body
			}
			continue
		}
		target := s.literal(rd.Word)
		if target != "/dev/null" && !isNumber(target) && target != "-" {
			s.n.emit(target)
		}
		switch rd.Op {
		case syntax.RdrIn:
			if isIn {
				r.in, _ = s.readFile(target, in)
			}
		case syntax.DplIn:
			if isIn && target != "0" {
				r.in = ""
			}
		case syntax.DplOut:
			if isOut && target != "1" {
				r.out = outDiscard
			}
		case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.AppClob,
			syntax.RdrAll, syntax.AppAll, syntax.RdrAllClob, syntax.AppAllClob:
			all := rd.Op == syntax.RdrAll || rd.Op == syntax.AppAll ||
				rd.Op == syntax.RdrAllClob || rd.Op == syntax.AppAllClob
			if !isOut && !all {
				break
			}
			switch target {
			case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
			case "/dev/null", "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
				r.out = outDiscard
			default:
				r.out = outFile
				r.path = target
				r.append = rd.Op == syntax.AppOut || rd.Op == syntax.AppAll ||
					rd.Op == syntax.AppClob || rd.Op == syntax.AppAllClob
			}
		}
	}
	return r
}

// heredoc returns the body of a here-document.
func (s *shell) heredoc(rd *syntax.Redirect) string {
	if rd.Hdoc == nil {
		return ""
	}
	var body string
	if hdocQuoted(rd.Word) {
		body = rd.Hdoc.Lit()
	} else {
		body = s.document(rd.Hdoc)
	}
	if rd.Op == syntax.DashHdoc && strings.Contains(body, "\t") {
		lines := strings.Split(body, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimLeft(l, "\t")
		}
		body = strings.Join(lines, "\n")
	}
	return body
}

// hdocQuoted reports whether a here-document delimiter is quoted, as in
// <<'EOF' or <<\EOF, which makes the body literal.
func hdocQuoted(w *syntax.Word) bool {
	if w == nil {
		return false
	}
	for _, wp := range w.Parts {
		switch wp := wp.(type) {
		case *syntax.Lit:
			if strings.Contains(wp.Value, "\\") {
				return true
			}
		case *syntax.SglQuoted, *syntax.DblQuoted:
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// readFile returns what a script can read from path: standard input, or
// what an earlier redirection or process substitution wrote there.
func (s *shell) readFile(path, in string) (string, bool) {
	switch path {
	case "-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0":
		return in, in != ""
	}
	data, ok := s.n.files[path]
	return data, ok
}

// writeFile records what a redirection wrote to path.
func (s *shell) writeFile(path, data string, appendTo bool) {
	if path == "" {
		return
	}
	if s.n.files == nil {
		s.n.files = make(map[string]string)
	}
	old, ok := s.n.files[path]
	if !ok && len(s.n.files) >= maxFiles {
		s.n.limit("too many files")
		return
	}
	if appendTo {
		data = s.n.cat(old, data)
	}
	s.n.files[path] = data
}

func (s *shell) command(cm syntax.Command, in string) string {
	switch cm := cm.(type) {
	case *syntax.CallExpr:
		return s.call(cm, in)
	case *syntax.Block:
		return s.stmts(cm.Stmts, in)
	case *syntax.Subshell:
		return s.stmts(cm.Stmts, in)
	case *syntax.BinaryCmd:
		switch cm.Op {
		case syntax.Pipe, syntax.PipeAll:
			return s.stmt(cm.Y, s.stmt(cm.X, in))
		}
		// && and ||: both sides may run.
		return s.n.cat(s.stmt(cm.X, in), s.stmt(cm.Y, in))
	case *syntax.IfClause:
		out := ""
		for c := cm; c != nil; c = c.Else {
			s.n.step(1)
			out = s.n.cat(out, s.stmts(c.Cond, in))
			out = s.n.cat(out, s.stmts(c.Then, in))
		}
		return out
	case *syntax.WhileClause:
		return s.while(cm, in)
	case *syntax.ForClause:
		return s.forClause(cm, in)
	case *syntax.CaseClause:
		s.literal(cm.Word)
		out := ""
		for _, item := range cm.Items {
			out = s.n.cat(out, s.stmts(item.Stmts, in))
		}
		return out
	case *syntax.FuncDecl:
		if cm.Name != nil {
			s.vars.funcs[cm.Name.Value] = funcDef{body: cm.Body}
		}
		for _, name := range cm.Names {
			s.vars.funcs[name.Value] = funcDef{body: cm.Body}
		}
	case *syntax.ArithmCmd:
		s.arith(cm.X)
	case *syntax.LetClause:
		for _, x := range cm.Exprs {
			s.arith(x)
		}
	case *syntax.TestClause:
		s.testExpr(cm.X)
	case *syntax.DeclClause:
		s.decl(cm)
	case *syntax.TimeClause:
		return s.stmt(cm.Stmt, in)
	case *syntax.CoprocClause:
		return s.stmt(cm.Stmt, in)
	case *syntax.TestDecl:
		return s.stmt(cm.Body, in)
	}
	return ""
}

// testExpr expands the words of a [[ ]] test, for the substitutions in them.
func (s *shell) testExpr(x syntax.TestExpr) {
	if x == nil {
		return
	}
	syntax.Walk(x, func(node syntax.Node) bool {
		if w, ok := node.(*syntax.Word); ok {
			s.literal(w)
			return false
		}
		return true
	})
}

func (s *shell) while(cm *syntax.WhileClause, in string) string {
	// `while read line; do ...; done <<< "$lines"` runs once per line.
	if in != "" && isReadLoop(cm) {
		out := ""
		lines := strings.SplitAfter(in, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > maxLoopIters {
			s.n.limit("loop iterations")
			lines = lines[:maxLoopIters]
		}
		for _, line := range lines {
			out = s.n.cat(out, s.stmts(cm.Cond, line))
			out = s.n.cat(out, s.stmts(cm.Do, ""))
		}
		return out
	}
	out := s.stmts(cm.Cond, in)
	return s.n.cat(out, s.stmts(cm.Do, in))
}

func isReadLoop(cm *syntax.WhileClause) bool {
	if cm.Until || len(cm.Cond) == 0 {
		return false
	}
	ce, ok := cm.Cond[len(cm.Cond)-1].Cmd.(*syntax.CallExpr)
	return ok && len(ce.Args) > 0 && ce.Args[0].Lit() == "read"
}

func (s *shell) forClause(cm *syntax.ForClause, in string) string {
	out := ""
	switch loop := cm.Loop.(type) {
	case *syntax.WordIter:
		var items []string
		if loop.InPos.IsValid() {
			items = s.fields(loop.Items)
		} else {
			items = s.params
		}
		if len(items) > maxLoopIters {
			s.n.limit("loop iterations")
			items = items[:maxLoopIters]
		}
		if len(items) == 0 {
			// The list may come from a program we cannot run:
			// look at the body once anyway.
			return s.stmts(cm.Do, in)
		}
		for _, it := range items {
			s.setVariable(loop.Name.Value, strVar(it))
			out = s.n.cat(out, s.stmts(cm.Do, in))
		}
	case *syntax.CStyleLoop:
		s.arith(loop.Init)
		i := 0
		for ; i < maxLoopIters; i++ {
			if loop.Cond != nil && s.arith(loop.Cond) == 0 {
				break
			}
			out = s.n.cat(out, s.stmts(cm.Do, in))
			s.arith(loop.Post)
		}
		switch i {
		case 0:
			out = s.stmts(cm.Do, in)
		case maxLoopIters:
			s.n.limit("loop iterations")
		}
	}
	return out
}

// call evaluates a simple command.
func (s *shell) call(ce *syntax.CallExpr, in string) string {
	if len(ce.Args) == 0 {
		for _, as := range ce.Assigns {
			s.assign(as, false)
		}
		return ""
	}
	sets := s.expandCmd(ce.Args)
	// Prefix assignments, as in IFS=, read a b, last for the command.
	type saved struct {
		name string
		v    *variable
	}
	var restore []saved
	for _, as := range ce.Assigns {
		if as.Name == nil {
			continue
		}
		old := s.vars.m[as.Name.Value]
		if old != nil {
			c := *old
			old = &c
		}
		restore = append(restore, saved{as.Name.Value, old})
		s.assign(as, false)
	}
	out := ""
	for _, fields := range sets {
		out = s.n.cat(out, s.run(fields, in))
	}
	for i := len(restore) - 1; i >= 0; i-- {
		if r := restore[i]; r.v == nil {
			delete(s.vars.m, r.name)
		} else {
			s.vars.m[r.name] = r.v
		}
	}
	return out
}

// expandCmd expands the words of a command line, once with the current
// values of the variables and once more for each remembered earlier value
// of a variable that the words use.
func (s *shell) expandCmd(args []*syntax.Word) [][]string {
	sets := [][]string{s.fields(args)}
	names := s.altNames(args...)
	s.withAlts(names, func() {
		if len(sets) >= maxFieldSets {
			return
		}
		f := s.fields(args)
		for _, have := range sets {
			if slices.Equal(have, f) {
				return
			}
		}
		sets = append(sets, f)
	})
	return sets
}

// altNames returns the variables used in words that have earlier values.
func (s *shell) altNames(words ...*syntax.Word) []string {
	if !s.n.anyAlts || s.n.ovOn {
		return nil
	}
	var names []string
	for _, w := range words {
		if w == nil {
			continue
		}
		syntax.Walk(w, func(node syntax.Node) bool {
			pe, ok := node.(*syntax.ParamExp)
			if !ok || pe.Param == nil || len(names) >= 4 {
				return true
			}
			name := pe.Param.Value
			if v := s.vars.m[name]; v != nil && len(v.alts) > 0 && !slices.Contains(names, name) {
				names = append(names, name)
			}
			return true
		})
	}
	return names
}

// withAlts calls fn once for each earlier value of each of the variables,
// with that variable holding that value.
func (s *shell) withAlts(names []string, fn func()) {
	if len(names) == 0 {
		return
	}
	defer func() { s.n.ovOn = false }()
	for _, name := range names {
		v := s.vars.m[name]
		if v == nil {
			continue
		}
		for _, a := range slices.Clone(v.alts) {
			s.n.ovName, s.n.ovVal, s.n.ovOn = name, a, true
			fn()
			s.n.ovOn = false
		}
	}
}

// assign evaluates an assignment such as x=val, x+=val, a[i]=val or
// a=(x y).
func (s *shell) assign(as *syntax.Assign, nameref bool) {
	if as == nil || as.Name == nil {
		return
	}
	s.n.step(1)
	name := as.Name.Value
	switch {
	case as.Array != nil:
		s.assignArray(name, as)
		return
	case as.Index != nil:
		s.assignIndex(name, as)
		return
	}
	val, big := s.value(as.Value)
	if nameref {
		s.setVariable(name, expand.Variable{Set: true, Kind: expand.NameRef, Str: val})
		return
	}
	if big {
		s.setBig(name, val)
		s.emitAssign(name, val)
		return
	}
	var alts []string
	s.withAlts(s.altNames(as.Value), func() {
		if v, big := s.value(as.Value); !big {
			alts = append(alts, v)
		}
	})
	if as.Append {
		old := s.Get(name).String()
		val = old + val
		for i := range alts {
			alts[i] = old + alts[i]
		}
	}
	s.setVar(name, val, alts)
	s.emitAssign(name, s.Get(name).Str)
}

// maxAssignText bounds the text recorded for an assignment: a large value
// shows in the commands that use it.
const maxAssignText = 4096

func (s *shell) emitAssign(name, val string) {
	if len(val) > maxAssignText {
		val = val[:maxAssignText]
	}
	s.n.emit(name + "=" + val)
}

func (s *shell) assignArray(name string, as *syntax.Assign) {
	old := s.Get(name)
	if old.Kind == expand.Associative {
		m := make(map[string]string, len(as.Array.Elems))
		if as.Append {
			for k, v := range old.Map {
				m[k] = v
			}
		}
		for _, el := range as.Array.Elems {
			key := ""
			if w, ok := el.Index.(*syntax.Word); ok {
				key = s.literal(w)
			}
			m[key], _ = s.value(el.Value)
		}
		s.setVariable(name, expand.Variable{Set: true, Kind: expand.Associative, Map: m})
		return
	}
	var list []string
	if as.Append && old.Kind == expand.Indexed {
		list = slices.Clone(old.List)
	}
	for _, el := range as.Array.Elems {
		if el.Value != nil {
			list = append(list, s.fields([]*syntax.Word{el.Value})...)
		}
	}
	s.setVariable(name, expand.Variable{Set: true, Kind: expand.Indexed, List: list})
	s.emitAssign(name, strings.Join(s.Get(name).List, " "))
}

func (s *shell) assignIndex(name string, as *syntax.Assign) {
	old := s.Get(name)
	val, _ := s.value(as.Value)
	if old.Kind == expand.Associative {
		key := ""
		if w, ok := as.Index.(*syntax.Word); ok {
			key = s.literal(w)
		}
		m := make(map[string]string, len(old.Map)+1)
		for k, v := range old.Map {
			m[k] = v
		}
		if as.Append {
			val = m[key] + val
		}
		m[key] = val
		s.setVariable(name, expand.Variable{Set: true, Kind: expand.Associative, Map: m})
		return
	}
	i := s.arith(as.Index)
	var list []string
	var indexes []int
	switch old.Kind {
	case expand.Indexed:
		list, indexes = slices.Clone(old.List), slices.Clone(old.Indexes)
	case expand.String:
		if old.IsSet() {
			list = []string{old.Str}
		}
	}
	if i < 0 {
		i += len(list)
		if i < 0 {
			return
		}
	}
	list, indexes = setIndexed(list, indexes, i, val, as.Append)
	s.setVariable(name, expand.Variable{Set: true, Kind: expand.Indexed, List: list, Indexes: indexes})
	s.emitAssign(name+"["+strconv.Itoa(i)+"]", val)
}

// setIndexed sets element k of an indexed array, which is sparse when
// indexes is not nil (see [expand.Variable.Indexes]).
func setIndexed(list []string, indexes []int, k int, val string, appendTo bool) ([]string, []int) {
	if indexes == nil {
		switch {
		case k < len(list):
			if appendTo {
				val = list[k] + val
			}
			list[k] = val
			return list, nil
		case k == len(list):
			return append(list, val), nil
		}
		indexes = make([]int, len(list), len(list)+1)
		for i := range indexes {
			indexes[i] = i
		}
	}
	pos, ok := slices.BinarySearch(indexes, k)
	if ok {
		if appendTo {
			val = list[pos] + val
		}
		list[pos] = val
		return list, indexes
	}
	return slices.Insert(list, pos, val), slices.Insert(indexes, pos, k)
}

// decl evaluates declare, typeset, local, export, readonly and nameref.
func (s *shell) decl(cm *syntax.DeclClause) {
	nameref := cm.Variant != nil && cm.Variant.Value == "nameref"
	kind := expand.Unknown
	flag := func(f string) {
		for _, c := range f[1:] {
			switch c {
			case 'n':
				nameref = true
			case 'A':
				kind = expand.Associative
			case 'a':
				kind = expand.Indexed
			}
		}
	}
	for _, as := range cm.Args {
		if as.Name == nil {
			// An argument evaluated at run time, such as $x or -A.
			for _, f := range s.fields([]*syntax.Word{as.Value}) {
				switch {
				case strings.HasPrefix(f, "-") || strings.HasPrefix(f, "+"):
					flag(f)
				case strings.Contains(f, "="):
					name, val, _ := strings.Cut(f, "=")
					s.setVar(name, val, nil)
					s.emitAssign(name, val)
				}
			}
			continue
		}
		if as.Naked {
			if strings.HasPrefix(as.Name.Value, "-") {
				flag(as.Name.Value)
				continue
			}
			switch kind {
			case expand.Associative, expand.Indexed:
				if !s.Get(as.Name.Value).IsSet() {
					s.setVariable(as.Name.Value, expand.Variable{Set: true, Kind: kind})
				}
			}
			continue
		}
		if kind == expand.Associative && !s.Get(as.Name.Value).IsSet() {
			s.setVariable(as.Name.Value, expand.Variable{Set: true, Kind: kind})
		}
		s.assign(as, nameref)
	}
}

// run records an expanded command line and evaluates what it does.
func (s *shell) run(fields []string, in string) string {
	if len(fields) == 0 {
		return ""
	}
	s.n.emit(strings.Join(fields, " "))
	return s.exec(fields, in)
}

// exec evaluates an expanded command: a function, a shell, a wrapper, or a
// builtin whose output can be computed. Other programs output nothing.
func (s *shell) exec(fields []string, in string) string {
	s.n.step(1)
	name := fields[0]
	if fd, ok := s.vars.funcs[name]; ok {
		return s.callFunc(fd, fields, in)
	}
	if data, ok := s.n.files[name]; ok {
		// A script that an earlier redirection wrote.
		return s.nested(invocation{name: "sh", script: data, hasScript: true,
			arg0: name, params: fields[1:]}, nil, in)
	}
	base := baseName(name)
	if isShell(base) || isWrapper(base) {
		c := unwrap(fields)
		if c.hasScript {
			return s.nested(invocation{name: "sh", script: c.script, hasScript: true, arg0: "sh"}, c.assigns, in)
		}
		if len(c.argv) == 0 {
			return ""
		}
		if isShell(baseName(c.argv[0])) {
			if inv, ok := shellArgs(c.argv); ok {
				return s.nested(inv, c.assigns, in)
			}
			return ""
		}
		if len(c.argv) < len(fields) {
			return s.exec(c.argv, in)
		}
		return ""
	}
	return s.builtin(base, fields, in)
}

func (s *shell) callFunc(fd funcDef, fields []string, in string) string {
	if s.calls >= maxCallDepth {
		s.n.limit("function call depth")
		return ""
	}
	old := s.params
	s.params = fields[1:]
	s.calls++
	out := s.stmt(fd.body, in)
	s.calls--
	s.params = old
	return out
}

// cmdSubst implements [expand.Config.CmdSubst]: the output is what the
// builtins of the substitution output.
func (s *shell) cmdSubst(w io.Writer, cs *syntax.CmdSubst) error {
	s.level++
	defer func() { s.level-- }()
	_, err := io.WriteString(w, s.stmts(cs.Stmts, ""))
	return err
}

// procSubst implements [expand.Config.ProcSubst]: the output of <(...) is
// kept as a file that source or sh can read.
func (s *shell) procSubst(ps *syntax.ProcSubst) (string, error) {
	s.level++
	defer func() { s.level-- }()
	out := s.stmts(ps.Stmts, "")
	s.n.procN++
	path := "/dev/fd/" + strconv.Itoa(62+s.n.procN)
	if ps.Op != syntax.CmdOut {
		s.writeFile(path, out, false)
	}
	return path, nil
}
