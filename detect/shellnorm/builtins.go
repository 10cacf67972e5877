package shellnorm

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
)

// builtin evaluates the commands whose effect or output matters: output
// builtins and decoders, and the builtins that run scripts or set
// variables. The output is also a text.
func (s *shell) builtin(name string, args []string, in string) string {
	var out string
	switch name {
	case "echo":
		out = s.echo(args)
	case "printf":
		out = s.printf(args)
	case "cat", "tac":
		out = s.catFiles(args, in)
	case "tee":
		out = in
		for _, a := range args[1:] {
			if !strings.HasPrefix(a, "-") {
				s.writeFile(a, in, hasFlag(args, "a", "--append"))
			}
		}
		return out // already a text as the output of the previous command
	case "base64", "base32", "basenc":
		out = s.baseN(name, args, in)
	case "openssl":
		out = s.openssl(args, in)
	case "xxd":
		out = s.xxd(args, in)
	case "rev":
		out = rev(in)
	case "tr":
		out = tr(args, in)
	case "sed":
		out = sed(args, in)
	case "gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat":
		out = s.decompress(name, args, in)
	case "printenv":
		for _, a := range args[1:] {
			if v := s.Get(a); v.IsSet() {
				out += v.String() + "\n"
			}
		}
	case "eval":
		return s.evalScript(strings.Join(args[1:], " "), in)
	case ".", "source":
		return s.source(args, in)
	case "trap":
		if len(args) > 2 && !strings.HasPrefix(args[1], "-") {
			return s.evalScript(args[1], "")
		}
	case "xargs":
		return s.xargs(args, in)
	case "read":
		s.read(args, in)
	case "mapfile", "readarray":
		s.mapfile(args, in)
	case "export", "readonly", "local", "declare", "typeset":
		for _, a := range args[1:] {
			if name, val, ok := strings.Cut(a, "="); ok {
				s.setVar(name, val, nil)
				s.emitAssign(name, val)
			}
		}
	case "set":
		for i, a := range args[1:] {
			if a == "--" {
				s.params = args[i+2:]
				break
			}
			if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "+") {
				s.params = args[i+1:]
				break
			}
			if a == "-o" || a == "+o" {
				break
			}
		}
	case "shift":
		k := 1
		if len(args) > 1 {
			k, _ = strconv.Atoi(args[1])
		}
		if k > 0 && k <= len(s.params) {
			s.params = s.params[k:]
		}
	case "unset":
		fn := false
		for _, a := range args[1:] {
			switch a {
			case "-f":
				fn = true
			case "-v", "-n":
			default:
				if fn {
					delete(s.vars.funcs, a)
				} else {
					delete(s.vars.m, a)
				}
			}
		}
	default:
		return ""
	}
	out = s.n.capValue(out, "output")
	s.n.emit(out)
	return out
}

// hasFlag reports whether args has one of the short flags, alone or in a
// cluster, or one of the long ones.
func hasFlag(args []string, short string, long ...string) bool {
	for _, a := range args[1:] {
		if a == "--" {
			return false
		}
		if strings.HasPrefix(a, "--") {
			for _, l := range long {
				if a == l {
					return true
				}
			}
			continue
		}
		if len(a) > 1 && a[0] == '-' && strings.ContainsAny(a[1:], short) {
			return true
		}
	}
	return false
}

// operands returns the arguments that are not options.
func operands(args []string) []string {
	var ops []string
	for i, a := range args[1:] {
		if a == "--" {
			return append(ops, args[i+2:]...)
		}
		if len(a) > 1 && a[0] == '-' {
			continue
		}
		ops = append(ops, a)
	}
	return ops
}

// posixEcho reports whether echo interprets escapes without -e, as dash's
// does.
func (s *shell) posixEcho() bool {
	return s.name == "sh" || s.name == "dash"
}

func (s *shell) echo(args []string) string {
	interp := s.posixEcho()
	newline := true
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' || strings.Trim(a[1:], "neE") != "" {
			break
		}
		for _, c := range a[1:] {
			switch c {
			case 'n':
				newline = false
			case 'e':
				interp = true
			case 'E':
				interp = false
			}
		}
	}
	out := strings.Join(args[i:], " ")
	if interp {
		var stop bool
		if out, stop = unescape(out, escEcho); stop {
			return out
		}
	}
	if newline {
		out += "\n"
	}
	return out
}

