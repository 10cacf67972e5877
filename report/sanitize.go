package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// dangerous reports runes a terminal may act on or that hide or reorder
// text: C0 and C1 controls, DEL, and Unicode format characters (bidi
// overrides, zero-width characters) and line/paragraph separators.
func dangerous(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case unicode.Is(unicode.Cf, r):
		return true
	}
	return false
}

// Escape makes s safe to print on a terminal: dangerous runes and invalid
// UTF-8 bytes are shown as Go-style escapes, everything else is kept.
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || dangerous(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && dangerous(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case dangerous(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeJSON rewrites, in encoding/json output, the runes that the encoder
// leaves raw but a terminal could act on (C1 controls, bidi and other
// format characters) as \u escapes. Outside strings the output is ASCII, so
// the rewrite only ever touches string contents.
func escapeJSON(b []byte) []byte {
	needs := false
	for _, c := range b {
		if c >= 0x80 {
			needs = true
			break
		}
	}
	if !needs {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x80 && dangerous(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
