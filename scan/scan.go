// Package scan runs detection over audit logs on disk or on stdin: it finds
// the files, reads them with package auditlog, runs an engine from package
// detect on every event, and folds the results into alerts.
package scan

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/auditlog"
	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/exception"
)

// Engines.
const (
	EngineStrict = "strict"
	EngineESQL   = "esql"
)

// Options configure a scan.
type Options struct {
	Engine      string
	InputFormat auditlog.Format
	MaxLineSize int
	// Stdin is read for the path "-".
	Stdin io.Reader
	// OnError receives every problem found in the input, with its place,
	// in input order.
	OnError func(error)
	// Strict configures the strict engine.
	Strict []detect.StrictOption
	// Exceptions mark the alerts they match as suppressed; the alerts
	// stay in the result.
	Exceptions *exception.Set
	// Jobs is how many files or file ranges are read at once (default:
	// the number of CPUs).
	Jobs int
	// NoPrefilter decodes every line (see auditlog.Options).
	NoPrefilter bool
	// Progress, when set, is advanced as the scan goes.
	Progress *Progress
	// RangeSize is the size of the ranges a large uncompressed file is
	// split into (default 64 MiB).
	RangeSize int64
}

// Progress is what a running scan has done so far, for a progress line.
type Progress struct {
	Bytes      atomic.Int64 // input bytes read (compressed bytes for compressed files)
	Lines      atomic.Int64 // lines of JSON-lines input
	ExecEvents atomic.Int64 // pods/exec events
	Flagged    atomic.Int64 // events an engine flagged (alerts fold them later)
}

// Summary counts what a scan read and found.
type Summary struct {
	Files      int `json:"files"`
	Unreadable int `json:"unreadable"`
	auditlog.Stats
	ExecEvents int64 `json:"exec_events"`
	// Alerts counts the alerts no exception suppressed; Suppressed the
	// others, and SuppressedBy those per exception.
	Alerts       int            `json:"alerts"`
	Suppressed   int            `json:"suppressed,omitempty"`
	SuppressedBy map[string]int `json:"suppressed_by,omitempty"`
}

// Result is the outcome of a scan.
type Result struct {
	Alerts  []*alert.Alert
	Summary Summary
}

// ErrNoInput is returned when no input could be read at all.
var ErrNoInput = errors.New("no input could be read")

// maxTaskErrors bounds the problems kept per task; the rest are counted.
const maxTaskErrors = 1000

// task is one unit of parallel work: a whole file, or a range of lines of
// a large uncompressed one.
type task struct {
	name       string
	path       string
	opened     *os.File // a pipe, opened once by plan
	size       int64
	start, end int64
	ranged     bool
	first      bool // the first task of its file
	stdin      io.Reader
	openErr    error
	done       chan struct{}
	// results, with line numbers relative to the task
	stats   auditlog.Stats
	lines   int
	execs   int64
	found   []Finding
	errs    []error
	dropped int
}

// Run scans paths: files, directories (recursively) and "-" for stdin.
// Files, and ranges of large files, are read in parallel; alerts and
// messages come out in the same order whatever the parallelism.
func Run(paths []string, opts Options) (*Result, error) {
	if opts.Engine == "" {
		opts.Engine = EngineStrict
	}
	if opts.Engine != EngineStrict && opts.Engine != EngineESQL {
		return nil, fmt.Errorf("unknown engine %q (want strict or esql)", opts.Engine)
	}
	onErr := opts.OnError
	if onErr == nil {
		onErr = func(error) {}
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	rangeSize := opts.RangeSize
	if rangeSize <= 0 {
		rangeSize = 64 << 20
	}
	strict := detect.NewStrict(opts.Strict...)
	readerOpts := auditlog.Options{
		Format:      opts.InputFormat,
		MaxLineSize: opts.MaxLineSize,
		NoPrefilter: opts.NoPrefilter,
		OnlyExec:    true,
	}
	if opts.Progress != nil {
		readerOpts.Progress, readerOpts.ProgressLines = &opts.Progress.Bytes, &opts.Progress.Lines
	}
	var sum Summary
	files, errs := expand(paths)
	for _, err := range errs {
		sum.Unreadable++
		onErr(err)
	}
	tasks := plan(files, opts.Stdin, rangeSize, auditlog.NewReader(readerOpts))

	// Workers take tasks in order; the collector below consumes results in
	// the same order, so output does not depend on timing.
	queue := make(chan *task)
	var wg sync.WaitGroup
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range queue {
				runTask(t, readerOpts, opts.Engine, strict, opts.Progress)
				close(t.done)
			}
		}()
	}
	go func() {
		for _, t := range tasks {
			queue <- t
		}
		close(queue)
	}()

	sessions := alert.NewSessions()
	var rows []*alert.Alert
	read := 0
	lineBase := 0
	for _, t := range tasks {
		<-t.done
		if t.openErr != nil {
			sum.Unreadable++
			onErr(t.openErr)
			continue
		}
		if t.first {
			read++
			sum.Files++
			lineBase = 0
		}
		sum.Stats.Add(t.stats)
		sum.ExecEvents += t.execs
		for _, e := range t.errs {
			var ae *auditlog.Error
			if errors.As(e, &ae) && ae.Line > 0 {
				ae.Line += lineBase
			}
			onErr(e)
		}
		if t.dropped > 0 {
			onErr(&auditlog.Error{File: t.name, Err: fmt.Errorf("%d more problems in this part of the file not shown", t.dropped)})
		}
		for i := range t.found {
			fd := &t.found[i]
			fd.Input.Source.Line += lineBase
			if opts.Engine == EngineESQL {
				rows = append(rows, alert.FromESQLRow(fd.Input, fd.Row))
			} else {
				sessions.Add(fd.Input, fd.Exec, fd.Verdict)
			}
		}
		lineBase += t.lines
		t.found, t.errs = nil, nil
	}
	wg.Wait()

	res := &Result{Summary: sum}
	if opts.Engine == EngineStrict {
		res.Alerts = sessions.Alerts()
	} else {
		alert.Sort(rows)
		res.Alerts = rows
	}
	res.Summary.Suppressed = opts.Exceptions.Apply(res.Alerts)
	res.Summary.Alerts = len(res.Alerts) - res.Summary.Suppressed
	for _, a := range res.Alerts {
		if a.Suppressed != nil {
			if res.Summary.SuppressedBy == nil {
				res.Summary.SuppressedBy = map[string]int{}
			}
			res.Summary.SuppressedBy[a.Suppressed.Exception]++
		}
	}
	if read == 0 {
		return res, ErrNoInput
	}
	return res, nil
}

