package netaddr

import (
	"net/netip"
	"strings"
)

// WildcardDNS returns the address carried by the name of a wildcard-DNS
// service, without asking DNS. The name is folded and percent-decoded like
// ParseAddr's input; case does not matter and one trailing dot is allowed.
//
// nip.io, xip.io and sslip.io (any labels may come first, like
// "www.owasp.org.169.254.169.254.nip.io"):
//
//	169.254.169.254.nip.io       dotted, at the end of the name
//	169-254-169-254.sslip.io     dashed, also after a prefix: app-169-254-169-254.nip.io
//	a9fea9fe.nip.io              eight hex digits, also after a prefix: app-a9fea9fe.nip.io
//	1b613i6.xip.io               base 36, one to seven characters (xip.io, nip.io), big-endian
//	fd00-ec2--254.sslip.io       IPv6 with '-' for ':' (sslip.io)
//
// sslip.io takes the leftmost IPv4 address anywhere in the name
// ("169.254.169.254.example.sslip.io"); a name that also holds an IPv6
// form has both an A and an AAAA record, and WildcardDNS returns the IPv4
// one. For 1u.ms, the DNS-rebinding service, the address returned is the
// one the name rebinds to: the address after "rebind-" (dots or dashes
// between the octets) in "make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms", or
// the only address in "make-169.254.169.254-rr.1u.ms".
//
// Note on base 36: xip.io decoded the label as a big-endian 32-bit number
// (basecamp/xip-pdns, resolve_base36_subdomain). 169.254.169.254 is
// "1b613i6"; the "1ynrnhl" found in bypass lists is 0xfea9fea9, the address
// in little-endian byte order, and resolves to 254.169.254.169.
func WildcardDNS(name string) (netip.Addr, bool) {
	if len(name) == 0 || len(name) > maxInput {
		return netip.Addr{}, false
	}
	return decodings(name, wildcardFolded)
}

// wildcardFolded handles one folded, decoded name.
func wildcardFolded(x string) (netip.Addr, bool) {
	if len(x) > maxFolded {
		return netip.Addr{}, false
	}
	x = strings.TrimSuffix(x, ".")
	if sub, ok := cutLabelSuffix(x, "1u.ms"); ok {
		return rebindTarget(sub)
	}
	if sub, ok := cutLabelSuffix(x, "nip.io"); ok {
		return embedded(sub, true)
	}
	if sub, ok := cutLabelSuffix(x, "xip.io"); ok {
		return embedded(sub, true)
	}
	if sub, ok := cutLabelSuffix(x, "sslip.io"); ok {
		return sslip(sub)
	}
	return netip.Addr{}, false
}

// cutLabelSuffix returns the labels of x before the domain suffix.
func cutLabelSuffix(x, suffix string) (string, bool) {
	n := len(x) - len(suffix) - 1
	if n <= 0 || x[n] != '.' || x[n+1:] != suffix {
		return "", false
	}
	return x[:n], true
}

// embedded decodes the labels sub that precede a nip.io or xip.io name:
// an IPv4 address at the end, then the hex and base-36 forms.
func embedded(sub string, base36 bool) (netip.Addr, bool) {
	if a, ok := quadAtEnd(sub); ok {
		return a, true
	}
	label := sub[strings.LastIndexByte(sub, '.')+1:]
	if a, ok := hexAtEnd(label); ok {
		return a, true
	}
	if base36 {
		return base36Label(label)
	}
	return netip.Addr{}, false
}

// sslip decodes the labels sub that precede an sslip.io name the way
// sslip.io does (cunnie/sslip.io, src/xip/xip.go): the leftmost IPv4
// address anywhere, dots or dashes between the octets, answers A queries;
// otherwise the IPv6 form answers AAAA queries. The hex form is tried last.
func sslip(sub string) (netip.Addr, bool) {
	if a, ok := quadAnywhere(sub); ok {
		return a, true
	}
	label := sub[strings.LastIndexByte(sub, '.')+1:]
	if a, ok := dashedIPv6(label); ok {
		return a, true
	}
	return hexAtEnd(label)
}

func isSep(c byte) bool { return c == '.' || c == '-' }

