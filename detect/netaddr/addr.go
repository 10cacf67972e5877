package netaddr

import (
	"net/netip"
	"strings"
)

const (
	// maxInput bounds the text ParseAddr, WildcardDNS and Canonical accept.
	// The longest real spelling, an IPv6 address with a zone written in
	// full-width characters and percent-encoded twice, stays well below it.
	maxInput = 4 << 10
	// maxFolded bounds one decoded, folded candidate: four parts of at most
	// maxDigits digits, or an IPv6 address with a zone.
	maxFolded = 512
	// maxDigits bounds the length of one dotted part, prefix and leading
	// zeros included.
	maxDigits = 64
)

// ParseAddr parses any textual spelling of an IP address that some resolver
// or URL parser accepts. The text is first folded (see the package doc) and,
// if that does not parse, percent-decoded once and then twice.
//
// IPv4 is read as inet_aton reads it: one to four parts separated by dots,
// each decimal, octal (leading 0, or the 0o / o prefixes of Python,
// JavaScript and Perl) or hex (0x); the last part fills the bytes that
// remain, so "169.254.43518" and "2852039166" are 169.254.169.254. Values
// past their range are reduced the way the public bypass lists use them:
// each part modulo the bytes it fills ("7147006462" and "425.510.425.510"
// are 169.254.169.254). One trailing dot is allowed.
//
// IPv6 is what net/netip accepts, optionally in brackets; a zone ("%eth0",
// or "%25eth0" as URLs write it) is accepted and dropped from the result.
//
// IPv4-mapped and similar IPv6 addresses are returned as written; see Unwrap.
func ParseAddr(s string) (netip.Addr, bool) {
	if len(s) == 0 || len(s) > maxInput {
		return netip.Addr{}, false
	}
	return decodings(s, parseFolded)
}

// parseFolded parses one folded, decoded candidate.
func parseFolded(x string) (netip.Addr, bool) {
	if len(x) == 0 || len(x) > maxFolded {
		return netip.Addr{}, false
	}
	if len(x) >= 2 && x[0] == '[' && x[len(x)-1] == ']' {
		x = x[1 : len(x)-1]
	}
	if strings.IndexByte(x, ':') < 0 {
		return parseIPv4(x)
	}
	if i := strings.IndexByte(x, '%'); i >= 0 {
		x = x[:i]
	}
	a, err := netip.ParseAddr(x)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// parseIPv4 reads the inet_aton forms described at ParseAddr from folded
// (lower-case ASCII) text.
func parseIPv4(s string) (netip.Addr, bool) {
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1]
	}
	if s == "" {
		return netip.Addr{}, false
	}
	var parts [4]uint32
	n := 0
	for {
		if n == len(parts) {
			return netip.Addr{}, false
		}
		p := s
		i := strings.IndexByte(s, '.')
		if i >= 0 {
			p = s[:i]
		}
		v, ok := parseNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		parts[n] = v
		n++
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	var b [4]byte
	for i := 0; i < n-1; i++ {
		b[i] = byte(parts[i])
	}
	last := parts[n-1]
	for i := 3; i >= n-1; i-- {
		b[i] = byte(last)
		last >>= 8
	}
	return netip.AddrFrom4(b), true
}

// parseNumber reads one dotted part modulo 2^32 (uint32 arithmetic wraps).
func parseNumber(p string) (uint32, bool) {
	if p == "" || len(p) > maxDigits {
		return 0, false
	}
	base := uint32(10)
	switch {
	case strings.HasPrefix(p, "0x"):
		// WHATWG reads a bare "0x" as zero; so do we.
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case strings.HasPrefix(p, "0o"):
		base, p = 8, p[2:]
	case p[0] == 'o':
		base, p = 8, p[1:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	if p == "" {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(p); i++ {
		c := p[i]
		var d uint32
		switch {
		case '0' <= c && c <= '9':
			d = uint32(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint32(c-'a') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
	}
	return v, true
}

// nat64 is the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052).
var nat64 = [12]byte{0x00, 0x64, 0xff, 0x9b}

// Unwrap returns the IPv4 address inside an IPv4-mapped (::ffff:0:0/96),
// IPv4-compatible (::/96 except :: and ::1) or NAT64 well-known-prefix
// (64:ff9b::/96) IPv6 address. Any other address is returned unchanged.
func Unwrap(a netip.Addr) netip.Addr {
	if !a.Is6() {
		return a
	}
	if a.Is4In6() {
		return a.Unmap()
	}
	b := a.As16()
	var v4 [4]byte
	copy(v4[:], b[12:])
	switch [12]byte(b[:12]) {
	case [12]byte{}:
		if v4 == [4]byte{} || v4 == [4]byte{0, 0, 0, 1} {
			return a
		}
		return netip.AddrFrom4(v4)
	case nat64:
		return netip.AddrFrom4(v4)
	}
	return a
}

// Canonical is what a detector calls on each host candidate (see Hosts): the
// IP address the host denotes, without a resolver. It folds and
// percent-decodes the host like ParseAddr, and tries, in order, ParseAddr
// and WildcardDNS; the result is passed through Unwrap, so
// "[::ffff:a9fe:a9fe]" and "a9fea9fe.nip.io" both give 169.254.169.254.
// Zones are dropped. Ordinary host names give false.
func Canonical(host string) (netip.Addr, bool) {
	if len(host) == 0 || len(host) > maxInput {
		return netip.Addr{}, false
	}
	a, ok := decodings(host, func(x string) (netip.Addr, bool) {
		if a, ok := parseFolded(x); ok {
			return a, true
		}
		return wildcardFolded(x)
	})
	if !ok {
		return netip.Addr{}, false
	}
	return Unwrap(a).WithZone(""), true
}
