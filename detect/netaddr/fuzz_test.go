package netaddr

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// slow is far beyond what any input should cost (tens of microseconds for
// the largest); it catches blow-ups, not slow machines.
const slow = 500 * time.Millisecond

// timed runs f and returns its duration; when that is over slow, it runs
// f twice more and returns the shortest, so that a pause of the machine
// is not taken for a slow input.
func timed(f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for i := 0; i < 3; i++ {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
		if best <= slow {
			break
		}
	}
	return best
}

var fuzzSeeds = []string{
	"169.254.169.254", "2852039166", "0xa9fea9fe", "0x41414141A9FEA9FE", "425.510.425.510",
	"0251.00376.000251.0000376", "169.254.43518", "0o251.254.169.254", "169.254.169.254.",
	"⑯⑨。②⑤④。⑯⑨。②⑤④", "169%E3%80%82254%E3%80%82169%E3%80%82254", "169%252E254%252E169%252E254",
	"[::ffff:a9fe:a9fe]", "[fe80::a9fe:a9fe%25eth0]", "fe80::a9fe:a9fe%eth0", "64:ff9b::a9fe:a9fe",
	"169.254.169.254.nip.io", "app-169-254-169-254.nip.io", "a9fea9fe.nip.io", "1b613i6.xip.io",
	"make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms", "fd00-ec2--254.sslip.io",
	"http://127.1.1.1:80\\@127.2.2.2:80/", "http://1.1.1.1 &@2.2.2.2# @3.3.3.3/",
	"http://{RND}@{OK}@169.254.169.254:80/", "http://169.254.169.254:80%2509ok.com/",
	"http:169.254.169.254/", "Host: 169.254.169.254", "gopher://metadata.google.internal:80/x%0AHost:%20x",
	"", "%", "[", "0x", "1..2", "\ufdfa", "\xff\xfe", "ｈｔｔｐ：／／１６９．２５４．１６９．２５４／",
}

func FuzzParseAddr(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, uint32(i)*0x9e3779b9)
	}
	f.Fuzz(func(t *testing.T, s string, n uint32) {
		var a netip.Addr
		var ok bool
		if d := timed(func() { a, ok = ParseAddr(s) }); d > slow {
			t.Fatalf("ParseAddr of %d bytes took %v", len(s), d)
		}
		if ok && (!a.IsValid() || a.Zone() != "") {
			t.Fatalf("ParseAddr(%q) = %#v", s, a)
		}
		if len(s) > maxInput && ok {
			t.Fatalf("ParseAddr accepted %d bytes", len(s))
		}
		// Whatever net/netip parses, ParseAddr parses to the same address.
		if want, err := netip.ParseAddr(s); err == nil && len(s) <= 100 {
			if !ok || a != want.WithZone("") {
				t.Fatalf("ParseAddr(%q) = %v, %v; netip says %v", s, a, ok, want)
			}
		}
		// Results round-trip through their canonical text.
		if ok {
			if b, ok := ParseAddr(a.String()); !ok || b != a {
				t.Fatalf("ParseAddr(%q) = %v, but ParseAddr(%q) = %v, %v", s, a, a.String(), b, ok)
			}
		}
		// Every inet_aton spelling of an IPv4 address gives it back (the
		// IPv4-mapped one after Unwrap).
		v4 := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		for _, sp := range ipv4Spellings(n) {
			if b, ok := ParseAddr(sp); !ok || Unwrap(b) != v4 {
				t.Fatalf("ParseAddr(%q) = %v, %v; want %v", sp, b, ok, v4)
			}
		}
	})
}

// ipv4Spellings writes n in the inet_aton forms ParseAddr reads.
func ipv4Spellings(n uint32) []string {
	b := [4]uint32{n >> 24, n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff}
	return []string{
		netip.AddrFrom4([4]byte{byte(b[0]), byte(b[1]), byte(b[2]), byte(b[3])}).String(),
		strconv.FormatUint(uint64(n), 10),
		strconv.FormatUint(uint64(n)+1<<32, 10),
		fmt.Sprintf("0x%x", n),
		fmt.Sprintf("0X%X", n),
		fmt.Sprintf("0%o", n),
		fmt.Sprintf("0x%x.0%o.%d.0x%02x", b[0], b[1], b[2], b[3]),
		fmt.Sprintf("%d.%d.%d.%d", b[0]+256, b[1]+512, b[2], b[3]+256),
		fmt.Sprintf("%d.%d", b[0], n&0xffffff),
		fmt.Sprintf("%d.%d.%d", b[0], b[1], n&0xffff),
		fmt.Sprintf("0o%o.o%o.%d.%d.", b[0], b[1], b[2], b[3]),
		fmt.Sprintf("%d%%2e%d%%252e%d%%2E%d", b[0], b[1], b[2], b[3]),
		fmt.Sprintf("[::ffff:%d.%d.%d.%d]", b[0], b[1], b[2], b[3]),
	}
}

