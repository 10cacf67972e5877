package netaddr

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold maps s to the form a resolver would look up: NFKC (full-width and
// enclosed digits and letters become ASCII, U+FF61 becomes U+3002), the dot
// look-alikes below become '.', code points that UTS #46 maps to nothing are
// dropped, decimal digits of other scripts become ASCII digits, and letters
// are lower-cased. ASCII input without capitals is returned as is, without
// allocating.
func fold(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return foldUnicode(s)
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !upper {
		return s
	}
	return strings.ToLower(s)
}

func foldUnicode(s string) string {
	// Invalid UTF-8 becomes U+FFFD before normalising, so that the
	// characters around it normalise as they would on a second pass.
	t := foldRunes(norm.NFKC.String(strings.ToValidUTF8(s, "\uFFFD")))
	// Lower-casing can make a composable pair ("J\u030C" becomes "j\u030C",
	// which NFKC composes to U+01F0), so normalise until stable.
	for i := 0; i < 3 && !norm.NFKC.IsNormalString(t); i++ {
		t = foldRunes(norm.NFKC.String(t))
	}
	return t
}

// foldRunes applies the mappings of fold other than NFKC.
func foldRunes(t string) string {
	var b strings.Builder
	b.Grow(len(t))
	for _, r := range t {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(lowerASCII(byte(r)))
		case isDot(r):
			b.WriteByte('.')
		case isIgnored(r):
		default:
			if d, ok := digitValue(r); ok {
				b.WriteByte(byte('0' + d))
				continue
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isDot reports the characters that IDNA (UTS #46) reads as the label
// separator '.': the ideographic, full-width and half-width full stops, and
// those whose compatibility form is '.' or U+3002. After NFKC only U+3002
// is left of them; the others are listed so the set reads complete.
func isDot(r rune) bool {
	switch r {
	case '\u3002', // IDEOGRAPHIC FULL STOP
		'\uFF0E', // FULLWIDTH FULL STOP
		'\uFF61', // HALFWIDTH IDEOGRAPHIC FULL STOP
		'\uFE52', // SMALL FULL STOP
		'\u2024', // ONE DOT LEADER
		'\uFE12': // PRESENTATION FORM FOR VERTICAL IDEOGRAPHIC FULL STOP
		return true
	}
	return false
}

// isIgnored reports code points that UTS #46 maps to nothing (soft hyphen,
// zero-width characters, variation selectors, byte order mark), so that a
// host padded with them resolves as if they were absent.
func isIgnored(r rune) bool {
	switch {
	case r == '\u00AD', r == '\u034F', r == '\u2060', r == '\uFEFF':
		return true
	case '\u180B' <= r && r <= '\u180F':
		return true
	case '\u200B' <= r && r <= '\u200D':
		return true
	case '\uFE00' <= r && r <= '\uFE0F':
		return true
	case 0x1BCA0 <= r && r <= 0x1BCA3:
		return true
	case 0xE0100 <= r && r <= 0xE01EF:
		return true
	}
	return false
}

// digitValue gives the value of a decimal digit (category Nd) of any
// script. Unicode encodes every such digit in runs of ten from zero to nine,
// so the value is the offset from the start of the run, modulo ten.
// Languages whose integer parsing accepts these digits (Python's int, .NET's
// \d) read "١٦٩" as 169.
func digitValue(r rune) (int, bool) {
	if r < utf8.RuneSelf || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for n := 0; n < 100 && unicode.Is(unicode.Nd, start-1); n++ {
		start--
	}
	return int(r-start) % 10, true
}

// pctDecode decodes each well-formed %XX once. Malformed escapes are kept,
// as URL parsers keep them.
func pctDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
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

// decodings calls try on s folded, then percent-decoded once and twice
// (each decoding folded again, since %E3%80%82 decodes to U+3002), and stops
// at the first success.
func decodings[T any](s string, try func(string) (T, bool)) (T, bool) {
	x := fold(s)
	for i := 0; ; i++ {
		if v, ok := try(x); ok {
			return v, true
		}
		if i == 2 || strings.IndexByte(x, '%') < 0 {
			var zero T
			return zero, false
		}
		d := pctDecode(x)
		if d == x {
			var zero T
			return zero, false
		}
		x = fold(d)
	}
}
