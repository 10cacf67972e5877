package netaddr

import "testing"

var benchHosts = []string{
	"api.example.com",
	"registry-1.docker.io",
	"metadata.google.internal",
	"kubernetes.default.svc.cluster.local",
	"169.254.169.254",
	"2852039166",
	"0xa9fea9fe",
	"0251.00376.000251.0000376",
	"425.510.425.510",
	"[::ffff:a9fe:a9fe]",
	"[fe80::a9fe:a9fe%25eth0]",
	"169.254.169.254.nip.io",
	"1b613i6.xip.io",
	"make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms",
	"169%E3%80%82254%E3%80%82169%E3%80%82254",
	"⑯⑨。②⑤④。⑯⑨。②⑤④",
}

var sinkOK bool

func BenchmarkCanonical(b *testing.B) {
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_, sinkOK = Canonical(benchHosts[i%len(benchHosts)])
		}
	})
	for _, h := range benchHosts {
		b.Run(h, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, sinkOK = Canonical(h)
			}
		})
	}
}

var sinkHosts []string

func BenchmarkHosts(b *testing.B) {
	for _, u := range []string{
		"https://api.example.com/v1/items?limit=10",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://x7Rq2@allowed.example.com@0xa9fea9fe:80/",
		"http://169%E3%80%82254%E3%80%82169%E3%80%82254:80%2509allowed.example.com/",
	} {
		b.Run(u, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkHosts = Hosts(u)
			}
		})
	}
}
