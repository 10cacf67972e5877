package esql

import (
	"strings"
	"testing"
)

const execPath = "/api/v1/namespaces/default/pods/web-0/exec?"

// ruleCases is one table of documents, reused by the tests below: what the
// published rule does with each, blind spots included.
var ruleCases = []struct {
	name  string
	sub   string
	uri   string
	miss  Miss
	cmd   string // Esql.executed_command when matched
	cloud string
	theft string
}{
	{name: "kubectl order, AWS credentials", sub: "exec",
		uri:  execPath + "command=curl&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2F&container=web&stderr=true&stdout=true",
		miss: Matched, cmd: "curl http://169.254.169.254/latest/meta-data/iam/security-credentials/", cloud: "AWS_IMDS", theft: "yes"},
	{name: "GCP token by hostname", sub: "exec",
		uri:  execPath + "command=sh&command=-c&command=curl+-H+%22Metadata-Flavor%3A+Google%22+http%3A%2F%2Fmetadata.google.internal%2FcomputeMetadata%2Fv1%2Finstance%2Fservice-accounts%2Fdefault%2Ftoken&container=app&stdin=true&stdout=true&tty=true",
		miss: Matched, cmd: `sh -c curl -H "Metadata-Flavor: Google" http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token`, cloud: "GCP_METADATA", theft: "yes"},
	{name: "blind spot: Azure through the shared address is labelled AWS", sub: "exec",
		uri:  execPath + "command=curl&command=-H&command=Metadata%3Atrue&command=http%3A%2F%2F169.254.169.254%2Fmetadata%2Fidentity%2Foauth2%2Ftoken&container=c&stdout=true",
		miss: Matched, cmd: "curl -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token", cloud: "AWS_IMDS", theft: "yes"},
	{name: "Azure instance metadata is UNKNOWN without the address", sub: "exec",
		uri:  execPath + "command=curl&command=http%3A%2F%2Fimds%2Fmetadata%2Finstance&container=c&stdout=true",
		miss: Matched, cmd: "curl http://imds/metadata/instance", cloud: "UNKNOWN", theft: "recon"},
	{name: "blind spot: IMDSv2 token PUT counts as credential theft", sub: "exec",
		uri:  execPath + "command=curl&command=-X&command=PUT&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fapi%2Ftoken&container=c&stdout=true",
		miss: Matched, cmd: "curl -X PUT http://169.254.169.254/latest/api/token", cloud: "AWS_IMDS", theft: "yes"},
	{name: "blind spot: a literal plus (%2B) becomes a space", sub: "exec",
		uri:  execPath + "command=echo&command=a%2Bb&command=169.254.169.254&container=c&stdout=true",
		miss: Matched, cmd: "echo a b 169.254.169.254", cloud: "AWS_IMDS", theft: "recon"},
	{name: "blind spot: an escaped & inside an argument splits it", sub: "exec",
		uri:  execPath + "command=sh&command=-c&command=true%26%26curl+169.254.169.254&container=c&stdout=true",
		miss: Matched, cmd: "sh -c true  curl 169.254.169.254", cloud: "AWS_IMDS", theft: "recon"},
	{name: "blind spot: command after container is cut off", sub: "exec",
		uri:  execPath + "command=curl&container=c&command=169.254.169.254&stdout=true",
		miss: MissNoIndicator},
	{name: "blind spot: command parameters last", sub: "exec",
		uri:  execPath + "stdout=true&command=curl&command=169.254.169.254",
		miss: MissGrok},
	{name: "blind spot: only tty after the command", sub: "exec",
		uri:  execPath + "command=curl&command=169.254.169.254&tty=true",
		miss: MissGrok},
	{name: "blind spot: a newline in the command defeats GROK", sub: "exec",
		uri:  execPath + "command=sh&command=-c&command=true%0Acurl+169.254.169.254&container=c&stdout=true",
		miss: MissGrok},
	{name: "blind spot: a stray percent sign makes URL_DECODE fail", sub: "exec",
		uri:  execPath + "command=sh&command=-c&command=echo+100%+%3B+curl+169.254.169.254&container=c&stdout=true",
		miss: MissDecodeError},
	{name: "Java quirk: %+1 decodes to a control byte instead of failing", sub: "exec",
		uri:  execPath + "command=curl%+1&command=169.254.169.254&container=c&stdout=true",
		miss: Matched, cmd: "curl\x01 169.254.169.254", cloud: "AWS_IMDS", theft: "recon"},
	{name: "blind spot: upper-case hex address", sub: "exec",
		uri:  execPath + "command=curl&command=0xA9FEA9FE&container=c&stdout=true",
		miss: MissNoIndicator},
	{name: "blind spot: upper-case GCP hostname without a path", sub: "exec",
		uri:  execPath + "command=curl&command=METADATA.GOOGLE.INTERNAL&container=c&stdout=true",
		miss: MissNoIndicator},
	{name: "blind spot: octal address", sub: "exec",
		uri:  execPath + "command=curl&command=0251.0376.0251.0376&container=c&stdout=true",
		miss: MissNoIndicator},
	{name: "blind spot: escaped dots are decoded but ECS task credentials are unknown", sub: "exec",
		uri:  execPath + "command=curl&command=169.254.170.2%2Fv2%2Fcredentials&container=c&stdout=true",
		miss: MissNoIndicator},
	{name: "blind spot: a URI over 1024 characters is not indexed", sub: "exec",
		uri:  execPath + "command=curl&command=169.254.169.254&command=" + strings.Repeat("A", 1000) + "&container=c&stdout=true",
		miss: MissURITooLong},
	{name: "not exec", sub: "attach",
		uri:  "/api/v1/namespaces/default/pods/web-0/attach?command=169.254.169.254&container=c&stdout=true",
		miss: MissNotExec},
	{name: "no command", sub: "exec",
		uri:  execPath + "container=c&stdin=true&stdout=true&tty=true",
		miss: MissNoCommand},
	{name: "benign exec", sub: "exec",
		uri:  execPath + "command=bash&container=nginx1&container=nginx1&stdin=true&stdout=true&tty=true",
		miss: MissNoIndicator},
}

