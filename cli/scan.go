package cli

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imdsguard/imdsguard/auditlog"
	"github.com/imdsguard/imdsguard/exception"
	"github.com/imdsguard/imdsguard/report"
	"github.com/imdsguard/imdsguard/scan"
)

type scanFlags struct {
	engine      string
	format      string
	inputFormat string
	maxLineSize string
	maxErrors   int
	failOnAlert bool
	quiet       bool
	cloud       string
	endpoints   string
	jobs        int
	noPrefilter bool
	exceptions  string
	showSupp    bool
}

func newScanCommand(s Streams) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [PATH|-]...",
		Short: "Scan Kubernetes audit logs for pod exec sessions that reach cloud metadata",
		Long: `Scan reads Kubernetes audit logs and reports pods/exec sessions whose command
reaches a cloud instance metadata service.

PATH may be a file, a directory (read recursively, rotated and gzipped logs
included; hidden files are skipped) or - for standard input. With no PATH,
standard input is read when it is not a terminal.

Input formats are detected per file: the API server's JSON-lines log, an
EventList (the audit webhook's body) or a JSON array of events, Elastic
documents with the event under kubernetes.audit (one a line), and
Elasticsearch search responses. Gzip is recognised by its content.

Engines:
  strict  (default) reads the command the way the API server does; one alert
          per exec session (audit ID), with the session's outcome.
  esql    the published Elastic rule "Kubernetes Pod Exec Cloud Instance
          Metadata Access", exactly, blind spots included: one row per event.

Problems in the input are reported on stderr with file and line, counted, and
the scan goes on. A summary is printed on stderr at the end.

Exit codes: 0 scan completed (alerts or not); 1 alerts found and
--fail-on-alert given; 2 usage error or no input could be read.`,
		Example: `  # Scan the bundled example log
  imdsguard scan examples/audit.log

  # Scan a directory of rotated logs, alerts as JSON lines
  imdsguard scan --format ndjson /var/log/kubernetes/audit/

  # What the published Elastic rule would have found, for comparison
  imdsguard scan --engine esql --format ndjson audit.log.gz

  # Read an Elasticsearch search response from stdin; fail CI on any alert
  curl -s "$ES/logs-kubernetes.audit_logs-*/_search?size=1000" | imdsguard scan --fail-on-alert -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.engine, "engine", scan.EngineStrict, "detection engine: strict or esql")
	fl.StringVarP(&f.format, "format", "o", "", "output format: "+strings.Join(report.Formats, ", ")+" (default table on a terminal, else ndjson)")
	fl.StringVar(&f.inputFormat, "input-format", "auto", "input format: "+strings.Join(auditlog.FormatNames(), ", "))
	fl.StringVar(&f.maxLineSize, "max-line-size", "16MiB", "longest input line accepted (longer lines are reported and skipped)")
	fl.IntVar(&f.maxErrors, "max-errors", 20, "input problems shown per file (all are counted); 0 shows all")
	fl.BoolVar(&f.failOnAlert, "fail-on-alert", false, "exit with code 1 when any alert is found")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no summary")
	addDetectionFlags(fl, &f.cloud, &f.endpoints)
	fl.StringVar(&f.exceptions, "exceptions", "", exceptionsUsage)
	fl.BoolVar(&f.showSupp, "show-suppressed", false, "also print the alerts an exception suppressed, marked as such")
	fl.IntVarP(&f.jobs, "jobs", "j", 0, "files or file ranges read at once (default: the number of CPUs)")
	fl.BoolVar(&f.noPrefilter, "no-prefilter", false, "decode every line, to report every malformed line (slower); by default only lines that could hold a pods/exec event are decoded")
	return cmd
}

func runScan(s Streams, f scanFlags, args []string) error {
	if f.engine != scan.EngineStrict && f.engine != scan.EngineESQL {
		return usageErr("unknown engine %q (want strict or esql)", f.engine)
	}
	inFmt, err := auditlog.ParseFormat(f.inputFormat)
	if err != nil {
		return usageErr("%v", err)
	}
	maxLine, err := parseSize(f.maxLineSize)
	if err != nil {
		return usageErr("--max-line-size: %v", err)
	}
	strictOpts, err := strictOptions(f.cloud, f.endpoints)
	if err != nil {
		return err
	}
	var excs *exception.Set
	if f.exceptions != "" {
		if excs, err = exception.Load(f.exceptions); err != nil {
			return usageErr("--exceptions: %v", err)
		}
		announceExceptions(s.Err, excs)
	}
	format := f.format
	if format == "" {
		format = "ndjson"
		if s.OutIsTerminal {
			format = "table"
		}
	}
	h, err := report.New(format, s.Out, report.Options{})
	if err != nil {
		return usageErr("%v", err)
	}
	if len(args) == 0 {
		if s.InIsTerminal {
			return usageErr("no input: give a PATH, or - to read standard input\nSee 'imdsguard scan --help'.")
		}
		args = []string{"-"}
	}
	errs := newErrorPrinter(s, f.maxErrors)
	var progress *scan.Progress
	stopProgress := func() {}
	if s.ErrIsTerminal && !f.quiet {
		progress = &scan.Progress{}
		var clear func()
		clear, stopProgress = startProgress(s, progress, totalSize(args))
		defer stopProgress()
		errs.before = clear
	}
	res, err := scan.Run(args, scan.Options{
		Jobs:        f.jobs,
		NoPrefilter: f.noPrefilter,
		Progress:    progress,
		Engine:      f.engine,
		InputFormat: inFmt,
		MaxLineSize: maxLine,
		Stdin:       s.In,
		OnError:     errs.print,
		Strict:      strictOpts,
		Exceptions:  excs,
	})
	stopProgress()
	if err != nil && !errors.Is(err, scan.ErrNoInput) {
		return &exitError{code: ExitUsage, err: err}
	}
	for _, a := range res.Alerts {
		if a.Suppressed != nil && !f.showSupp {
			continue
		}
		if werr := h.Alert(a); werr != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("writing output: %v", werr)}
		}
	}
	if ferr := h.Flush(); ferr != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("writing output: %v", ferr)}
	}
	errs.finish()
	if !f.quiet {
		printSummary(s, res.Summary)
	}
	if errors.Is(err, scan.ErrNoInput) {
		return &exitError{code: ExitUsage, err: err}
	}
	if f.failOnAlert && res.Summary.Alerts > 0 {
		return &exitError{code: ExitAlert}
	}
	return nil
}

func printSummary(s Streams, sum scan.Summary) {
	fmt.Fprintf(s.Err, "imdsguard: %d files, %d lines, %d events decoded, %d exec events, %d alerts; %d malformed lines",
		sum.Files, sum.Lines, sum.Events, sum.ExecEvents, sum.Alerts, sum.Malformed)
	var extra []string
	if sum.Suppressed > 0 {
		var by []string
		for name, n := range sum.SuppressedBy {
			by = append(by, fmt.Sprintf("%s: %d", report.Escape(name), n))
		}
		sort.Strings(by)
		extra = append(extra, fmt.Sprintf("%d alerts suppressed by exceptions [%s]", sum.Suppressed, strings.Join(by, ", ")))
	}
	if sum.Oversized > 0 {
		extra = append(extra, fmt.Sprintf("%d oversized", sum.Oversized))
	}
	if sum.InvalidUTF8 > 0 {
		extra = append(extra, fmt.Sprintf("%d with invalid UTF-8", sum.InvalidUTF8))
	}
	if sum.Skipped > 0 {
		extra = append(extra, fmt.Sprintf("%d non-audit documents skipped", sum.Skipped))
	}
	if sum.Unreadable > 0 {
		extra = append(extra, fmt.Sprintf("%d paths unreadable", sum.Unreadable))
	}
	if len(extra) > 0 {
		fmt.Fprintf(s.Err, " (%s)", strings.Join(extra, ", "))
	}
	fmt.Fprintln(s.Err)
}

// errorPrinter prints input problems on stderr, escaped, at most max per
// file; the rest are summed up per file at the end.
type errorPrinter struct {
	// before runs before a message is printed (it clears the progress line).
	before func()
	s      Streams
	max    int
	shown  map[string]int
	hidden map[string]int
	order  []string
}

func newErrorPrinter(s Streams, max int) *errorPrinter {
	return &errorPrinter{s: s, max: max, shown: map[string]int{}, hidden: map[string]int{}}
}

func (p *errorPrinter) print(err error) {
	file := ""
	var ae *auditlog.Error
	if errors.As(err, &ae) {
		file = ae.File
	}
	if p.max > 0 && p.shown[file] >= p.max {
		if p.hidden[file] == 0 {
			p.order = append(p.order, file)
		}
		p.hidden[file]++
		return
	}
	p.shown[file]++
	if p.before != nil {
		p.before()
	}
	level := "error"
	if ae != nil && ae.Warning {
		level = "warning"
	}
	fmt.Fprintf(p.s.Err, "imdsguard: %s: %s\n", level, report.Escape(err.Error()))
}

func (p *errorPrinter) finish() {
	for _, file := range p.order {
		fmt.Fprintf(p.s.Err, "imdsguard: %s: %d more problems not shown (see --max-errors)\n", report.Escape(file), p.hidden[file])
	}
}

// parseSize reads a byte size such as 16MiB, 512KiB, 1GiB or 1048576.
func parseSize(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 16MiB)", s)
	}
	if n*mult > 1<<31-1 || n*mult/mult != n {
		return 0, fmt.Errorf("size %q too large (at most 2GiB)", s)
	}
	return int(n * mult), nil
}
