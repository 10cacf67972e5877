package auditgen

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// template makes one kind of ordinary traffic: a group of requests that
// belong together (a leader-election get and update, a kubectl apply).
type template struct {
	weight float64
	name   string
	fn     func(t int64) []*request
}

func (g *gen) ordinary() []*request {
	x := g.r.Float64() * g.weightSum
	for _, t := range g.templates {
		if x < t.weight {
			return t.fn(g.now)
		}
		x -= t.weight
	}
	return g.templates[0].fn(g.now)
}

// apiPath builds a resource path: /api/v1/... for the core group,
// /apis/GROUP/VERSION/... for the others.
func apiPath(group, version, ns, resource, name, sub string) string {
	var b strings.Builder
	if group == "" {
		b.WriteString("/api/")
	} else {
		b.WriteString("/apis/")
		b.WriteString(group)
		b.WriteByte('/')
	}
	b.WriteString(version)
	if ns != "" {
		b.WriteString("/namespaces/")
		b.WriteString(ns)
	}
	if resource != "" {
		b.WriteByte('/')
		b.WriteString(resource)
	}
	if name != "" {
		b.WriteByte('/')
		b.WriteString(name)
	}
	if sub != "" {
		b.WriteByte('/')
		b.WriteString(sub)
	}
	return b.String()
}

func objRef(group, version, ns, resource, name, sub string) *auditv1.ObjectReference {
	return &auditv1.ObjectReference{Resource: resource, Namespace: ns, Name: name, APIGroup: group, APIVersion: version, Subresource: sub}
}

// resourceReq is a request on a resource, with its objectRef derived from
// the path as the API server's RequestInfo does.
func (g *gen) resourceReq(who *identity, verb string, at int64, group, version, ns, resource, name, sub, query string) *request {
	uri := apiPath(group, version, ns, resource, name, sub)
	if query != "" {
		uri += "?" + query
	}
	r := &request{
		level: auditv1.LevelMetadata,
		verb:  verb,
		uri:   uri,
		who:   who,
		ref:   objRef(group, version, ns, resource, name, sub),
		code:  200,
		at:    at,
		dur:   g.r.logUniform(700, 12000),
	}
	switch verb {
	case "create":
		r.code = 201
		r.dur = g.r.logUniform(2500, 25000)
	case "update", "patch", "delete":
		r.dur = g.r.logUniform(2500, 20000)
	case "list":
		r.dur = g.r.logUniform(1500, 60000)
	}
	return r
}

// withStored marks an update: once the body is decoded the API server adds
// the object's uid and resourceVersion to objectRef.
func (r *request) withStored(uid string, rv int64) *request {
	d := *r.ref
	d.UID = typesUID(uid)
	d.ResourceVersion = strconv.FormatInt(rv, 10)
	r.doneRef = &d
	return r
}

// withCreatedName marks a create whose name comes from the body.
func (r *request) withCreatedName(name string) *request {
	d := *r.ref
	d.Name = name
	r.doneRef = &d
	return r
}

func (r *request) fail(err *apierrors.StatusError) *request {
	st := err.ErrStatus
	r.status = &st
	r.code = st.Code
	return r
}

func (g *gen) nextRV() int64 {
	g.rv += 1 + g.r.Int64N(40)
	return g.rv
}

// watchQuery is what a client-go reflector sends: a random timeout between
// five and ten minutes, given both as the request timeout and as
// timeoutSeconds.
func (g *gen) watchQuery(extra url.Values) (string, int64) {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	secs := 300 + g.r.Int64N(300)
	q.Set("allowWatchBookmarks", "true")
	q.Set("resourceVersion", strconv.FormatInt(g.rv-g.r.Int64N(5000), 10))
	q.Set("timeout", (time.Duration(secs) * time.Second).String())
	q.Set("timeoutSeconds", strconv.FormatInt(secs, 10))
	q.Set("watch", "true")
	return q.Encode(), secs
}

