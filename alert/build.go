package alert

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"mvdan.cc/sh/v3/syntax"

	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/detect/esql"
	"github.com/imdsguard/imdsguard/rule"
)

// Input is one audit event handed to the alert builders.
type Input struct {
	Event *auditv1.Event
	// Raw is the audit event as read, kept for formats that embed it.
	Raw json.RawMessage
	// Time is when the request was received (falling back to the stage
	// time, then to the time its log store gave it).
	Time   time.Time
	Source Source
}

// stageRank orders audit stages; a later stage carries the final outcome.
func stageRank(s auditv1.Stage) int {
	switch s {
	case auditv1.StageRequestReceived:
		return 0
	case auditv1.StageResponseStarted:
		return 1
	case auditv1.StageResponseComplete:
		return 2
	case auditv1.StagePanic:
		return 3
	}
	return -1
}

// OutcomeOf reads the outcome of a request from one of its audit events.
func OutcomeOf(ev *auditv1.Event) (string, int32) {
	if ev.Stage == auditv1.StageRequestReceived || ev.ResponseStatus == nil || ev.ResponseStatus.Code == 0 {
		return OutcomeUnknown, 0
	}
	code := ev.ResponseStatus.Code
	switch {
	case code == 101 || (code >= 200 && code < 300):
		return OutcomeAllowed, code
	case code == 401 || code == 403:
		return OutcomeDenied, code
	case code == 400 && isAdmissionDenial(ev.ResponseStatus.Message):
		return OutcomeDenied, code
	}
	return OutcomeFailed, code
}

// isAdmissionDenial recognises the message the API server gives when an
// admission webhook refuses a request without a code of its own (the code
// is then raised to 400).
func isAdmissionDenial(msg string) bool {
	return strings.Contains(msg, "admission webhook") && strings.Contains(msg, "denied the request")
}

func userOf(ev *auditv1.Event) User {
	u := User{Username: ev.User.Username, UID: ev.User.UID, Groups: ev.User.Groups}
	if u.Groups == nil {
		u.Groups = []string{}
	}
	if ev.ImpersonatedUser != nil {
		u.ImpersonatedUser = ev.ImpersonatedUser.Username
		u.ImpersonatedGroups = ev.ImpersonatedUser.Groups
	}
	return u
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TimeFormat is RFC 3339 with microseconds, as audit events carry them.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// newAlert fills the fields both engines take from the event and the exec
// request.
func newAlert(engine string, r rule.Rule, ev *auditv1.Event, x detect.Exec) *Alert {
	return &Alert{
		SchemaVersion: SchemaVersion,
		Engine:        engine,
		Rule:          RefFor(r),
		AuditID:       string(ev.AuditID),
		Verb:          ev.Verb,
		User:          userOf(ev),
		SourceIPs:     nonNil(ev.SourceIPs),
		UserAgent:     ev.UserAgent,
		Namespace:     x.Namespace,
		Pod:           x.Pod,
		Container:     x.Container,
		Command:       nonNil(x.Command),
		QueryError:    x.QueryError,
	}
}

// FromESQLRow builds the alert the published rule gives for one event.
func FromESQLRow(in Input, row esql.Row) *Alert {
	ev := in.Event
	x := detect.ExecFromEvent(ev)
	r := rule.ESQL
	a := newAlert("esql", r, ev, x)
	a.ID = MakeID("esql", r.ID, string(ev.AuditID), string(ev.Stage), ev.RequestURI)
	a.Timestamp, a.Time = formatTime(in.Time), in.Time
	a.Stage = string(ev.Stage)
	a.ExecutedCommand = row.ExecutedCommand
	a.CloudTarget, a.IsCredentialTheft = row.CloudTarget, row.CredentialTheft
	a.Sources, a.Events = []Source{in.Source}, []json.RawMessage{in.Raw}
	if ev.ResponseStatus != nil {
		a.ResponseCode = ev.ResponseStatus.Code
	}
	return a
}

// Sessions folds the events of strict-engine detections into one alert per
// exec session (audit ID). Events repeated with the same stage, as when a
// log is read twice or a webhook batch is retried, are counted once.
type Sessions struct {
	byID map[string]*session
}

type session struct {
	alert    *Alert
	first    time.Time
	latest   *auditv1.Event
	stageSet map[auditv1.Stage]bool
	parts    []part
}

// part is one audit event of a session.
type part struct {
	stage auditv1.Stage
	src   Source
	raw   json.RawMessage
}

// NewSessions returns an empty fold.
func NewSessions() *Sessions { return &Sessions{byID: map[string]*session{}} }

// Add records one event of a session the strict engine flagged.
func (s *Sessions) Add(in Input, x detect.Exec, v detect.Verdict) {
	ev := in.Event
	key := string(ev.AuditID)
	if key == "" {
		// Without an audit ID an event cannot be tied to others.
		key = "\x00" + in.Source.File + "\x00" + ev.RequestURI + "\x00" + in.Time.String()
	}
	se := s.byID[key]
	if se == nil {
		r := rule.Strict
		se = &session{stageSet: map[auditv1.Stage]bool{}, first: in.Time}
		a := newAlert("strict", r, ev, x)
		a.ID = MakeID("strict", r.ID, key)
		a.ExecutedCommand = QuoteArgv(x.Command)
		a.CloudTarget, a.IsCredentialTheft, a.Access = v.CloudTarget, v.TheftLabel(), v.Access
		a.Indicators, a.Normalized = v.Indicators, v.Normalized
		a.Truncated, a.AnalysisNote = v.Truncated, v.NormalizeNote
		se.alert = a
		s.byID[key] = se
	}
	if se.stageSet[ev.Stage] {
		return
	}
	se.stageSet[ev.Stage] = true
	src := in.Source
	src.Stage = string(ev.Stage)
	se.parts = append(se.parts, part{stage: ev.Stage, src: src, raw: in.Raw})
	if !in.Time.IsZero() && (se.first.IsZero() || in.Time.Before(se.first)) {
		se.first = in.Time
	}
	if se.latest == nil || stageRank(ev.Stage) > stageRank(se.latest.Stage) {
		se.latest = ev
	}
}

// Len is the number of sessions so far.
func (s *Sessions) Len() int { return len(s.byID) }

// Alerts returns one alert per session, sorted by time then audit ID.
func (s *Sessions) Alerts() []*Alert {
	out := make([]*Alert, 0, len(s.byID))
	for _, se := range s.byID {
		a := se.alert
		sort.SliceStable(se.parts, func(i, j int) bool { return stageRank(se.parts[i].stage) < stageRank(se.parts[j].stage) })
		a.Stages, a.Sources, a.Events = nil, nil, nil
		for _, p := range se.parts {
			a.Stages = append(a.Stages, string(p.stage))
			a.Sources = append(a.Sources, p.src)
			a.Events = append(a.Events, p.raw)
		}
		a.Time = se.first
		a.Timestamp = formatTime(se.first)
		a.Outcome, a.ResponseCode = OutcomeOf(se.latest)
		out = append(out, a)
	}
	Sort(out)
	return out
}

// Sort orders alerts by time, then audit ID, then stage, then id, so output
// is the same whatever order the input was read in.
func Sort(as []*Alert) {
	sort.SliceStable(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.AuditID != b.AuditID {
			return a.AuditID < b.AuditID
		}
		if a.Stage != b.Stage {
			return stageRank(auditv1.Stage(a.Stage)) < stageRank(auditv1.Stage(b.Stage))
		}
		return a.ID < b.ID
	})
}

