package netaddr

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// metadataAddrs are the metadata-service addresses of
// /work/shared/reference/metadata-endpoints.md section 6.2.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("169.254.170.2"),
	netip.MustParseAddr("169.254.170.23"),
	netip.MustParseAddr("169.254.42.42"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("168.63.129.16"),
	netip.MustParseAddr("192.0.0.192"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("fd00:ec2::23"),
	netip.MustParseAddr("fd00:c1::a9fe:a9fe"),
	netip.MustParseAddr("fd00:a9fe:a9fe::1"),
	netip.MustParseAddr("fd00:42::42"),
	netip.MustParseAddr("fe80::a9fe:a9fe"),
	netip.MustParseAddr("fd20:ce::254"),
}

var imds = netip.MustParseAddr("169.254.169.254")

func isMetadata(a netip.Addr) bool { return slices.Contains(metadataAddrs, a) }

// resolve returns the addresses that the hosts of a URL-ish string denote.
func resolve(s string) []netip.Addr {
	var out []netip.Addr
	for _, h := range Hosts(s) {
		if a, ok := Canonical(h); ok && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func TestParseAddr(t *testing.T) {
	good := []struct{ in, want string }{
		// inet_aton forms of 169.254.169.254 from the bypass lists.
		{"169.254.169.254", "169.254.169.254"},
		{"2852039166", "169.254.169.254"},
		{"7147006462", "169.254.169.254"},
		{"0xa9fea9fe", "169.254.169.254"},
		{"0xA9FEA9FE", "169.254.169.254"},
		{"0XA9FEA9FE", "169.254.169.254"},
		{"0x41414141A9FEA9FE", "169.254.169.254"},
		{"0xA9.0xFE.0xA9.0xFE", "169.254.169.254"},
		{"0251.0376.0251.0376", "169.254.169.254"},
		{"0251.00376.000251.0000376", "169.254.169.254"},
		{"00251.000376.0000251.00000376", "169.254.169.254"},
		{"0251.254.169.254", "169.254.169.254"},
		{"0xA9.254.0251.0376", "169.254.169.254"},
		{"169.254.43518", "169.254.169.254"},
		{"169.16689662", "169.254.169.254"},
		{"0xa9.0376.43518", "169.254.169.254"},
		{"0xa9.16689662", "169.254.169.254"},
		{"00251.16689662", "169.254.169.254"},
		{"00251.0xfe.43518", "169.254.169.254"},
		{"425.510.425.510", "169.254.169.254"},
		{"169.254.169.254.", "169.254.169.254"},
		{"2852039166.", "169.254.169.254"},
		// Octal prefixes of Python/JavaScript ("0o") and Perl ("o").
		{"0o251.0o376.0o251.0o376", "169.254.169.254"},
		{"o251.254.169.254", "169.254.169.254"},
		{"0O251.254.169.254", "169.254.169.254"},
		// Unicode.
		{"１６９．２５４．１６９．２５４", "169.254.169.254"},
		{"169。254。169。254", "169.254.169.254"},
		{"169｡254｡169｡254", "169.254.169.254"},
		{"169﹒254﹒169﹒254", "169.254.169.254"},
		{"169․254․169․254", "169.254.169.254"},
		{"⑯⑨。②⑤④。⑯⑨。②⑤④", "169.254.169.254"},
		{"①⑥⑨.②⑤④.①⑥⑨.②⑤④", "169.254.169.254"},
		{"⒈⒍⒐254", "1.6.9.254"},
		{"０ｘＡ９ＦＥＡ９ＦＥ", "169.254.169.254"},
		{"𝟏𝟔𝟗.𝟐𝟓𝟒.𝟏𝟔𝟗.𝟐𝟓𝟒", "169.254.169.254"},
		{"١٦٩.٢٥٤.١٦٩.٢٥٤", "169.254.169.254"},
		{"๑๖๙.๒๕๔.๑๖๙.๒๕๔", "169.254.169.254"},
		{"169.254\u00ad.169.254", "169.254.169.254"},
		{"169.2\u200b54.169.254", "169.254.169.254"},
		// Percent-encoding, once and twice.
		{"169%2E254%2E169%2E254", "169.254.169.254"},
		{"169%2e254%2e169%2e254", "169.254.169.254"},
		{"169%252E254%252E169%252E254", "169.254.169.254"},
		{"169%E3%80%82254%E3%80%82169%E3%80%82254", "169.254.169.254"},
		{"169%25E3%2580%2582254%25E3%2580%2582169%25E3%2580%2582254", "169.254.169.254"},
		{"%31%36%39.254.169.254", "169.254.169.254"},
		{"％３１６９.254.169.254", "169.254.169.254"},
		// IPv6.
		{"::ffff:a9fe:a9fe", "::ffff:169.254.169.254"},
		{"[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"},
		{"[0:0:0:0:0:ffff:a9fe:a9fe]", "::ffff:169.254.169.254"},
		{"[0:0:0:0:0:ffff:169.254.169.254]", "::ffff:169.254.169.254"},
		{"[::FFFF:A9FE:A9FE]", "::ffff:169.254.169.254"},
		{"::169.254.169.254", "::169.254.169.254"},
		{"[fd00:ec2::254]", "fd00:ec2::254"},
		{"FD00:EC2:0:0:0:0:0:254", "fd00:ec2::254"},
		{"fd00:0ec2:0000:0000:0000:0000:0000:0254", "fd00:ec2::254"},
		{"fe80::a9fe:a9fe%eth0", "fe80::a9fe:a9fe"},
		{"fe80::a9fe:a9fe%25eth0", "fe80::a9fe:a9fe"},
		{"[fe80::a9fe:a9fe%25eth0]", "fe80::a9fe:a9fe"},
		{"fd00%3Aec2%3A%3A254", "fd00:ec2::254"},
		{"％５Ｂfd00:ec2::254％５Ｄ", "fd00:ec2::254"},
		{"ｆｄ００：ｅｃ２：：２５４", "fd00:ec2::254"},
		// Other inet_aton forms.
		{"0", "0.0.0.0"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"1.2.3", "1.2.0.3"},
		{"1.26.8", "1.26.0.8"},
		{"4294967296", "0.0.0.0"},
		{"0x.0x.0x.0x", "0.0.0.0"},
		{"[169.254.169.254]", "169.254.169.254"},
		// A dotted part past 255 is reduced modulo 256, like 425.510.425.510;
		// so 2540 is 236 here, not 254.
		{"169.254.169.2540", "169.254.169.236"},
		{strings.Repeat("0", 61) + "251.254.169.254", "169.254.169.254"},
	}
	for _, tc := range good {
		got, ok := ParseAddr(tc.in)
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("ParseAddr(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}

	bad := []string{
		"", ".", "..", "1..2", ".1.2.3", "1.2.3.4..", "1.2.3.4.5", "1.2.3.4.5.",
		"08.1.2.3", "0.0.0.09", "0x1g", "0xa9fea9feg", "v1.2.3.4", "2852039166a",
		"a2852039166", "metadata-api", "api.example.com", "instance-data",
		"169.254.169.254.nip.io", "169.254.169.254:80", "[169.254.169.254]:80",
		"o", "0o", "0o8", "q177.0.0.1", "+1.2.3.4", "-1", " 1.2.3.4", "1.2.3.4 ",
		"1 .2.3.4", "[::1", "::1]", ":::", "1:2:3:4:5:6:7:8:9", "::ffff:0xa9fea9fe",
		"169,254,169,254", "169·254·169·254", "169%2", "%",
		strings.Repeat("1", 65),
		"0x" + strings.Repeat("f", 65),
		strings.Repeat("0", 62) + "251.254.169.254",
		strings.Repeat("1.", 3000) + "1",
		strings.Repeat("9", maxInput+1),
	}
	for _, in := range bad {
		if got, ok := ParseAddr(in); ok {
			t.Errorf("ParseAddr(%q) = %v, want failure", in, got)
		}
	}
}

// ParseAddr agrees with net/netip wherever net/netip succeeds.
func TestParseAddrAgreesWithNetip(t *testing.T) {
	for _, s := range []string{
		"0.0.0.0", "255.255.255.255", "1.2.3.4", "::", "::1", "fe80::1%eth0",
		"::ffff:1.2.3.4", "2001:db8::ff00:42:8329", "1:2:3:4:5:6:7:8",
	} {
		want := netip.MustParseAddr(s).WithZone("")
		if got, ok := ParseAddr(s); !ok || got != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
}

func TestUnwrap(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"::ffff:a9fe:a9fe", "169.254.169.254"},
		{"::ffff:169.254.169.254", "169.254.169.254"},
		{"::169.254.169.254", "169.254.169.254"},
		{"::a9fe:a9fe", "169.254.169.254"},
		{"::2", "0.0.0.2"},
		{"64:ff9b::a9fe:a9fe", "169.254.169.254"},
		{"64:ff9b::169.254.169.254", "169.254.169.254"},
		{"64:ff9b::", "0.0.0.0"},
		// Unchanged.
		{"::", "::"},
		{"::1", "::1"},
		{"169.254.169.254", "169.254.169.254"},
		{"fd00:ec2::254", "fd00:ec2::254"},
		{"fe80::a9fe:a9fe%eth0", "fe80::a9fe:a9fe%eth0"},
		{"64:ff9b:1::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe"},
		{"::ffff:0:a9fe:a9fe", "::ffff:0:a9fe:a9fe"},
		{"1::a9fe:a9fe", "1::a9fe:a9fe"},
		{"2002:a9fe:a9fe::", "2002:a9fe:a9fe::"},
	} {
		if got := Unwrap(netip.MustParseAddr(tc.in)); got != netip.MustParseAddr(tc.want) {
			t.Errorf("Unwrap(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := Unwrap(netip.Addr{}); got.IsValid() {
		t.Errorf("Unwrap(zero) = %v", got)
	}
}

// Verify the base-36 label arithmetic the bypass lists rely on.
func TestBase36(t *testing.T) {
	// 169.254.169.254 is 2852039166, which is "1b613i6" in base 36.
	if a, ok := base36Label("1b613i6"); !ok || a != imds {
		t.Errorf("1b613i6 = %v, %v", a, ok)
	}
	// "1ynrnhl" is 4272553641 = 0xfea9fea9: the address in little-endian
	// byte order, which xip.io (big-endian) resolved to 254.169.254.169.
	if a, ok := base36Label("1ynrnhl"); !ok || a != netip.MustParseAddr("254.169.254.169") {
		t.Errorf("1ynrnhl = %v, %v", a, ok)
	}
}

func TestWildcardDNS(t *testing.T) {
	good := []struct{ in, want string }{
		{"169.254.169.254.nip.io", "169.254.169.254"},
		{"169.254.169.254.xip.io", "169.254.169.254"},
		{"169.254.169.254.sslip.io", "169.254.169.254"},
		{"www.owasp.org.169.254.169.254.nip.io", "169.254.169.254"},
		{"company.169.254.169.254.nip.io", "169.254.169.254"},
		{"169-254-169-254.sslip.io", "169.254.169.254"},
		{"169-254-169-254.nip.io", "169.254.169.254"},
		{"app-169-254-169-254.nip.io", "169.254.169.254"},
		{"www-169-254-169-254.sslip.io", "169.254.169.254"},
		{"customer.app.169-254-169-254.nip.io", "169.254.169.254"},
		{"169-254.169-254.nip.io", "169.254.169.254"},
		{"a9fea9fe.nip.io", "169.254.169.254"},
		{"app-a9fea9fe.nip.io", "169.254.169.254"},
		{"app.a9fea9fe.nip.io", "169.254.169.254"},
		{"1b613i6.xip.io", "169.254.169.254"},
		{"1b613i6.nip.io", "169.254.169.254"},
		{"www.owasp.org.1b613i6.xip.io", "169.254.169.254"},
		{"1b613ia.xip.io", "169.254.170.2"},
		{"1ynrnhl.xip.io", "254.169.254.169"},
		{"make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms", "169.254.169.254"},
		{"make-1-2-3-4-rebind-169-254-169-254-rr.1u.ms", "169.254.169.254"},
		{"make-1.2.3.4-rebindfor30s-169.254.169.254-rr.1u.ms", "169.254.169.254"},
		{"make-169.254.169.254-rr.1u.ms", "169.254.169.254"},
		{"fd00-ec2--254.sslip.io", "fd00:ec2::254"},
		{"www-fd00-ec2--254.sslip.io", "fd00:ec2::254"},
		{"--1.sslip.io", "::1"},
		{"169.254.169.254.1.2.3.4.sslip.io", "169.254.169.254"},
		{"1-2-3-4.169-254-169-254.sslip.io", "1.2.3.4"},
		{"--169-254-169-254.sslip.io", "169.254.169.254"},
		{"169.254.169.254.example.sslip.io", "169.254.169.254"},
		{"169.254.169.254.NIP.IO", "169.254.169.254"},
		{"169.254.169.254.nip.io.", "169.254.169.254"},
		{"１６９.２５４.１６９.２５４.ｎｉｐ.ｉｏ", "169.254.169.254"},
		{"169%2e254%2e169%2e254.nip.io", "169.254.169.254"},
		{"127.0.0.1.nip.io", "127.0.0.1"},
	}
	for _, tc := range good {
		got, ok := WildcardDNS(tc.in)
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("WildcardDNS(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
	bad := []string{
		"", "nip.io", ".nip.io", "evilnip.io", "169.254.169.254.nip.io.evil.com",
		"nip.io.169.254.169.254", "example.com", "169.254.169.254", "1u.ms",
		"make-1.2.3.4-rebind-rr.1u.ms", "make-1.2.3.4-rebind-169.254.169-rr.1u.ms",
		"example.1u.ms", "metadata.google.internal", "www.owasp.org.nip.io.example",
		"12345678.sslip.io.com",
	}
	for _, in := range bad {
		if got, ok := WildcardDNS(in); ok {
			t.Errorf("WildcardDNS(%q) = %v, want failure", in, got)
		}
	}
	// Labels that carry no metadata address must not turn into one.
	for _, in := range []string{
		"256.254.169.254.nip.io", "169.254.169.2540.nip.io", "app-169-254-169-2540.nip.io",
		"a9fea9fe0.nip.io", "www.nip.io", "1ynrnhl.nip.io", "a9fea9fe.sslip.io.evil",
	} {
		if got, ok := WildcardDNS(in); ok && isMetadata(got) {
			t.Errorf("WildcardDNS(%q) = %v, a metadata address", in, got)
		}
	}
}

func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"http://169.254.169.254/latest/meta-data/", []string{"169.254.169.254"}},
		{"169.254.169.254/latest/meta-data", []string{"169.254.169.254"}},
		{"169.254.169.254", []string{"169.254.169.254"}},
		{"//169.254.169.254/x", []string{"169.254.169.254"}},
		{"http:169.254.169.254/", []string{"169.254.169.254"}},
		{"http:/169.254.169.254/", []string{"169.254.169.254"}},
		{"http:\\\\169.254.169.254\\latest", []string{"169.254.169.254"}},
		{"HTTP://Metadata.Google.Internal/computeMetadata/v1/", []string{"metadata.google.internal"}},
		{"metadata.google.internal:80/computeMetadata/v1/", []string{"metadata.google.internal"}},
		{"http://metadata.google.internal./", []string{"metadata.google.internal"}},
		{"http://169.254.169.254.:80/", []string{"169.254.169.254"}},
		{"http://ok.com@169.254.169.254/", []string{"ok.com", "169.254.169.254"}},
		{"http://user:pass@169.254.169.254:80/", []string{"user", "169.254.169.254"}},
		{"http://rnd@ok.com@169.254.169.254:80/", []string{"rnd", "ok.com", "169.254.169.254"}},
		{"http://rnd@169.254.169.254:80@ok.com/", []string{"rnd", "169.254.169.254", "ok.com"}},
		{"http://127.1.1.1:80\\@127.2.2.2:80/", []string{"127.1.1.1", "127.2.2.2"}},
		{"http://127.1.1.1:80\\@@127.2.2.2:80/", []string{"127.1.1.1", "127.2.2.2"}},
		{"http://127.1.1.1:80:\\@@127.2.2.2:80/", []string{"127.1.1.1", "127.2.2.2"}},
		{"http://127.1.1.1:80#\\@127.2.2.2:80/", []string{"127.1.1.1", "127.2.2.2"}},
		{"http://169.254.169.254:80#@ok.com/", []string{"169.254.169.254", "ok.com"}},
		{"http://169.254.169.254:80?@ok.com//", []string{"169.254.169.254", "ok.com"}},
		{"http://169.254.169.254:80+&@ok.com#+@ok.com/", []string{"169.254.169.254", "ok.com"}},
		{"http://1.1.1.1 &@2.2.2.2# @3.3.3.3/", []string{"1.1.1.1", "2.2.2.2", "3.3.3.3"}},
		{"http://169.254.169.254:80:80/", []string{"169.254.169.254"}},
		{"http://rnd@169.254.169.254:+@ok.com/", []string{"169.254.169.254", "ok.com"}},
		{"http://169.254.169.254:80\tok.com/", []string{"169.254.169.254"}},
		{"http://169.254.169.254\tok.com/", []string{"169.254.169.254", "ok.com"}},
		{"http://169.254.169.254%09ok.com/", []string{"169.254.169.254", "ok.com"}},
		{"http://169.254.169.254%2509ok.com/", []string{"169.254.169.254", "ok.com"}},
		{"http://169%2E254%2E169%2E254/", []string{"169.254.169.254"}},
		{"http://ok.com%40169.254.169.254/", []string{"ok.com", "169.254.169.254"}},
		{"http://[::ffff:a9fe:a9fe]:80/", []string{"::ffff:a9fe:a9fe"}},
		{"HTTP://[::FFFF:A9FE:A9FE]/", []string{"::ffff:a9fe:a9fe"}},
		{"http://[fe80::a9fe:a9fe%25eth0]/", []string{"fe80::a9fe:a9fe%25eth0", "fe80::a9fe:a9fe%eth0"}},
		{"fd00:ec2::254", []string{"fd00:ec2::254"}},
		{"http://ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", []string{"example.com"}},
		{"http://⑯⑨。②⑤④。⑯⑨。②⑤④/", []string{"169.254.169.254"}},
		{"ｈｔｔｐ：／／１６９．２５４．１６９．２５４／", []string{"169.254.169.254"}},
		{"  \"http://169.254.169.254/\"  ", []string{"169.254.169.254"}},
		{"'http://169.254.169.254/'", []string{"169.254.169.254"}},
		{"Host:169.254.169.254", []string{"169.254.169.254"}},
		{"Host: 169.254.169.254", []string{"169.254.169.254"}},
		{"http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", []string{"169.254.170.2"}},
		{"169.254.170.2${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}", []string{"169.254.170.2"}},
		{"view-source:http://169.254.169.254/", []string{"169.254.169.254"}},
		{"localhost:+11211aaa", []string{"localhost"}},
		{"http://{ok.com,169.254.169.254}/latest/", []string{"ok.com", "169.254.169.254"}},
		{"http://" + strings.Repeat("a@", 3000) + "169.254.169.254/", []string{"169.254.169.254"}},
		{"http://" + manyHosts(200) + "169.254.169.254/", []string{"169.254.169.254"}},
	} {
		got := Hosts(tc.in)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("Hosts(%q) = %q, missing %q", tc.in, got, w)
			}
		}
	}

	// Hosts that only the path, query or fragment names are not hosts.
	for _, in := range []string{
		"http://example.com/?url=http://169.254.169.254/",
		"http://example.com/169.254.169.254",
		"http://example.com?169.254.169.254",
		"http://example.com#169.254.169.254",
		"http://nicob.net/redir-http-169.254.169.254:80-",
		"https://example.com/latest/meta-data/?host=169.254.169.254",
	} {
		if got := Hosts(in); slices.Contains(got, "169.254.169.254") {
			t.Errorf("Hosts(%q) = %q, has 169.254.169.254", in, got)
		}
	}

	for _, in := range []string{"", "   ", "http://", "@@@", "http:///", "//", ":", "[]", "http://[]/"} {
		if got := Hosts(in); len(got) != 0 {
			t.Errorf("Hosts(%q) = %q, want none", in, got)
		}
	}
	// Truncation at 8 KiB.
	if got := Hosts("http://" + strings.Repeat("a", maxURL) + "@169.254.169.254/"); slices.Contains(got, "169.254.169.254") {
		t.Errorf("Hosts read past %d bytes: %q", maxURL, got)
	}
}

func manyHosts(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("h")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteByte(byte('a' + i%26))
		b.WriteString(string(rune('a' + i/26)))
		b.WriteByte('@')
	}
	return b.String()
}

// Look-alikes and version strings must not canonicalize to a metadata
// address, alone or as the host of a URL.
func TestLookAlikes(t *testing.T) {
	for _, s := range []string{
		"169.254.169.253", "169.254.169.123", "169.254.0.1", "169.254.169.2540",
		"169.254.169.25", "169.254.169", "169.254", "169.254.169.254.1",
		"metadata-api", "1.2.3", "1.26.8", "v1.26.8", "v1.2.3.4", "2852039166a",
		"2852039165", "0xa9fea9fd", "0251.0376.0251.0375", "fd00:ec2::255",
		"fe80::a9fe:a9ff", "169.254.169.254.evil.com", "evil169.254.169.254",
		"q251.254.169.254", "169.254.169.254a", "a169.254.169.254",
		"metadata.google.internal", "instance-data", "1ynrnhl.nip.io",
		"www.owasp.org.1ynrnhl.xip.io", "go1.26.8", "1.26.8-rc.1",
	} {
		if a, ok := Canonical(s); ok && isMetadata(a) {
			t.Errorf("Canonical(%q) = %v, a metadata address", s, a)
		}
		for _, u := range []string{"http://" + s + "/", s + ":80/x", "curl/" + s} {
			for _, a := range resolve(u) {
				if isMetadata(a) {
					t.Errorf("Hosts(%q) yields %v, a metadata address", u, a)
				}
			}
		}
	}
	for _, s := range []string{"v1.2.3.4", "2852039166a", "metadata-api"} {
		if a, ok := Canonical(s); ok {
			t.Errorf("Canonical(%q) = %v, want no address", s, a)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"169.254.169.254", "169.254.169.254"},
		{"[::ffff:a9fe:a9fe]", "169.254.169.254"},
		{"::ffff:169.254.169.254", "169.254.169.254"},
		{"[::169.254.169.254]", "169.254.169.254"},
		{"[64:ff9b::a9fe:a9fe]", "169.254.169.254"},
		{"64:ff9b::169.254.169.254", "169.254.169.254"},
		{"a9fea9fe.nip.io", "169.254.169.254"},
		{"fe80::a9fe:a9fe%eth0", "fe80::a9fe:a9fe"},
		{"[fe80::a9fe:a9fe%25eth0]", "fe80::a9fe:a9fe"},
		{"fd00:ec2::254", "fd00:ec2::254"},
		{"--ffff-a9fe-a9fe.sslip.io", "169.254.169.254"},
		{"169%2E254%2E169%2E254", "169.254.169.254"},
		{"169%252E254%252E169%252E254.nip.io", "169.254.169.254"},
		{"⑯⑨。②⑤④。⑯⑨。②⑤④", "169.254.169.254"},
	} {
		got, ok := Canonical(tc.in)
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("Canonical(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
		if got.Zone() != "" {
			t.Errorf("Canonical(%q) kept zone %q", tc.in, got.Zone())
		}
	}
	for _, in := range []string{
		"", "api.example.com", "metadata.google.internal", "localhost", "nip.io",
		"0xa9fea9fe.nip.io", // no nip.io form: nip.io's hex has no "0x"
		strings.Repeat("1", maxInput+1),
	} {
		if got, ok := Canonical(in); ok {
			t.Errorf("Canonical(%q) = %v, want none", in, got)
		}
	}
}

// digitValue assumes every run of decimal digits (Nd) in Unicode holds whole
// sets of zero to nine.
func TestDigitRuns(t *testing.T) {
	runs := 0
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if !unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Nd, r-1) {
			continue
		}
		n := 0
		for unicode.Is(unicode.Nd, r+rune(n)) {
			n++
		}
		if n%10 != 0 {
			t.Errorf("Nd run at %U has %d digits", r, n)
		}
		runs++
	}
	if runs < 50 {
		t.Errorf("only %d Nd runs found", runs)
	}
	for r, want := range map[rune]int{'٣': 3, '۹': 9, '๐': 0, '๕': 5, '४': 4, '𝟗': 9, '５': 5} {
		if d, ok := digitValue(r); !ok || d != want {
			t.Errorf("digitValue(%q) = %d, %v; want %d", r, d, ok, want)
		}
	}
	if _, ok := digitValue('7'); ok {
		t.Error("digitValue accepts ASCII")
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"api.example.com", "api.example.com"},
		{"API.Example.COM", "api.example.com"},
		{"ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "example.com"},
		{"ＭＥＴＡＤＡＴＡ．ｇｏｏｇｌｅ．ｉｎｔｅｒｎａｌ", "metadata.google.internal"},
		{"inſtance-data", "instance-data"},
		{"meta\u00addata", "metadata"},
		{"ß.localdomain.pw", "ß.localdomain.pw"},
		{"\xff", "\ufffd"},
	} {
		if got := fold(tc.in); got != tc.want {
			t.Errorf("fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// No input costs more than linear time: adversarial inputs at the size
// limits finish far below the bound even under the race detector.
func TestWorkBound(t *testing.T) {
	inputs := []string{
		strings.Repeat("@", 1<<20),
		strings.Repeat("%25", 1<<16),
		strings.Repeat("http:", 1<<14),
		strings.Repeat("[", 1<<16),
		strings.Repeat("a@b ", 1<<14),
		strings.Repeat("1.", 1<<16),
		strings.Repeat("⑯", 1<<14),
		strings.Repeat("\ufdfa", 1<<12),
		strings.Repeat("::", 1<<14),
		strings.Repeat("%E3%80%82", 1<<12),
		"http://" + strings.Repeat("%2540", 2000),
		strings.Repeat("1-", 1<<12) + ".sslip.io",
		strings.Repeat("a", 1<<16) + ".1u.ms",
	}
	for _, in := range inputs {
		start := time.Now()
		hs := Hosts(in)
		for _, h := range hs {
			Canonical(h)
		}
		ParseAddr(in)
		WildcardDNS(in)
		Canonical(in)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("input of %d bytes (%.20q...) took %v", len(in), in, d)
		}
		if len(hs) > maxHosts {
			t.Errorf("%d hosts", len(hs))
		}
	}
}

func TestCanonicalAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		Canonical("api.example.com")
		Canonical("169.254.169.254")
		Canonical("metadata.google.internal")
	})
	if n != 0 {
		t.Errorf("Canonical of plain lower-case hosts allocates %v times", n)
	}
}
