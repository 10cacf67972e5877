package shellnorm

import (
	"regexp"
	"strconv"
	"strings"
)

// tr implements tr with -d, -s and -c on bytes, with ranges, classes and
// escapes in the sets.
func tr(args []string, in string) string {
	del, squeeze, complement := false, false, false
	var sets []string
	for i, a := range args[1:] {
		if a == "--" {
			sets = append(sets, args[i+2:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' && len(sets) == 0 {
			for _, c := range a[1:] {
				switch c {
				case 'd':
					del = true
				case 's':
					squeeze = true
				case 'c', 'C':
					complement = true
				case 't':
				default:
					return "" // not an option we know
				}
			}
			continue
		}
		sets = append(sets, a)
	}
	if len(sets) == 0 || len(sets) > 2 {
		return ""
	}
	set1 := trSet(sets[0])
	if complement {
		var inSet [256]bool
		for _, c := range set1 {
			inSet[c] = true
		}
		set1 = set1[:0]
		for c := 0; c < 256; c++ {
			if !inSet[c] {
				set1 = append(set1, byte(c))
			}
		}
	}
	var in1 [256]bool
	for _, c := range set1 {
		in1[c] = true
	}
	var table [256]int // -1: delete; else the byte
	for c := range table {
		table[c] = c
	}
	var set2 []byte
	switch {
	case del:
		for _, c := range set1 {
			table[c] = -1
		}
		if len(sets) == 2 {
			set2 = trSet(sets[1])
		}
	case len(sets) == 2:
		set2 = trSet(sets[1])
		if len(set2) == 0 {
			return ""
		}
		for i, c := range set1 {
			table[c] = int(set2[min(i, len(set2)-1)])
		}
	}
	var squeezeSet [256]bool
	if squeeze {
		last := set1
		if len(set2) > 0 {
			last = set2
		}
		for _, c := range last {
			squeezeSet[c] = true
		}
	}
	var sb strings.Builder
	sb.Grow(len(in))
	prev := -1
	for i := 0; i < len(in); i++ {
		v := table[in[i]]
		if v < 0 {
			continue
		}
		if squeeze && v == prev && squeezeSet[v] {
			continue
		}
		sb.WriteByte(byte(v))
		prev = v
	}
	return sb.String()
}

var trClasses = map[string]func(byte) bool{
	"alpha": func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' },
	"digit": func(c byte) bool { return '0' <= c && c <= '9' },
	"alnum": func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' },
	"lower": func(c byte) bool { return 'a' <= c && c <= 'z' },
	"upper": func(c byte) bool { return 'A' <= c && c <= 'Z' },
	"space": func(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' },
	"blank": func(c byte) bool { return c == ' ' || c == '\t' },
	"punct": func(c byte) bool {
		return c > ' ' && c < 127 && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
	},
	"xdigit": func(c byte) bool { _, ok := hexVal(c); return ok },
	"print":  func(c byte) bool { return c >= ' ' && c < 127 },
	"graph":  func(c byte) bool { return c > ' ' && c < 127 },
	"cntrl":  func(c byte) bool { return c < ' ' || c == 127 },
}

// trSet expands a tr set: escapes, ranges such as a-z and classes such as
// [:upper:].
func trSet(s string) []byte {
	var chars []byte
	for i := 0; i < len(s) && len(chars) < 4096; i++ {
		if s[i] == '[' && i+1 < len(s) && s[i+1] == ':' {
			if end := strings.Index(s[i+2:], ":]"); end >= 0 {
				if fn, ok := trClasses[s[i+2:i+2+end]]; ok {
					for c := 0; c < 256; c++ {
						if fn(byte(c)) {
							chars = append(chars, byte(c))
						}
					}
					i += end + 3
					continue
				}
			}
		}
		c, k := trChar(s, i)
		if k+1 < len(s) && s[k+1] == '-' && k+2 < len(s) {
			hi, k2 := trChar(s, k+2)
			if hi >= c {
				for x := int(c); x <= int(hi); x++ {
					chars = append(chars, byte(x))
				}
				i = k2
				continue
			}
		}
		chars = append(chars, c)
		i = k
	}
	return chars
}

// trChar reads one possibly escaped character of a tr set at i, returning
// it and the index of its last byte.
func trChar(s string, i int) (byte, int) {
	if s[i] != '\\' || i+1 == len(s) {
		return s[i], i
	}
	switch c := s[i+1]; c {
	case 'n':
		return '\n', i + 1
	case 't':
		return '\t', i + 1
	case 'r':
		return '\r', i + 1
	case 'v':
		return '\v', i + 1
	case 'f':
		return '\f', i + 1
	case 'a':
		return '\a', i + 1
	case 'b':
		return '\b', i + 1
	case '0', '1', '2', '3', '4', '5', '6', '7':
		j := scanWhile(s, i+1, 3, octal)
		v, _ := strconv.ParseUint(s[i+1:j], 8, 16)
		return byte(v), j - 1
	default:
		return c, i + 1
	}
}

// sedCmd is one s or y command of a trivial sed script.
type sedCmd struct {
	re      *regexp.Regexp
	repl    string
	global  bool
	nth     int
	y       bool
	yFrom   []rune
	yTo     []rune
	printed bool
}

// sed implements scripts made only of s/RE/REPL/FLAGS and y/SRC/DST/
// commands, without addresses; anything else gives no output.
func sed(args []string, in string) string {
	ere := false
	var scripts []string
	var ops []string
	quiet := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-e" || a == "--expression":
			if i+1 < len(args) {
				scripts = append(scripts, args[i+1])
				i++
			}
		case strings.HasPrefix(a, "--expression="):
			scripts = append(scripts, strings.TrimPrefix(a, "--expression="))
		case a == "-E" || a == "-r" || a == "--regexp-extended":
			ere = true
		case a == "-n" || a == "--quiet" || a == "--silent":
			quiet = true
		case a == "-u" || a == "--unbuffered" || a == "-z":
			if a == "-z" {
				return ""
			}
		case len(a) > 1 && a[0] == '-':
			return "" // -i, -f and the like
		default:
			ops = append(ops, a)
		}
	}
	if len(scripts) == 0 {
		if len(ops) == 0 {
			return ""
		}
		scripts, ops = ops[:1], ops[1:]
	}
	if len(ops) > 0 {
		return "" // input files
	}
	var cmds []sedCmd
	for _, sc := range scripts {
		c, ok := parseSed(sc, ere)
		if !ok {
			return ""
		}
		cmds = append(cmds, c...)
	}
	if len(cmds) == 0 {
		return in
	}
	lines := strings.SplitAfter(in, "\n")
	var sb strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		body := strings.TrimSuffix(l, "\n")
		printed := false
		for _, c := range cmds {
			var changed bool
			body, changed = c.apply(body)
			if changed && c.printed {
				printed = true
				sb.WriteString(body)
				sb.WriteByte('\n')
			}
		}
		if quiet && !printed {
			continue
		}
		if !quiet {
			sb.WriteString(body)
			if len(body) < len(l) {
				sb.WriteByte('\n')
			}
		}
	}
	return sb.String()
}

