package auditlog

import "bytes"

// A webhook batch is one EventList object, often on one line, so the
// line prefilter cannot skip its uninteresting events. eventListItems
// finds the items in one pass instead, without decoding them, so each can
// go through the prefilter on its own.

// eventListItems returns the spans of the elements of doc's top-level
// "items" array. ok is false unless doc is one well-formed object (strings
// closed, brackets matched, nothing but JSON tokens outside strings) with
// an items array and no key of the other document formats; the caller
// then takes the general path, which reports problems precisely. The
// scalars and the contents of strings are not validated: an item that
// cannot be an exec event is never decoded, as a line that cannot be one
// is not.
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

// skipValue returns the offset after the JSON value at doc[i], or -1.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch c := doc[i]; {
	case c == '"':
		return skipString(doc, i)
	case c == '{' || c == '[':
		return skipNested(doc, i)
	case isScalarByte(c):
		for i < len(doc) && isScalarByte(doc[i]) {
			i++
		}
		return i
	}
	return -1
}

// skipNested returns the offset after the object or array at doc[i], its
// brackets matched, or -1.
func skipNested(doc []byte, i int) int {
	var stack [64]byte
	open := stack[:0]
	for i < len(doc) {
		switch c := doc[i]; c {
		case '"':
			if i = skipString(doc, i); i < 0 {
				return -1
			}
			continue
		case '{', '[':
			open = append(open, c)
		case '}', ']':
			if len(open) == 0 || open[len(open)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return -1
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return i + 1
			}
		case ' ', '\t', '\r', '\n', ',', ':':
		default:
			if !isScalarByte(c) {
				return -1
			}
		}
		i++
	}
	return -1
}

// skipString returns the offset after the string that opens at doc[i],
// or -1 when it does not close.
func skipString(doc []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(doc[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		backslashes := 0
		for m := j - 1; m > i && doc[m] == '\\'; m-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j + 1
		}
		j++
	}
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

// isScalarByte: the bytes of numbers, true, false and null.
func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}
