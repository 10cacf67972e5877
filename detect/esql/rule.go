package esql

import (
	"regexp"
	"strings"
	"unicode/utf16"
)

// IgnoreAbove is the keyword limit Fleet gives kubernetes.audit.requestURI:
// a longer value is neither indexed nor doc-valued, so the rule reads null.
const IgnoreAbove = 1024

// The rule's GROK pattern after expansion of the ECS pattern bank:
// %{DATA} is .*? and %{GREEDYDATA} is .*; Joni's '.' stops at '\n' as Go's
// does, and the search is unanchored and leftmost-first in both engines.
var grokExec = regexp.MustCompile(`(?:.*?)/exec\?(.*?)&(?:container|stdin|stdout|stderr)=(?:.*)`)

// rlike compiles a Lucene RLIKE pattern: a whole-string match in which '.'
// also matches a newline. The rule's patterns use no Lucene-only operators.
func rlike(p string) *regexp.Regexp { return regexp.MustCompile(`^(?s:` + p + `)$`) }

var (
	whereIndicators = rlike(`.*(169\.254\.169\.254|2852039166|0xa9fea9fe|/latest/api/token|/latest/meta-data|/latest/user-data|/latest/dynamic/instance-identity|computeMetadata/v1|metadata\.google\.internal|metadata/identity/oauth2/token|metadata/instance).*`)
	caseAWS         = rlike(`.*(169\.254\.169\.254|2852039166|0xa9fea9fe|/latest/meta-data|/latest/api/token|/latest/user-data|/latest/dynamic).*`)
	caseGCP         = rlike(`.*(computeMetadata/v1|metadata\.google\.internal).*`)
	caseAzure       = rlike(`.*metadata/identity/oauth2/token.*`)
	caseTheft       = rlike(`.*(security-credentials|/api/token|oauth2/token|service-accounts/.*/token).*`)
)

// Input is what the rule reads from one audit document. A nil pointer is an
// ES|QL null (the field is absent, multi-valued, or not indexed).
type Input struct {
	Subresource *string
	RequestURI  *string
}

// Row is the rule's output for one document, with the intermediate columns
// that KEEP * also returns.
type Row struct {
	DecodedURI      string
	RawCommands     string
	ExecutedCommand string
	CloudTarget     string // Esql.cloud_target
	CredentialTheft string // Esql.is_credential_theft: "yes" or "recon"
}

// Why a document gave no row; useful to show a blind spot.
type Miss int

const (
	Matched         Miss = iota
	MissNotExec          // objectRef.subresource is not "exec"
	MissURITooLong       // requestURI longer than IgnoreAbove: invisible to the rule
	MissNoCommand        // requestURI LIKE "*command=*" is false
	MissDecodeError      // URL_DECODE failed and returned null
	MissGrok             // the GROK pattern did not match
	MissNoIndicator      // the WHERE RLIKE did not match
)

var missText = [...]string{
	Matched:         "matched",
	MissNotExec:     "objectRef.subresource is not exec",
	MissURITooLong:  "requestURI longer than 1024 characters is not indexed",
	MissNoCommand:   "requestURI has no command=",
	MissDecodeError: "URL_DECODE failed",
	MissGrok:        "GROK pattern did not match",
	MissNoIndicator: "no indicator in the rebuilt command",
}

func (m Miss) String() string {
	if int(m) < len(missText) {
		return missText[m]
	}
	return "unknown"
}

// Evaluate runs the published rule's query on one document. It returns the
// row when the rule keeps the document, or the step that dropped it.
func Evaluate(in Input) (Row, Miss, error) {
	// WHERE kubernetes.audit.objectRef.subresource == "exec"
	if in.Subresource == nil || *in.Subresource != "exec" {
		return Row{}, MissNotExec, nil
	}
	if in.RequestURI == nil {
		return Row{}, MissNoCommand, nil
	}
	uri := *in.RequestURI
	if utf16Len(uri) > IgnoreAbove {
		return Row{}, MissURITooLong, nil
	}
	// AND kubernetes.audit.requestURI LIKE "*command=*"
	if !strings.Contains(uri, "command=") {
		return Row{}, MissNoCommand, nil
	}
	// EVAL decoded_uri = URL_DECODE(kubernetes.audit.requestURI)
	decoded, err := URLDecode(uri)
	if err != nil {
		return Row{}, MissDecodeError, err
	}
	// GROK decoded_uri "%{DATA}/exec\\?%{DATA:raw_commands}&(?:container|stdin|stdout|stderr)=%{GREEDYDATA}"
	m := grokExec.FindStringSubmatch(decoded)
	if m == nil {
		return Row{}, MissGrok, nil
	}
	row := Row{DecodedURI: decoded, RawCommands: m[1]}
	// Java replaceAll with literal patterns and replacements.
	cmd := strings.ReplaceAll(row.RawCommands, "command=", "")
	cmd = strings.ReplaceAll(cmd, "&", " ")
	row.ExecutedCommand = strings.ReplaceAll(cmd, "+", " ")
	if !whereIndicators.MatchString(row.ExecutedCommand) {
		return Row{}, MissNoIndicator, nil
	}
	row.CloudTarget, row.CredentialTheft = Classify(row.ExecutedCommand)
	return row, Matched, nil
}

// Classify is the rule's two CASE expressions.
func Classify(command string) (cloudTarget, credentialTheft string) {
	switch {
	case caseAWS.MatchString(command):
		cloudTarget = "AWS_IMDS"
	case caseGCP.MatchString(command):
		cloudTarget = "GCP_METADATA"
	case caseAzure.MatchString(command):
		cloudTarget = "AZURE_IMDS"
	default:
		cloudTarget = "UNKNOWN"
	}
	credentialTheft = "recon"
	if caseTheft.MatchString(command) {
		credentialTheft = "yes"
	}
	return cloudTarget, credentialTheft
}

// MatchesIndicators is the rule's WHERE RLIKE on a command string.
func MatchesIndicators(command string) bool { return whereIndicators.MatchString(command) }

// utf16Len is Java's String.length(), which ignore_above compares against.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