func (g *gen) watch(who *identity, at int64, group, version, ns, resource string, extra url.Values) *request {
	q, secs := g.watchQuery(extra)
	r := g.resourceReq(who, "watch", at, group, version, ns, resource, "", "", q)
	// A field selector on metadata.name makes RequestInfo name the object.
	if sel := extra.Get("fieldSelector"); strings.HasPrefix(sel, "metadata.name=") {
		r.ref.Name = strings.TrimPrefix(sel, "metadata.name=")
	}
	r.long = true
	r.startLat = g.r.logUniform(400, 6000)
	r.dur = secs*1000000 + g.r.logUniform(200, 30000)
	return r
}

func (g *gen) pickNode() *node { return g.c.nodes[g.r.IntN(len(g.c.nodes))] }

func (g *gen) pickWorkload() *workload { return g.c.workloads[g.r.IntN(len(g.c.workloads))] }

func (g *gen) pickPod() (*workload, *pod) {
	wl := g.pickWorkload()
	return wl, wl.pods[g.r.IntN(len(wl.pods))]
}

func (g *gen) pickPerson() *person { return g.c.people[g.r.IntN(len(g.c.people))] }

func (g *gen) traffic() []template {
	c := g.c
	return []template{
		{18, "node-lease", func(t int64) []*request {
			n := g.pickNode()
			r := g.resourceReq(n.id, "update", t, "coordination.k8s.io", "v1", "kube-node-lease", "leases", n.name, "", "timeout=10s")
			r.withStored(n.leaseUID, g.rv-g.r.Int64N(3000))
			if g.r.chance(0.01) {
				r.fail(apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, n.name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again")))
			} else {
				g.nextRV()
			}
			return []*request{r}
		}},
		{4, "node-get", func(t int64) []*request {
			n := g.pickNode()
			return []*request{g.resourceReq(n.id, "get", t, "", "v1", "", "nodes", n.name, "", "resourceVersion=0&timeout=10s")}
		}},
		{3, "node-status", func(t int64) []*request {
			n := g.pickNode()
			r := g.resourceReq(n.id, "patch", t, "", "v1", "", "nodes", n.name, "status", "timeout=10s")
			if g.r.chance(0.4) {
				r.level = auditv1.LevelRequest
				r.reqObj = g.nodeStatusPatch(n, t)
			}
			g.nextRV()
			return []*request{r}
		}},
		{3, "pod-status", func(t int64) []*request {
			wl, p := g.pickPod()
			r := g.resourceReq(p.node.id, "patch", t, "", "v1", wl.ns, "pods", p.name, "status", "")
			r.level = auditv1.LevelRequest
			r.reqObj = g.podStatusPatch(wl, p, t)
			g.nextRV()
			return []*request{r}
		}},
		{2, "token", func(t int64) []*request {
			wl, p := g.pickPod()
			r := g.resourceReq(p.node.id, "create", t, "", "v1", wl.ns, "serviceaccounts", wl.sa, "token", "")
			return []*request{r}
		}},
		{1.5, "kubelet-get", func(t int64) []*request {
			wl, p := g.pickPod()
			if g.r.chance(0.5) {
				return []*request{g.resourceReq(p.node.id, "get", t, "", "v1", wl.ns, "configmaps", "kube-root-ca.crt", "", "")}
			}
			return []*request{g.resourceReq(p.node.id, "get", t, "", "v1", wl.ns, "pods", p.name, "", "")}
		}},
		{2.5, "kubelet-watch", func(t int64) []*request {
			wl, p := g.pickPod()
			switch g.r.IntN(3) {
			case 0:
				return []*request{g.watch(p.node.id, t, "", "v1", wl.ns, "configmaps", url.Values{"fieldSelector": {"metadata.name=kube-root-ca.crt"}})}
			case 1:
				return []*request{g.watch(p.node.id, t, "", "v1", wl.ns, "secrets", url.Values{"fieldSelector": {"metadata.name=" + wl.name + "-tls"}})}
			}
			return []*request{g.watch(p.node.id, t, "", "v1", "", "pods", url.Values{"fieldSelector": {"spec.nodeName=" + p.node.name}})}
		}},
		{10, "leader-election", func(t int64) []*request {
			id, name := c.kcmElection, "kube-controller-manager"
			if g.r.chance(0.5) {
				id, name = c.schedElect, "kube-scheduler"
			}
			get := g.resourceReq(id, "get", t, "coordination.k8s.io", "v1", "kube-system", "leases", name, "", "timeout=5s")
			put := g.resourceReq(id, "update", t+get.dur+g.r.between(100, 600), "coordination.k8s.io", "v1", "kube-system", "leases", name, "", "timeout=5s")
			uid := c.saUIDs["lease/"+name]
			if uid == "" {
				uid = g.r.uuid()
				c.saUIDs["lease/"+name] = uid
			}
			rv := g.rv - g.r.Int64N(2000)
			put.withStored(uid, rv)
			if g.r.chance(0.5) {
				put.level = auditv1.LevelRequest
				put.reqObj = g.leaderLease(name, uid, rv, put.at)
			}
			g.nextRV()
			return []*request{get, put}
		}},
		{6, "controller-update", func(t int64) []*request {
			return []*request{g.controllerUpdate(t)}
		}},
		{4, "events", func(t int64) []*request {
			wl, p := g.pickPod()
			who, group := p.node.id, ""
			switch g.r.IntN(3) {
			case 1:
				who, group = c.scheduler, "events.k8s.io"
			case 2:
				who, group = c.controllers["replicaset-controller"], "events.k8s.io"
			}
			r := g.resourceReq(who, "create", t, group, "v1", wl.ns, "events", "", "", "")
			r.withCreatedName(p.name + "." + g.r.hex(16))
			g.nextRV()
			return []*request{r}
		}},
		{6, "informer-watch", func(t int64) []*request {
			return []*request{g.informerWatch(t)}
		}},
		{2, "informer-list", func(t int64) []*request {
			wl := g.c.workloads[g.r.IntN(len(g.c.workloads))]
			res := [][3]string{{"", "v1", "services"}, {"discovery.k8s.io", "v1", "endpointslices"}, {"", "v1", "pods"}, {"apps", "v1", "deployments"}, {"", "v1", "namespaces"}}[g.r.IntN(5)]
			r := g.resourceReq(wl.id, "list", t, res[0], res[1], "", res[2], "", "", "limit=500&resourceVersion=0")
			return []*request{r}
		}},
		{5, "kubectl", func(t int64) []*request {
			return g.kubectl(t)
		}},
		{3, "health", func(t int64) []*request {
			path := []string{"/livez", "/readyz", "/healthz"}[g.r.IntN(3)]
			return []*request{{
				level: auditv1.LevelMetadata, verb: "get", uri: path, who: c.anonymous,
				code: 200, at: t, dur: g.r.logUniform(300, 3000),
			}}
		}},
		{2, "hpa-metrics", func(t int64) []*request {
			wl := c.byName[[]string{"default/web", "prod/api", "payments/payments-api"}[g.r.IntN(3)]]
			r := g.resourceReq(c.controllers["horizontal-pod-autoscaler"], "list", t, "metrics.k8s.io", "v1beta1", wl.ns, "pods", "", "", "labelSelector="+url.QueryEscape("app="+wl.name))
			r.dur = g.r.logUniform(5000, 40000)
			return []*request{r}
		}},
		{1, "delegated-auth", func(t int64) []*request {
			ms := c.byName["kube-system/metrics-server"].id
			tr := g.resourceReq(ms, "create", t, "authentication.k8s.io", "v1", "", "tokenreviews", "", "", "")
			sar := g.resourceReq(ms, "create", t+tr.dur+g.r.between(200, 900), "authorization.k8s.io", "v1", "", "subjectaccessreviews", "", "", "")
			return []*request{tr, sar}
		}},
		{1.5, "not-found", func(t int64) []*request {
			wl := g.pickWorkload()
			name := wl.name + "-" + []string{"config", "tls", "overrides", "rulefiles-0"}[g.r.IntN(4)]
			res := "configmaps"
			if g.r.chance(0.4) {
				res = "secrets"
			}
			r := g.resourceReq(wl.id, "get", t, "", "v1", wl.ns, res, name, "", "")
			r.fail(apierrors.NewNotFound(schema.GroupResource{Resource: res}, name))
			return []*request{r}
		}},
		{0.7, "forbidden", func(t int64) []*request {
			wl := c.byName["monitoring/grafana"]
			if g.r.chance(0.5) {
				wl = c.byName["monitoring/prometheus-k8s"]
			}
			r := g.resourceReq(wl.id, "list", t, "", "v1", "", "secrets", "", "", "limit=500&resourceVersion=0")
			r.deny = true
			r.fail(apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "",
				fmt.Errorf("User %q cannot list resource %q in API group %q at the cluster scope", wl.id.user.Username, "secrets", "")))
			return []*request{r}
		}},
		{0.3, "unauthenticated", func(t int64) []*request {
			return []*request{g.unauthenticated(t)}
		}},
		{0.8, "pod-create", func(t int64) []*request {
			return g.podCreate(t)
		}},
	}
}

