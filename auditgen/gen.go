package auditgen

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/json"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// execKind labels a request for Stats.
type execKind uint8

const (
	notExec execKind = iota
	benignExec
	attackExec
)

// request is one API request: everything its audit events need. Times are
// microseconds since the Unix epoch.
type request struct {
	level auditv1.Level
	verb  string
	uri   string
	who   *identity
	// unauth, when set, makes this a request that failed authentication:
	// one ResponseStarted event with code 401 and this message, and an
	// empty user.
	unauth string
	// agent and ips override who's, when set.
	agent string
	ips   []string

	ref     *auditv1.ObjectReference // objectRef as known when the request arrives
	doneRef *auditv1.ObjectReference // objectRef once the body was decoded; nil means ref

	code   int32          // response code, when status is nil
	status *metav1.Status // full response status of a failed request
	deny   bool           // RBAC refused the request
	reason *string        // authorization reason, overriding who.reason

	reqObj  []byte // logged at level Request and above
	respObj []byte // logged at level RequestResponse
	// admission holds annotations admission plugins add (pod security,
	// webhooks), as key, value pairs.
	admission []string

	long     bool  // long-running: watch, exec, log, proxy
	at       int64 // received
	startLat int64 // received to ResponseStarted (long-running only)
	dur      int64 // received to ResponseComplete

	exec   execKind
	denied bool // counted as a denied session
}

// line is one encoded event waiting for its time.
type line struct {
	ts  int64
	seq uint64
	b   []byte
}

type lineHeap []line

