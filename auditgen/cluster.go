package auditgen

import (
	"fmt"
	"math"
	"math/rand/v2"

	authnv1 "k8s.io/api/authentication/v1"
)

// The cluster runs this Kubernetes version; components and kubectl report it
// in their user agents.
const (
	kubeVersion = "v1.37.2"
	gitCommit   = "8e3b1f4"
)

func agent(component, platform string) string {
	return component + "/" + kubeVersion + " (" + platform + ") kubernetes/" + gitCommit
}

// rnd wraps the generator's only source of randomness.
type rnd struct{ *rand.Rand }

func newRnd(seed int64) rnd {
	return rnd{rand.New(rand.NewPCG(uint64(seed), 0x696d6473677561))}
}

func (r rnd) chance(p float64) bool { return r.Float64() < p }

// between returns a uniform value in [lo, hi].
func (r rnd) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo+1)
}

// logUniform returns a value in [lo, hi] spread evenly on a log scale: good
// for latencies and session lengths.
func (r rnd) logUniform(lo, hi int64) int64 {
	a, b := math.Log(float64(lo)), math.Log(float64(hi))
	// The conversion keeps the compiler from fusing the multiply and add,
	// which would change results between architectures.
	return int64(math.Exp(a + float64(r.Float64()*(b-a))))
}

const hexDigits = "0123456789abcdef"

func (r rnd) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

// uuid returns a version 4 UUID, as the API server makes for audit IDs and
// object UIDs.
func (r rnd) uuid() string {
	var u [16]byte
	a, b := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j] = hexDigits[c>>4]
		s[j+1] = hexDigits[c&0xf]
		j += 2
	}
	return string(s[:])
}

// nameSuffix returns n characters from the alphabet Kubernetes uses for
// generated names (no vowels, no look-alike digits).
func (r rnd) nameSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// identity is an authenticated client: who it is, where it connects from,
// what it calls itself and why RBAC lets it in.
type identity struct {
	user   authnv1.UserInfo
	ips    []string
	agent  string
	reason string // authorization.k8s.io/reason of allowed requests
}

func rbacReason(binding, roleKind, role, subject string) string {
	return fmt.Sprintf("RBAC: allowed by ClusterRoleBinding %q of %s %q to %s", binding, roleKind, role, subject)
}

func roleBindingReason(binding, ns, roleKind, role, subject string) string {
	return fmt.Sprintf("RBAC: allowed by RoleBinding %q of %s %q to %s", binding+"/"+ns, roleKind, role, subject)
}

type node struct {
	name     string
	ip       string
	uid      string
	leaseUID string
	id       *identity
}

type pod struct {
	name string
	uid  string
	ip   string
	node *node
}

type workload struct {
	ns        string
	name      string
	kind      string // Deployment, StatefulSet, DaemonSet
	container string
	image     string
	sa        string
	rsHash    string // pod-template hash of a Deployment's ReplicaSet
	rsUID     string
	pods      []*pod
	id        *identity // the service account, with a token bound to pods[0]
	exec      bool      // people exec into it
	tool      string    // a client its image ships (redis-cli, psql, nginx), if any
}

// person is someone using kubectl.
type person struct {
	id       *identity
	canExec  bool
	platform string
}

// cluster is the fixed world the traffic happens in.
type cluster struct {
	nodes       []*node
	workloads   []*workload
	byName      map[string]*workload
	kcm         *identity
	kcmElection *identity
	scheduler   *identity
	schedElect  *identity
	controllers map[string]*identity
	anonymous   *identity
	people      []*person
	attackers   []*person // people or CI tokens that run metadata attacks
	denied      *person   // a developer RBAC does not allow to exec
	unauthIPs   []string
	saUIDs      map[string]string
}

