// Package rule holds the metadata of the detection rules imdsguard runs: the
// published Elastic rule it reproduces (engine esql) and its own strict rule.
package rule

import (
	_ "embed"
	"strings"
)

// Threat is one MITRE ATT&CK mapping.
type Threat struct {
	Tactic       Ref   `json:"tactic"`
	Technique    Ref   `json:"technique"`
	Subtechnique []Ref `json:"subtechnique,omitempty"`
}

// Ref names a MITRE ATT&CK tactic, technique or sub-technique.
type Ref struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Reference string `json:"reference"`
}

// Schedule is how the published rule runs in Elastic Security.
type Schedule struct {
	Interval   string `json:"interval"`
	From       string `json:"from"`
	MaxSignals int    `json:"max_signals"`
}

// Rule is a detection rule's metadata.
type Rule struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	Severity       string   `json:"severity"`
	RiskScore      int      `json:"risk_score"`
	Version        int      `json:"version"`
	Author         []string `json:"author"`
	License        string   `json:"license"`
	Schedule       Schedule `json:"schedule"`
	Threat         []Threat `json:"threat"`
	Tags           []string `json:"tags"`
	References     []string `json:"references"`
	FalsePositives []string `json:"false_positives"`
	// Guide is the investigation guide in Markdown.
	Guide string `json:"note"`
	// Query is the rule's query text, for the esql rule.
	Query string `json:"query,omitempty"`
}

//go:embed guide.md
var guide string

//go:embed esql-query.txt
var esqlQuery string

var threat = []Threat{
	{
		Tactic:    Ref{"TA0006", "Credential Access", "https://attack.mitre.org/tactics/TA0006/"},
		Technique: Ref{"T1552", "Unsecured Credentials", "https://attack.mitre.org/techniques/T1552/"},
		Subtechnique: []Ref{
			{"T1552.005", "Cloud Instance Metadata API", "https://attack.mitre.org/techniques/T1552/005/"},
		},
	},
	{
		Tactic:    Ref{"TA0002", "Execution", "https://attack.mitre.org/tactics/TA0002/"},
		Technique: Ref{"T1609", "Container Administration Command", "https://attack.mitre.org/techniques/T1609/"},
	},
}

var tags = []string{
	"Data Source: Kubernetes",
	"Domain: Kubernetes",
	"Domain: Cloud",
	"Use Case: Threat Detection",
	"Tactic: Credential Access",
	"Tactic: Execution",
	"Resources: Investigation Guide",
}

var falsePositives = []string{
	"Break-glass debugging: a platform engineer curls the metadata service from a pod while chasing an incident. Check for a change ticket and that the session came through the approved bastion.",
	"Bespoke images whose bootstrap or agent scripts read instance metadata at start-up and are run by hand through exec. Baseline the approved images and write narrow exceptions (user, namespace, command).",
}

const description = "Finds Kubernetes pods/exec sessions whose command reaches a cloud instance metadata service " +
	"(AWS IMDS, the GCP metadata server, Azure IMDS and others) by address, hostname or path. From inside a pod " +
	"such a request usually means taking the node's cloud identity: role credentials, access tokens or " +
	"instance attributes that should never reach a container. The alert says which metadata service was " +
	"targeted and whether the request asked for credentials or only looked around."

// ESQL is the published Elastic rule that engine esql reproduces.
var ESQL = Rule{
	ID:          "a8e7d6c5-b4a3-2918-0f9e-8d7c6b5a4032",
	Name:        "Kubernetes Pod Exec Cloud Instance Metadata Access",
	Description: description,
	Severity:    "high",
	RiskScore:   73,
	Version:     1,
	Author:      []string{"Elastic"},
	License:     "Elastic License v2",
	Schedule:    Schedule{Interval: "5m", From: "now-6m", MaxSignals: 100},
	Threat:      threat,
	Tags:        tags,
	References: []string{
		"https://attack.mitre.org/techniques/T1552/005/",
	},
	FalsePositives: falsePositives,
	Guide:          guide,
	Query:          strings.TrimSpace(esqlQuery),
}

// Strict is imdsguard's own rule, run by the default engine. It keeps the
// published rule's severity, risk, schedule and mapping so alerts from both
// engines sort and route the same way.
var Strict = Rule{
	ID:             "5f0c3d52-8d0e-4c9a-9a55-2f1b0e6d7c41",
	Name:           "Kubernetes Pod Exec Cloud Instance Metadata Access (imdsguard strict)",
	Description:    description,
	Severity:       "high",
	RiskScore:      73,
	Version:        1,
	Author:         []string{"imdsguard"},
	License:        "Apache-2.0",
	Schedule:       Schedule{Interval: "5m", From: "now-6m", MaxSignals: 100},
	Threat:         threat,
	Tags:           tags,
	References:     []string{"https://attack.mitre.org/techniques/T1552/005/", "https://attack.mitre.org/techniques/T1609/"},
	FalsePositives: falsePositives,
	Guide:          guide,
}

// ForEngine returns the rule an engine runs.
func ForEngine(engine string) Rule {
	if engine == "esql" {
		return ESQL
	}
	return Strict
}
