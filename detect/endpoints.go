package detect

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Cloud targets: which metadata service a request reaches.
const (
	TargetAWSIMDS         = "AWS_IMDS"
	TargetAWSContainer    = "AWS_CONTAINER_CREDENTIALS"
	TargetGCP             = "GCP_METADATA"
	TargetAzureIMDS       = "AZURE_IMDS"
	TargetAzureWireServer = "AZURE_WIRESERVER"
	TargetAlibaba         = "ALIBABA_METADATA"
	TargetOracle          = "ORACLE_IMDS"
	TargetDigitalOcean    = "DIGITALOCEAN_METADATA"
	TargetOpenStack       = "OPENSTACK_METADATA"
	TargetHetzner         = "HETZNER_METADATA"
	TargetIBM             = "IBM_METADATA"
	TargetTencent         = "TENCENT_METADATA"
	TargetLinode          = "LINODE_METADATA"
	TargetScaleway        = "SCALEWAY_METADATA"
	TargetVultr           = "VULTR_METADATA"
	TargetEquinix         = "EQUINIX_METADATA"
	TargetUnknown         = "UNKNOWN"
)

// Endpoints is the knowledge of metadata services, as data: which
// addresses, hostnames, paths, headers and environment variables point at
// which service, and what a path yields. The built-in table is Default;
// a config file can add private clouds (LoadEndpoints).
type Endpoints struct {
	Addresses []AddressRule  `json:"addresses"`
	Hostnames []HostnameRule `json:"hostnames"`
	Paths     []PathRule     `json:"paths"`
	Headers   []HeaderRule   `json:"headers"`
	Env       []EnvRule      `json:"env"`

	addrIndex map[netip.Addr]*AddressRule
	hostIndex map[string]*HostnameRule
	segs      [][]string // split path patterns, parallel to Paths
	headerRes []*regexp.Regexp
	envIndex  map[string]*EnvRule
}

// AddressRule is a metadata service address. Shared addresses (the
// link-local 169.254.169.254 answers for a dozen clouds) name no target by
// themselves; the cluster's cloud (--cloud) or other evidence decides.
type AddressRule struct {
	Address string   `json:"address"`
	Target  string   `json:"target,omitempty"`
	Shared  []string `json:"shared,omitempty"`
}

// HostnameRule is a metadata service hostname. Short names such as
// "metadata" count only where they stand as a URL host, never as a word.
type HostnameRule struct {
	Name       string `json:"name"`
	Target     string `json:"target"`
	URLContext bool   `json:"urlContext,omitempty"`
}

// PathRule classifies a request path. Pattern segments are literal or "*"
// (any one segment); the longest matching pattern wins. Query, when set,
// must appear in the query string. Standalone paths are distinctive enough
// to count without a metadata host in the same URL (the Host-header proxy
// trick, request lines written by hand).
type PathRule struct {
	Pattern    string `json:"pattern"`
	Query      string `json:"query,omitempty"`
	Target     string `json:"target"`
	Access     string `json:"access"`
	Standalone bool   `json:"standalone,omitempty"`
}

// HeaderRule is a request header that only metadata services ask for,
// matched without regard to case or spacing. A header that is not
// Standalone only helps classify (x-ms-version is sent to Azure Storage
// too).
type HeaderRule struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
	// Needle, when set, lists lower-case texts (comma-separated) that any
	// match contains; the pattern runs only where they are all found.
	Needle     string `json:"needle,omitempty"`
	Target     string `json:"target"`
	Standalone bool   `json:"standalone,omitempty"`
}

// EnvRule is an environment variable that carries a credential endpoint,
// so a command can reach it without naming an address.
type EnvRule struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Access string `json:"access"`
}

var sharedLinkLocal = []string{TargetAWSIMDS, TargetGCP, TargetAzureIMDS, TargetOracle, TargetDigitalOcean,
	TargetOpenStack, TargetHetzner, TargetIBM, TargetLinode, TargetVultr}

// hv is the separator between a header name and value as written in
// curl flags, code (dict literals) and PowerShell hashtables.
const hv = `['"]?\s*[:=]\s*['"]?\s*`

