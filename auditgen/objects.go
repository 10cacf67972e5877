package auditgen

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The request and response objects below are what the API server would log
// at Request and RequestResponse level: typed API objects encoded as JSON.

func typesUID(s string) types.UID { return types.UID(s) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only fixed, known-good types are encoded here
	}
	return b
}

func secTime(us int64) metav1.Time {
	return metav1.NewTime(time.UnixMicro(us).UTC().Truncate(time.Second))
}

func ptr[T any](v T) *T { return &v }

// created is a plausible creation time some days before t.
func (g *gen) created(t int64) metav1.Time {
	return secTime(t - g.r.Int64N(40*24*3600)*1000000 - 3600*1000000)
}

func (g *gen) leaderLease(name, uid string, rv int64, t int64) []byte {
	holder := "ip-10-0-0-11.ec2.internal_" + g.r.uuid()
	l := coordinationv1.Lease{
		TypeMeta: metav1.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "kube-system", UID: types.UID(uid),
			ResourceVersion:   strconv.FormatInt(rv, 10),
			CreationTimestamp: secTime(t - 51*24*3600*1000000),
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       &holder,
			LeaseDurationSeconds: ptr(int32(15)),
			AcquireTime:          ptr(metav1.NewMicroTime(time.UnixMicro(t - 3*24*3600*1000000).UTC())),
			RenewTime:            ptr(metav1.NewMicroTime(time.UnixMicro(t - g.r.Int64N(2000)).UTC())),
			LeaseTransitions:     ptr(int32(3)),
		},
	}
	return mustJSON(l)
}

func (g *gen) nodeStatusPatch(n *node, t int64) []byte {
	hb := time.UnixMicro(t).UTC().Format(time.RFC3339)
	cond := func(typ string) string {
		return fmt.Sprintf(`{"lastHeartbeatTime":%q,"type":%q}`, hb, typ)
	}
	return []byte(`{"status":{"$setElementOrder/conditions":[{"type":"MemoryPressure"},{"type":"DiskPressure"},{"type":"PIDPressure"},{"type":"Ready"}],"conditions":[` +
		cond("MemoryPressure") + "," + cond("DiskPressure") + "," + cond("PIDPressure") + "," + cond("Ready") + `]}}`)
}

func (g *gen) podStatusPatch(wl *workload, p *pod, t int64) []byte {
	started := g.created(t).UTC().Format(time.RFC3339)
	now := time.UnixMicro(t).UTC().Format(time.RFC3339)
	ready := "True"
	if g.r.chance(0.2) {
		ready = "False"
	}
	return []byte(fmt.Sprintf(`{"metadata":{"uid":%q},"status":{"$setElementOrder/conditions":[{"type":"PodReadyToStartContainers"},{"type":"Initialized"},{"type":"Ready"},{"type":"ContainersReady"},{"type":"PodScheduled"}],"conditions":[{"lastTransitionTime":%q,"status":%q,"type":"Ready"},{"lastTransitionTime":%q,"status":%q,"type":"ContainersReady"}],"containerStatuses":[{"containerID":"containerd://%s","image":%q,"imageID":"%s@sha256:%s","lastState":{},"name":%q,"ready":%t,"restartCount":%d,"started":true,"state":{"running":{"startedAt":%q}},"volumeMounts":[{"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":"kube-api-access-%s","readOnly":true,"recursiveReadOnly":"Disabled"}]}]}}`,
		p.uid, now, ready, now, ready, g.r.hex(64), wl.image, imageRepo(wl.image), g.r.hex(64), wl.container, ready == "True", g.r.IntN(3), started, g.r.nameSuffix(5)))
}

func imageRepo(image string) string {
	for i := len(image) - 1; i >= 0; i-- {
		if image[i] == ':' {
			return image[:i]
		}
		if image[i] == '/' {
			break
		}
	}
	return image
}

func (g *gen) labels(wl *workload) map[string]string {
	return map[string]string{"app": wl.name, "app.kubernetes.io/part-of": wl.ns}
}

func (g *gen) containerSpec(wl *workload) corev1.Container {
	return corev1.Container{
		Name:  wl.container,
		Image: wl.image,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: "LOG_LEVEL", Value: "info"},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
		},
		Resources: corev1.ResourceRequirements{},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intOrString(8080), Scheme: corev1.URISchemeHTTP}},
			PeriodSeconds:    10,
			TimeoutSeconds:   1,
			SuccessThreshold: 1,
			FailureThreshold: 3,
		},
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy:          corev1.PullIfNotPresent,
	}
}

