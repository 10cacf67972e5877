package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"mvdan.cc/sh/v3/syntax"

	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/detect/esql"
	"github.com/imdsguard/imdsguard/report"
)

type explainFlags struct {
	uri       string
	cloud     string
	endpoints string
	output    string
}

func newExplainCommand(s Streams) *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain ['COMMAND LINE' | -- ARGV... | --uri REQUEST_URI]",
		Short: "Show step by step how a command or exec request is judged",
		Long: `Explain shows every step of the strict engine for one command, for triage and
for writing exceptions: the request query, the argv the API server runs, the
shell normalization, the indicators found (addresses, hostnames, paths,
headers, environment variables) and the verdict, next to what the published
Elastic rule makes of the same input.

A COMMAND LINE is split into words as a shell would (a line with pipes or
other operators is run as sh -c LINE). After --, the arguments are the argv
exactly. With --uri, the input is an audit event's requestURI.`,
		Example: `  imdsguard explain 'curl http://0xA9FEA9FE/latest/meta-data/iam/security-credentials/'
  imdsguard explain -- sh -c 'H=169.254; curl $H.169.254/latest/api/token -X PUT'
  imdsguard explain --uri '/api/v1/namespaces/default/pods/web-0/exec?command=curl&command=169.254.169.254&container=app&stdout=true'
  imdsguard explain -o json --cloud azure 'curl -s http://169.254.169.254/'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(s, f, cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.uri, "uri", "", "explain an exec request URI instead of a command")
	addDetectionFlags(fl, &f.cloud, &f.endpoints)
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// explanation is the JSON form of explain's output.
type explanation struct {
	RequestURI    string             `json:"request_uri,omitempty"`
	QueryError    string             `json:"query_error,omitempty"`
	Argv          []string           `json:"argv"`
	Texts         []string           `json:"normalized_texts"`
	Truncated     bool               `json:"analysis_truncated,omitempty"`
	NormalizeNote string             `json:"analysis_note,omitempty"`
	Indicators    []detect.Indicator `json:"indicators"`
	Alert         bool               `json:"alert"`
	CloudTarget   string             `json:"cloud_target,omitempty"`
	Access        string             `json:"access,omitempty"`
	Theft         string             `json:"is_credential_theft,omitempty"`
	Rule          ruleView           `json:"published_rule"`
}

type ruleView struct {
	Alert           bool   `json:"alert"`
	ExecutedCommand string `json:"executed_command,omitempty"`
	CloudTarget     string `json:"cloud_target,omitempty"`
	CredentialTheft string `json:"is_credential_theft,omitempty"`
	Miss            string `json:"why_not,omitempty"`
}

func runExplain(s Streams, f explainFlags, cmd *cobra.Command, args []string) error {
	engine, err := strictFromFlags(f.cloud, f.endpoints)
	if err != nil {
		return err
	}
	var x explanation
	switch {
	case f.uri != "":
		if len(args) > 0 {
			return usageErr("give either --uri or a command, not both")
		}
		x.RequestURI = f.uri
		e := detect.ParseExecURI(f.uri)
		x.QueryError = e.QueryError
		x.Argv = e.Command
		exec := "exec"
		uri := f.uri
		row, miss, derr := esql.Evaluate(esql.Input{Subresource: &exec, RequestURI: &uri})
		x.Rule = ruleRow(row, miss, derr)
	case cmd.ArgsLenAtDash() == 0:
		x.Argv = args
		x.Rule = ruleOnArgv(args)
	case len(args) == 1:
		x.Argv = splitCommandLine(args[0])
		x.Rule = ruleOnArgv(x.Argv)
	default:
		return usageErr("give one quoted COMMAND LINE, an argv after --, or --uri\nSee 'imdsguard explain --help'.")
	}
	v := engine.Analyze(x.Argv)
	x.Texts, x.Truncated, x.NormalizeNote = v.Texts, v.Truncated, v.NormalizeNote
	x.Indicators = v.Indicators
	if x.Indicators == nil {
		x.Indicators = []detect.Indicator{}
	}
	if x.Texts == nil {
		x.Texts = []string{}
	}
	x.Alert = v.Match
	if v.Match {
		x.CloudTarget, x.Access, x.Theft = v.CloudTarget, v.Access, v.TheftLabel()
	}
	switch f.output {
	case "json":
		b, err := json.MarshalIndent(x, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(s.Out, string(escapeJSONOut(b)))
	case "text":
		printExplanation(s.Out, x)
	default:
		return usageErr("unknown format %q (want text or json)", f.output)
	}
	return nil
}

func escapeJSONOut(b []byte) []byte {
	out, err := report.Marshal(json.RawMessage(b))
	if err != nil {
		return b
	}
	return []byte(strings.TrimSpace(string(out)))
}

// splitCommandLine splits a line into words as a shell would; a line that
// is more than one simple command is run as sh -c LINE.
func splitCommandLine(line string) []string {
	f, err := syntax.NewParser().Parse(strings.NewReader(line), "")
	if err == nil && len(f.Stmts) == 1 {
		st := f.Stmts[0]
		if call, ok := st.Cmd.(*syntax.CallExpr); ok && len(call.Assigns) == 0 && len(st.Redirs) == 0 && !st.Background && !st.Negated {
			var argv []string
			simple := true
			for _, w := range call.Args {
				lit, ok := literalWord(w)
				if !ok {
					simple = false
					break
				}
				argv = append(argv, lit)
			}
			if simple && len(argv) > 0 {
				return argv
			}
		}
	}
	return []string{"sh", "-c", line}
}

// literalWord unquotes a word made only of literals and quotes.
func literalWord(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(strings.ReplaceAll(p.Value, "\\", ""))
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				lit, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(lit.Value)
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

func ruleRow(row esql.Row, miss esql.Miss, err error) ruleView {
	if miss != esql.Matched {
		r := ruleView{Miss: miss.String()}
		if err != nil {
			r.Miss += ": " + err.Error()
		}
		return r
	}
	return ruleView{Alert: true, ExecutedCommand: row.ExecutedCommand, CloudTarget: row.CloudTarget, CredentialTheft: row.CredentialTheft}
}

// ruleOnArgv applies the published rule's indicators and labels to an argv
// as kubectl would send it (kubectl's parameter order).
func ruleOnArgv(argv []string) ruleView {
	q := make([]string, 0, len(argv)+2)
	for _, a := range argv {
		q = append(q, "command="+queryEscape(a))
	}
	uri := "/api/v1/namespaces/default/pods/pod/exec?" + strings.Join(q, "&") + "&container=c&stderr=true&stdout=true"
	exec := "exec"
	row, miss, err := esql.Evaluate(esql.Input{Subresource: &exec, RequestURI: &uri})
	return ruleRow(row, miss, err)
}

func printExplanation(w io.Writer, x explanation) {
	e := report.Escape
	if x.RequestURI != "" {
		fmt.Fprintf(w, "Request URI\n  %s\n", e(x.RequestURI))
		if x.QueryError != "" {
			fmt.Fprintf(w, "  query error (pairs dropped, as the API server drops them): %s\n", e(x.QueryError))
		}
	}
	fmt.Fprintf(w, "Argv (what the container runs)\n")
	for i, a := range x.Argv {
		fmt.Fprintf(w, "  [%d] %s\n", i, e(a))
	}
	fmt.Fprintf(w, "Shell normalization\n")
	if len(x.Texts) == 0 {
		fmt.Fprintf(w, "  nothing to undo\n")
	}
	for _, t := range x.Texts {
		fmt.Fprintf(w, "  %s\n", e(t))
	}
	if x.Truncated || x.NormalizeNote != "" {
		fmt.Fprintf(w, "  note: %s (truncated: %v; the raw text was scanned too)\n", e(x.NormalizeNote), x.Truncated)
	}
	fmt.Fprintf(w, "Indicators\n")
	if len(x.Indicators) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, in := range x.Indicators {
		fmt.Fprintf(w, "  %-8s %-40s -> %s (%s)\n", in.Kind, e(in.Text), e(in.Canonical), in.CloudTarget)
	}
	fmt.Fprintf(w, "Verdict\n")
	if x.Alert {
		fmt.Fprintf(w, "  ALERT cloud_target=%s access=%s is_credential_theft=%s\n", x.CloudTarget, x.Access, x.Theft)
	} else {
		fmt.Fprintf(w, "  no alert\n")
	}
	fmt.Fprintf(w, "Published Elastic rule (engine esql)\n")
	if x.Rule.Alert {
		fmt.Fprintf(w, "  alert cloud_target=%s is_credential_theft=%s\n  executed_command: %s\n", x.Rule.CloudTarget, x.Rule.CredentialTheft, e(x.Rule.ExecutedCommand))
	} else {
		fmt.Fprintf(w, "  no alert: %s\n", x.Rule.Miss)
	}
}
