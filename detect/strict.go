package detect

import (
	"strings"

	"github.com/imdsguard/imdsguard/detect/esql"
)

// Strict is the default engine. It matches indicators against the argv that
// the API server would run, not against a decoded request URI, so parameter
// order, escaped separators and newlines cannot hide a command.
type Strict struct {
	needles []needle
}

// StrictOption configures a Strict engine.
type StrictOption func(*Strict)

// NewStrict returns the strict engine.
func NewStrict(opts ...StrictOption) *Strict {
	s := &Strict{needles: ruleNeedles}
	for _, o := range opts {
		o(s)
	}
	return s
}

// needle is a literal the published rule searches for, with what it means.
type needle struct {
	text        string
	kind        string
	canonical   string
	cloudTarget string
}

// ruleNeedles are the published rule's indicators, as data.
var ruleNeedles = []needle{
	{"169.254.169.254", KindAddress, "169.254.169.254", "AWS_IMDS"},
	{"2852039166", KindAddress, "169.254.169.254", "AWS_IMDS"},
	{"0xa9fea9fe", KindAddress, "169.254.169.254", "AWS_IMDS"},
	{"/latest/api/token", KindPath, "/latest/api/token", "AWS_IMDS"},
	{"/latest/meta-data", KindPath, "/latest/meta-data", "AWS_IMDS"},
	{"/latest/user-data", KindPath, "/latest/user-data", "AWS_IMDS"},
	{"/latest/dynamic/instance-identity", KindPath, "/latest/dynamic/instance-identity", "AWS_IMDS"},
	{"computeMetadata/v1", KindPath, "/computeMetadata/v1", "GCP_METADATA"},
	{"metadata.google.internal", KindHostname, "metadata.google.internal", "GCP_METADATA"},
	{"metadata/identity/oauth2/token", KindPath, "/metadata/identity/oauth2/token", "AZURE_IMDS"},
	{"metadata/instance", KindPath, "/metadata/instance", "AZURE_IMDS"},
}

// Analyze judges one command line given as argv.
func (s *Strict) Analyze(argv []string) Verdict {
	text := s.normalize(argv)
	v := Verdict{Normalized: text}
	v.Indicators = s.indicators(text)
	if len(v.Indicators) == 0 {
		return v
	}
	v.Match = true
	s.classify(&v)
	return v
}

// normalize turns argv into the text indicators are searched in. Arguments
// are joined with spaces, newlines kept: the rule's RLIKE crosses them.
func (s *Strict) normalize(argv []string) string {
	return strings.Join(argv, " ")
}

func (s *Strict) indicators(text string) []Indicator {
	var out []Indicator
	for _, n := range s.needles {
		if strings.Contains(text, n.text) {
			out = append(out, Indicator{Kind: n.kind, Text: n.text, Canonical: n.canonical, CloudTarget: n.cloudTarget})
		}
	}
	return out
}

// classify applies the published rule's labels to the normalized text.
func (s *Strict) classify(v *Verdict) {
	var theft string
	v.CloudTarget, theft = esql.Classify(v.Normalized)
	v.CredentialTheft = theft == "yes"
	v.Access = AccessRecon
	if v.CredentialTheft {
		v.Access = AccessCredential
	}
}