func (g *gen) podSpec(wl *workload) corev1.PodSpec {
	return corev1.PodSpec{
		Containers:                    []corev1.Container{g.containerSpec(wl)},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr(int64(30)),
		DNSPolicy:                     corev1.DNSClusterFirst,
		ServiceAccountName:            wl.sa,
		SecurityContext:               &corev1.PodSecurityContext{},
		SchedulerName:                 "default-scheduler",
	}
}

func (g *gen) podObject(wl *workload) []byte {
	if wl.rsUID == "" {
		wl.rsUID = g.r.uuid()
	}
	p := corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: wl.name + "-" + wl.rsHash + "-",
			Namespace:    wl.ns,
			Labels:       map[string]string{"app": wl.name, "pod-template-hash": wl.rsHash},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: wl.name + "-" + wl.rsHash,
				UID: types.UID(wl.rsUID), Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		Spec: g.podSpec(wl),
	}
	return mustJSON(p)
}

func (g *gen) deployment(wl *workload, t int64) []byte {
	replicas := int32(len(wl.pods))
	d := appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: wl.name, Namespace: wl.ns, UID: types.UID(g.r.uuid()),
			ResourceVersion:   strconv.FormatInt(g.rv-g.r.Int64N(100000), 10),
			Generation:        int64(4 + g.r.IntN(30)),
			CreationTimestamp: g.created(t),
			Labels:            g.labels(wl),
			Annotations:       map[string]string{"deployment.kubernetes.io/revision": strconv.Itoa(2 + g.r.IntN(20))},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": wl.name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": wl.name}},
				Spec:       g.podSpec(wl),
			},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intOrStringS("25%")), MaxSurge: ptr(intOrStringS("25%")),
				},
			},
			RevisionHistoryLimit:    ptr(int32(10)),
			ProgressDeadlineSeconds: ptr(int32(600)),
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 4, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastUpdateTime: g.created(t), LastTransitionTime: g.created(t), Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, LastUpdateTime: g.created(t), LastTransitionTime: g.created(t), Reason: "NewReplicaSetAvailable", Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", wl.name+"-"+wl.rsHash)},
			},
		},
	}
	return mustJSON(d)
}

func (g *gen) ssar(ns string, p *person) (req, resp []byte) {
	s := authorizationv1.SelfSubjectAccessReview{
		TypeMeta: metav1.TypeMeta{Kind: "SelfSubjectAccessReview", APIVersion: "authorization.k8s.io/v1"},
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "pods", Subresource: "exec"},
		},
	}
	req = mustJSON(s)
	s.Status.Allowed = p.canExec
	if p.canExec {
		s.Status.Reason = p.id.reason
	}
	resp = mustJSON(s)
	return req, resp
}

func (g *gen) configMapApply(wl *workload, name string, t int64) (patch, obj []byte) {
	level := []string{"info", "debug", "warn"}[g.r.IntN(3)]
	data := map[string]string{
		"LOG_LEVEL":      level,
		"DATABASE_URL":   "postgres://" + wl.name + "@postgres-0.postgres.prod.svc:5432/shop?sslmode=require&connect_timeout=5",
		"FEATURE_FLAGS":  "checkout-v2=true,search<beta>=false",
		"WELCOME_BANNER": "<b>Welcome</b> & enjoy",
	}
	lastApplied := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "data": data,
		"metadata": map[string]any{"annotations": map[string]string{}, "name": name, "namespace": wl.ns},
	}
	la := string(mustJSON(lastApplied)) + "\n"
	patch = mustJSON(map[string]any{
		"data":     map[string]string{"LOG_LEVEL": level},
		"metadata": map[string]any{"annotations": map[string]string{"kubectl.kubernetes.io/last-applied-configuration": la}},
	})
	cm := corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: wl.ns, UID: types.UID(g.r.uuid()),
			ResourceVersion:   strconv.FormatInt(g.nextRV(), 10),
			CreationTimestamp: g.created(t),
			Annotations:       map[string]string{"kubectl.kubernetes.io/last-applied-configuration": la},
		},
		Data: data,
	}
	return patch, mustJSON(cm)
}

func intOrString(i int) intstr.IntOrString { return intstr.FromInt32(int32(i)) }

func intOrStringS(s string) intstr.IntOrString { return intstr.FromString(s) }