// QuoteArgv renders argv as a POSIX shell command line, quoting only where
// needed, so an analyst sees the argument boundaries.
func QuoteArgv(argv []string) string {
	var b strings.Builder
	for i, arg := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		q, err := syntax.Quote(arg, syntax.LangBash)
		if err != nil {
			// Quote refuses only NUL bytes, which no argv can hold; keep
			// the text visible rather than drop it.
			q = "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
		}
		b.WriteString(q)
	}
	return b.String()
}

// Merge folds into old the stages of the same session seen later in
// another batch (the audit webhook sends a session's stages in separate
// batches). It returns whether old changed. Both must be strict alerts
// with the same id.
func Merge(old, next *Alert) bool {
	have := map[string]bool{}
	for _, st := range old.Stages {
		have[st] = true
	}
	changed := false
	// A session stays suppressed only while every stage is: once one was
	// judged without an exception (removed or expired since), it alerts.
	if old.Suppressed != nil && next.Suppressed == nil {
		old.Suppressed = nil
		changed = true
	}
	for i, st := range next.Stages {
		if have[st] {
			continue
		}
		have[st] = true
		changed = true
		old.Stages = append(old.Stages, st)
		if i < len(next.Sources) {
			old.Sources = append(old.Sources, next.Sources[i])
		}
		if i < len(next.Events) {
			old.Events = append(old.Events, next.Events[i])
		}
	}
	if !changed {
		return false
	}
	rank := func(s string) int { return stageRank(auditv1.Stage(s)) }
	latest := func(a *Alert) int {
		r := -1
		for _, s := range a.Stages {
			r = max(r, rank(s))
		}
		return r
	}
	// Sources and Events run parallel (one per stage): sort them together.
	if len(old.Events) == len(old.Sources) {
		idx := make([]int, len(old.Sources))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return rank(old.Sources[idx[i]].Stage) < rank(old.Sources[idx[j]].Stage) })
		srcs, evs := make([]Source, len(idx)), make([]json.RawMessage, len(idx))
		for k, i := range idx {
			srcs[k], evs[k] = old.Sources[i], old.Events[i]
		}
		old.Sources, old.Events = srcs, evs
	} else {
		sort.SliceStable(old.Sources, func(i, j int) bool { return rank(old.Sources[i].Stage) < rank(old.Sources[j].Stage) })
	}
	sort.SliceStable(old.Stages, func(i, j int) bool { return rank(old.Stages[i]) < rank(old.Stages[j]) })
	if latest(next) >= latest(old) {
		old.Outcome, old.ResponseCode = next.Outcome, next.ResponseCode
	}
	if !next.Time.IsZero() && (old.Time.IsZero() || next.Time.Before(old.Time)) {
		old.Time, old.Timestamp = next.Time, next.Timestamp
	}
	return true
}