func (s *shell) printf(args []string) string {
	args = args[1:]
	varName := ""
	if len(args) > 1 && args[0] == "-v" {
		varName, args = args[1], args[2:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return ""
	}
	out := s.format(args[0], args[1:])
	if varName != "" {
		s.setVar(varName, out, nil)
		s.emitAssign(varName, out)
		return ""
	}
	return out
}

func (s *shell) catFiles(args []string, in string) string {
	ops := operands(args)
	if len(ops) == 0 {
		return in
	}
	out := ""
	for _, f := range ops {
		if data, ok := s.readFile(f, in); ok {
			out = s.n.cat(out, data)
		}
	}
	return out
}

// baseN decodes or encodes base64 and base32.
func (s *shell) baseN(name string, args []string, in string) string {
	if ops := operands(args); len(ops) > 0 {
		// -w 0 has an operand too; any other operand is a file.
		last := ops[len(ops)-1]
		if !isNumber(last) {
			var ok bool
			if in, ok = s.readFile(last, in); !ok {
				return ""
			}
		}
	}
	if name == "basenc" {
		switch {
		case hasFlag(args, "", "--base64", "--base64url"):
			name = "base64"
		case hasFlag(args, "", "--base32"):
			name = "base32"
		default:
			return ""
		}
	}
	decode := hasFlag(args, "dD", "--decode")
	if name == "base32" {
		if decode {
			return decode32(in)
		}
		return base32.StdEncoding.EncodeToString([]byte(in)) + "\n"
	}
	if decode {
		return decode64(in, hasFlag(args, "i", "--ignore-garbage"))
	}
	return base64.StdEncoding.EncodeToString([]byte(in)) + "\n"
}

// decode64 decodes base64 leniently: whitespace is skipped, URL-safe
// letters are accepted, missing padding is fine, and decoding starts over
// after padding, so concatenated payloads all decode. Other characters end
// the input unless garbage is ignored.
func decode64(in string, ignoreGarbage bool) string {
	var quad [4]byte
	n := 0
	var out []byte
	flush := func() {
		if n >= 2 {
			var dst [3]byte
			k, _ := base64.RawStdEncoding.Decode(dst[:], quad[:n])
			out = append(out, dst[:k]...)
		}
		n = 0
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '-':
			c = '+'
		case c == '_':
			c = '/'
		}
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			quad[n] = c
			if n++; n == 4 {
				flush()
			}
		case c == '=':
			flush()
		case c == ' ', c == '\n', c == '\r', c == '\t':
		default:
			if !ignoreGarbage {
				flush()
				return string(out)
			}
		}
	}
	flush()
	return string(out)
}

func decode32(in string) string {
	var sb strings.Builder
	for _, c := range []byte(in) {
		switch {
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7':
			sb.WriteByte(c)
		case 'a' <= c && c <= 'z':
			sb.WriteByte(c - 'a' + 'A')
		}
	}
	src := sb.String()
	if k := len(src) % 8; k != 0 {
		src += strings.Repeat("=", 8-k)
	}
	dst := make([]byte, base32.StdEncoding.DecodedLen(len(src)))
	k, _ := base32.StdEncoding.Decode(dst, []byte(src))
	return string(dst[:k])
}

// openssl handles openssl base64 and openssl enc with -base64 or -a.
func (s *shell) openssl(args []string, in string) string {
	if len(args) < 2 {
		return ""
	}
	sub := args[1]
	b64 := sub == "base64"
	decode := false
	for _, a := range args[2:] {
		switch a {
		case "-base64", "-a":
			b64 = true
		case "-d":
			decode = true
		}
	}
	if !b64 || (sub != "base64" && sub != "enc") {
		return ""
	}
	for _, a := range args[2:] {
		if strings.HasPrefix(a, "-") && a != "-base64" && a != "-a" && a != "-d" && a != "-A" && a != "-e" {
			if sub == "enc" {
				return "" // a cipher, a file or a key: not just base64
			}
		}
	}
	if decode {
		return decode64(in, true)
	}
	return base64.StdEncoding.EncodeToString([]byte(in)) + "\n"
}

