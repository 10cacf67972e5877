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
	"strings"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/auditlog"
	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/detect/esql"
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
	// OnError receives every problem found in the input, with its place.
	OnError func(error)
	// Strict configures the strict engine.
	Strict []detect.StrictOption
}

// Summary counts what a scan read and found.
type Summary struct {
	Files      int `json:"files"`
	Unreadable int `json:"unreadable"`
	auditlog.Stats
	ExecEvents int64 `json:"exec_events"`
	Alerts     int   `json:"alerts"`
}

// Result is the outcome of a scan.
type Result struct {
	Alerts  []*alert.Alert
	Summary Summary
}

// ErrNoInput is returned when no input could be read at all.
var ErrNoInput = errors.New("no input could be read")

// Run scans paths: files, directories (recursively) and "-" for stdin.
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
	p := &pipeline{
		engine:   opts.Engine,
		strict:   detect.NewStrict(opts.Strict...),
		sessions: alert.NewSessions(),
		verdicts: map[string]cachedVerdict{},
	}
	reader := auditlog.NewReader(auditlog.Options{
		Format:      opts.InputFormat,
		MaxLineSize: opts.MaxLineSize,
		OnError:     func(e *auditlog.Error) { onErr(e) },
	})
	files, errs := expand(paths)
	for _, err := range errs {
		p.sum.Unreadable++
		onErr(err)
	}
	read := 0
	for _, name := range files {
		if err := p.readOne(reader, name, opts.Stdin); err != nil {
			p.sum.Unreadable++
			onErr(err)
			continue
		}
		read++
	}
	res := &Result{Summary: p.sum}
	if p.engine == EngineStrict {
		res.Alerts = p.sessions.Alerts()
	} else {
		alert.Sort(p.rows)
		res.Alerts = p.rows
	}
	res.Summary.Alerts = len(res.Alerts)
	if read == 0 {
		return res, ErrNoInput
	}
	return res, nil
}

func (p *pipeline) readOne(reader *auditlog.Reader, name string, stdin io.Reader) error {
	var src io.Reader
	if name == "-" {
		if stdin == nil {
			return fmt.Errorf("-: no standard input")
		}
		src, name = stdin, "<stdin>"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	p.sum.Files++
	p.sum.Stats.Add(reader.Read(name, src, p.record))
	return nil
}

type cachedVerdict struct {
	uri     string
	exec    detect.Exec
	verdict detect.Verdict
}

type pipeline struct {
	engine   string
	strict   *detect.Strict
	sessions *alert.Sessions
	rows     []*alert.Alert
	sum      Summary
	// verdicts caches the analysis of a session's command: its stages
	// share one request URI.
	verdicts map[string]cachedVerdict
}

func (p *pipeline) record(rec *auditlog.Record) {
	ev := &rec.Event
	if detect.IsPodExec(ev) {
		p.sum.ExecEvents++
	}
	in := alert.Input{Event: ev, Raw: rec.Raw, Time: rec.Time, Source: alert.Source{File: rec.File, Line: rec.Line}}
	switch p.engine {
	case EngineESQL:
		var sub *string
		if ev.ObjectRef != nil {
			sub = &ev.ObjectRef.Subresource
		}
		row, miss, _ := esql.Evaluate(esql.Input{Subresource: sub, RequestURI: &ev.RequestURI})
		if miss == esql.Matched {
			p.rows = append(p.rows, alert.FromESQLRow(in, row))
		}
	default:
		if !detect.IsPodExec(ev) {
			return
		}
		key := string(ev.AuditID)
		c, ok := p.verdicts[key]
		if !ok || c.uri != ev.RequestURI {
			x := detect.ExecFromEvent(ev)
			c = cachedVerdict{uri: ev.RequestURI, exec: x, verdict: p.strict.Analyze(x.Command)}
			if key != "" {
				p.verdicts[key] = c
			}
		}
		if c.verdict.Match {
			p.sessions.Add(in, c.exec, c.verdict)
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