func defaultEndpoints() *Endpoints {
	return &Endpoints{
		Addresses: []AddressRule{
			{Address: "169.254.169.254", Shared: sharedLinkLocal},
			{Address: "fd00:ec2::254", Target: TargetAWSIMDS},
			{Address: "169.254.170.2", Target: TargetAWSContainer},
			{Address: "169.254.170.23", Target: TargetAWSContainer},
			{Address: "fd00:ec2::23", Target: TargetAWSContainer},
			{Address: "fd20:ce::254", Target: TargetGCP},
			{Address: "168.63.129.16", Target: TargetAzureWireServer},
			{Address: "100.100.100.200", Target: TargetAlibaba},
			{Address: "fd00:c1::a9fe:a9fe", Target: TargetOracle},
			{Address: "192.0.0.192", Target: TargetOracle},
			{Address: "fe80::a9fe:a9fe", Shared: []string{TargetOpenStack, TargetHetzner}},
			{Address: "fd00:a9fe:a9fe::1", Target: TargetLinode},
			{Address: "169.254.42.42", Target: TargetScaleway},
			{Address: "fd00:42::42", Target: TargetScaleway},
		},
		Hostnames: []HostnameRule{
			{Name: "metadata.google.internal", Target: TargetGCP},
			{Name: "metadata.goog", Target: TargetGCP},
			{Name: "metadata", Target: TargetGCP, URLContext: true},
			{Name: "instance-data", Target: TargetAWSIMDS, URLContext: true},
			{Name: "instance-data.ec2.internal", Target: TargetAWSIMDS},
			{Name: "metadata.tencentyun.com", Target: TargetTencent},
			{Name: "metadata.platformequinix.com", Target: TargetEquinix},
			{Name: "metadata.packet.net", Target: TargetEquinix},
			{Name: "api.metadata.cloud.ibm.com", Target: TargetIBM},
			{Name: "rancher-metadata", Target: TargetUnknown, URLContext: true},
		},
		Paths: []PathRule{
			// AWS EC2 IMDS (EC2-compatible paths are also served by
			// OpenStack, Alibaba and Tencent; their own address, host or
			// path outweighs these).
			{Pattern: "/latest/meta-data/iam/security-credentials", Target: TargetAWSIMDS, Access: AccessCredential, Standalone: true},
			{Pattern: "/*/meta-data/iam/security-credentials", Target: TargetAWSIMDS, Access: AccessCredential},
			{Pattern: "/latest/meta-data/identity-credentials", Target: TargetAWSIMDS, Access: AccessCredential, Standalone: true},
			{Pattern: "/*/meta-data/identity-credentials", Target: TargetAWSIMDS, Access: AccessCredential},
			{Pattern: "/latest/api/token", Target: TargetAWSIMDS, Access: AccessCredential, Standalone: true},
			{Pattern: "/latest/meta-data/api/token", Target: TargetAWSIMDS, Access: AccessCredential, Standalone: true},
			{Pattern: "/latest/user-data", Target: TargetAWSIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/*/user-data", Target: TargetAWSIMDS, Access: AccessSensitive},
			{Pattern: "/latest/dynamic/instance-identity/signature", Target: TargetAWSIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/latest/dynamic/instance-identity/pkcs7", Target: TargetAWSIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/latest/dynamic/instance-identity/rsa2048", Target: TargetAWSIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/latest/dynamic/instance-identity", Target: TargetAWSIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/latest/dynamic", Target: TargetAWSIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/latest/meta-data", Target: TargetAWSIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/*/meta-data", Target: TargetAWSIMDS, Access: AccessRecon},
			{Pattern: "/*/dynamic/instance-identity", Target: TargetAWSIMDS, Access: AccessRecon},
			{Pattern: "/latest", Target: TargetAWSIMDS, Access: AccessRecon},
			// Alibaba Cloud and Tencent Cloud role credentials.
			{Pattern: "/latest/meta-data/ram/security-credentials", Target: TargetAlibaba, Access: AccessCredential, Standalone: true},
			{Pattern: "/latest/meta-data/all", Target: TargetAlibaba, Access: AccessSensitive},
			{Pattern: "/latest/meta-data/cam/security-credentials", Target: TargetTencent, Access: AccessCredential, Standalone: true},
			// AWS ECS task credentials and metadata, EKS Pod Identity.
			{Pattern: "/v2/credentials", Target: TargetAWSContainer, Access: AccessCredential},
			{Pattern: "/v1/credentials", Target: TargetAWSContainer, Access: AccessCredential},
			{Pattern: "/v2/metadata", Target: TargetAWSContainer, Access: AccessRecon},
			{Pattern: "/v2/stats", Target: TargetAWSContainer, Access: AccessRecon},
			// GCP metadata server.
			{Pattern: "/computeMetadata/*/instance/service-accounts/*/token", Target: TargetGCP, Access: AccessCredential, Standalone: true},
			{Pattern: "/computeMetadata/*/instance/service-accounts/*/identity", Target: TargetGCP, Access: AccessCredential, Standalone: true},
			{Pattern: "/computeMetadata/*/instance/attributes/kube-env", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata/*/instance/attributes/startup-script", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata/*/instance/attributes/kubeconfig", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata/*/instance/attributes/ssh-keys", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata/*/project/attributes/ssh-keys", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata/*/instance/attributes/user-data", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata", Query: "recursive=true", Target: TargetGCP, Access: AccessSensitive, Standalone: true},
			{Pattern: "/computeMetadata", Target: TargetGCP, Access: AccessRecon, Standalone: true},
			// Azure IMDS.
			{Pattern: "/metadata/identity/oauth2/token", Target: TargetAzureIMDS, Access: AccessCredential, Standalone: true},
			{Pattern: "/metadata/identity", Target: TargetAzureIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/metadata/instance/compute/userData", Target: TargetAzureIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/metadata/instance/compute/customData", Target: TargetAzureIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/metadata/attested", Target: TargetAzureIMDS, Access: AccessSensitive, Standalone: true},
			{Pattern: "/metadata/instance", Target: TargetAzureIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/metadata/scheduledevents", Target: TargetAzureIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/metadata/loadbalancer", Target: TargetAzureIMDS, Access: AccessRecon, Standalone: true},
			{Pattern: "/metadata/versions", Target: TargetAzureIMDS, Access: AccessRecon},
			{Pattern: "/metadata/v1/instanceinfo", Target: TargetAzureIMDS, Access: AccessRecon, Standalone: true},
			// Azure WireServer and its host plugin (port 32526).
			{Pattern: "/machine", Query: "comp=goalstate", Target: TargetAzureWireServer, Access: AccessSensitive},
			{Pattern: "/machine", Query: "comp=certificates", Target: TargetAzureWireServer, Access: AccessSensitive},
			{Pattern: "/machine", Query: "comp=config", Target: TargetAzureWireServer, Access: AccessSensitive},
			{Pattern: "/machine", Query: "extensionsconfig", Target: TargetAzureWireServer, Access: AccessSensitive},
			{Pattern: "/machine", Target: TargetAzureWireServer, Access: AccessRecon},
			{Pattern: "/vmSettings", Target: TargetAzureWireServer, Access: AccessSensitive},
			{Pattern: "/extensionArtifact", Target: TargetAzureWireServer, Access: AccessSensitive},
			// Oracle Cloud.
			{Pattern: "/opc/*/identity", Target: TargetOracle, Access: AccessCredential, Standalone: true},
			{Pattern: "/opc/*/instance/metadata/user_data", Target: TargetOracle, Access: AccessSensitive, Standalone: true},
			{Pattern: "/opc/v1", Target: TargetOracle, Access: AccessRecon, Standalone: true},
			{Pattern: "/opc/v2", Target: TargetOracle, Access: AccessRecon, Standalone: true},
			{Pattern: "/opc", Target: TargetOracle, Access: AccessRecon},
			// DigitalOcean.
			{Pattern: "/metadata/v1/user-data", Target: TargetDigitalOcean, Access: AccessSensitive},
			{Pattern: "/metadata/v1/vendor-data", Target: TargetDigitalOcean, Access: AccessSensitive},
			{Pattern: "/metadata/v1.json", Target: TargetDigitalOcean, Access: AccessSensitive},
			{Pattern: "/metadata/v1", Target: TargetDigitalOcean, Access: AccessRecon},
			// OpenStack (and Huawei Cloud's credentials on it).
			{Pattern: "/openstack/*/securitykey", Target: TargetOpenStack, Access: AccessCredential, Standalone: true},
			{Pattern: "/meta-data/latest/api/token", Target: TargetOpenStack, Access: AccessCredential},
			{Pattern: "/openstack/*/user_data", Target: TargetOpenStack, Access: AccessSensitive, Standalone: true},
			{Pattern: "/openstack/*/vendor_data.json", Target: TargetOpenStack, Access: AccessSensitive, Standalone: true},
			{Pattern: "/openstack/*/vendor_data2.json", Target: TargetOpenStack, Access: AccessSensitive, Standalone: true},
			{Pattern: "/openstack/*/password", Target: TargetOpenStack, Access: AccessSensitive, Standalone: true},
			{Pattern: "/openstack", Target: TargetOpenStack, Access: AccessRecon},
			// Hetzner Cloud.
			{Pattern: "/hetzner/v1/userdata", Target: TargetHetzner, Access: AccessSensitive, Standalone: true},
			{Pattern: "/hetzner", Target: TargetHetzner, Access: AccessRecon, Standalone: true},
			// IBM Cloud VPC.
			{Pattern: "/instance_identity/v1/token", Target: TargetIBM, Access: AccessCredential, Standalone: true},
			{Pattern: "/instance_identity/v1/iam_token", Target: TargetIBM, Access: AccessCredential, Standalone: true},
			{Pattern: "/instance_identity", Target: TargetIBM, Access: AccessCredential, Standalone: true},
			{Pattern: "/identity/v1/token", Target: TargetIBM, Access: AccessCredential},
			{Pattern: "/identity/v1/iam_tokens", Target: TargetIBM, Access: AccessCredential},
			{Pattern: "/identity/v1/certificates", Target: TargetIBM, Access: AccessCredential},
			{Pattern: "/metadata/v1/instance/initialization", Target: TargetIBM, Access: AccessSensitive},
			{Pattern: "/metadata/v1/instance", Target: TargetIBM, Access: AccessRecon},
			{Pattern: "/metadata/v1/keys", Target: TargetIBM, Access: AccessRecon},
			{Pattern: "/metadata/v1/placement_groups", Target: TargetIBM, Access: AccessRecon},
			// Linode (Akamai) and Vultr.
			{Pattern: "/v1/token", Target: TargetLinode, Access: AccessCredential},
			{Pattern: "/v1/user-data", Target: TargetLinode, Access: AccessSensitive},
			{Pattern: "/v1/instance", Target: TargetLinode, Access: AccessRecon},
			{Pattern: "/v1/network", Target: TargetLinode, Access: AccessRecon},
			{Pattern: "/v1/ssh-keys", Target: TargetLinode, Access: AccessRecon},
			{Pattern: "/v1.json", Target: TargetVultr, Access: AccessSensitive},
			{Pattern: "/v1", Target: TargetVultr, Access: AccessRecon},
			// Scaleway.
			{Pattern: "/user_data", Target: TargetScaleway, Access: AccessSensitive},
			{Pattern: "/vendor_data", Target: TargetScaleway, Access: AccessSensitive},
			{Pattern: "/conf", Target: TargetScaleway, Access: AccessRecon},
			// Equinix Metal.
			{Pattern: "/userdata", Target: TargetEquinix, Access: AccessSensitive},
		},
		Headers: []HeaderRule{
			{Name: "Metadata-Flavor: Google", Needle: "flavor,google", Pattern: `metadata-?flavor` + hv + `google`, Target: TargetGCP, Standalone: true},
			{Name: "X-Google-Metadata-Request", Needle: "x-google-metadata-request,true", Pattern: `x-google-metadata-request` + hv + `true`, Target: TargetGCP, Standalone: true},
			{Name: "Metadata-Flavor: ibm", Needle: "flavor,ibm", Pattern: `metadata-?flavor` + hv + `ibm`, Target: TargetIBM, Standalone: true},
			{Name: "Metadata: true", Needle: "metadata,true", Pattern: `(?:^|[^a-z0-9_-])metadata` + hv + `true`, Target: TargetAzureIMDS, Standalone: true},
			{Name: "X-aws-ec2-metadata-token", Needle: "x-aws-ec2-meta", Pattern: `x-aws-ec2-meta[a-z]*-token`, Target: TargetAWSIMDS, Standalone: true},
			{Name: "Authorization: Bearer Oracle", Needle: "bearer,oracle", Pattern: `authorization` + hv + `bearer\s+oracle`, Target: TargetOracle, Standalone: true},
			{Name: "X-aliyun-ecs-metadata-token", Needle: "x-aliyun-ecs-metadata-token", Pattern: `x-aliyun-ecs-metadata-token`, Target: TargetAlibaba, Standalone: true},
			{Name: "Metadata-Token", Needle: "metadata-token", Pattern: `(?:^|[^a-z0-9_-])metadata-token`, Target: TargetLinode, Standalone: true},
			{Name: "X-Metadata-Token", Needle: "x-metadata-token", Pattern: `x-metadata-token`, Target: TargetOpenStack, Standalone: true},
			{Name: "x-ms-version", Needle: "x-ms-version", Pattern: `x-ms-version`, Target: TargetAzureWireServer},
			{Name: "X-IDENTITY-HEADER", Needle: "x-identity-header", Pattern: `x-identity-header`, Target: TargetAzureIMDS, Standalone: true},
		},
		Env: []EnvRule{
			{Name: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", Target: TargetAWSContainer, Access: AccessCredential},
			{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Target: TargetAWSContainer, Access: AccessCredential},
			{Name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Target: TargetAWSContainer, Access: AccessCredential},
			{Name: "ECS_CONTAINER_METADATA_URI", Target: TargetAWSContainer, Access: AccessCredential},
			{Name: "ECS_CONTAINER_METADATA_URI_V4", Target: TargetAWSContainer, Access: AccessCredential},
			{Name: "IDENTITY_ENDPOINT", Target: TargetAzureIMDS, Access: AccessCredential},
			{Name: "IDENTITY_HEADER", Target: TargetAzureIMDS, Access: AccessCredential},
			{Name: "MSI_ENDPOINT", Target: TargetAzureIMDS, Access: AccessCredential},
			{Name: "GCE_METADATA_HOST", Target: TargetGCP, Access: AccessCredential},
			{Name: "GCE_METADATA_IP", Target: TargetGCP, Access: AccessCredential},
		},
	}
}

// Default is the built-in endpoint table.
var Default = mustCompile(defaultEndpoints())

func mustCompile(e *Endpoints) *Endpoints {
	if err := e.compile(); err != nil {
		panic(err)
	}
	return e
}

// compile validates the table and builds its indexes.
func (e *Endpoints) compile() error {
	e.addrIndex = map[netip.Addr]*AddressRule{}
	for i := range e.Addresses {
		r := &e.Addresses[i]
		a, err := netip.ParseAddr(r.Address)
		if err != nil {
			return fmt.Errorf("address %q: %v", r.Address, err)
		}
		if r.Target == "" && len(r.Shared) == 0 {
			return fmt.Errorf("address %q: needs a target or a shared list", r.Address)
		}
		e.addrIndex[a.Unmap()] = r
	}
	e.hostIndex = map[string]*HostnameRule{}
	for i := range e.Hostnames {
		r := &e.Hostnames[i]
		r.Name = strings.TrimSuffix(strings.ToLower(r.Name), ".")
		if r.Name == "" || r.Target == "" {
			return fmt.Errorf("hostname %q: needs a name and a target", r.Name)
		}
		e.hostIndex[r.Name] = r
	}
	e.segs = make([][]string, len(e.Paths))
	for i := range e.Paths {
		r := &e.Paths[i]
		if !strings.HasPrefix(r.Pattern, "/") || r.Target == "" || !validAccess(r.Access) {
			return fmt.Errorf("path %q: needs a pattern starting with /, a target and an access (credential, sensitive or recon)", r.Pattern)
		}
		e.segs[i] = splitPath(strings.ToLower(r.Pattern))
		r.Query = strings.ToLower(r.Query)
	}
	e.headerRes = make([]*regexp.Regexp, len(e.Headers))
	for i, h := range e.Headers {
		re, err := regexp.Compile(`(?i)` + h.Pattern)
		if err != nil {
			return fmt.Errorf("header %q: %v", h.Name, err)
		}
		e.headerRes[i] = re
	}
	e.envIndex = map[string]*EnvRule{}
	for i := range e.Env {
		r := &e.Env[i]
		if !envNameRe.MatchString(r.Name) || !validAccess(r.Access) {
			return fmt.Errorf("env %q: needs a variable name and an access", r.Name)
		}
		e.envIndex[r.Name] = r
	}
	return nil
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validAccess(a string) bool {
	return a == AccessCredential || a == AccessSensitive || a == AccessRecon
}

func splitPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// Extend returns a copy of e with the rules of x added; x's rules come
// first, so a private cloud can refine the built-in ones.
func (e *Endpoints) Extend(x *Endpoints) (*Endpoints, error) {
	out := &Endpoints{
		Addresses: append(append([]AddressRule{}, x.Addresses...), e.Addresses...),
		Hostnames: append(append([]HostnameRule{}, x.Hostnames...), e.Hostnames...),
		Paths:     append(append([]PathRule{}, x.Paths...), e.Paths...),
		Headers:   append(append([]HeaderRule{}, x.Headers...), e.Headers...),
		Env:       append(append([]EnvRule{}, x.Env...), e.Env...),
	}
	// Later duplicates would overwrite the index; keep the extension's.
	if err := out.compile(); err != nil {
		return nil, err
	}
	for i := len(x.Addresses) - 1; i >= 0; i-- {
		a, _ := netip.ParseAddr(x.Addresses[i].Address)
		out.addrIndex[a.Unmap()] = &out.Addresses[i]
	}
	for i := len(x.Hostnames) - 1; i >= 0; i-- {
		out.hostIndex[out.Hostnames[i].Name] = &out.Hostnames[i]
	}
	return out, nil
}

// LoadEndpoints reads extra endpoint rules from a YAML or JSON file (the
// same fields as Endpoints) and returns the built-in table extended by
// them.
func LoadEndpoints(path string) (*Endpoints, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var x Endpoints
	if err := yaml.UnmarshalStrict(data, &x); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out, err := Default.Extend(&x)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// lookupAddr finds the rule of a metadata address.
func (e *Endpoints) lookupAddr(a netip.Addr) *AddressRule {
	return e.addrIndex[a.Unmap().WithZone("")]
}

// lookupHost finds the rule of a metadata hostname (lower case, no
// trailing dot).
func (e *Endpoints) lookupHost(name string) *HostnameRule {
	return e.hostIndex[name]
}

// matchPath returns the longest path rule matching path and query, or nil.
// Paths compare without regard to case: some services ignore it (Alibaba's
// docs write Ram/), and an attempt in the wrong case is still an attempt.
func (e *Endpoints) matchPath(path, query string) *PathRule {
	var buf [32]string
	segs := buf[:0]
	lp := strings.ToLower(path)
	for _, s := range strings.Split(lp, "/") {
		if s != "" && len(segs) < len(buf) {
			segs = append(segs, s)
		}
	}
	if query != "" {
		query = strings.ToLower(query)
	}
	// Rank: more segments, then more literal segments, then a query.
	var best *PathRule
	bestRank := -1
	for i, pat := range e.segs {
		if len(pat) > len(segs) {
			continue
		}
		literals := 0
		ok := true
		for j, s := range pat {
			if s == "*" {
				continue
			}
			if s != segs[j] {
				ok = false
				break
			}
			literals++
		}
		if !ok {
			continue
		}
		r := &e.Paths[i]
		if r.Query != "" && !strings.Contains(query, r.Query) {
			continue
		}
		rank := len(pat)*1000 + literals*10
		if r.Query != "" {
			rank++
		}
		if rank > bestRank {
			best, bestRank = r, rank
		}
	}
	return best
}