// plan opens the files and splits large uncompressed JSON-lines files into
// ranges of about rangeSize bytes.
func plan(files []string, stdin io.Reader, rangeSize int64, probe *auditlog.Reader) []*task {
	var tasks []*task
	for _, name := range files {
		if name == "-" {
			t := &task{name: "<stdin>", stdin: stdin, first: true, done: make(chan struct{})}
			if stdin == nil {
				t.openErr = fmt.Errorf("-: no standard input")
			}
			tasks = append(tasks, t)
			continue
		}
		// Files are opened again by the workers: a directory of many
		// logs must not hold a descriptor per file.
		f, err := os.Open(name)
		if err != nil {
			tasks = append(tasks, &task{name: name, openErr: err, first: true, done: make(chan struct{})})
			continue
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			tasks = append(tasks, &task{name: name, openErr: err, first: true, done: make(chan struct{})})
			continue
		}
		if !st.Mode().IsRegular() {
			// A pipe (process substitution, a FIFO) is read once, as
			// opened here.
			tasks = append(tasks, &task{name: name, opened: f, first: true, done: make(chan struct{})})
			continue
		}
		head := make([]byte, 64<<10)
		n, _ := f.ReadAt(head, 0)
		f.Close()
		size := st.Size()
		if size <= rangeSize || !probe.Splittable(head[:n]) {
			tasks = append(tasks, &task{name: name, path: name, size: size, first: true, done: make(chan struct{})})
			continue
		}
		for off := int64(0); off < size; off += rangeSize {
			tasks = append(tasks, &task{name: name, path: name, size: size, start: off, end: min(off+rangeSize, size),
				ranged: true, first: off == 0, done: make(chan struct{})})
		}
	}
	return tasks
}

// runTask reads one task and runs the engine on its events.
func runTask(t *task, ro auditlog.Options, engine string, strict *detect.Strict, p *Progress) {
	if t.openErr != nil {
		return
	}
	ro.OnError = func(e *auditlog.Error) {
		if len(t.errs) < maxTaskErrors {
			t.errs = append(t.errs, e)
		} else {
			t.dropped++
		}
	}
	r := auditlog.NewReader(ro)
	file := t.opened
	if file != nil {
		defer file.Close()
	} else if t.stdin == nil {
		f, err := os.Open(t.path)
		if err != nil {
			t.openErr = err
			return
		}
		defer f.Close()
		file = f
	}
	a := taskRecorder{an: NewAnalyzer(engine, strict), t: t, progress: p}
	switch {
	case t.stdin != nil:
		t.stats = r.Read(t.name, t.stdin, a.record)
	case t.ranged:
		t.stats, t.lines = r.ReadRange(t.name, file, t.size, t.start, t.end, a.record)
	default:
		// Not a section: a FIFO or a file that grows is read to its end.
		t.stats = r.Read(t.name, file, a.record)
	}
}

// taskRecorder feeds one task's events to an Analyzer and keeps the
// findings, with progress counters.
type taskRecorder struct {
	an       *Analyzer
	t        *task
	progress *Progress
}

func (r *taskRecorder) record(rec *auditlog.Record) {
	if detect.IsPodExec(&rec.Event) {
		r.t.execs++
		if r.progress != nil {
			r.progress.ExecEvents.Add(1)
		}
	}
	if f, ok := r.an.Analyze(rec); ok {
		r.t.found = append(r.t.found, f)
		if r.progress != nil {
			r.progress.Flagged.Add(1)
		}
	}
}

// expand turns paths into the files to read, in a stable order. Hidden
// files inside directories are skipped; rotated names (audit.log.1,
// audit-2026-11-20T09-00-00.000.log, *.gz) are read like any other.
func expand(paths []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, p := range paths {
		if p == "-" {
			files = append(files, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				if d != nil && d.IsDir() && path != p {
					return fs.SkipDir
				}
				return nil
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				st, err := os.Stat(path)
				if err != nil {
					errs = append(errs, err)
					return nil
				}
				if !st.Mode().IsRegular() {
					return nil
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return files, errs
}