func (c *sedCmd) apply(line string) (string, bool) {
	if c.y {
		rs := []rune(line)
		changed := false
		for i, r := range rs {
			for k, f := range c.yFrom {
				if r == f {
					rs[i] = c.yTo[k]
					changed = true
					break
				}
			}
		}
		return string(rs), changed
	}
	locs := c.re.FindAllStringSubmatchIndex(line, -1)
	if len(locs) == 0 {
		return line, false
	}
	var sb strings.Builder
	last := 0
	for k, loc := range locs {
		if !c.global && k+1 != c.nth {
			continue
		}
		sb.WriteString(line[last:loc[0]])
		sb.Write(c.re.ExpandString(nil, c.repl, line, loc))
		last = loc[1]
		if !c.global {
			break
		}
	}
	sb.WriteString(line[last:])
	return sb.String(), true
}

// parseSed parses a script of s and y commands separated by ; or newlines.
func parseSed(sc string, ere bool) ([]sedCmd, bool) {
	var cmds []sedCmd
	i := 0
	for i < len(sc) {
		switch sc[i] {
		case ' ', '\t', '\n', ';':
			i++
			continue
		case 's', 'y':
		default:
			return nil, false
		}
		kind := sc[i]
		if i+1 >= len(sc) {
			return nil, false
		}
		delim := sc[i+1]
		if delim == '\\' || delim == '\n' {
			return nil, false
		}
		pat, j, ok := sedPart(sc, i+2, delim)
		if !ok {
			return nil, false
		}
		repl, k, ok := sedPart(sc, j, delim)
		if !ok {
			return nil, false
		}
		i = k
		c := sedCmd{nth: 1}
		if kind == 'y' {
			c.y = true
			c.yFrom, c.yTo = []rune(unescapeSedY(pat, delim)), []rune(unescapeSedY(repl, delim))
			if len(c.yFrom) != len(c.yTo) {
				return nil, false
			}
			cmds = append(cmds, c)
			continue
		}
		icase := false
		for i < len(sc) && sc[i] != ';' && sc[i] != '\n' {
			switch f := sc[i]; {
			case f == 'g':
				c.global = true
			case f == 'p':
				c.printed = true
			case f == 'i' || f == 'I':
				icase = true
			case '1' <= f && f <= '9':
				k := scanWhile(sc, i, 6, func(b byte) bool { return '0' <= b && b <= '9' })
				c.nth, _ = strconv.Atoi(sc[i:k])
				i = k - 1
			case f == ' ' || f == '\t':
			default:
				return nil, false
			}
			i++
		}
		expr, ok := sedRegexp(pat, delim, ere)
		if !ok {
			return nil, false
		}
		if icase {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, false
		}
		c.re = re
		c.repl = sedRepl(repl, delim)
		cmds = append(cmds, c)
		if len(cmds) > 64 {
			return nil, false
		}
	}
	return cmds, true
}

