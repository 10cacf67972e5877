package netaddr

import (
	"strings"
)

const (
	// maxURL is the longest input Hosts reads; the rest is ignored.
	maxURL = 8 << 10
	// maxHosts bounds the candidates Hosts returns.
	maxHosts = 64
)

// Hosts returns every host that some URL parser, resolver or shell could
// take from the URL-ish string rawURL, because parsers disagree and an
// attacker picks the disagreement that passes a filter. Each candidate is
// folded (lower-case, Unicode-folded, see the package doc), without
// brackets, port or userinfo, without one trailing dot, and never empty. No
// candidate is dropped for being implausible; Canonical decides what each
// denotes.
//
// The readings combined:
//
//   - with a scheme ("http://h", "http:h", "http:\\h", nested "x:http://h")
//     and without one ("h/path", "//h", "h:80");
//   - the authority ending at the first '/', '\', '?' or '#' (WHATWG), at
//     the first '/', '?' or '#' (RFC 3986), or at the first '/' or '\', or
//     only at the first '/' (naive parsers), so "h1:80#@h2/" and
//     "h1:80\@h2/" give both h1 and h2;
//   - every part of the authority between '@' signs, blanks and curl's
//     glob braces and commas, so the host after the last '@', the one after
//     the first '@' and the one before it ("http://1.1.1.1 &@2.2.2.2# @3.3.3.3/")
//     are all returned, and both of "http://{ok.com,169.254.169.254}/";
//   - the host ending at the first character no DNS name contains (':'
//     of a port, "+&", '$' of an unexpanded shell variable, ...);
//   - the input as is, with tabs and newlines removed (WHATWG), and
//     percent-decoded once and twice ("%09", "%2509", "%2E"); each host is
//     also percent-decoded once and twice on its own;
//   - a bare IPv6 address ("fd00:ec2::254/latest").
//
// Input longer than 8 KiB is truncated. At most 64 candidates are
// returned; the first and the last part of each authority (before the first
// '@', after the last) come first, so padding the middle hides nothing.
func Hosts(rawURL string) []string {
	s := rawURL
	if len(s) > maxURL {
		s = s[:maxURL]
	}
	var c hostSet
	v := fold(s)
	for i := 0; ; i++ {
		c.view(v)
		if strings.ContainsAny(v, "\t\n\r") {
			// Folded again: removing a tab can put a combining mark
			// next to a letter.
			c.view(fold(removeTabNL(v)))
		}
		if i == 2 || strings.IndexByte(v, '%') < 0 {
			break
		}
		d := pctDecode(v)
		if d == v {
			break
		}
		v = fold(d)
	}
	return c.out
}

type hostSet struct {
	out []string
}

func (c *hostSet) push(h string) {
	if h == "" || len(c.out) >= maxHosts {
		return
	}
	for _, o := range c.out {
		if o == h {
			return
		}
	}
	c.out = append(c.out, h)
}

// view reads one spelling of the whole input.
func (c *hostSet) view(v string) {
	v = strings.TrimFunc(v, isOuterJunk)
	if v == "" {
		return
	}
	// Without a scheme ("h:80/x", "localhost:+11211"), unless a scheme is
	// followed by slashes: no parser reads "http://h" as host "http".
	if n := schemeLen(v); n == 0 || n == len(v) || (v[n] != '/' && v[n] != '\\') {
		c.from(v)
	}
	p := v
	for depth := 0; depth < 3; depth++ {
		n := schemeLen(p)
		if n == 0 {
			return
		}
		p = strings.TrimLeft(p[n:], " \t")
		slashes := len(p) - len(strings.TrimLeft(p, "/\\"))
		c.from(p)
		if slashes > 0 {
			return
		}
	}
}

// isOuterJunk is what surrounds a URL in a command line or a document.
func isOuterJunk(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '`' || r == '<' || r == '>'
}

