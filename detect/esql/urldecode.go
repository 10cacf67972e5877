package esql

import (
	"errors"
	"unicode"
	"unicode/utf16"
)

// Errors returned by URLDecode. Their text follows java.net.URLDecoder so a
// warning reads like the one Elasticsearch attaches to the query response.
var (
	ErrIllegalHex         = errors.New("URLDecoder: Illegal hex characters in escape (%) pattern")
	ErrNegativeEscape     = errors.New("URLDecoder: Illegal hex characters in escape (%) pattern - negative value")
	ErrIncompleteTrailing = errors.New("URLDecoder: Incomplete trailing escape (%) pattern")
)

// URLDecode is ES|QL's URL_DECODE: java.net.URLDecoder.decode(s, UTF_8).
//
// It differs from url.QueryUnescape in ways an attacker can use: the two
// characters after '%' are read by Integer.parseInt(s, i+1, i+3, 16), so a
// sign is accepted ("%+1" is 0x01, "%-0" is 0x00, "%-1" is an error) and so
// are Unicode digits and full-width hex letters; the text is walked in UTF-16
// code units; and the decoded bytes are turned into text by Java's UTF-8
// decoder, which writes U+FFFD for malformed input following its own rules.
func URLDecode(s string) (string, error) {
	units := utf16.Encode([]rune(s))
	n := len(units)
	out := make([]uint16, 0, n)
	var buf []byte
	changed := false
	for i := 0; i < n; {
		c := units[i]
		switch c {
		case '+':
			out = append(out, ' ')
			i++
			changed = true
		case '%':
			buf = buf[:0]
			for i+2 < n && c == '%' {
				v, ok := parseHexPair(units[i+1], units[i+2])
				if !ok {
					return "", ErrIllegalHex
				}
				if v < 0 {
					return "", ErrNegativeEscape
				}
				buf = append(buf, byte(v))
				i += 3
				if i < n {
					c = units[i]
				}
			}
			if i < n && c == '%' {
				return "", ErrIncompleteTrailing
			}
			out = append(out, utf16.Encode([]rune(javaUTF8(buf)))...)
			changed = true
		default:
			out = append(out, c)
			i++
		}
	}
	if !changed {
		return s, nil
	}
	return string(utf16.Decode(out)), nil
}

// parseHexPair is Integer.parseInt over two UTF-16 units with radix 16.
func parseHexPair(a, b uint16) (int, bool) {
	if a == '+' || a == '-' {
		d := javaDigit16(b)
		if d < 0 {
			return 0, false
		}
		if a == '-' {
			return -d, true
		}
		return d, true
	}
	hi, lo := javaDigit16(a), javaDigit16(b)
	if hi < 0 || lo < 0 {
		return 0, false
	}
	return hi*16 + lo, true
}

// javaDigit16 is Character.digit(char, 16): ASCII and full-width hex letters,
// and any Unicode decimal digit (category Nd) by its value.
func javaDigit16(u uint16) int {
	r := rune(u)
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= 'a' && r <= 'f':
		return int(r-'a') + 10
	case r >= 'A' && r <= 'F':
		return int(r-'A') + 10
	case r >= 0xFF21 && r <= 0xFF26: // full-width A-F
		return int(r-0xFF21) + 10
	case r >= 0xFF41 && r <= 0xFF46: // full-width a-f
		return int(r-0xFF41) + 10
	case r >= 0xD800 && r <= 0xDFFF: // a surrogate half is never a digit
		return -1
	case unicode.Is(unicode.Nd, r):
		// Decimal digits come in runs of ten starting at zero.
		start := r
		for start > 0 && unicode.Is(unicode.Nd, start-1) {
			start--
		}
		v := int(r-start) % 10
		if v > 9 {
			return -1
		}
		return v
	}
	return -1
}

// javaUTF8 decodes b the way new String(bytes, UTF_8) does in the JDK: each
// malformed sequence becomes one U+FFFD, with the JDK's choice of how many
// bytes that replacement swallows, and a sequence cut short by the end of the
// input ends the decoding with a single U+FFFD.
func javaUTF8(b []byte) string {
	const repl = '\uFFFD'
	out := make([]rune, 0, len(b))
	isCont := func(x byte) bool { return x&0xC0 == 0x80 }
	sp, sl := 0, len(b)
	for sp < sl {
		b1 := b[sp]
		sp++
		switch {
		case b1 < 0x80:
			out = append(out, rune(b1))
		case b1>>5 == 0x6 && b1&0x1E != 0: // C2..DF
			if sp < sl {
				b2 := b[sp]
				sp++
				if !isCont(b2) {
					out = append(out, repl)
					sp--
				} else {
					out = append(out, rune(b1&0x1F)<<6|rune(b2&0x3F))
				}
				continue
			}
			out = append(out, repl)
			return string(out)
		case b1>>4 == 0xE:
			if sp+1 < sl {
				b2, b3 := b[sp], b[sp+1]
				sp += 2
				if malformed3(b1, b2, b3) {
					out = append(out, repl)
					sp -= 3
					sp += malformedLen3(b1, b2)
					continue
				}
				c := rune(b1&0x0F)<<12 | rune(b2&0x3F)<<6 | rune(b3&0x3F)
				if c >= 0xD800 && c <= 0xDFFF {
					out = append(out, repl)
				} else {
					out = append(out, c)
				}
				continue
			}
			if sp < sl && malformed3First2(b1, b[sp]) {
				out = append(out, repl)
				continue
			}
			out = append(out, repl)
			return string(out)
		case b1>>3 == 0x1E:
			if sp+2 < sl {
				b2, b3, b4 := b[sp], b[sp+1], b[sp+2]
				sp += 3
				uc := rune(b1&0x07)<<18 | rune(b2&0x3F)<<12 | rune(b3&0x3F)<<6 | rune(b4&0x3F)
				if !isCont(b2) || !isCont(b3) || !isCont(b4) || uc < 0x10000 || uc > 0x10FFFF {
					out = append(out, repl)
					sp -= 4
					sp += malformedLen4(b[sp:])
					continue
				}
				out = append(out, uc)
				continue
			}
			if b1 > 0xF4 || sp < sl && malformed4First2(b1, b[sp]) {
				out = append(out, repl)
				continue
			}
			sp++
			out = append(out, repl)
			if sp < sl && !isCont(b[sp]) {
				continue
			}
			return string(out)
		default:
			out = append(out, repl)
		}
	}
	return string(out)
}

func malformed3(b1, b2, b3 byte) bool {
	return (b1 == 0xE0 && b2&0xE0 == 0x80) || b2&0xC0 != 0x80 || b3&0xC0 != 0x80
}

func malformed3First2(b1, b2 byte) bool {
	return (b1 == 0xE0 && b2&0xE0 == 0x80) || b2&0xC0 != 0x80
}

func malformedLen3(b1, b2 byte) int {
	if (b1 == 0xE0 && b2&0xE0 == 0x80) || b2&0xC0 != 0x80 {
		return 1
	}
	return 2
}

func malformed4First2(b1, b2 byte) bool {
	return (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) || (b1 == 0xF4 && b2&0xF0 != 0x80) || b2&0xC0 != 0x80
}

// malformedLen4 is how many bytes of a bad four-byte sequence one U+FFFD
// replaces (the JDK's malformedN for nb == 4).
func malformedLen4(s []byte) int {
	b1, b2 := s[0], s[1]
	if b1 > 0xF4 || (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) || (b1 == 0xF4 && b2&0xF0 != 0x80) || b2&0xC0 != 0x80 {
		return 1
	}
	if s[2]&0xC0 != 0x80 {
		return 2
	}
	return 3
}