func FuzzHosts(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var hs []string
		if d := timed(func() { hs = Hosts(s) }); d > slow {
			t.Fatalf("Hosts of %d bytes took %v", len(s), d)
		}
		if len(hs) > maxHosts {
			t.Fatalf("%d hosts", len(hs))
		}
		seen := map[string]bool{}
		for _, h := range hs {
			switch {
			case h == "":
				t.Fatalf("Hosts(%q) returned an empty host: %q", s, hs)
			case seen[h]:
				t.Fatalf("Hosts(%q) returned %q twice", s, h)
			case strings.ContainsAny(h, "/\\?#@[] \t\r\n"):
				t.Fatalf("Hosts(%q) returned %q, which holds a delimiter", s, h)
			case !utf8.ValidString(h):
				t.Fatalf("Hosts(%q) returned invalid UTF-8 %q", s, h)
			case strings.ToLower(h) != h:
				t.Fatalf("Hosts(%q) returned %q, not lower-case", s, h)
			case fold(h) != h:
				t.Fatalf("Hosts(%q) returned %q, not folded (%q)", s, h, fold(h))
			case len(h) > 18*min(len(s), maxURL):
				t.Fatalf("Hosts(%q) returned a host of %d bytes", s, len(h))
			}
			seen[h] = true
		}
		// A plain host name in any usual URL shape is found.
		if isPlainHost(s) {
			for _, u := range []string{
				"http://" + s + "/latest", "https://user:pw@" + s + ":443/", s + "/x", "//" + s,
			} {
				if hs := Hosts(u); !contains(hs, s) {
					t.Fatalf("Hosts(%q) = %q, missing %q", u, hs, s)
				}
			}
		}
	})
}

func isPlainHost(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func contains(hs []string, h string) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

func FuzzCanonical(f *testing.F) {
	for i, s := range fuzzSeeds {
		b := make([]byte, 16)
		for j := range b {
			b[j] = byte(i * (j + 7))
		}
		f.Add(s, b)
	}
	f.Add("x", []byte{169, 254, 169, 254})
	f.Add("x", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254})
	f.Add("x", []byte{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 169, 254, 169, 254})
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		var a netip.Addr
		var ok bool
		if d := timed(func() { a, ok = Canonical(s) }); d > slow {
			t.Fatalf("Canonical of %d bytes took %v", len(s), d)
		}
		if ok {
			if !a.IsValid() || a.Zone() != "" || Unwrap(a) != a {
				t.Fatalf("Canonical(%q) = %#v", s, a)
			}
		}
		if p, pok := ParseAddr(s); pok && (!ok || a != Unwrap(p)) {
			t.Fatalf("ParseAddr(%q) = %v but Canonical = %v, %v", s, p, a, ok)
		}
		if w, wok := WildcardDNS(s); wok && !ok {
			t.Fatalf("WildcardDNS(%q) = %v but Canonical fails", s, w)
		}
		// A host that is an address is found in a URL too.
		if ok && isPlainHost(strings.ToLower(s)) {
			for _, u := range []string{"http://" + s + "/latest/", "http://ok.com@" + s + ":80/", s + "/x"} {
				if got := resolve(u); !slices.Contains(got, a) {
					t.Fatalf("Canonical(%q) = %v, but %q gives %v", s, a, u, got)
				}
			}
		}
		// Any address, in any spelling, canonicalizes to its unwrapped self.
		switch len(b) {
		case 16:
			v6 := netip.AddrFrom16([16]byte(b))
			want := Unwrap(v6)
			for _, sp := range []string{v6.String(), "[" + v6.String() + "]", strings.ToUpper(v6.StringExpanded()), v6.String() + "%25eth0"} {
				if got, ok := Canonical(sp); !ok || got != want {
					t.Fatalf("Canonical(%q) = %v, %v; want %v", sp, got, ok, want)
				}
			}
			// sslip.io's dashed form, unless it also holds an IPv4 form
			// ("--1-2-3-4" is both ::1:2:3:4 and 1.2.3.4).
			label := strings.ReplaceAll(v6.String(), ":", "-")
			if _, both := quadAnywhere(label); want.Is6() && !both {
				dashed := label + ".sslip.io"
				if got, ok := Canonical(dashed); !ok || got != want {
					t.Fatalf("Canonical(%q) = %v, %v; want %v", dashed, got, ok, want)
				}
			}
		case 4:
			n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			v4 := netip.AddrFrom4([4]byte(b))
			dotted := v4.String()
			spellings := append(ipv4Spellings(n),
				dotted+".nip.io", "www."+dotted+".xip.io",
				strings.ReplaceAll(dotted, ".", "-")+".sslip.io",
				fmt.Sprintf("app-%08x.nip.io", n),
				strconv.FormatUint(uint64(n), 36)+".xip.io",
				"make-1.2.3.4-rebind-"+strings.ReplaceAll(dotted, ".", "-")+"-rr.1u.ms",
			)
			for _, sp := range spellings {
				if got, ok := Canonical(sp); !ok || got != v4 {
					t.Fatalf("Canonical(%q) = %v, %v; want %v", sp, got, ok, v4)
				}
			}
		}
	})
}
