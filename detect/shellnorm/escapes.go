package shellnorm

import (
	"strings"
	"unicode/utf8"
)

// Backslash escapes differ a little between echo and printf.
type escMode uint8

const (
	escEcho   escMode = iota // echo -e and printf %b: \0NNN, \NNN, \c
	escFormat                // a printf format: \NNN, no \c
)

func octal(c byte) bool { return '0' <= c && c <= '7' }

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape interprets the backslash escapes of s. stop reports a \c, which
// ends all output in echo and in printf's %b.
func unescape(s string, mode escMode) (out string, stop bool) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, false
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'e', 'E':
			sb.WriteByte(0x1b)
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'v':
			sb.WriteByte('\v')
		case '\\':
			sb.WriteByte('\\')
		case '"', '\'', '?':
			if mode == escFormat {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('\\')
				sb.WriteByte(c)
			}
		case 'c':
			if mode == escEcho {
				return sb.String(), true
			}
			sb.WriteString("\\c")
		case '0', '1', '2', '3', '4', '5', '6', '7':
			// \0NNN in echo takes three more digits; \NNN takes three.
			j, most := i, 3
			if c == '0' && mode == escEcho {
				j, most = i+1, 3
			}
			v := 0
			k := j
			for ; k < len(s) && k < j+most && octal(s[k]); k++ {
				v = v*8 + int(s[k]-'0')
			}
			sb.WriteByte(byte(v))
			i = k - 1
		case 'x':
			v, k := 0, i+1
			for ; k < len(s) && k < i+3; k++ {
				d, ok := hexVal(s[k])
				if !ok {
					break
				}
				v = v*16 + int(d)
			}
			if k == i+1 {
				sb.WriteString("\\x")
				continue
			}
			sb.WriteByte(byte(v))
			i = k - 1
		case 'u', 'U':
			most := 4
			if c == 'U' {
				most = 8
			}
			v, k := rune(0), i+1
			for ; k < len(s) && k < i+1+most; k++ {
				d, ok := hexVal(s[k])
				if !ok {
					break
				}
				v = v*16 + rune(d)
			}
			if k == i+1 {
				sb.WriteByte('\\')
				sb.WriteByte(c)
				continue
			}
			if !utf8.ValidRune(v) {
				v = utf8.RuneError
			}
			sb.WriteRune(v)
			i = k - 1
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
	}
	return sb.String(), false
}
