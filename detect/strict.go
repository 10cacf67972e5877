package detect

import (
	"fmt"
	"strings"
	"time"

	"github.com/imdsguard/imdsguard/detect/shellnorm"
)

// Strict is the default engine. It reads the argv the API server runs (not
// a decoded request URI), undoes shell disguises without running anything,
// finds every spelling of a metadata address, hostname, path, header or
// environment variable, and names the service and the kind of access from
// the most specific evidence.
type Strict struct {
	endpoints *Endpoints
	cloud     string
	norm      shellnorm.Options
}

// StrictOption configures a Strict engine.
type StrictOption func(*Strict)

// WithEndpoints replaces the endpoint table (see LoadEndpoints).
func WithEndpoints(e *Endpoints) StrictOption { return func(s *Strict) { s.endpoints = e } }

// WithCloud names the cluster's cloud target (for example AWS_IMDS), used
// when the only evidence is an address several clouds share.
func WithCloud(target string) StrictOption { return func(s *Strict) { s.cloud = target } }

// WithShellBounds bounds the shell normalization of one command.
func WithShellBounds(depth, bytes int, budget time.Duration) StrictOption {
	return func(s *Strict) {
		s.norm.MaxDepth, s.norm.MaxBytes, s.norm.Budget = depth, bytes, budget
	}
}

// NewStrict returns the strict engine.
func NewStrict(opts ...StrictOption) *Strict {
	s := &Strict{endpoints: Default}
	s.norm.Env = sentinelEnv
	// The step bound is the real, deterministic limit; the time budget is
	// a safety net, set high enough that a busy machine does not change
	// verdicts.
	s.norm.Budget = 100 * time.Millisecond
	for _, o := range opts {
		o(s)
	}
	return s
}

// sentinelEnv gives the variables that carry credential endpoints values
// that keep their meaning after expansion: $AWS_CONTAINER_CREDENTIALS_FULL_URI
// becomes the EKS Pod Identity URL it stands for in a real pod.
var sentinelEnv = map[string]string{
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "http://169.254.170.23/v1/credentials#AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"ECS_CONTAINER_METADATA_URI":             "http://169.254.170.2/v3/ECS_CONTAINER_METADATA_URI",
	"ECS_CONTAINER_METADATA_URI_V4":          "http://169.254.170.2/v4/ECS_CONTAINER_METADATA_URI_V4",
	"GCE_METADATA_HOST":                      "metadata.google.internal",
	"GCE_METADATA_IP":                        "169.254.169.254",
}

// CloudTargets maps the names accepted by --cloud to cloud targets.
var CloudTargets = map[string]string{
	"aws": TargetAWSIMDS, "gcp": TargetGCP, "azure": TargetAzureIMDS, "oracle": TargetOracle,
	"digitalocean": TargetDigitalOcean, "openstack": TargetOpenStack, "hetzner": TargetHetzner,
	"ibm": TargetIBM, "linode": TargetLinode, "vultr": TargetVultr,
}

// ParseCloud reads a --cloud value: a short name (aws, gcp, azure, ...) or
// a cloud target.
func ParseCloud(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if t, ok := CloudTargets[strings.ToLower(s)]; ok {
		return t, nil
	}
	for _, t := range CloudTargets {
		if strings.EqualFold(s, t) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown cloud %q (want aws, gcp, azure, oracle, digitalocean, openstack, hetzner, ibm, linode or vultr)", s)
}

// Analyze judges one command line given as argv.
func (s *Strict) Analyze(argv []string) Verdict {
	raw := strings.Join(argv, " ")
	norm := shellnorm.Normalize(argv, s.norm)
	ev := newEvidence(s.endpoints)
	var texts []string
	for _, t := range norm.Texts {
		if t == raw || strings.Contains(t, "\n") && strings.Contains(raw, t) {
			continue
		}
		texts = append(texts, t)
	}
	// One pass over everything, one text a line: the raw command (an
	// indicator in either counts) and what normalization made of it.
	all := raw
	if len(texts) > 0 {
		all = raw + "\n" + strings.Join(texts, "\n")
	}
	ev.scan(all)
	v := ev.verdict(s.cloud)
	v.Texts = texts
	v.Normalized = raw
	if len(texts) > 0 {
		v.Normalized = strings.Join(texts, "\n")
	}
	v.Truncated = norm.Truncated
	v.NormalizeNote = norm.Reason
	return v
}