// xxd handles xxd -r -p (hex to bytes) and xxd -p (bytes to hex).
func (s *shell) xxd(args []string, in string) string {
	reverse, plain := false, false
	for _, a := range args[1:] {
		switch a {
		case "-r", "-revert":
			reverse = true
		case "-p", "-ps", "-plain", "-postscript":
			plain = true
		case "-rp", "-pr":
			reverse, plain = true, true
		}
	}
	if !plain {
		return ""
	}
	if !reverse {
		return hex.EncodeToString([]byte(in)) + "\n"
	}
	out := make([]byte, 0, len(in)/2)
	var hi byte
	half := false
	for i := 0; i < len(in); i++ {
		v, ok := hexVal(in[i])
		if !ok {
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return string(out)
}

func rev(in string) string {
	if in == "" {
		return ""
	}
	lines := strings.SplitAfter(in, "\n")
	var sb strings.Builder
	sb.Grow(len(in))
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		rs := []rune(body)
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		sb.WriteString(string(rs))
		if len(body) < len(l) {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// decompress handles gzip -d, gunzip, zcat and the bzip2 equivalents, with
// the output bounded.
func (s *shell) decompress(name string, args []string, in string) string {
	switch name {
	case "gzip", "bzip2":
		if !hasFlag(args, "d", "--decompress", "--uncompress") {
			return ""
		}
	}
	if in == "" {
		return ""
	}
	var r io.Reader
	if strings.Contains(name, "bz") {
		r = bzip2.NewReader(strings.NewReader(in))
	} else {
		zr, err := gzip.NewReader(strings.NewReader(in))
		if err != nil {
			return ""
		}
		r = zr
	}
	var buf bytes.Buffer
	k, _ := io.Copy(&buf, io.LimitReader(r, int64(s.n.maxVar)+1))
	s.n.charge(int(k) * 2)
	if k > int64(s.n.maxVar) {
		s.n.limit("decompressed output too large")
		buf.Truncate(s.n.maxVar)
	}
	return buf.String()
}

func (s *shell) source(args []string, in string) string {
	if len(args) < 2 {
		return ""
	}
	src, ok := s.readFile(args[1], in)
	if !ok {
		return ""
	}
	if len(args) > 2 {
		old := s.params
		s.params = args[2:]
		defer func() { s.params = old }()
	}
	return s.evalScript(src, "")
}

// xargs appends the words of its input to its command.
func (s *shell) xargs(args []string, in string) string {
	i := optEnd(args, "IdEeLnPsa", []string{"--replace", "--delimiter", "--max-args",
		"--max-procs", "--arg-file", "--max-lines", "--max-chars", "--eof"})
	repl := ""
	for j := 1; j < min(i, len(args)); j++ {
		if args[j] == "-I" && j+1 < len(args) {
			repl = args[j+1]
		}
		if r, ok := strings.CutPrefix(args[j], "--replace="); ok {
			repl = r
		}
		if r, ok := strings.CutPrefix(args[j], "-i"); ok && r != "" {
			repl = r
		}
		if r, ok := strings.CutPrefix(args[j], "-I"); ok && r != "" {
			repl = r
		}
	}
	cmd := tail(args, i)
	if len(cmd) == 0 {
		cmd = []string{"echo"}
	}
	if repl != "" {
		lines := strings.Split(strings.TrimRight(in, "\n"), "\n")
		if len(lines) > maxLoopIters {
			s.n.limit("loop iterations")
			lines = lines[:maxLoopIters]
		}
		out := ""
		for _, l := range lines {
			f := make([]string, len(cmd))
			for k, a := range cmd {
				f[k] = strings.ReplaceAll(a, repl, l)
			}
			out = s.n.cat(out, s.run(f, ""))
		}
		return out
	}
	items := strings.Fields(in)
	if len(items) > maxFields {
		s.n.limit("too many fields")
		items = items[:maxFields]
	}
	return s.run(append(cmd[:len(cmd):len(cmd)], items...), "")
}

// read assigns the first line of its input to variables.
func (s *shell) read(args []string, in string) {
	raw := false
	delim := byte('\n')
	array := ""
	var names []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if len(a) > 1 && a[0] == '-' {
			switch a[1] {
			case 'r':
				raw = true
				if strings.ContainsAny(a[2:], "a") {
					i++
					if i < len(args) {
						array = args[i]
					}
				}
			case 'a':
				if len(a) > 2 {
					array = a[2:]
				} else if i++; i < len(args) {
					array = args[i]
				}
			case 'd':
				d := a[2:]
				if d == "" {
					if i++; i < len(args) {
						d = args[i]
					}
				}
				delim = 0
				if d != "" {
					delim = d[0]
				}
			case 'p', 't', 'n', 'N', 'u':
				if len(a) == 2 {
					i++
				}
			}
			continue
		}
		names = append(names, a)
	}
	line := in
	if k := strings.IndexByte(line, delim); k >= 0 {
		line = line[:k]
	}
	cfg := s.ecfg()
	if array != "" {
		s.setVariable(array, expand.Variable{Set: true, Kind: expand.Indexed, List: expand.ReadFields(cfg, line, -1, raw)})
		return
	}
	if len(names) == 0 {
		s.setVar("REPLY", line, nil)
		return
	}
	vals := expand.ReadFields(cfg, line, len(names), raw)
	for i, name := range names {
		v := ""
		if i < len(vals) {
			v = vals[i]
		}
		s.setVar(name, v, nil)
		s.emitAssign(name, v)
	}
}

func (s *shell) mapfile(args []string, in string) {
	name := "MAPFILE"
	if ops := operands(args); len(ops) > 0 {
		name = ops[len(ops)-1]
	}
	lines := strings.SplitAfter(in, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if hasFlag(args, "t") {
		for i, l := range lines {
			lines[i] = strings.TrimSuffix(l, "\n")
		}
	}
	s.setVariable(name, expand.Variable{Set: true, Kind: expand.Indexed, List: lines})
}
