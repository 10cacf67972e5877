package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/rule"
)

// ecsHandler writes documents shaped like Elastic Security alerts, so the
// output can be bulk-loaded next to (or instead of) Kibana's own alerts.
// With bulk set, each document is preceded by a _bulk "create" action
// whose _id is the alert id, so loading twice creates no duplicates.
type ecsHandler struct {
	w    io.Writer
	now  func() time.Time
	bulk bool
}

type ecsThreat struct {
	Framework string         `json:"framework"`
	Tactic    ecsRef         `json:"tactic"`
	Technique []ecsTechnique `json:"technique"`
}

type ecsRef struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Reference string `json:"reference"`
}

type ecsTechnique struct {
	ecsRef
	Subtechnique []ecsRef `json:"subtechnique,omitempty"`
}

func ecsThreats(r rule.Rule) []ecsThreat {
	var out []ecsThreat
	for _, t := range r.Threat {
		tech := ecsTechnique{ecsRef: ecsRef(t.Technique)}
		for _, s := range t.Subtechnique {
			tech.Subtechnique = append(tech.Subtechnique, ecsRef(s))
		}
		out = append(out, ecsThreat{Framework: "MITRE ATT&CK", Tactic: ecsRef(t.Tactic), Technique: []ecsTechnique{tech}})
	}
	return out
}

func (h *ecsHandler) Alert(a *alert.Alert) error {
	r := rule.ForEngine(a.Engine)
	ruleType := "esql"
	if a.Engine != "esql" {
		ruleType = "imdsguard"
	}
	doc := map[string]any{
		"@timestamp":                        h.now().UTC().Format(time.RFC3339Nano),
		"event":                             map[string]any{"kind": "signal", "category": []string{"process"}, "type": []string{"start"}, "dataset": "kubernetes.audit_logs"},
		"kibana.space_ids":                  []string{"default"},
		"kibana.alert.uuid":                 a.ID,
		"kibana.alert.status":               "active",
		"kibana.alert.workflow_status":      "open",
		"kibana.alert.depth":                1,
		"kibana.alert.original_time":        a.Timestamp,
		"kibana.alert.severity":             r.Severity,
		"kibana.alert.risk_score":           r.RiskScore,
		"kibana.alert.reason":               reason(a),
		"kibana.alert.rule.uuid":            r.ID,
		"kibana.alert.rule.rule_id":         r.ID,
		"kibana.alert.rule.name":            r.Name,
		"kibana.alert.rule.description":     r.Description,
		"kibana.alert.rule.type":            ruleType,
		"kibana.alert.rule.category":        "ES|QL Rule",
		"kibana.alert.rule.severity":        r.Severity,
		"kibana.alert.rule.risk_score":      r.RiskScore,
		"kibana.alert.rule.version":         r.Version,
		"kibana.alert.rule.interval":        r.Schedule.Interval,
		"kibana.alert.rule.from":            r.Schedule.From,
		"kibana.alert.rule.to":              "now",
		"kibana.alert.rule.max_signals":     r.Schedule.MaxSignals,
		"kibana.alert.rule.tags":            r.Tags,
		"kibana.alert.rule.threat":          ecsThreats(r),
		"kibana.alert.rule.author":          r.Author,
		"kibana.alert.rule.license":         r.License,
		"kibana.alert.rule.false_positives": r.FalsePositives,
		"kibana.alert.rule.note":            r.Guide,
		"kibana.alert.rule.references":      r.References,
		"kibana.alert.rule.producer":        "imdsguard",
		"Esql.executed_command":             a.ExecutedCommand,
		"Esql.cloud_target":                 a.CloudTarget,
		"Esql.is_credential_theft":          a.IsCredentialTheft,
		"user":                              map[string]any{"name": a.User.Username},
		"user_agent":                        map[string]any{"original": a.UserAgent},
		"orchestrator":                      map[string]any{"type": "kubernetes", "namespace": a.Namespace, "resource": map[string]any{"type": "pods", "name": a.Pod}},
		"process":                           map[string]any{"args": a.Command, "command_line": a.ExecutedCommand},
		"imdsguard":                         a,
	}
	if a.Engine != "esql" {
		delete(doc, "kibana.alert.rule.category")
	}
	if n := len(a.SourceIPs); n > 0 {
		// Only the last address is seen by the API server itself.
		doc["source"] = map[string]any{"ip": a.SourceIPs[n-1]}
	}
	if len(a.Events) > 0 {
		audit, err := dedotAnnotations(a.Events[len(a.Events)-1])
		if err != nil {
			return fmt.Errorf("alert %s: %v", a.ID, err)
		}
		doc["kubernetes"] = map[string]any{"audit": audit}
	}
	var buf bytes.Buffer
	if h.bulk {
		action, _ := Marshal(map[string]any{"create": map[string]any{"_id": a.ID}})
		buf.Write(action)
	}
	b, err := Marshal(doc)
	if err != nil {
		return err
	}
	buf.Write(b)
	_, err = h.w.Write(buf.Bytes())
	return err
}

func (h *ecsHandler) Flush() error { return nil }

func reason(a *alert.Alert) string {
	return fmt.Sprintf("pods/exec by %s in %s/%s reached %s (%s)", a.User.Username, a.Namespace, a.Pod, a.CloudTarget, a.IsCredentialTheft)
}

// dedotAnnotations does what Elastic's Kubernetes integration does before
// indexing an audit event: dots in annotation keys become underscores, so
// "authorization.k8s.io/decision" is not read as an object path.
func dedotAnnotations(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, err
	}
	if ann, ok := ev["annotations"].(map[string]any); ok {
		out := make(map[string]any, len(ann))
		for k, v := range ann {
			out[strings.ReplaceAll(k, ".", "_")] = v
		}
		ev["annotations"] = out
	}
	return ev, nil
}
