package scan

import (
	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/auditlog"
	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/detect/esql"
)

// Finding is an audit event an engine flagged, ready to become an alert
// (alert.FromESQLRow for engine esql, alert.Sessions.Add for strict).
type Finding struct {
	Input   alert.Input
	Exec    detect.Exec
	Verdict detect.Verdict
	Row     esql.Row
}

type cachedVerdict struct {
	uri     string
	exec    detect.Exec
	verdict detect.Verdict
}

// Analyzer runs one engine on audit events. It is the one place the
// front ends (scan, serve) turn events into findings. Not safe for
// concurrent use: give each goroutine its own.
type Analyzer struct {
	engine string
	strict *detect.Strict
	// verdicts caches the analysis of a session's command: its stages
	// share one request URI.
	verdicts map[string]cachedVerdict
}

// NewAnalyzer returns an Analyzer for engine (EngineStrict or EngineESQL).
// strict may be shared between analyzers.
func NewAnalyzer(engine string, strict *detect.Strict) *Analyzer {
	return &Analyzer{engine: engine, strict: strict, verdicts: map[string]cachedVerdict{}}
}

// Analyze judges one event.
func (a *Analyzer) Analyze(rec *auditlog.Record) (Finding, bool) {
	ev := &rec.Event
	in := alert.Input{Event: ev, Raw: rec.Raw, Time: rec.Time, Source: alert.Source{File: rec.File, Line: rec.Line}}
	if a.engine == EngineESQL {
		var sub *string
		if ev.ObjectRef != nil {
			sub = &ev.ObjectRef.Subresource
		}
		row, miss, _ := esql.Evaluate(esql.Input{Subresource: sub, RequestURI: &ev.RequestURI})
		return Finding{Input: in, Row: row}, miss == esql.Matched
	}
	if !detect.IsPodExec(ev) {
		return Finding{}, false
	}
	key := string(ev.AuditID)
	c, ok := a.verdicts[key]
	if !ok || c.uri != ev.RequestURI {
		x := detect.ExecFromEvent(ev)
		c = cachedVerdict{uri: ev.RequestURI, exec: x, verdict: a.strict.Analyze(x.Command)}
		if key != "" {
			if len(a.verdicts) > 4096 {
				clear(a.verdicts) // bound memory on long streams
			}
			a.verdicts[key] = c
		}
	}
	return Finding{Input: in, Exec: c.exec, Verdict: c.verdict}, c.verdict.Match
}
