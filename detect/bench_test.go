package detect

import "testing"

var benchCommands = [][]string{
	{"ls", "-la", "/app"},
	{"sh"},
	{"tar", "cf", "-", "/var/log/app"},
	{"cat", "/etc/os-release"},
	{"sh", "-c", "du -sh /tmp && ls /tmp | head"},
	{"curl", "-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
	{"sh", "-c", `TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600"); curl -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/iam/security-credentials/node-role`},
	{"python3", "-c", "import sys; print(sys.version)"},
}

// BenchmarkAnalyze is the strict engine on a typical mix of exec commands,
// shell normalization on.
func BenchmarkAnalyze(b *testing.B) {
	s := NewStrict()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Analyze(benchCommands[i%len(benchCommands)])
	}
}

func BenchmarkAnalyzePlain(b *testing.B) {
	s := NewStrict()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Analyze(benchCommands[0])
	}
}
