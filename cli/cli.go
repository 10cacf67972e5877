// Package cli implements the imdsguard command line: one cobra command per
// subcommand, wiring flags to the library packages.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imdsguard/imdsguard/report"
)

// Exit codes, documented in the README.
const (
	ExitOK    = 0 // completed, alerts or not
	ExitAlert = 1 // alerts found and --fail-on-alert given
	ExitUsage = 2 // usage error, or no input could be read
)

// Streams are the command's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// OutIsTerminal says whether Out is a terminal (tables by default).
	OutIsTerminal bool
	// InIsTerminal says whether In is a terminal (no implicit stdin).
	InIsTerminal bool
	// ErrIsTerminal says whether Err is a terminal (progress is shown).
	ErrIsTerminal bool
}

// exitError carries an exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Main runs the command line with the process's streams and returns the
// exit code.
func Main() int {
	s := Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		InIsTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
		ErrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
	return Run(os.Args[1:], s)
}

// Run runs the command line with args and streams.
func Run(args []string, s Streams) int {
	root := NewRootCommand(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(s, ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag, bad arguments.
	printError(s, err)
	return ExitUsage
}

// printError prints an error a line at a time, each line escaped.
func printError(s Streams, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(s.Err, "imdsguard:", report.Escape(line))
	}
}

// NewRootCommand builds the command tree.
func NewRootCommand(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "imdsguard",
		Short: "Find pod exec sessions that reach cloud instance metadata services",
		Long: `imdsguard finds people and code that use pods/exec (kubectl exec or any
client of the API) to reach a cloud instance metadata service from inside a
pod: AWS IMDS at 169.254.169.254, the GCP metadata server, Azure IMDS and
others. Reaching them from a pod usually means taking the node's cloud
credentials.

It reads Kubernetes audit logs and reports one alert per exec session.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v\nSee '%s --help'.", err, c.CommandPath())
	})
	root.AddCommand(newScanCommand(s), newExplainCommand(s), newServeCommand(s), newAlertsCommand(s), newRuleCommand(s), newVersionCommand(s))
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

func newVersionCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(s.Out, "imdsguard", Version)
			return nil
		},
	}
}