// unauthenticated is a request whose credentials were refused. The API
// server logs it once, at ResponseStarted, with an empty user.
func (g *gen) unauthenticated(t int64) *request {
	r := &request{
		level: auditv1.LevelMetadata, verb: "get", at: t, dur: g.r.logUniform(200, 2000),
		ips:   []string{g.c.unauthIPs[g.r.IntN(len(g.c.unauthIPs))]},
		agent: []string{"curl/8.11.1", "python-requests/2.32.3", "Go-http-client/1.1"}[g.r.IntN(3)],
	}
	switch g.r.IntN(3) {
	case 0:
		r.uri = "/version"
		r.unauth = "Authentication failed, no credentials provided"
	case 1:
		r.uri = "/api/v1/namespaces/kube-system/secrets"
		r.verb = "list"
		r.ref = objRef("", "v1", "kube-system", "secrets", "", "")
		r.unauth = "Authentication failed, attempted: bearer"
	default:
		r.uri = "/api/v1/pods?limit=500"
		r.verb = "list"
		r.ref = objRef("", "v1", "", "pods", "", "")
		r.unauth = "Authentication failed, attempted: bearer"
	}
	return r
}

func (g *gen) controllerUpdate(t int64) *request {
	c := g.c
	wl := g.pickWorkload()
	var r *request
	switch g.r.IntN(4) {
	case 0:
		r = g.resourceReq(c.controllers["endpointslice-controller"], "update", t, "discovery.k8s.io", "v1", wl.ns, "endpointslices", wl.name+"-"+g.r.nameSuffix(5), "", "")
	case 1:
		if wl.kind == "Deployment" {
			r = g.resourceReq(c.controllers["replicaset-controller"], "update", t, "apps", "v1", wl.ns, "replicasets", wl.name+"-"+wl.rsHash, "status", "")
		} else if wl.kind == "StatefulSet" {
			r = g.resourceReq(c.controllers["statefulset-controller"], "update", t, "apps", "v1", wl.ns, "statefulsets", wl.name, "status", "")
		} else {
			r = g.resourceReq(c.controllers["daemon-set-controller"], "update", t, "apps", "v1", wl.ns, "daemonsets", wl.name, "status", "")
		}
	case 2:
		if wl.kind != "Deployment" {
			return g.controllerUpdate(t)
		}
		r = g.resourceReq(c.controllers["deployment-controller"], "update", t, "apps", "v1", wl.ns, "deployments", wl.name, "status", "")
	default:
		n := g.pickNode()
		r = g.resourceReq(c.controllers["node-controller"], "get", t, "coordination.k8s.io", "v1", "kube-node-lease", "leases", n.name, "", "")
		return r
	}
	r.withStored(g.r.uuid(), g.rv-g.r.Int64N(20000))
	if g.r.chance(0.02) {
		gr := schema.GroupResource{Group: r.ref.APIGroup, Resource: r.ref.Resource}
		r.fail(apierrors.NewConflict(gr, r.ref.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again")))
	} else {
		g.nextRV()
	}
	return r
}

func (g *gen) informerWatch(t int64) *request {
	c := g.c
	id := func(key string) *identity { return c.byName[key].id }
	proxySel := url.Values{"labelSelector": {"!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name"}}
	switch g.r.IntN(12) {
	case 0:
		return g.watch(id("kube-system/coredns"), t, "", "v1", "", "services", nil)
	case 1:
		return g.watch(id("kube-system/coredns"), t, "discovery.k8s.io", "v1", "", "endpointslices", nil)
	case 2:
		return g.watch(id("kube-system/kube-proxy"), t, "discovery.k8s.io", "v1", "", "endpointslices", proxySel)
	case 3:
		return g.watch(id("kube-system/kube-proxy"), t, "", "v1", "", "services", proxySel)
	case 4:
		return g.watch(c.scheduler, t, "", "v1", "", "pods", url.Values{"fieldSelector": {"status.phase!=Succeeded,status.phase!=Failed"}})
	case 5:
		return g.watch(c.scheduler, t, "storage.k8s.io", "v1", "", "csinodes", nil)
	case 6:
		return g.watch(id("monitoring/prometheus-k8s"), t, "", "v1", []string{"prod", "default", "payments"}[g.r.IntN(3)], "pods", nil)
	case 7:
		return g.watch(id("argocd/argocd-application-controller"), t, "apps", "v1", "", "deployments", nil)
	case 8:
		return g.watch(id("cert-manager/cert-manager"), t, "cert-manager.io", "v1", "", "certificates", nil)
	case 9:
		name := []string{"replicaset-controller", "deployment-controller", "generic-garbage-collector"}[g.r.IntN(3)]
		res := [][3]string{{"apps", "v1", "replicasets"}, {"apps", "v1", "deployments"}, {"", "v1", "configmaps"}}[g.r.IntN(3)]
		return g.watch(c.controllers[name], t, res[0], res[1], "", res[2], nil)
	case 10:
		n := g.pickNode()
		return g.watch(n.id, t, "", "v1", "", "nodes", url.Values{"fieldSelector": {"metadata.name=" + n.name}})
	default:
		return g.watch(c.kcm, t, "", "v1", "", "namespaces", nil)
	}
}

// kubectl is a person at work: looking at pods, reading logs, applying a
// config change.
func (g *gen) kubectl(t int64) []*request {
	p := g.pickPerson()
	id := p.id
	wl, pd := g.pickPod()
	switch g.r.IntN(10) {
	case 0:
		return []*request{g.resourceReq(id, "list", t, "", "v1", wl.ns, "pods", "", "", "limit=500")}
	case 1:
		return []*request{g.resourceReq(id, "list", t, "", "v1", "", "pods", "", "", "limit=500")}
	case 2:
		dep := g.c.byName[[]string{"default/web", "prod/api", "payments/payments-api"}[g.r.IntN(3)]]
		r := g.resourceReq(id, "get", t, "apps", "v1", dep.ns, "deployments", dep.name, "", "")
		r.level = auditv1.LevelRequestResponse
		r.respObj = g.deployment(dep, t)
		return []*request{r}
	case 3:
		r := g.resourceReq(id, "get", t, "", "v1", wl.ns, "pods", pd.name, "log", "container="+wl.container+"&tailLines=100")
		r.long = true
		r.startLat = g.r.logUniform(5000, 60000)
		r.dur = r.startLat + g.r.logUniform(20000, 900000)
		return []*request{r}
	case 4:
		disc := &request{level: auditv1.LevelMetadata, verb: "get", uri: "/api?timeout=32s", who: id, code: 200, at: t, dur: g.r.logUniform(300, 2000)}
		reason := rbacReason("system:discovery", "ClusterRole", "system:discovery", `Group "system:authenticated"`)
		disc.reason = &reason
		disc2 := *disc
		disc2.uri = "/apis?timeout=32s"
		disc2.at = t + disc.dur + g.r.between(300, 3000)
		return []*request{disc, &disc2}
	case 5:
		return g.kubectlApply(id, t)
	case 6:
		dep := g.c.byName[[]string{"default/web", "prod/api", "payments/payments-api"}[g.r.IntN(3)]]
		r := g.resourceReq(id, "patch", t, "apps", "v1", dep.ns, "deployments", dep.name, "", "fieldManager=kubectl-rollout")
		r.level = auditv1.LevelRequest
		r.reqObj = []byte(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"` + time.UnixMicro(t).UTC().Format(time.RFC3339) + `"}}}}}`)
		g.nextRV()
		return []*request{r}
	case 7:
		r := g.resourceReq(id, "create", t, "authorization.k8s.io", "v1", "", "selfsubjectaccessreviews", "", "", "")
		r.level = auditv1.LevelRequestResponse
		reason := rbacReason("system:basic-user", "ClusterRole", "system:basic-user", `Group "system:authenticated"`)
		r.reason = &reason
		r.reqObj, r.respObj = g.ssar(wl.ns, p)
		return []*request{r}
	case 8:
		r := g.resourceReq(id, "list", t, "metrics.k8s.io", "v1beta1", wl.ns, "pods", "", "", "")
		return []*request{r}
	default:
		// kubectl describe pod
		get := g.resourceReq(id, "get", t, "", "v1", wl.ns, "pods", pd.name, "", "")
		ev := g.resourceReq(id, "list", t+get.dur+g.r.between(500, 4000), "", "v1", wl.ns, "events", "", "",
			"fieldSelector="+url.QueryEscape("involvedObject.name="+pd.name+",involvedObject.namespace="+wl.ns+",involvedObject.uid="+pd.uid)+"&limit=500")
		return []*request{get, ev}
	}
}

func (g *gen) kubectlApply(id *identity, t int64) []*request {
	wl := g.c.byName[[]string{"prod/api", "payments/payments-api", "default/web"}[g.r.IntN(3)]]
	name := wl.name + "-config"
	get := g.resourceReq(id, "get", t, "", "v1", wl.ns, "configmaps", name, "", "")
	patch := g.resourceReq(id, "patch", t+get.dur+g.r.between(2000, 20000), "", "v1", wl.ns, "configmaps", name, "", "fieldManager=kubectl-client-side-apply&fieldValidation=Strict")
	patch.level = auditv1.LevelRequestResponse
	patch.reqObj, patch.respObj = g.configMapApply(wl, name, patch.at)
	return []*request{get, patch}
}

// podCreate is a ReplicaSet replacing a pod: the controller creates it, then
// the scheduler binds it.
func (g *gen) podCreate(t int64) []*request {
	var wl *workload
	for wl == nil || wl.kind != "Deployment" {
		wl = g.pickWorkload()
	}
	// The controller sends only generateName; the name is made after the
	// request object was logged, so neither it nor objectRef has one.
	name := wl.name + "-" + wl.rsHash + "-" + g.r.nameSuffix(5)
	create := g.resourceReq(g.c.controllers["replicaset-controller"], "create", t, "", "v1", wl.ns, "pods", "", "", "")
	create.level = auditv1.LevelRequest
	create.reqObj = g.podObject(wl)
	create.admission = []string{"pod-security.kubernetes.io/enforce-policy", "baseline:latest"}
	if wl.ns == "default" || wl.ns == "kube-system" {
		create.admission[1] = "privileged:latest"
	}
	if g.r.chance(0.5) {
		create.admission = append(create.admission, "mutation.webhook.admission.k8s.io/round_0_index_0",
			`{"configuration":"aws-load-balancer-webhook","webhook":"mpod.elbv2.k8s.aws","mutated":false}`)
	}
	g.nextRV()
	bind := g.resourceReq(g.c.scheduler, "create", t+create.dur+g.r.between(2000, 30000), "", "v1", wl.ns, "pods", name, "binding", "")
	g.nextRV()
	return []*request{create, bind}
}

// benignFor picks a benign command that suits the workload.
func (g *gen) benignFor(wl *workload) []string {
	if wl != nil && wl.tool != "" && g.r.chance(0.6) {
		for _, a := range BenignArgv {
			if a[0] == wl.tool {
				return a
			}
		}
	}
	for {
		a := BenignArgv[g.r.IntN(len(BenignArgv))]
		switch a[0] {
		case "redis-cli", "psql", "nginx":
			continue
		}
		return a
	}
}

// execSession is one kubectl exec: kubectl reads the pod, then opens the
// exec stream, over WebSocket (GET, kubectl's default) or SPDY (POST). A
// refused WebSocket upgrade makes kubectl try SPDY too.
func (g *gen) execSession(s forcedSession) []*request {
	c := g.c
	var p *person
	switch {
	case s.deny:
		p = c.denied
	case s.attack:
		p = c.attackers[g.r.IntN(len(c.attackers))]
	default:
		for p == nil || !p.canExec {
			p = g.pickPerson()
		}
	}
	var wl *workload
	for wl == nil || !wl.exec || (s.deny && wl.ns != "prod") {
		wl = g.pickWorkload()
	}
	argv := s.argv
	if !s.attack && argv != nil {
		// A command that needs a particular client runs where it exists.
		switch argv[0] {
		case "redis-cli", "psql", "nginx":
			for _, w := range c.workloads {
				if w.tool == argv[0] {
					wl = w
				}
			}
		}
	}
	pd := wl.pods[g.r.IntN(len(wl.pods))]
	if !s.attack && s.argv == nil {
		argv = g.benignFor(wl)
	}
	interactive := Interactive(argv)
	kind := benignExec
	if s.attack {
		kind = attackExec
	}

	t := g.now
	get := g.resourceReq(p.id, "get", t, "", "v1", wl.ns, "pods", pd.name, "", "")
	if s.deny {
		reason := roleBindingReason("developers-view", wl.ns, "ClusterRole", "view", `Group "developers"`)
		get.reason = &reason
	}
	reqs := []*request{get}
	uri := ExecRequestURI(wl.ns, pd.name, wl.container, argv, interactive)
	at := t + get.dur + g.r.between(40000, 250000)
	verbs := []string{"get"}
	if g.r.chance(0.3) {
		verbs = []string{"create"}
	} else if s.deny {
		verbs = []string{"get", "create"}
	}
	for _, verb := range verbs {
		r := &request{
			level: auditv1.LevelMetadata,
			verb:  verb,
			uri:   uri,
			who:   p.id,
			ref:   objRef("", "v1", wl.ns, "pods", pd.name, "exec"),
			code:  101,
			long:  true,
			at:    at,
			exec:  kind,
		}
		if g.r.chance(0.3) {
			r.level = auditv1.LevelRequest
		}
		r.startLat = g.r.logUniform(15000, 120000)
		switch {
		case s.deny:
			r.deny = true
			r.denied = true
			r.startLat = g.r.logUniform(800, 5000)
			r.dur = r.startLat + g.r.logUniform(100, 2000)
			r.fail(apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, pd.name,
				fmt.Errorf("User %q cannot %s resource %q in API group %q in the namespace %q", p.id.user.Username, verb, "pods/exec", "", wl.ns)))
		case interactive:
			r.dur = r.startLat + g.r.logUniform(20e6, 900e6)
		case argv[0] == "tar":
			r.dur = r.startLat + g.r.logUniform(2e6, 40e6)
		default:
			r.dur = r.startLat + g.r.logUniform(150000, 4e6)
		}
		reqs = append(reqs, r)
		at = r.at + r.dur + g.r.between(5000, 40000)
	}
	return reqs
}