func newCluster(r rnd) *cluster {
	c := &cluster{byName: map[string]*workload{}, controllers: map[string]*identity{}, saUIDs: map[string]string{}}
	for _, ip := range []string{"10.0.1.23", "10.0.1.87", "10.0.2.14", "10.0.2.201", "10.0.3.45", "10.0.3.132"} {
		name := "ip-" + dashed(ip) + ".ec2.internal"
		n := &node{name: name, ip: ip, uid: r.uuid(), leaseUID: r.uuid()}
		n.id = &identity{
			user: authnv1.UserInfo{
				Username: "system:node:" + name,
				Groups:   []string{"system:nodes", "system:authenticated"},
				Extra:    map[string]authnv1.ExtraValue{"authentication.kubernetes.io/credential-id": {"X509SHA256=" + r.hex(64)}},
			},
			ips:   []string{ip},
			agent: agent("kubelet", "linux/amd64"),
			// The Node authorizer gives no reason.
			reason: "",
		}
		c.nodes = append(c.nodes, n)
	}

	type spec struct {
		ns, name, kind, container, image, sa string
		replicas                             int
		exec                                 bool
		tool                                 string
	}
	specs := []spec{
		{"default", "web", "Deployment", "web", "nginx:1.27.3", "default", 3, true, "nginx"},
		{"prod", "web", "StatefulSet", "web", "registry.example.com/shop/web:4.12.0", "web", 2, true, ""},
		{"prod", "api", "Deployment", "api", "registry.example.com/shop/api:2.31.4", "api", 3, true, ""},
		{"prod", "redis", "StatefulSet", "redis", "redis:7.4.1", "default", 1, true, "redis-cli"},
		{"prod", "postgres", "StatefulSet", "postgres", "postgres:17.2", "default", 1, true, "psql"},
		{"payments", "payments-api", "Deployment", "app", "registry.example.com/payments/api:1.9.7", "payments-api", 2, true, ""},
		{"ci", "gitlab-runner", "Deployment", "gitlab-runner", "gitlab/gitlab-runner:v17.6.0", "gitlab-runner", 1, true, ""},
		{"monitoring", "prometheus-k8s", "StatefulSet", "prometheus", "quay.io/prometheus/prometheus:v3.0.1", "prometheus-k8s", 1, false, ""},
		{"monitoring", "grafana", "Deployment", "grafana", "grafana/grafana:11.4.0", "grafana", 1, true, ""},
		{"kube-system", "coredns", "Deployment", "coredns", "registry.k8s.io/coredns/coredns:v1.12.0", "coredns", 2, false, ""},
		{"kube-system", "kube-proxy", "DaemonSet", "kube-proxy", "registry.k8s.io/kube-proxy:" + kubeVersion, "kube-proxy", 6, false, ""},
		{"kube-system", "metrics-server", "Deployment", "metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.2", "metrics-server", 1, false, ""},
		{"argocd", "argocd-application-controller", "StatefulSet", "argocd-application-controller", "quay.io/argoproj/argocd:v2.13.2", "argocd-application-controller", 1, false, ""},
		{"cert-manager", "cert-manager", "Deployment", "cert-manager-controller", "quay.io/jetstack/cert-manager-controller:v1.16.2", "cert-manager", 1, false, ""},
	}
	podIP := 17
	for _, s := range specs {
		wl := &workload{ns: s.ns, name: s.name, kind: s.kind, container: s.container, image: s.image, sa: s.sa, exec: s.exec, tool: s.tool}
		if s.kind == "Deployment" {
			wl.rsHash = r.nameSuffix(9 + r.IntN(2))
		}
		for i := 0; i < s.replicas; i++ {
			p := &pod{uid: r.uuid()}
			switch s.kind {
			case "Deployment":
				p.name = s.name + "-" + wl.rsHash + "-" + r.nameSuffix(5)
				p.node = c.nodes[r.IntN(len(c.nodes))]
			case "StatefulSet":
				p.name = fmt.Sprintf("%s-%d", s.name, i)
				p.node = c.nodes[r.IntN(len(c.nodes))]
			default:
				p.name = s.name + "-" + r.nameSuffix(5)
				p.node = c.nodes[i%len(c.nodes)]
			}
			if s.name == "kube-proxy" {
				p.ip = p.node.ip // host network
			} else {
				p.ip = fmt.Sprintf("10.0.%d.%d", 4+podIP/200, 10+podIP%200)
				podIP += 7
			}
			wl.pods = append(wl.pods, p)
		}
		wl.id = c.serviceAccount(r, s.ns, s.sa, wl.pods[0], "")
		c.workloads = append(c.workloads, wl)
		c.byName[s.ns+"/"+s.name] = wl
	}
	ua := map[string]string{
		"kube-system/coredns":                  "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
		"kube-system/kube-proxy":               agent("kube-proxy", "linux/amd64"),
		"kube-system/metrics-server":           "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format",
		"monitoring/prometheus-k8s":            "prometheus/3.0.1",
		"monitoring/grafana":                   "Go-http-client/2.0",
		"argocd/argocd-application-controller": "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
		"cert-manager/cert-manager":            "cert-manager-controller/v1.16.2 (linux/amd64) cert-manager/5b3d4f1f8b3c2a9e0d7f6e5c4b3a29180f7e6d5c",
		"ci/gitlab-runner":                     "gitlab-runner 17.6.0 (17-6-stable; go1.23.2; linux/amd64)",
		"prod/api":                             "Go-http-client/2.0",
		"payments/payments-api":                "Go-http-client/2.0",
		"default/web":                          "Go-http-client/2.0",
		"prod/web":                             "Go-http-client/2.0",
		"prod/redis":                           "Go-http-client/2.0",
		"prod/postgres":                        "Go-http-client/2.0",
	}
	roles := map[string][2]string{
		"kube-system/coredns":                  {"system:coredns", "system:coredns"},
		"kube-system/kube-proxy":               {"eks:kube-proxy", "system:node-proxier"},
		"kube-system/metrics-server":           {"system:metrics-server", "system:metrics-server"},
		"monitoring/prometheus-k8s":            {"prometheus-k8s", "prometheus-k8s"},
		"monitoring/grafana":                   {"grafana-clusterrolebinding", "grafana-clusterrole"},
		"argocd/argocd-application-controller": {"argocd-application-controller", "argocd-application-controller"},
		"cert-manager/cert-manager":            {"cert-manager-controller-certificates", "cert-manager-controller-certificates"},
		"ci/gitlab-runner":                     {"gitlab-runner-deployer", "cluster-admin"},
	}
	for _, wl := range c.workloads {
		key := wl.ns + "/" + wl.name
		wl.id.agent = ua[key]
		if rb, ok := roles[key]; ok {
			wl.id.reason = rbacReason(rb[0], "ClusterRole", rb[1], fmt.Sprintf("ServiceAccount %q", wl.sa+"/"+wl.ns))
		} else {
			wl.id.reason = roleBindingReason(wl.name+"-reader", wl.ns, "Role", wl.name+"-reader", fmt.Sprintf("ServiceAccount %q", wl.sa+"/"+wl.ns))
		}
	}

	cp := []string{"10.0.0.11"}
	c.kcm = &identity{
		user:   authnv1.UserInfo{Username: "system:kube-controller-manager", Groups: []string{"system:authenticated"}},
		ips:    cp,
		agent:  agent("kube-controller-manager", "linux/amd64"),
		reason: rbacReason("system:kube-controller-manager", "ClusterRole", "system:kube-controller-manager", `User "system:kube-controller-manager"`),
	}
	c.kcmElection = &identity{user: c.kcm.user, ips: cp, agent: c.kcm.agent + "/leader-election", reason: c.kcm.reason}
	c.scheduler = &identity{
		user:   authnv1.UserInfo{Username: "system:kube-scheduler", Groups: []string{"system:authenticated"}},
		ips:    cp,
		agent:  agent("kube-scheduler", "linux/amd64") + "/scheduler",
		reason: rbacReason("system:kube-scheduler", "ClusterRole", "system:kube-scheduler", `User "system:kube-scheduler"`),
	}
	c.schedElect = &identity{user: c.scheduler.user, ips: cp, agent: agent("kube-scheduler", "linux/amd64") + "/leader-election", reason: c.scheduler.reason}
	for _, name := range []string{"replicaset-controller", "deployment-controller", "statefulset-controller", "endpointslice-controller", "endpointslicemirroring-controller", "horizontal-pod-autoscaler", "generic-garbage-collector", "node-controller", "daemon-set-controller"} {
		id := c.serviceAccount(r, "kube-system", name, nil, "")
		id.ips = cp
		id.agent = agent("kube-controller-manager", "linux/amd64") + "/system:serviceaccount:kube-system:" + name
		id.reason = rbacReason("system:controller:"+name, "ClusterRole", "system:controller:"+name, fmt.Sprintf("ServiceAccount %q", name+"/kube-system"))
		c.controllers[name] = id
	}
	c.anonymous = &identity{
		user:   authnv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}},
		ips:    []string{"10.0.0.4"},
		agent:  "ELB-HealthChecker/2.0",
		reason: rbacReason("system:public-info-viewer", "ClusterRole", "system:public-info-viewer", `Group "system:unauthenticated"`),
	}

	human := func(name, group, ip, platform, binding, role string, canExec bool) *person {
		return &person{
			id: &identity{
				user:   authnv1.UserInfo{Username: name, Groups: []string{group, "system:authenticated"}},
				ips:    []string{ip},
				agent:  agent("kubectl", platform),
				reason: rbacReason(binding, "ClusterRole", role, fmt.Sprintf("Group %q", group)),
			},
			canExec:  canExec,
			platform: platform,
		}
	}
	alice := human("alice@example.com", "platform-admins", "198.51.100.23", "darwin/arm64", "platform-admins", "cluster-admin", true)
	carol := human("carol@example.com", "sre", "198.51.100.41", "linux/amd64", "sre-oncall", "sre", true)
	bob := human("bob@example.com", "developers", "198.51.100.77", "darwin/arm64", "developers-view", "view", false)
	dave := human("dave@example.com", "contractors", "203.0.113.45", "linux/amd64", "contractors-edit", "edit", true)
	c.people = []*person{alice, carol, bob, dave}
	c.denied = bob

	// A CI job whose token was stolen runs kubectl from the runner pod.
	runner := c.byName["ci/gitlab-runner"]
	ci := &person{
		id: &identity{
			user:   runner.id.user,
			ips:    runner.id.ips,
			agent:  agent("kubectl", "linux/amd64"),
			reason: runner.id.reason,
		},
		canExec:  true,
		platform: "linux/amd64",
	}
	c.attackers = []*person{dave, ci, carol}
	c.unauthIPs = []string{"45.83.64.12", "185.220.101.34", "198.51.100.200"}
	return c
}