// schemeLen returns the length of a leading "scheme:" (RFC 3986), or 0.
func schemeLen(s string) int {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return 0
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		case c == ':':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

// authorityEnds are the sets of characters that end the authority for the
// parsers Hosts imitates: WHATWG (special schemes), RFC 3986, and two naive
// ones.
var authorityEnds = [...]string{"/\\?#", "/?#", "/\\", "/"}

// from reads the authority that starts at p, after optional slashes.
func (c *hostSet) from(p string) {
	p = strings.TrimLeft(p, "/\\")
	if p == "" {
		return
	}
	c.bareIPv6(p)
	var seen [len(authorityEnds)]int
	for k, ends := range authorityEnds {
		a := p
		if i := strings.IndexAny(p, ends); i >= 0 {
			a = p[:i]
		}
		seen[k] = len(a)
		dup := false
		for j := 0; j < k; j++ {
			dup = dup || seen[j] == len(a)
		}
		if !dup {
			c.authority(a, 0)
		}
	}
}

// bareIPv6 takes an unbracketed IPv6 address at the start of p.
func (c *hostSet) bareIPv6(p string) {
	t := p
	if i := strings.IndexAny(p, "/\\?#@[] \t\n\r"); i >= 0 {
		t = p[:i]
	}
	if len(t) > maxFolded || strings.Count(t, ":") < 2 {
		return
	}
	if a, ok := ParseAddr(t); ok && a.Is6() {
		c.push(t)
	}
}

// authority splits an authority into parts (see isPartSep) and takes a
// host from each: the first and the last part first.
func (c *hostSet) authority(a string, depth int) {
	first := strings.IndexFunc(a, isPartSep)
	if first < 0 {
		c.part(a, depth)
		return
	}
	last := strings.LastIndexFunc(a, isPartSep)
	c.part(a[:first], depth)
	c.part(a[last+1:], depth)
	mid := a[first+1 : max(first+1, last)]
	for mid != "" {
		i := strings.IndexFunc(mid, isPartSep)
		if i < 0 {
			c.part(mid, depth)
			return
		}
		c.part(mid[:i], depth)
		mid = mid[i+1:]
	}
}

// isPartSep separates the parts of an authority: '@' (userinfo), blanks
// (shell words, "1.1.1.1 &@2.2.2.2"), and the braces and commas of curl's
// URL globbing ("http://{ok.com,169.254.169.254}/" fetches both).
func isPartSep(r rune) bool {
	switch r {
	case '@', ' ', '\t', '\n', '\r', '\f', '\v', '{', '}', ',':
		return true
	}
	return false
}

// part takes the host from one "host[:port]junk" or "[v6]:port" part.
func (c *hostSet) part(p string, depth int) {
	if p == "" || len(c.out) >= maxHosts {
		return
	}
	bracket := p[0] == '['
	var h string
	if bracket {
		h = p[1:]
		h = h[:bracketEnd(h)]
	} else {
		h = p[:hostEnd(p)]
	}
	h = strings.TrimSuffix(h, ".")
	c.push(h)
	if depth >= 2 || strings.IndexByte(h, '%') < 0 {
		return
	}
	d := pctDecode(h)
	if d == h {
		return
	}
	d = fold(d)
	if bracket {
		c.part("["+d+"]", depth+1)
		return
	}
	c.authority(d, depth+1)
}

// hostEnd returns the index of the first byte of p that cannot be part of a
// host name: ASCII other than letters, digits, "-._~" and '%' (kept for
// percent-encoded hosts). Bytes of non-ASCII characters are kept.
func hostEnd(p string) int {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', 'A' <= c && c <= 'Z':
		case c == '-', c == '.', c == '_', c == '~', c == '%':
		case c >= 0x80:
		default:
			return i
		}
	}
	return len(p)
}

// bracketEnd returns the index of the ']' that closes an IP literal, or of
// the first byte that cannot be part of one (a zone may hold anything else).
func bracketEnd(p string) int {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c <= ' ', c == 0x7f, c == ']', c == '[', c == '/', c == '\\', c == '?', c == '#', c == '@':
			return i
		}
	}
	return len(p)
}

func removeTabNL(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
}
