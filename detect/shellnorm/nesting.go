package shellnorm

import "strings"

// maxNesting bounds how deeply a script may nest before it is parsed: the
// parser's time grows faster than linearly with nesting (up to seconds for
// tens of thousands of levels, also through look-ahead after all input is
// read), and no real script nests more than a few dozen levels.
const maxNesting = 128

// tooDeep reports whether src nests deeper than limit. It is a small lexer
// that follows quotes, escapes, comments, here-documents, substitutions,
// brackets and compound-command keywords closely enough that quoted text
// does not count, so that padding a script with parentheses in strings
// cannot stop it from being parsed.
func tooDeep(src string, limit int) bool {
	// Contexts: 'd' double quotes, 'b' backquotes, 'p' ${...}, 'u' (...),
	// 'c' {...}. Keywords such as if/fi nest without a context.
	var stack []byte
	depth := 0
	cmdPos := true // at the start of a command, where keywords count
	var hdocs []hdocDelim
	push := func(ctx byte) bool {
		if ctx != 0 {
			stack = append(stack, ctx)
		}
		depth++
		return depth > limit
	}
	pop := func(ctx byte) {
		if ctx != 0 && len(stack) > 0 && stack[len(stack)-1] == ctx {
			stack = stack[:len(stack)-1]
		}
		if depth > 0 {
			depth--
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		ctx := byte(0)
		if len(stack) > 0 {
			ctx = stack[len(stack)-1]
		}
		if ctx == 'd' {
			switch c {
			case '\\':
				i++
			case '"':
				pop('d')
			case '`':
				if push('b') {
					return true
				}
			case '$':
				if i+1 < len(src) && src[i+1] == '{' {
					i++
					if push('p') {
						return true
					}
				}
			case '(':
				// only after $, which is what matters in quotes
				if i > 0 && src[i-1] == '$' && push('u') {
					return true
				}
			}
			continue
		}
		switch c {
		case '\\':
			i++
			cmdPos = false
		case '\'':
			if i > 0 && src[i-1] == '$' {
				// $'...' with backslash escapes
				for i++; i < len(src) && src[i] != '\''; i++ {
					if src[i] == '\\' {
						i++
					}
				}
			} else if j := strings.IndexByte(src[i+1:], '\''); j >= 0 {
				i += j + 1
			} else {
				i = len(src)
			}
			cmdPos = false
		case '"':
			if push('d') {
				return true
			}
			cmdPos = false
		case '`':
			if ctx == 'b' {
				pop('b')
			} else if push('b') {
				return true
			}
			cmdPos = true
		case '(':
			if push('u') {
				return true
			}
			cmdPos = true
		case ')':
			pop('u')
			cmdPos = true
		case '{':
			if push('c') {
				return true
			}
			cmdPos = true
		case '}':
			if ctx == 'p' {
				pop('p')
			} else {
				pop('c')
			}
		case '$':
			if i+1 < len(src) && src[i+1] == '{' {
				i++
				if push('p') {
					return true
				}
			}
			cmdPos = false
		case '#':
			if i == 0 || strings.IndexByte(" \t\n;&|()", src[i-1]) >= 0 {
				if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
					i += j - 1 // the newline is handled next
				} else {
					i = len(src)
				}
			}
		case '\n':
			cmdPos = true
			if len(hdocs) > 0 {
				i = skipHeredocs(src, i+1, hdocs) - 1
				hdocs = hdocs[:0]
			}
		case ';', '&', '|':
			cmdPos = true
		case '<':
			if strings.HasPrefix(src[i:], "<<<") {
				i += 2
			} else if strings.HasPrefix(src[i:], "<<") {
				var d hdocDelim
				d, i = readHdocDelim(src, i+2)
				if d.word != "" && len(hdocs) < 64 {
					hdocs = append(hdocs, d)
				}
				i--
			}
		case ' ', '\t', '\r':
		default:
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			if j == i {
				cmdPos = false
				continue
			}
			word := src[i:j]
			i = j - 1
			if !cmdPos {
				continue
			}
			switch word {
			case "if", "case", "while", "until", "for", "select":
				if push(0) {
					return true
				}
			case "fi", "esac", "done":
				pop(0)
				cmdPos = false
			case "then", "do", "else", "elif", "time", "!":
			default:
				cmdPos = false
			}
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c == '!' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

type hdocDelim struct {
	word string
	dash bool
}

// readHdocDelim reads the delimiter of a here-document after "<<".
func readHdocDelim(src string, i int) (hdocDelim, int) {
	var d hdocDelim
	if i < len(src) && src[i] == '-' {
		d.dash = true
		i++
	}
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	var sb strings.Builder
	for ; i < len(src); i++ {
		c := src[i]
		if strings.IndexByte(" \t\n;&|<>()", c) >= 0 {
			break
		}
		switch c {
		case '\'', '"':
			if j := strings.IndexByte(src[i+1:], c); j >= 0 {
				sb.WriteString(src[i+1 : i+1+j])
				i += j + 1
				continue
			}
		case '\\':
			if i+1 < len(src) {
				i++
				c = src[i]
			}
		}
		sb.WriteByte(c)
	}
	d.word = sb.String()
	return d, i
}

// skipHeredocs returns the index after the bodies of the pending
// here-documents, which start at i.
func skipHeredocs(src string, i int, hdocs []hdocDelim) int {
	for _, d := range hdocs {
		for i < len(src) {
			end := strings.IndexByte(src[i:], '\n')
			line := src[i:]
			next := len(src)
			if end >= 0 {
				line = src[i : i+end]
				next = i + end + 1
			}
			i = next
			if d.dash {
				line = strings.TrimLeft(line, "\t")
			}
			if line == d.word {
				break
			}
		}
	}
	return i
}
