package auditgen

import (
	"net/url"
	"strings"
)

// BenignArgv are commands people and scripts commonly run with kubectl exec.
// None of them touches an instance metadata service. Each entry is the argv
// kubectl sends (after the local shell has split the command line).
var BenignArgv = [][]string{
	{"sh"},
	{"bash"},
	{"ls", "-la", "/app"},
	{"cat", "/etc/os-release"},
	{"env"},
	{"ps", "aux"},
	{"tar", "cf", "-", "/var/log/app"}, // kubectl cp from the pod
	{"test", "-d", "/tmp"},             // kubectl cp checks the target first
	{"nslookup", "kubernetes.default"},
	{"curl", "-s", "http://localhost:8080/healthz"},
	{"cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"},
	{"redis-cli", "info"},
	{"psql", "-c", "select 1"},
	{"df", "-h"},
	{"sh", "-c", "du -sh /tmp && ls /tmp | head"},
	{"printenv", "HOSTNAME"},
	{"wget", "-qO-", "http://api.prod.svc.cluster.local:8080/ready"},
	{"python3", "-c", "import sys; print(sys.version)"},
	{"nginx", "-s", "reload"},
	{"date", "-u"},
}

// AttackArgv are commands that read credentials or instance data from a
// cloud instance metadata service, as kubectl sends them. The first four are
// AWS IMDSv1 role credentials, AWS IMDSv2 (token then credentials), a GCP
// service-account token and an Azure managed-identity token.
var AttackArgv = [][]string{
	{"curl", "-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
	{"sh", "-c", `TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600"); curl -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/iam/security-credentials/node-role`},
	{"curl", "-H", "Metadata-Flavor: Google", "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"},
	{"curl", "-H", "Metadata:true", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"},
	{"wget", "-qO-", "http://169.254.169.254/latest/user-data"},
	{"curl", "http://169.254.169.254/metadata/instance?api-version=2021-02-01", "-H", "Metadata:true"},
	{"python3", "-c", "import urllib.request;print(urllib.request.urlopen('http://169.254.169.254/latest/meta-data/').read())"},
	{"curl", "-s", "http://169.254.169.254/latest/dynamic/instance-identity/document"},
	// The variable must be expanded inside the container, so the command
	// goes through sh -c: kubectl itself runs no shell.
	{"sh", "-c", "curl -s http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"},
}

// Interactive reports whether argv is what someone runs with kubectl exec -it:
// a bare shell.
func Interactive(argv []string) bool {
	if len(argv) != 1 {
		return false
	}
	switch argv[0] {
	case "sh", "bash", "/bin/sh", "/bin/bash", "ash", "zsh":
		return true
	}
	return false
}

// ExecRequestURI returns the request URI kubectl uses for
// kubectl exec [-it] POD -c CONTAINER -- ARGV...: one command parameter per
// argument, then container and the stream flags, encoded by url.Values
// (keys sorted, spaces as +). With interactive (-it) kubectl asks for stdin,
// stdout and a TTY; without, for stdout and stderr.
func ExecRequestURI(namespace, pod, container string, argv []string, interactive bool) string {
	q := url.Values{}
	q["command"] = append([]string(nil), argv...)
	if container != "" {
		q.Set("container", container)
	}
	if interactive {
		q.Set("stdin", "true")
		q.Set("stdout", "true")
		q.Set("tty", "true")
	} else {
		q.Set("stderr", "true")
		q.Set("stdout", "true")
	}
	var b strings.Builder
	b.WriteString("/api/v1/namespaces/")
	b.WriteString(url.PathEscape(namespace))
	b.WriteString("/pods/")
	b.WriteString(url.PathEscape(pod))
	b.WriteString("/exec?")
	b.WriteString(q.Encode())
	return b.String()
}
