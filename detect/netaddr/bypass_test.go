package netaddr

import (
	"bufio"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// testdata/ssrf-bypasses.txt is a verbatim copy of the shared
// /work/shared/testdata/ssrf-bypasses.txt (sources and licences in its
// header). Every non-comment line is checked below: by default a line must
// yield 169.254.169.254 through Hosts and Canonical; the maps list the
// lines that name another metadata address, a metadata host name, or no
// metadata address at all.

// otherMetadata: lines naming a metadata address other than 169.254.169.254.
var otherMetadata = map[string]string{
	"http://[fd00:ec2::254]":                     "fd00:ec2::254",
	"http://169.254.170.2/v2/credentials/<UUID>": "169.254.170.2",
	"http://192.0.0.192/latest/":                 "192.0.0.192",
	"http://100.100.100.200/latest/meta-data/":   "100.100.100.200",
}

// hostnameLines name a metadata service by host name, which only a resolver
// turns into an address: Hosts must return the name and Canonical must not
// invent an address for it.
var hostnameLines = map[string]string{
	"http://instance-data":                                     "instance-data",
	"http://metadata.google.internal/computeMetadata/v1/":      "metadata.google.internal",
	"http://metadata/computeMetadata/v1/":                      "metadata",
	"http://metadata.google.internal/computeMetadata/v1beta1/": "metadata.google.internal",
	"gopher://metadata.google.internal:80/xGET%20/computeMetadata/v1/instance/attributes/ssh-keys%20HTTP%2f%31%2e%31%0AHost:%20metadata.google.internal%0AAccept:%20%2a%2f%2a%0aMetadata-Flavor:%20Google%0d%0a": "metadata.google.internal",
	"http://rancher-metadata/<version>/<path>": "rancher-metadata",
}

// notMetadata lists the lines that name no metadata address, why, and what
// they must yield instead (addresses, or host names when no address).
// None of them may yield a metadata address.
var notMetadata = map[string]struct {
	why   string
	addrs []string
	hosts []string
}{
	// Redirectors: the host contacted is the redirector; the metadata
	// address, if written at all, is in the path.
	"Static:http://nicob.net/redir6a":                              {why: "redirector (nicob.net); target not in the URL", hosts: []string{"nicob.net"}},
	"Dynamic:http://nicob.net/redir-http-169.254.169.254:80-":      {why: "redirector (nicob.net); 169.254.169.254 only in the path", hosts: []string{"nicob.net"}},
	"https://62epax5fhvj3zzmzigyoe5ipkbn7fysllvges3a.302.r3dir.me": {why: "redirector (r3dir.me); target encoded in a label this package does not decode", hosts: []string{"62epax5fhvj3zzmzigyoe5ipkbn7fysllvges3a.302.r3dir.me"}},

	// Generic techniques shown for 127.0.0.1 (applied to 169.254.169.254 in
	// TestTechniquesOnMetadata).
	"http://0177.0.0.1/ = http://127.0.0.1":  {why: "127.0.0.1, octal", addrs: []string{"127.0.0.1"}},
	"http://o177.0.0.1/ = http://127.0.0.1":  {why: "127.0.0.1, Perl-style octal prefix", addrs: []string{"127.0.0.1"}},
	"http://0o177.0.0.1/ = http://127.0.0.1": {why: "127.0.0.1, Python/JavaScript octal prefix", addrs: []string{"127.0.0.1"}},
	"http://q177.0.0.1/ = http://127.0.0.1":  {why: "127.0.0.1 claimed; no known parser reads a 'q' prefix, so no address", hosts: []string{"q177.0.0.1"}},
	"http://127.1":                           {why: "127.0.0.1, short form", addrs: []string{"127.0.0.1"}},
	"http://127.0.1":                         {why: "127.0.0.1, short form", addrs: []string{"127.0.0.1"}},
	"http://0/":                              {why: "0.0.0.0", addrs: []string{"0.0.0.0"}},
	"http://[0:0:0:0:0:ffff:127.0.0.1]":      {why: "127.0.0.1, IPv4-mapped", addrs: []string{"127.0.0.1"}},
	"http://[::ffff:127.0.0.1]":              {why: "127.0.0.1, IPv4-mapped", addrs: []string{"127.0.0.1"}},
	"http://127.0.0.1/%61dmin":               {why: "127.0.0.1, encoded path", addrs: []string{"127.0.0.1"}},
	"http://127.0.0.1/%2561dmin":             {why: "127.0.0.1, double-encoded path", addrs: []string{"127.0.0.1"}},
	"http://ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ = example.com":       {why: "example.com in enclosed letters", hosts: []string{"example.com"}},
	"company.127.0.0.1.nip.io":               {why: "127.0.0.1 via nip.io", addrs: []string{"127.0.0.1"}},
	"localtest.me":                           {why: "public name resolving to loopback; needs DNS", hosts: []string{"localtest.me"}},
	"http://127.1.1.1:80\\@127.2.2.2:80/":    {why: "loopback, backslash confusion", addrs: []string{"127.1.1.1", "127.2.2.2"}},
	"http://127.1.1.1:80\\@@127.2.2.2:80/":   {why: "loopback, backslash confusion", addrs: []string{"127.1.1.1", "127.2.2.2"}},
	"http://127.1.1.1:80:\\@@127.2.2.2:80/":  {why: "loopback, backslash confusion", addrs: []string{"127.1.1.1", "127.2.2.2"}},
	"http://127.1.1.1:80#\\@127.2.2.2:80/":   {why: "loopback, fragment confusion", addrs: []string{"127.1.1.1", "127.2.2.2"}},
	"http:127.0.0.1/":                        {why: "127.0.0.1, missing slashes", addrs: []string{"127.0.0.1"}},
	"http://1.1.1.1 &@2.2.2.2# @3.3.3.3/":    {why: "parser-confusion example with public addresses", addrs: []string{"1.1.1.1", "2.2.2.2", "3.3.3.3"}},
	"http://ß.localdomain.pw/":               {why: "resolves to loopback through DNS (after IDNA2003's ß -> ss)", hosts: []string{"ß.localdomain.pw"}},

	// The historical list's base-36 label is byte-swapped: "1ynrnhl" is
	// 0xfea9fea9, and xip.io (big-endian) resolved it to 254.169.254.169.
	// 169.254.169.254 is "1b613i6" (TestBase36, TestTechniquesOnMetadata).
	"http://1ynrnhl.nip.io/":               {why: "base 36 of the byte-swapped address", addrs: []string{"254.169.254.169"}},
	"http://www.owasp.org.1ynrnhl.nip.io/": {why: "base 36 of the byte-swapped address", addrs: []string{"254.169.254.169"}},
	"http://1ynrnhl.xip.io/":               {why: "base 36 of the byte-swapped address", addrs: []string{"254.169.254.169"}},
	"http://www.owasp.org.1ynrnhl.xip.io/": {why: "base 36 of the byte-swapped address", addrs: []string{"254.169.254.169"}},

	// Shell trick: $google expands to nothing, giving evil.com; unexpanded,
	// the host ends at '$'.
	`curl -v "http://evil$google.com"`: {why: "shell-variable trick aimed at evil.com", hosts: []string{"evil"}},
}

// readBypasses returns the non-comment lines of the copied list.
func readBypasses(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/ssrf-bypasses.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// lineInput returns what a detector would hand to Hosts for a line: the
// left side of "X = Y" explanations, or each word of a command line.
func lineInput(line string) []string {
	if strings.HasPrefix(line, "curl ") {
		var words []string
		for _, w := range strings.Fields(line) {
			words = append(words, strings.Trim(w, `"'`))
		}
		return words
	}
	if l, _, ok := strings.Cut(line, " = "); ok {
		return []string{l}
	}
	return []string{line}
}

func lineHosts(line string) []string {
	var hs []string
	for _, in := range lineInput(line) {
		hs = append(hs, Hosts(in)...)
	}
	return hs
}

func lineAddrs(line string) []netip.Addr {
	var out []netip.Addr
	for _, in := range lineInput(line) {
		out = append(out, resolve(in)...)
	}
	return out
}

func TestBypassList(t *testing.T) {
	lines := readBypasses(t)
	seen := map[string]bool{}
	templates := 0
	for _, line := range lines {
		seen[line] = true
		if strings.Contains(line, "{IP}") || strings.Contains(line, "{OK}") {
			templates++ // instantiated in TestBypassTemplates
			continue
		}
		got := lineAddrs(line)
		hosts := lineHosts(line)
		if nm, ok := notMetadata[line]; ok {
			for _, a := range got {
				if isMetadata(a) {
					t.Errorf("%q (%s) yields metadata address %v", line, nm.why, a)
				}
			}
			for _, w := range nm.addrs {
				if !slices.Contains(got, netip.MustParseAddr(w)) {
					t.Errorf("%q: addresses %v, missing %s", line, got, w)
				}
			}
			for _, w := range nm.hosts {
				if !slices.Contains(hosts, w) {
					t.Errorf("%q: hosts %q, missing %q", line, hosts, w)
				}
			}
			continue
		}
		if name, ok := hostnameLines[line]; ok {
			if !slices.Contains(hosts, name) {
				t.Errorf("%q: hosts %q, missing %q", line, hosts, name)
			}
			if a, ok := Canonical(name); ok {
				t.Errorf("Canonical(%q) = %v, want no address", name, a)
			}
			for _, a := range got {
				if isMetadata(a) {
					t.Errorf("%q yields metadata address %v without DNS", line, a)
				}
			}
			continue
		}
		want := imds
		if w, ok := otherMetadata[line]; ok {
			want = netip.MustParseAddr(w)
		}
		if !slices.Contains(got, want) {
			t.Errorf("%q: hosts %q give %v, want %v", line, hosts, got, want)
		}
		// "X = http://169.254.169.254": both sides agree.
		if _, r, ok := strings.Cut(line, " = "); ok {
			if rs := resolve(r); !slices.Contains(rs, want) {
				t.Errorf("%q: right side gives %v", line, rs)
			}
		}
	}
	if templates != 14 {
		t.Errorf("found %d ip.py template lines, want 14", templates)
	}
	for _, m := range []map[string]string{otherMetadata, hostnameLines} {
		for line := range m {
			if !seen[line] {
				t.Errorf("expectation for a line not in the list: %q", line)
			}
		}
	}
	for line := range notMetadata {
		if !seen[line] {
			t.Errorf("expectation for a line not in the list: %q", line)
		}
	}
	if len(lines) != 98 {
		t.Errorf("%d lines read, want the 98 of the copied list", len(lines))
	}
}

// imdsEncodings returns the hosts of the list's lines that spell
// 169.254.169.254 (taken without Hosts: scheme and path cut off by hand),
// and the further spellings of metadata-endpoints.md section 2.
func imdsEncodings(t *testing.T) []string {
	var encs []string
	for _, line := range readBypasses(t) {
		if _, skip := otherMetadata[line]; skip {
			continue
		}
		if _, skip := notMetadata[line]; skip {
			continue
		}
		if _, skip := hostnameLines[line]; skip || strings.Contains(line, "{") {
			continue
		}
		l, _, _ := strings.Cut(line, " = ")
		h, ok := strings.CutPrefix(l, "http://")
		if !ok {
			continue
		}
		h, _, _ = strings.Cut(h, "/")
		if !slices.Contains(encs, h) {
			encs = append(encs, h)
		}
	}
	if len(encs) < 25 {
		t.Fatalf("only %d encodings: %q", len(encs), encs)
	}
	for _, e := range []string{
		"0xA9.254.0251.0376", "169.254.43518", "169.16689662", "00251.16689662",
		"[64:ff9b::a9fe:a9fe]", "169.254.169.254.", "1b613i6.xip.io",
		"www.owasp.org.1b613i6.nip.io", "169-254-169-254.sslip.io", "a9fea9fe.nip.io",
		"169%2E254%2E169%2E254", "169%E3%80%82254%E3%80%82169%E3%80%82254",
		"make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms", "[::ffff:169.254.169.254]",
	} {
		if !slices.Contains(encs, e) {
			encs = append(encs, e)
		}
	}
	return encs
}

// The ip.py templates with every encoding of 169.254.169.254 as {IP}.
func TestBypassTemplates(t *testing.T) {
	var templates []string
	n := 0
	for _, line := range readBypasses(t) {
		if strings.Contains(line, "{IP}") {
			n++
			templates = append(templates, line)
			// The list writes the tab injection as a literal "\t"; try a
			// real tab too.
			if strings.Contains(line, `\t`) {
				templates = append(templates, strings.ReplaceAll(line, `\t`, "\t"))
			}
		}
	}
	if n != 14 {
		t.Fatalf("%d templates with {IP}, want 14", n)
	}
	encs := imdsEncodings(t)
	fill := func(tmpl, ip string) string {
		return strings.NewReplacer("{IP}", ip, "{PORT}", "80", "{OK}", "allowed.example.com", "{RND}", "x7Rq2").Replace(tmpl)
	}
	for _, ip := range encs {
		if a, ok := Canonical(ip); !ok || a != imds {
			t.Errorf("Canonical(%q) = %v, %v", ip, a, ok)
		}
		for _, tmpl := range templates {
			u := fill(tmpl, ip)
			if got := resolve(u); !slices.Contains(got, imds) {
				t.Errorf("%q: hosts %q give %v", u, Hosts(u), got)
			}
		}
	}
	// The same templates around look-alikes yield no metadata address.
	for _, ip := range []string{"169.254.169.253", "0xa9fea9fd", "169.254.169.2540", "1ynrnhl.xip.io", "metadata-api"} {
		for _, tmpl := range templates {
			u := fill(tmpl, ip)
			for _, a := range resolve(u) {
				if isMetadata(a) {
					t.Errorf("%q yields metadata address %v", u, a)
				}
			}
		}
	}
}

// The techniques the list shows for 127.0.0.1, and the section 2 facts,
// applied to the metadata addresses.
func TestTechniquesOnMetadata(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://0251.0376.0251.0376/", "169.254.169.254"},
		{"http://0o251.0o376.0o251.0o376/", "169.254.169.254"},
		{"http://o251.o376.o251.o376/", "169.254.169.254"},
		{"http://169.254.43518", "169.254.169.254"},
		{"http://169.16689662", "169.254.169.254"},
		{"http://[0:0:0:0:0:ffff:169.254.169.254]", "169.254.169.254"},
		{"http://[::ffff:169.254.169.254]", "169.254.169.254"},
		{"http://[::169.254.169.254]/", "169.254.169.254"},
		{"http://[64:ff9b::169.254.169.254]/", "169.254.169.254"},
		{"http://169.254.169.254/%61dmin", "169.254.169.254"},
		{"http://169.254.169.254/%2561dmin", "169.254.169.254"},
		{"http://ⓘⓝⓢⓣⓐⓝⓒⓔ-ⓓⓐⓣⓐ.nip.io.169.254.169.254.nip.io", "169.254.169.254"},
		{"company.169.254.169.254.nip.io", "169.254.169.254"},
		{"http://www.owasp.org.1b613i6.nip.io/", "169.254.169.254"},
		{"http://1b613i6.xip.io/", "169.254.169.254"},
		{"http://169.254.169.254:80\\@127.2.2.2:80/", "169.254.169.254"},
		{"http://127.1.1.1:80\\@169.254.169.254:80/", "169.254.169.254"},
		{"http://127.1.1.1:80\\@@169.254.169.254:80/", "169.254.169.254"},
		{"http://127.1.1.1:80:\\@@169.254.169.254:80/", "169.254.169.254"},
		{"http://127.1.1.1:80#\\@169.254.169.254:80/", "169.254.169.254"},
		{"http:169.254.169.254/", "169.254.169.254"},
		{"http:0xa9fea9fe/", "169.254.169.254"},
		{"http://169.254.169.254 &@2.2.2.2# @3.3.3.3/", "169.254.169.254"},
		{"http://1.1.1.1 &@169.254.169.254# @3.3.3.3/", "169.254.169.254"},
		{"http://1.1.1.1 &@2.2.2.2# @169.254.169.254/", "169.254.169.254"},
		{"http://169.254.1698.254\\@attacker.com", "0.0.0.0"}, // see below
		{"http://⑯⑨。②⑤④。⑰⓪。②/", "169.254.170.2"},
		{"http://100.100.100.200.nip.io/latest/meta-data/", "100.100.100.200"},
		{"http://[fd00:ec2::254]:80/latest/meta-data/", "fd00:ec2::254"},
		{"http://[FD00:EC2:0:0:0:0:0:254]/", "fd00:ec2::254"},
		{"http://[fe80::a9fe:a9fe%25eth0]/openstack", "fe80::a9fe:a9fe"},
		{"fe80::a9fe:a9fe%eth0", "fe80::a9fe:a9fe"},
		{"http://fd00-ec2--254.sslip.io/latest/", "fd00:ec2::254"},
		{"http://instance-data@169.254.169.254/", "169.254.169.254"},
		{"http://169.254.169.254.:80/latest/", "169.254.169.254"},
		{"http://169.254.169.254%2509allowed.example.com/", "169.254.169.254"},
		{"http://0xc0.0.0.0xc0/", "192.0.0.192"},
		{"http://1684301000/", "100.100.100.200"},
		{"http://[::ffff:a9fe:aa17]/v1/credentials", "169.254.170.23"},
		{"http://169.254.42.42.sslip.io/conf", "169.254.42.42"},
		{"http://0250.077.0201.020/machine/?comp=goalstate", "168.63.129.16"},
	} {
		got := resolve(tc.in)
		if tc.want == "0.0.0.0" {
			// HT's "169.254.1698.254\@attacker.com": 1698 is no octet; the
			// per-part modulo reads it as 169.254.162.254, not metadata.
			for _, a := range got {
				if isMetadata(a) {
					t.Errorf("%q yields %v", tc.in, a)
				}
			}
			continue
		}
		if !slices.Contains(got, netip.MustParseAddr(tc.want)) {
			t.Errorf("%q: hosts %q give %v, want %s", tc.in, Hosts(tc.in), got, tc.want)
		}
	}
}
