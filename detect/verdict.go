package detect

// Indicator kinds: what piece of evidence was found.
const (
	KindAddress  = "address"
	KindHostname = "hostname"
	KindPath     = "path"
	KindHeader   = "header"
	KindEnv      = "env"
)

// Access says what a request to a metadata service can yield.
const (
	AccessCredential = "credential"
	AccessSensitive  = "sensitive"
	AccessRecon      = "recon"
)

// Indicator is one piece of evidence that a command reaches a metadata
// service, kept as written and in canonical form so an analyst sees why.
type Indicator struct {
	Kind        string `json:"kind"`
	Text        string `json:"text"`
	Canonical   string `json:"canonical"`
	CloudTarget string `json:"cloud_target"`
}

// Verdict is what an engine concludes about one command.
type Verdict struct {
	Match       bool
	CloudTarget string
	Access      string
	// CredentialTheft is the rule's is_credential_theft: yes or recon.
	CredentialTheft bool
	Indicators      []Indicator
	// Normalized is the command after shell normalization (the texts
	// below, one a line), or the raw command when there was nothing to
	// undo.
	Normalized string
	// Texts are the fragments shell normalization produced: each command
	// as it would run, decoded payloads, text sent to a socket.
	Texts []string
	// Truncated is set when the command exceeded the analysis bounds; the
	// raw text was scanned as well.
	Truncated bool
	// NormalizeNote says which bound was hit, or why the script did not
	// parse.
	NormalizeNote string
}

// TheftLabel is the rule's is_credential_theft column value.
func (v Verdict) TheftLabel() string {
	if v.CredentialTheft {
		return "yes"
	}
	return "recon"
}
