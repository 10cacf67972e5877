package shellnorm

import (
	"fmt"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// maxWidth bounds a printf field width or precision.
const maxWidth = 4096

// format implements printf: the format is reused while arguments remain.
func (s *shell) format(format string, args []string) string {
	var sb strings.Builder
	for pass := 0; ; pass++ {
		used, stop := s.formatOnce(&sb, format, args)
		args = args[used:]
		if stop || used == 0 || len(args) == 0 || sb.Len() > s.n.maxVar || pass >= maxFields {
			break
		}
		s.n.step(1)
	}
	s.n.charge(sb.Len())
	return s.n.capValue(sb.String(), "printf output")
}

// formatOnce writes format once, returning how many arguments it used and
// whether output must stop (a \c in %b, or a bad conversion).
func (s *shell) formatOnce(sb *strings.Builder, format string, args []string) (used int, stop bool) {
	next := func() (string, bool) {
		if used < len(args) {
			used++
			return args[used-1], true
		}
		return "", false
	}
	for i := 0; i < len(format); i++ {
		if sb.Len() > s.n.maxVar {
			return used, true
		}
		c := format[i]
		switch c {
		case '\\':
			// Find the end of the escape and unescape just that.
			j := i + 1
			if j < len(format) {
				switch format[j] {
				case 'x':
					j = scanWhile(format, j+1, 2, func(b byte) bool { _, ok := hexVal(b); return ok })
				case 'u':
					j = scanWhile(format, j+1, 4, func(b byte) bool { _, ok := hexVal(b); return ok })
				case 'U':
					j = scanWhile(format, j+1, 8, func(b byte) bool { _, ok := hexVal(b); return ok })
				case '0', '1', '2', '3', '4', '5', '6', '7':
					j = scanWhile(format, j, 3, octal)
				default:
					j++
				}
			}
			out, _ := unescape(format[i:min(j, len(format))], escFormat)
			sb.WriteString(out)
			i = min(j, len(format)) - 1
			continue
		case '%':
		default:
			sb.WriteByte(c)
			continue
		}
		// A conversion: %[flags][width][.precision]verb
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			j++
		}
		flags := format[i+1 : j]
		width, prec := -1, -1
		if j < len(format) && format[j] == '*' {
			a, _ := next()
			width = clampWidth(parseInt(a))
			if width < 0 {
				flags += "-"
				width = -width
			}
			j++
		} else {
			k := scanWhile(format, j, 10, func(b byte) bool { return '0' <= b && b <= '9' })
			if k > j {
				w, _ := strconv.Atoi(format[j:k])
				width = clampWidth(w)
			}
			j = k
		}
		if j < len(format) && format[j] == '.' {
			j++
			if j < len(format) && format[j] == '*' {
				a, _ := next()
				prec = clampWidth(parseInt(a))
				j++
			} else {
				k := scanWhile(format, j, 10, func(b byte) bool { return '0' <= b && b <= '9' })
				p, _ := strconv.Atoi(format[j:k])
				prec = clampWidth(p)
				j = k
			}
		}
		if j >= len(format) {
			sb.WriteString(format[i:])
			return used, true
		}
		if width > maxWidth-1 || prec > maxWidth-1 {
			s.n.limit("printf width")
		}
		verb := format[j]
		i = j
		spec := "%" + flags
		if width >= 0 {
			spec += strconv.Itoa(width)
		}
		if prec >= 0 {
			spec += "." + strconv.Itoa(prec)
		}
		switch verb {
		case '%':
			sb.WriteByte('%')
		case 's':
			a, _ := next()
			fmt.Fprintf(sb, spec+"s", a)
		case 'b':
			a, _ := next()
			out, stopped := unescape(a, escEcho)
			fmt.Fprintf(sb, spec+"s", out)
			if stopped {
				return used, true
			}
		case 'q', 'Q':
			a, _ := next()
			q, err := syntax.Quote(a, syntax.LangBash)
			if err != nil {
				q = strconv.Quote(a)
			}
			fmt.Fprintf(sb, spec+"s", q)
		case 'c':
			a, _ := next()
			if a != "" {
				fmt.Fprintf(sb, spec+"s", a[:1])
			} else {
				fmt.Fprintf(sb, spec+"s", "")
			}
		case 'd', 'i':
			a, _ := next()
			fmt.Fprintf(sb, spec+"d", parseInt(a))
		case 'u':
			a, _ := next()
			fmt.Fprintf(sb, spec+"d", uint64(parseInt(a)))
		case 'o', 'x', 'X':
			a, _ := next()
			fmt.Fprintf(sb, spec+string(verb), uint64(parseInt(a)))
		case 'e', 'E', 'f', 'F', 'g', 'G':
			a, _ := next()
			f, _ := strconv.ParseFloat(strings.TrimSpace(a), 64)
			fmt.Fprintf(sb, spec+string(verb), f)
		default:
			// bash: invalid format character; output stops.
			return used, true
		}
	}
	return used, false
}

func clampWidth[T int | int64](w T) int {
	switch {
	case w > maxWidth:
		return maxWidth
	case w < -maxWidth:
		return -maxWidth
	}
	return int(w)
}

// scanWhile returns the index after at most most bytes of s from i that
// satisfy ok.
func scanWhile(s string, i, most int, ok func(byte) bool) int {
	j := i
	for j < len(s) && j < i+most && ok(s[j]) {
		j++
	}
	return j
}

// parseInt parses a printf numeric argument: decimal, 0x hex, 0 octal, or
// 'c for the code of a character.
func parseInt(a string) int64 {
	a = strings.TrimSpace(a)
	if len(a) > 1 && (a[0] == '\'' || a[0] == '"') {
		r := []rune(a[1:])
		return int64(r[0])
	}
	neg := false
	if a != "" && (a[0] == '-' || a[0] == '+') {
		neg = a[0] == '-'
		a = a[1:]
	}
	n, err := strconv.ParseInt(a, 0, 64)
	if err != nil {
		// the valid prefix, as printf does
		k := scanWhile(a, 0, len(a), func(b byte) bool { return '0' <= b && b <= '9' })
		n, _ = strconv.ParseInt(a[:k], 10, 64)
	}
	if neg {
		n = -n
	}
	return n
}