// sedPart reads up to the next unescaped delim from i, returning the part
// and the index after the delimiter.
func sedPart(sc string, i int, delim byte) (string, int, bool) {
	inBracket := false
	for j := i; j < len(sc); j++ {
		switch c := sc[j]; {
		case c == '\\':
			j++
		case c == '[' && !inBracket && delim != '[':
			inBracket = true
		case c == ']' && inBracket:
			inBracket = false
		case c == delim && !inBracket:
			return sc[i:j], j + 1, true
		}
	}
	return "", 0, false
}

// sedRegexp translates a sed regular expression to Go syntax; back
// references are not supported.
func sedRegexp(pat string, delim byte, ere bool) (string, bool) {
	var sb strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			i++
			e := pat[i]
			switch {
			case e == delim:
				sb.WriteString(regexp.QuoteMeta(string(e)))
			case e == 'n':
				sb.WriteString(`\n`)
			case e == 't':
				sb.WriteString(`\t`)
			case '1' <= e && e <= '9':
				return "", false
			case !ere && strings.IndexByte("(){}+?|", e) >= 0:
				sb.WriteByte(e) // GNU BRE operators
			case strings.IndexByte("wWsSbB", e) >= 0:
				sb.WriteByte('\\')
				sb.WriteByte(e)
			default:
				sb.WriteString(regexp.QuoteMeta(string(e)))
			}
		case c == '[':
			end := bracketEnd(pat, i)
			if end < 0 {
				return "", false
			}
			sb.WriteString(pat[i : end+1])
			i = end
		case !ere && strings.IndexByte("(){}+?|", c) >= 0:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		case c == '*' && (i == 0 || (!ere && pat[i-1] == '^' && i == 1)):
			sb.WriteString(`\*`)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), true
}

// bracketEnd returns the index of the ] that closes the bracket expression
// at i, or -1.
func bracketEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for ; j < len(p); j++ {
		switch {
		case p[j] == '[' && j+1 < len(p) && (p[j+1] == ':' || p[j+1] == '=' || p[j+1] == '.'):
			end := strings.Index(p[j+2:], string(p[j+1])+"]")
			if end < 0 {
				return -1
			}
			j += end + 3
		case p[j] == ']':
			return j
		}
	}
	return -1
}

// sedRepl translates a sed replacement to a Go template for
// [regexp.Regexp.ExpandString].
func sedRepl(r string, delim byte) string {
	var sb strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '$':
			sb.WriteString("$$")
		case c == '&':
			sb.WriteString("${0}")
		case c == '\\' && i+1 < len(r):
			i++
			switch e := r[i]; {
			case '0' <= e && e <= '9':
				sb.WriteString("${" + string(e) + "}")
			case e == 'n':
				sb.WriteByte('\n')
			case e == 't':
				sb.WriteByte('\t')
			case e == '$':
				sb.WriteString("$$")
			default:
				sb.WriteByte(e)
			}
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

func unescapeSedY(s string, delim byte) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			default:
				sb.WriteByte(s[i])
			}
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
