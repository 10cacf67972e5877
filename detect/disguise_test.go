package detect

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// The generated matrix: every endpoint, reached through every carrier,
// with the host in several spellings and the command under several shell
// disguises. Each combination must alert with the endpoint's target and
// access.
type genEndpoint struct {
	hosts          []string // spellings of the same host
	method, path   string
	header         string // "Name: value" or ""
	target, access string
}

var imdsSpellings = []string{"169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518", "[::ffff:a9fe:a9fe]", "169.254.169.254.nip.io", "0xA9.0xFE.0xA9.0xFE", "169。254。169。254"}

var genEndpoints = []genEndpoint{
	{imdsSpellings, "GET", "/latest/meta-data/iam/security-credentials/node-role", "", TargetAWSIMDS, AccessCredential},
	{imdsSpellings[:4], "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600", TargetAWSIMDS, AccessCredential},
	{imdsSpellings[:3], "GET", "/latest/user-data", "", TargetAWSIMDS, AccessSensitive},
	{imdsSpellings[:3], "GET", "/latest/meta-data/instance-id", "", TargetAWSIMDS, AccessRecon},
	{[]string{"metadata.google.internal", "METADATA.GOOGLE.INTERNAL.", "169.254.169.254", "metadata"}, "GET", "/computeMetadata/v1/instance/service-accounts/default/token", "Metadata-Flavor: Google", TargetGCP, AccessCredential},
	{[]string{"metadata.google.internal", "0xa9fea9fe"}, "GET", "/computeMetadata/v1/instance/attributes/kube-env", "Metadata-Flavor: Google", TargetGCP, AccessSensitive},
	{imdsSpellings[:4], "GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/", "Metadata: true", TargetAzureIMDS, AccessCredential},
	{imdsSpellings[:2], "GET", "/metadata/instance?api-version=2021-02-01", "Metadata: true", TargetAzureIMDS, AccessRecon},
	{[]string{"169.254.170.2", "2852039170", "0xa9feaa02"}, "GET", "/v2/credentials/8a1c9e3e-1c2d-4d5e-9f00-5a6b7c8d9e0f", "", TargetAWSContainer, AccessCredential},
	{[]string{"100.100.100.200", "1684300900"}, "GET", "/latest/meta-data/ram/security-credentials/app-role", "", TargetAlibaba, AccessCredential},
	{imdsSpellings[:3], "GET", "/opc/v2/identity/key.pem", "Authorization: Bearer Oracle", TargetOracle, AccessCredential},
	{[]string{"168.63.129.16", "2822734096"}, "GET", "/machine/?comp=goalstate", "x-ms-version: 2012-11-30", TargetAzureWireServer, AccessSensitive},
	{imdsSpellings[:2], "GET", "/openstack/latest/user_data", "", TargetOpenStack, AccessSensitive},
}

type carrier func(method, url, header string) string

func splitHeader(h string) (string, string) {
	n, v, _ := strings.Cut(h, ": ")
	return n, v
}

var carriers = map[string]carrier{
	"curl": func(m, u, h string) string {
		c := "curl -s -X " + m
		if h != "" {
			c += " -H '" + h + "'"
		}
		return c + " '" + u + "'"
	},
	"wget": func(m, u, h string) string {
		c := "wget -qO- --method=" + m
		if h != "" {
			c += " --header='" + h + "'"
		}
		return c + " '" + u + "'"
	},
	"python": func(m, u, h string) string {
		n, v := splitHeader(h)
		hdr := "{}"
		if h != "" {
			hdr = "{'" + n + "': '" + v + "'}"
		}
		return `python3 -c "import requests; print(requests.request('` + m + `', '` + u + `', headers=` + hdr + `).text)"`
	},
	"pwsh": func(m, u, h string) string {
		n, v := splitHeader(h)
		hdr := ""
		if h != "" {
			hdr = ` -Headers @{'` + n + `'='` + v + `'}`
		}
		return `pwsh -c "Invoke-RestMethod -Method ` + m + hdr + ` -Uri '` + u + `'"`
	},
	"devtcp": func(m, u, h string) string {
		host, path := hostPath(u)
		req := m + " " + path + ` HTTP/1.0\r\n`
		if h != "" {
			req += h + `\r\n`
		}
		return "exec 3<>/dev/tcp/" + host + "/80; printf '" + req + `\r\n' >&3; cat <&3`
	},
	"nc": func(m, u, h string) string {
		host, path := hostPath(u)
		req := m + " " + path + ` HTTP/1.0\r\n`
		if h != "" {
			req += h + `\r\n`
		}
		return "printf '" + req + `\r\n' | nc ` + strings.Trim(host, "[]") + " 80"
	},
	"renamed": func(m, u, h string) string {
		c := "/tmp/.x/cd1 -fsSL -X " + m
		if h != "" {
			c += " -H '" + h + "'"
		}
		return c + " " + u
	},
}

func hostPath(u string) (string, string) {
	rest := strings.TrimPrefix(u, "http://")
	i := strings.Index(rest, "/")
	return rest[:i], rest[i:]
}

type disguise func(cmd string) string

var disguises = map[string]disguise{
	"plain": func(c string) string { return c },
	"base64": func(c string) string {
		return "echo " + base64.StdEncoding.EncodeToString([]byte(c)) + " | base64 -d | sh"
	},
	"b64here": func(c string) string {
		return `bash <<< "$(echo ` + base64.StdEncoding.EncodeToString([]byte(c)) + ` | base64 --decode)"`
	},
	"printf": func(c string) string {
		var b strings.Builder
		for i := 0; i < len(c); i++ {
			fmt.Fprintf(&b, `\x%02x`, c[i])
		}
		return `sh -c "$(printf '` + b.String() + `')"`
	},
	"nested": func(c string) string { return "bash -c " + shQuote("sh -c "+shQuote(c)) },
	"eval":   func(c string) string { return "X=" + shQuote(c) + "; eval \"$X\"" },
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestGeneratedDisguises(t *testing.T) {
	s := NewStrict()
	n, failed := 0, 0
	for _, ep := range genEndpoints {
		for _, host := range ep.hosts {
			u := "http://" + host + ep.path
			for cname, carry := range carriers {
				if (cname == "devtcp" || cname == "nc") && strings.Contains(ep.path, "?resource=https://") {
					continue // a raw request line carries the same path; covered by curl
				}
				for dname, disguise := range disguises {
					cmd := disguise(carry(ep.method, u, ep.header))
					n++
					v := s.Analyze([]string{"sh", "-c", cmd})
					if !v.Match || v.CloudTarget != ep.target || v.Access != ep.access {
						failed++
						if failed <= 25 {
							t.Errorf("%s/%s/%s: got match=%v %s %s, want %s %s\n  cmd: %s\n  texts: %q\n  indicators: %+v",
								host, cname, dname, v.Match, v.CloudTarget, v.Access, ep.target, ep.access, cmd, v.Texts, v.Indicators)
						}
					}
				}
			}
		}
	}
	t.Logf("%d generated attacks, %d wrong", n, failed)
	if n < 1000 {
		t.Fatalf("only %d combinations", n)
	}
}