func (h lineHeap) Len() int { return len(h) }
func (h lineHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].seq < h[j].seq
}
func (h lineHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *lineHeap) Push(x any)   { *h = append(*h, x.(line)) }
func (h *lineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// forcedSession is an exec session Config asks for.
type forcedSession struct {
	attack bool
	argv   []string
	deny   bool
}

type gen struct {
	cfg         Config
	w           *bufio.Writer
	r           rnd
	c           *cluster
	now         int64
	rv          int64
	seq         uint64
	lines       lineHeap
	pendEvents  int64
	pendBytes   int64
	stats       Stats
	stage       [3]bool // RequestReceived, ResponseStarted, ResponseComplete
	buf         bytes.Buffer
	enc         *json.Encoder
	execShare   float64
	attackShare float64
	rate        float64
	forced      []forcedSession
	forcedTotal int
	err         error
	groups      int64
	templates   []template
	weightSum   float64
}

func newGen(cfg Config, w *bufio.Writer) *gen {
	g := &gen{cfg: cfg, w: w, r: newRnd(cfg.Seed)}
	g.enc = json.NewEncoder(&g.buf)
	g.execShare = orDefault(cfg.ExecShare, DefaultExecShare)
	g.attackShare = orDefault(cfg.AttackShare, DefaultAttackShare)
	g.rate = orDefault(cfg.Rate, DefaultRate)
	start := cfg.Start
	if start.IsZero() {
		start = DefaultStart
	}
	g.now = start.UnixMicro()
	if len(cfg.Stages) == 0 {
		g.stage = [3]bool{true, true, true}
	}
	for _, s := range cfg.Stages {
		switch s {
		case auditv1.StageRequestReceived:
			g.stage[0] = true
		case auditv1.StageResponseStarted:
			g.stage[1] = true
		case auditv1.StageResponseComplete:
			g.stage[2] = true
		}
	}
	g.c = newCluster(g.r)
	g.rv = 48213377 + g.r.Int64N(1000000)
	g.templates = g.traffic()
	for _, t := range g.templates {
		g.weightSum += t.weight
	}
	g.planForced()
	return g
}

func orDefault(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// planForced lays out the forced sessions: attack sessions keep AttackArgv's
// order and the last ForceDenied of them are denied; benign and attack
// sessions are shuffled among each other.
func (g *gen) planForced() {
	b, a := g.cfg.ForceBenign, g.cfg.ForceAttack
	if b+a == 0 {
		return
	}
	kinds := make([]bool, 0, a+b)
	for i := 0; i < a; i++ {
		kinds = append(kinds, true)
	}
	for i := 0; i < b; i++ {
		kinds = append(kinds, false)
	}
	g.r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	benign := g.r.Perm(len(BenignArgv))
	ai, bi := 0, 0
	for _, attack := range kinds {
		if attack {
			g.forced = append(g.forced, forcedSession{
				attack: true,
				argv:   AttackArgv[ai%len(AttackArgv)],
				deny:   ai >= a-g.cfg.ForceDenied,
			})
			ai++
		} else {
			g.forced = append(g.forced, forcedSession{argv: BenignArgv[benign[bi%len(benign)]]})
			bi++
		}
	}
	g.forcedTotal = len(g.forced)
}

// progress is how much of the budget is used, 0 to 1 or more.
func (g *gen) progress() float64 {
	p := 0.0
	if g.cfg.Events > 0 {
		p = float64(g.stats.Events+g.pendEvents) / float64(g.cfg.Events)
	}
	if g.cfg.Bytes > 0 {
		if q := float64(g.stats.Bytes+g.pendBytes) / float64(g.cfg.Bytes); q > p {
			p = q
		}
	}
	return p
}

// fits reports whether n more events stay within the event budget.
func (g *gen) fits(n int) bool {
	return g.cfg.Events <= 0 || g.stats.Events+g.pendEvents+int64(n) <= int64(g.cfg.Events)
}

func (g *gen) run() error {
	scratch := make([]line, 0, 16)
	for g.err == nil && g.progress() < 1 {
		g.flushUntil(g.now)
		if len(g.forced) > 0 {
			k := g.forcedTotal - len(g.forced)
			if g.progress() >= (float64(k)+0.5)/float64(g.forcedTotal) {
				g.commit(g.execSession(g.forced[0]), scratch[:0])
				g.forced = g.forced[1:]
				continue
			}
		}
		reqs := g.next()
		lines := g.encodeAll(reqs, scratch[:0])
		if !g.fits(len(lines)) || len(lines) == 0 {
			ok := false
			for try := 0; try < 8 && !ok; try++ {
				reqs = g.ordinary()
				lines = g.encodeAll(reqs, scratch[:0])
				ok = len(lines) > 0 && g.fits(len(lines))
			}
			if !ok {
				reqs = []*request{g.unauthenticated(g.now)}
				lines = g.encodeAll(reqs, scratch[:0])
				ok = len(lines) > 0 && g.fits(len(lines))
			}
			if !ok {
				break
			}
		}
		g.push(reqs, lines)
	}
	for g.err == nil && len(g.forced) > 0 {
		g.commit(g.execSession(g.forced[0]), scratch[:0])
		g.forced = g.forced[1:]
	}
	g.flushUntil(1<<62 - 1)
	return g.err
}

// next picks the next group of requests: an exec session with
// probability ExecShare (unless sessions are forced), else ordinary traffic.
func (g *gen) next() []*request {
	// A group holds several requests on average (a leader-election get and
	// update, a kubectl apply); scale the chance so that ExecShare is the
	// share of requests, not of groups.
	perGroup := 1.0
	if g.groups > 0 {
		perGroup = float64(g.stats.Requests) / float64(g.groups)
	}
	if g.forcedTotal == 0 && g.execShare > 0 && g.r.chance(g.execShare*perGroup) {
		attack := g.attackShare > 0 && g.r.chance(g.attackShare)
		var s forcedSession
		if attack {
			s = forcedSession{attack: true, argv: AttackArgv[g.r.IntN(len(AttackArgv))], deny: g.r.chance(0.1)}
		} else {
			s = forcedSession{deny: g.r.chance(0.03)}
		}
		return g.execSession(s)
	}
	return g.ordinary()
}

func (g *gen) commit(reqs []*request, scratch []line) {
	g.push(reqs, g.encodeAll(reqs, scratch))
}

// push queues a group's events and advances the clock past it.
func (g *gen) push(reqs []*request, lines []line) {
	for _, l := range lines {
		heap.Push(&g.lines, l)
		g.pendEvents++
		g.pendBytes += int64(len(l.b))
	}
	for _, r := range reqs {
		g.stats.Requests++
		switch r.exec {
		case benignExec:
			g.stats.ExecRequests++
		case attackExec:
			g.stats.ExecRequests++
			g.stats.AttackRequests++
		}
	}
	if s := sessionOf(reqs); s != notExec {
		g.stats.ExecSessions++
		if s == attackExec {
			g.stats.AttackSessions++
		}
		for _, r := range reqs {
			if r.denied {
				g.stats.DeniedSessions++
				break
			}
		}
	}
	g.groups++
	n := float64(len(reqs))
	g.now += int64(g.r.ExpFloat64()*n/g.rate*1e6) + 1
}

func sessionOf(reqs []*request) execKind {
	for _, r := range reqs {
		if r.exec != notExec {
			return r.exec
		}
	}
	return notExec
}

// flushUntil writes the queued events stamped at or before ts.
func (g *gen) flushUntil(ts int64) {
	for len(g.lines) > 0 && g.lines[0].ts <= ts {
		l := heap.Pop(&g.lines).(line)
		g.pendEvents--
		g.pendBytes -= int64(len(l.b))
		if g.err == nil {
			_, g.err = g.w.Write(l.b)
		}
		g.stats.Events++
		g.stats.Bytes += int64(len(l.b))
	}
}

func (g *gen) encodeAll(reqs []*request, dst []line) []line {
	for _, r := range reqs {
		dst = g.encode(r, dst)
	}
	return dst
}

func micro(us int64) metav1.MicroTime {
	return metav1.NewMicroTime(time.UnixMicro(us).UTC())
}

// encode appends the events of r for the enabled stages, in the way
// kube-apiserver fills them in: the RequestReceived event is sent before
// authorization and decoding, so it has neither annotations nor a response
// status; later stages carry the authorization decision, the status and,
// by level, the request and response objects.
func (g *gen) encode(r *request, dst []line) []line {
	ev := auditv1.Event{
		TypeMeta:                 metav1.TypeMeta{Kind: "Event", APIVersion: "audit.k8s.io/v1"},
		Level:                    r.level,
		AuditID:                  types.UID(g.r.uuid()),
		RequestURI:               r.uri,
		Verb:                     r.verb,
		SourceIPs:                r.ips,
		UserAgent:                r.agent,
		RequestReceivedTimestamp: micro(r.at),
	}
	if r.who != nil {
		ev.User = r.who.user
		if ev.SourceIPs == nil {
			ev.SourceIPs = r.who.ips
		}
		if ev.UserAgent == "" {
			ev.UserAgent = r.who.agent
		}
	}
	if r.unauth != "" {
		ev.User = authnv1.UserInfo{}
		if !g.stage[1] {
			return dst
		}
		ev.Stage = auditv1.StageResponseStarted
		ev.ObjectRef = r.ref
		ev.ResponseStatus = &metav1.Status{Message: r.unauth, Code: 401}
		ev.StageTimestamp = micro(r.at + r.dur)
		return g.emit(&ev, r.at+r.dur, dst)
	}

	if g.stage[0] {
		ev.Stage = auditv1.StageRequestReceived
		ev.ObjectRef = r.ref
		ev.StageTimestamp = ev.RequestReceivedTimestamp
		dst = g.emit(&ev, r.at, dst)
	}

	if r.doneRef != nil {
		ev.ObjectRef = r.doneRef
	} else {
		ev.ObjectRef = r.ref
	}
	status := r.status
	if status == nil {
		status = &metav1.Status{Code: r.code}
	}
	ev.ResponseStatus = status
	if r.level != auditv1.LevelMetadata && r.reqObj != nil {
		ev.RequestObject = &runtime.Unknown{Raw: r.reqObj, ContentType: runtime.ContentTypeJSON}
	}
	reason := r.who.reason
	if r.reason != nil {
		reason = *r.reason
	}
	ann := map[string]string{
		"authorization.k8s.io/decision": "allow",
		"authorization.k8s.io/reason":   reason,
	}
	if r.deny {
		ann["authorization.k8s.io/decision"] = "forbid"
		ann["authorization.k8s.io/reason"] = ""
	}
	for i := 0; i+1 < len(r.admission); i += 2 {
		ann[r.admission[i]] = r.admission[i+1]
	}
	ev.Annotations = ann

	if r.long && g.stage[1] {
		ev.Stage = auditv1.StageResponseStarted
		ev.StageTimestamp = micro(r.at + r.startLat)
		dst = g.emit(&ev, r.at+r.startLat, dst)
	}
	if !g.stage[2] {
		return dst
	}
	ev.Stage = auditv1.StageResponseComplete
	ev.StageTimestamp = micro(r.at + r.dur)
	if r.level == auditv1.LevelRequestResponse && r.respObj != nil {
		ev.ResponseObject = &runtime.Unknown{Raw: r.respObj, ContentType: runtime.ContentTypeJSON}
	}
	if r.dur > 500000 {
		// The API server notes where the time went when a request takes
		// longer than 500ms.
		full := make(map[string]string, len(ann)+5)
		for k, v := range ann {
			full[k] = v
		}
		full["apiserver.latency.k8s.io/authentication"] = time.Duration(g.r.logUniform(4000, 900000)).String()
		full["apiserver.latency.k8s.io/authorization"] = time.Duration(g.r.logUniform(3000, 400000)).String()
		if !r.long {
			full["apiserver.latency.k8s.io/etcd"] = time.Duration(r.dur*700 + g.r.Int64N(1000)).String()
			full["apiserver.latency.k8s.io/serialize-response-object"] = time.Duration(r.dur*150 + g.r.Int64N(1000)).String()
		}
		full["apiserver.latency.k8s.io/total"] = time.Duration(r.dur*1000 - g.r.Int64N(40000)).String()
		ev.Annotations = full
	}
	return g.emit(&ev, r.at+r.dur, dst)
}

// emit encodes ev as the API server's log backend does: json.Encoder, which
// escapes &, < and > and ends the line with a newline.
func (g *gen) emit(ev *auditv1.Event, ts int64, dst []line) []line {
	g.buf.Reset()
	if err := g.enc.Encode(ev); err != nil {
		if g.err == nil {
			g.err = err
		}
		return dst
	}
	b := make([]byte, g.buf.Len())
	copy(b, g.buf.Bytes())
	g.seq++
	return append(dst, line{ts: ts, seq: g.seq, b: b})
}
