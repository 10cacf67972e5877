package shellnorm

import (
	"testing"
)

func BenchmarkNormalizePlain(b *testing.B) {
	argv := []string{"ls", "-la", "/app"}
	b.ReportAllocs()
	for b.Loop() {
		Normalize(argv, Options{})
	}
}

func BenchmarkNormalizeShell(b *testing.B) {
	argv := []string{"sh", "-c", `TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600") && curl -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/iam/security-credentials/`}
	b.ReportAllocs()
	for b.Loop() {
		Normalize(argv, Options{})
	}
}

func BenchmarkNormalizeBase64(b *testing.B) {
	argv := []string{"bash", "-c", "echo " + b64("curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/") + " | base64 -d | sh"}
	b.ReportAllocs()
	for b.Loop() {
		Normalize(argv, Options{})
	}
}

// BenchmarkNormalizeCases runs the whole case table once per iteration.
func BenchmarkNormalizeCases(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			Normalize(c.argv, Options{Env: c.env})
		}
	}
}

// BenchmarkNormalizeHostile reports the time of each hostile input.
func BenchmarkNormalizeHostile(b *testing.B) {
	for _, c := range hostile {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(c.argv, Options{})
			}
		})
	}
}
