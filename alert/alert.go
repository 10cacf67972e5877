// Package alert defines imdsguard's alert, a stable contract shared by every
// output format and front end, and folds the audit events of one exec
// session into one alert.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/rule"
)

// SchemaVersion is the version of the alert JSON contract. It changes only
// when a field is removed or changes meaning; new fields do not bump it.
const SchemaVersion = "1"

// Outcomes of an exec session, from its latest audit stage.
const (
	OutcomeAllowed = "allowed" // 101 or 2xx: the API server started the session
	OutcomeDenied  = "denied"  // 401, 403, or an admission webhook's 400
	OutcomeFailed  = "failed"  // any other code
	OutcomeUnknown = "unknown" // no response recorded yet
)

// Alert is one detection. Engine strict gives one per exec session (audit
// ID); engine esql gives one per audit event, as the published rule does.
type Alert struct {
	SchemaVersion string   `json:"schema_version"`
	ID            string   `json:"id"`
	Engine        string   `json:"engine"`
	Rule          RuleRef  `json:"rule"`
	Timestamp     string   `json:"timestamp"`
	AuditID       string   `json:"audit_id"`
	Stage         string   `json:"stage,omitempty"`
	Stages        []string `json:"stages,omitempty"`
	Verb          string   `json:"verb,omitempty"`
	User          User     `json:"user"`
	SourceIPs     []string `json:"source_ips"`
	UserAgent     string   `json:"user_agent"`
	Namespace     string   `json:"namespace"`
	Pod           string   `json:"pod"`
	Container     string   `json:"container"`
	Command       []string `json:"command"`
	// ExecutedCommand is the command as one string: the rule's
	// Esql.executed_command for engine esql, the argv quoted for a POSIX
	// shell for engine strict.
	ExecutedCommand   string             `json:"executed_command"`
	CloudTarget       string             `json:"cloud_target"`
	IsCredentialTheft string             `json:"is_credential_theft"`
	Access            string             `json:"access,omitempty"`
	Outcome           string             `json:"outcome,omitempty"`
	ResponseCode      int32              `json:"response_code,omitempty"`
	Indicators        []detect.Indicator `json:"indicators,omitempty"`
	Normalized        string             `json:"normalized_command,omitempty"`
	// Truncated is set when the command exceeded the bounds of shell
	// normalization; AnalysisNote says which (or why it did not parse).
	Truncated    bool     `json:"analysis_truncated,omitempty"`
	AnalysisNote string   `json:"analysis_note,omitempty"`
	QueryError   string   `json:"query_error,omitempty"`
	Sources      []Source `json:"sources,omitempty"`
	// Suppressed is set when an operator's exception matched the session:
	// the alert is kept and counted but not delivered.
	Suppressed *Suppression `json:"suppressed,omitempty"`

	// Events are the audit events behind the alert, as read, for formats
	// that carry the original event (ecs).
	Events []json.RawMessage `json:"-"`
	// Time is Timestamp parsed, for sorting.
	Time time.Time `json:"-"`
}

// Suppression names the exception that matched an alert, and why it was
// written.
type Suppression struct {
	Exception string `json:"exception"`
	Reason    string `json:"reason"`
}

// RuleRef names the rule that produced an alert.
type RuleRef struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Severity  string `json:"severity"`
	RiskScore int    `json:"risk_score"`
	Version   int    `json:"version"`
}

// User is who ran the exec.
type User struct {
	Username           string   `json:"username"`
	UID                string   `json:"uid,omitempty"`
	Groups             []string `json:"groups"`
	ImpersonatedUser   string   `json:"impersonated_user,omitempty"`
	ImpersonatedGroups []string `json:"impersonated_groups,omitempty"`
}

// Source is where an audit event behind the alert was read.
type Source struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Stage string `json:"stage,omitempty"`
}

// RefFor builds the rule reference for a rule.
func RefFor(r rule.Rule) RuleRef {
	return RuleRef{ID: r.ID, Name: r.Name, Severity: r.Severity, RiskScore: r.RiskScore, Version: r.Version}
}

// MakeID derives a stable alert id from its parts: the same session (or, for
// engine esql, the same event) always gets the same id, whatever the input
// format or the order the events were read in.
func MakeID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}
