package auditlog

import "bytes"

// A webhook batch is one EventList object, often on one line, so the
// line prefilter cannot skip its uninteresting events. eventListItems
// finds the items in one pass instead, without decoding them, so each can
// go through the prefilter on its own.

// eventListItems returns the spans of the elements of doc's top-level
// "items" array. ok is false unless doc is one valid JSON object with an
// items array and no key of the other document formats; the caller then
// takes the general path, which reports problems precisely. The check is
// the whole of JSON's grammar, so a malformed batch is refused even when
// its broken part is an event nobody decodes, at several times the speed
// of encoding/json's.
func eventListItems(doc []byte) (spans [][2]int, ok bool) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i++
	found := false
	for {
		i = skipSpace(doc, i)
		if i < len(doc) && doc[i] == '}' && !found {
			return nil, false
		}
		if i >= len(doc) || doc[i] != '"' {
			return nil, false
		}
		end := skipString(doc, i)
		if end < 0 {
			return nil, false
		}
		key := doc[i+1 : end-1]
		if bytes.Equal(key, []byte("hits")) || bytes.HasPrefix(key, []byte("kubernetes")) || bytes.IndexByte(key, '\\') >= 0 {
			return nil, false
		}
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipSpace(doc, i+1)
		if bytes.Equal(key, []byte("items")) {
			if found || i >= len(doc) || doc[i] != '[' {
				return nil, false
			}
			found = true
			if i, ok = arrayElements(doc, i, &spans); !ok {
				return nil, false
			}
		} else if i = skipValue(doc, i); i < 0 {
			return nil, false
		}
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil, false
		}
		if doc[i] == ',' {
			i++
			continue
		}
		if doc[i] != '}' || !found {
			return nil, false
		}
		return spans, skipSpace(doc, i+1) == len(doc)
	}
}

// arrayElements appends the spans of the elements of the array at doc[i]
// and returns the offset after it.
func arrayElements(doc []byte, i int, spans *[][2]int) (int, bool) {
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		return i + 1, true
	}
	for {
		end := skipValue(doc, i)
		if end < 0 {
			return 0, false
		}
		*spans = append(*spans, [2]int{i, end})
		i = skipSpace(doc, end)
		if i >= len(doc) {
			return 0, false
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// skipValue returns the offset after the JSON value at doc[i], or -1 when
// it is not valid JSON (the grammar of RFC 8259, as encoding/json checks
// it; UTF-8 is not checked, as encoding/json does not).
func skipValue(doc []byte, i int) int {
	var stackBuf [64]byte
	open := stackBuf[:0] // the containers the value at i is inside
	for {
		// A value is expected at i.
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return -1
		}
		switch c := doc[i]; {
		case c == '{':
			i = skipSpace(doc, i+1)
			if i < len(doc) && doc[i] == '}' {
				i++
				break
			}
			if len(open) >= maxDepth {
				return -1
			}
			open = append(open, '{')
			if i = skipKey(doc, i); i < 0 {
				return -1
			}
			continue
		case c == '[':
			i = skipSpace(doc, i+1)
			if i < len(doc) && doc[i] == ']' {
				i++
				break
			}
			if len(open) >= maxDepth {
				return -1
			}
			open = append(open, '[')
			continue
		case c == '"':
			i = skipString(doc, i)
		case c == 't':
			i = skipLiteral(doc, i, "true")
		case c == 'f':
			i = skipLiteral(doc, i, "false")
		case c == 'n':
			i = skipLiteral(doc, i, "null")
		case c == '-' || c >= '0' && c <= '9':
			i = skipNumber(doc, i)
		default:
			return -1
		}
		if i < 0 {
			return -1
		}
		// A value ended: close the containers it ends, or go on to the
		// next element.
		for {
			if len(open) == 0 {
				return i
			}
			i = skipSpace(doc, i)
			if i >= len(doc) {
				return -1
			}
			top := open[len(open)-1]
			if doc[i] == top+2 { // '{'+2 == '}', '['+2 == ']'
				open = open[:len(open)-1]
				i++
				continue
			}
			if doc[i] != ',' {
				return -1
			}
			i++
			if top == '{' {
				if i = skipKey(doc, skipSpace(doc, i)); i < 0 {
					return -1
				}
			}
			break
		}
	}
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// skipKey skips `"key" :` at doc[i].
func skipKey(doc []byte, i int) int {
	if i >= len(doc) || doc[i] != '"' {
		return -1
	}
	if i = skipString(doc, i); i < 0 {
		return -1
	}
	i = skipSpace(doc, i)
	if i >= len(doc) || doc[i] != ':' {
		return -1
	}
	return i + 1
}

// skipString returns the offset after the string that opens at doc[i],
// or -1 when it does not close or holds a control character or a bad
// escape.
func skipString(doc []byte, i int) int {
	j := i + 1
	for j < len(doc) {
		c := doc[j]
		switch {
		case c == '"':
			return j + 1
		case c == '\\':
			if j+1 >= len(doc) {
				return -1
			}
			switch doc[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(doc) || !isHex(doc[j+2]) || !isHex(doc[j+3]) || !isHex(doc[j+4]) || !isHex(doc[j+5]) {
					return -1
				}
				j += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			j++
		}
	}
	return -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func skipLiteral(doc []byte, i int, lit string) int {
	if len(doc)-i < len(lit) || string(doc[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// skipNumber skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(doc []byte, i int) int {
	digits := func(i int) (int, bool) {
		j := i
		for j < len(doc) && doc[j] >= '0' && doc[j] <= '9' {
			j++
		}
		return j, j > i
	}
	if doc[i] == '-' {
		i++
	}
	if i >= len(doc) {
		return -1
	}
	if doc[i] == '0' {
		i++
	} else {
		var ok bool
		if i, ok = digits(i); !ok {
			return -1
		}
	}
	if i < len(doc) && doc[i] == '.' {
		var ok bool
		if i, ok = digits(i + 1); !ok {
			return -1
		}
	}
	if i < len(doc) && (doc[i] == 'e' || doc[i] == 'E') {
		i++
		if i < len(doc) && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		var ok bool
		if i, ok = digits(i); !ok {
			return -1
		}
	}
	return i
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) {
		switch doc[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}