// serviceAccount builds the identity of a service account token; when p is
// set the token is bound to that pod, as kubelet-projected tokens are.
func (c *cluster) serviceAccount(r rnd, ns, name string, p *pod, agentName string) *identity {
	extra := map[string]authnv1.ExtraValue{
		"authentication.kubernetes.io/credential-id": {"JTI=" + r.uuid()},
	}
	ips := []string{"10.0.0.11"}
	if p != nil {
		extra["authentication.kubernetes.io/node-name"] = authnv1.ExtraValue{p.node.name}
		extra["authentication.kubernetes.io/node-uid"] = authnv1.ExtraValue{p.node.uid}
		extra["authentication.kubernetes.io/pod-name"] = authnv1.ExtraValue{p.name}
		extra["authentication.kubernetes.io/pod-uid"] = authnv1.ExtraValue{p.uid}
		ips = []string{p.ip}
	}
	uid, ok := c.saUIDs[ns+"/"+name]
	if !ok {
		uid = r.uuid()
		c.saUIDs[ns+"/"+name] = uid
	}
	return &identity{
		user: authnv1.UserInfo{
			Username: "system:serviceaccount:" + ns + ":" + name,
			UID:      uid,
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			Extra:    extra,
		},
		ips:   ips,
		agent: agentName,
	}
}

func dashed(ip string) string {
	b := []byte(ip)
	for i, c := range b {
		if c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}