func TestRuleCases(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			sub, uri := c.sub, c.uri
			row, miss, _ := Evaluate(Input{Subresource: &sub, RequestURI: &uri})
			if miss != c.miss {
				t.Fatalf("got %v, want %v", miss, c.miss)
			}
			if miss != Matched {
				return
			}
			if row.ExecutedCommand != c.cmd || row.CloudTarget != c.cloud || row.CredentialTheft != c.theft {
				t.Fatalf("got (%q, %s, %s), want (%q, %s, %s)", row.ExecutedCommand, row.CloudTarget, row.CredentialTheft, c.cmd, c.cloud, c.theft)
			}
		})
	}
}

func TestIgnoreAboveBoundary(t *testing.T) {
	exec := "exec"
	base := execPath + "command=curl&command=169.254.169.254&container=c&stdout=true&x="
	at := base + strings.Repeat("a", IgnoreAbove-len(base))
	over := at + "a"
	if _, miss, _ := Evaluate(Input{Subresource: &exec, RequestURI: &at}); miss != Matched {
		t.Errorf("URI of exactly %d characters: %v", IgnoreAbove, miss)
	}
	if _, miss, _ := Evaluate(Input{Subresource: &exec, RequestURI: &over}); miss != MissURITooLong {
		t.Errorf("URI of %d characters: %v", IgnoreAbove+1, miss)
	}
	// Java counts UTF-16 units: one astral character is two.
	astral := base + strings.Repeat("a", IgnoreAbove-len(base)-1) + "\U0001F600"
	if _, miss, _ := Evaluate(Input{Subresource: &exec, RequestURI: &astral}); miss != MissURITooLong {
		t.Errorf("URI of %d UTF-16 units: %v", utf16Len(astral), miss)
	}
}

func TestNullInputs(t *testing.T) {
	uri := execPath + "command=curl&command=169.254.169.254&container=c"
	if _, miss, _ := Evaluate(Input{RequestURI: &uri}); miss != MissNotExec {
		t.Errorf("null subresource: %v", miss)
	}
	exec := "exec"
	if _, miss, _ := Evaluate(Input{Subresource: &exec}); miss != MissNoCommand {
		t.Errorf("null requestURI: %v", miss)
	}
	upper := "Exec"
	if _, miss, _ := Evaluate(Input{Subresource: &upper, RequestURI: &uri}); miss != MissNotExec {
		t.Errorf("subresource compare must be case-sensitive: %v", miss)
	}
}

func FuzzURLDecode(f *testing.F) {
	for _, c := range ruleCases {
		f.Add(c.uri)
	}
	f.Add("%+1%-0%-1%zz%4")
	f.Add("%F0%9F%98%80%ED%A0%80%E2%82")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := URLDecode(s)
		if err != nil {
			return
		}
		if !strings.Contains(s, "%") && !strings.Contains(s, "+") && out != s {
			t.Fatalf("no escapes but changed: %q -> %q", s, out)
		}
		// Decoding never makes text longer in UTF-16 units.
		if utf16Len(out) > utf16Len(s) {
			t.Fatalf("decoded text grew: %q -> %q", s, out)
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	for _, c := range ruleCases {
		f.Add(c.uri)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		exec := "exec"
		row, miss, err := Evaluate(Input{Subresource: &exec, RequestURI: &uri})
		if (err != nil) != (miss == MissDecodeError) {
			t.Fatalf("error %v with miss %v", err, miss)
		}
		if miss == Matched && !MatchesIndicators(row.ExecutedCommand) {
			t.Fatalf("matched without an indicator: %q", row.ExecutedCommand)
		}
	})
}