// quadAtEnd matches (^|[.-])D[.-]D[.-]D[.-]D$ where D is a decimal number
// of one to three digits no greater than 255.
func quadAtEnd(s string) (netip.Addr, bool) {
	var b [4]byte
	end := len(s)
	for k := 3; k >= 0; k-- {
		start := end
		for start > 0 && end-start < 4 && isDigit(s[start-1]) {
			start--
		}
		v, ok := octet(s[start:end])
		if !ok {
			return netip.Addr{}, false
		}
		b[k] = v
		if k > 0 {
			if start == 0 || !isSep(s[start-1]) {
				return netip.Addr{}, false
			}
			end = start - 1
		} else if start > 0 && !isSep(s[start-1]) {
			return netip.Addr{}, false
		}
	}
	return netip.AddrFrom4(b), true
}

// quadAnywhere finds the leftmost D[.-]D[.-]D[.-]D bounded by the start or
// end of s or by a separator.
func quadAnywhere(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && !isSep(s[i-1])) {
			continue
		}
		if a, n, ok := quadAt(s[i:]); ok && (n == len(s)-i || isSep(s[i+n])) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// quadAt reads D[.-]D[.-]D[.-]D at the start of s, returning its length.
func quadAt(s string) (netip.Addr, int, bool) {
	var b [4]byte
	i := 0
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(s) || !isSep(s[i]) {
				return netip.Addr{}, 0, false
			}
			i++
		}
		j := i
		for j < len(s) && j-i < 4 && isDigit(s[j]) {
			j++
		}
		v, ok := octet(s[i:j])
		if !ok {
			return netip.Addr{}, 0, false
		}
		b[k] = v
		i = j
	}
	return netip.AddrFrom4(b), i, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// octet reads one to three decimal digits no greater than 255.
func octet(s string) (byte, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

// hexAtEnd matches (^|-)[0-9a-f]{8}$ in one label (nip.io's hex form).
func hexAtEnd(label string) (netip.Addr, bool) {
	if len(label) < 8 || (len(label) > 8 && label[len(label)-9] != '-') {
		return netip.Addr{}, false
	}
	var v uint32
	for _, c := range []byte(label[len(label)-8:]) {
		d, ok := unhex(c)
		if !ok {
			return netip.Addr{}, false
		}
		v = v<<4 | uint32(d)
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// dashedIPv6 reads sslip.io's IPv6 form, '-' written for ':', either the
// whole label or what follows a prefix ending in a single '-'.
func dashedIPv6(label string) (netip.Addr, bool) {
	if strings.Count(label, "-") < 2 || len(label) > 63 {
		return netip.Addr{}, false
	}
	for i := 0; i < len(label); i++ {
		if i > 0 {
			// Only try a suffix that follows a single '-' (a prefix such as
			// "www-"); "--" is the "::" of the address itself.
			if label[i-1] != '-' || (i > 1 && label[i-2] == '-') || label[i] == '-' {
				continue
			}
		}
		t := label[i:]
		if strings.Count(t, "-") < 2 {
			break
		}
		a, err := netip.ParseAddr(strings.ReplaceAll(t, "-", ":"))
		if err == nil && a.Is6() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// base36Label reads xip.io's base-36 form: the whole label, one to seven
// characters of [0-9a-z], as a big-endian 32-bit number (xip.io's bash
// arithmetic kept the low 32 bits).
func base36Label(label string) (netip.Addr, bool) {
	if len(label) == 0 || len(label) > 7 {
		return netip.Addr{}, false
	}
	var v uint64
	for i := 0; i < len(label); i++ {
		c := label[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'z':
			d = uint64(c-'a') + 10
		default:
			return netip.Addr{}, false
		}
		v = v*36 + d
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// rebindTarget reads the labels before ".1u.ms".
func rebindTarget(sub string) (netip.Addr, bool) {
	s := strings.TrimSuffix(sub, "-rr")
	if i := strings.LastIndex(s, "rebind"); i >= 0 {
		// "rebind-A", or a variant such as "rebindfor30s-A".
		rest := s[i+len("rebind"):]
		j := strings.IndexByte(rest, '-')
		if j < 0 {
			return netip.Addr{}, false
		}
		return exactQuad(rest[j+1:])
	}
	if t, ok := strings.CutPrefix(s, "make-"); ok {
		return exactQuad(t)
	}
	return netip.Addr{}, false
}

// exactQuad reads D[.-]D[.-]D[.-]D and nothing else.
func exactQuad(s string) (netip.Addr, bool) {
	a, n, ok := quadAt(s)
	if !ok || n != len(s) {
		return netip.Addr{}, false
	}
	return a, true
}
