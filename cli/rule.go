package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imdsguard/imdsguard/rule"
)

func newRuleCommand(s Streams) *cobra.Command {
	var engine, format string
	cmd := &cobra.Command{
		Use:   "rule",
		Short: "Print the detection rule: metadata, MITRE mapping and investigation guide",
		Example: `  # The rule the default (strict) engine runs
  imdsguard rule

  # The published Elastic rule reproduced by --engine esql, as JSON
  imdsguard rule --engine esql -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if engine != "strict" && engine != "esql" {
				return usageErr("unknown engine %q (want strict or esql)", engine)
			}
			r := rule.ForEngine(engine)
			switch format {
			case "json":
				b, err := json.MarshalIndent(r, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(s.Out, string(b))
			case "text":
				printRule(s, r)
			default:
				return usageErr("unknown format %q (want text or json)", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&engine, "engine", "strict", "engine whose rule to print: strict or esql")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	return cmd
}

func printRule(s Streams, r rule.Rule) {
	w := s.Out
	fmt.Fprintf(w, "%s\n\n%s\n\n", r.Name, r.Description)
	fmt.Fprintf(w, "Rule ID:      %s\n", r.ID)
	fmt.Fprintf(w, "Version:      %d\n", r.Version)
	fmt.Fprintf(w, "Severity:     %s\n", r.Severity)
	fmt.Fprintf(w, "Risk score:   %d\n", r.RiskScore)
	fmt.Fprintf(w, "Runs every:   %s, looking back from %s, at most %d alerts a run\n", r.Schedule.Interval, r.Schedule.From, r.Schedule.MaxSignals)
	fmt.Fprintf(w, "Author:       %s (%s)\n", strings.Join(r.Author, ", "), r.License)
	fmt.Fprintf(w, "\nMITRE ATT&CK:\n")
	for _, t := range r.Threat {
		fmt.Fprintf(w, "  %s %s\n    %s %s\n", t.Tactic.ID, t.Tactic.Name, t.Technique.ID, t.Technique.Name)
		for _, st := range t.Subtechnique {
			fmt.Fprintf(w, "      %s %s\n", st.ID, st.Name)
		}
	}
	fmt.Fprintf(w, "\nTags:\n")
	for _, t := range r.Tags {
		fmt.Fprintf(w, "  - %s\n", t)
	}
	fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(r.Guide))
	if r.Query != "" {
		fmt.Fprintf(w, "\n## Query\n\n%s\n", r.Query)
	}
}
