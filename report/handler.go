package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imdsguard/imdsguard/alert"
)

// Handler receives alerts in order and writes them in one format.
type Handler interface {
	Alert(a *alert.Alert) error
	// Flush writes anything buffered.
	Flush() error
}

// Formats accepted by New.
var Formats = []string{"table", "ndjson", "ecs", "ecs-bulk"}

// Options tune handlers.
type Options struct {
	// Now is the detection time stamped on ecs documents.
	Now func() time.Time
}

// New returns the handler for format, writing to w.
func New(format string, w io.Writer, opts Options) (Handler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch format {
	case "ndjson", "json":
		return &ndjsonHandler{w: w}, nil
	case "ecs":
		return &ecsHandler{w: w, now: opts.Now}, nil
	case "ecs-bulk":
		return &ecsHandler{w: w, now: opts.Now, bulk: true}, nil
	case "table":
		return newTableHandler(w), nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Marshal encodes v as one line of JSON safe for terminals and HTML.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // escapes <, > and & as well
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return escapeJSON(buf.Bytes()), nil
}

type ndjsonHandler struct{ w io.Writer }

func (h *ndjsonHandler) Alert(a *alert.Alert) error {
	b, err := Marshal(a)
	if err != nil {
		return err
	}
	_, err = h.w.Write(b)
	return err
}

func (h *ndjsonHandler) Flush() error { return nil }

type tableHandler struct {
	tw     *tabwriter.Writer
	header bool
}

func newTableHandler(w io.Writer) *tableHandler {
	return &tableHandler{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (h *tableHandler) Alert(a *alert.Alert) error {
	if !h.header {
		h.header = true
		fmt.Fprintln(h.tw, "TIME\tSTAGE/OUTCOME\tCLOUD\tACCESS\tNAMESPACE/POD\tUSER\tCOMMAND")
	}
	ts := a.Time.UTC().Format(time.DateTime)
	if a.Time.IsZero() {
		ts = "-"
	}
	state := a.Outcome
	if a.Engine == "esql" {
		state = a.Stage
	}
	if a.Suppressed != nil {
		state += " (suppressed: " + a.Suppressed.Exception + ")"
	}
	// The esql engine has no access class, only is_credential_theft.
	access := a.Access
	if access == "" {
		access = "theft:" + a.IsCredentialTheft
	}
	cells := []string{ts, state, a.CloudTarget, access, a.Namespace + "/" + a.Pod, a.User.Username, a.ExecutedCommand}
	for i, c := range cells {
		// Tabs would break the columns; Escape shows them as \t.
		cells[i] = Escape(c)
		if cells[i] == "" {
			cells[i] = "-"
		}
	}
	_, err := fmt.Fprintln(h.tw, strings.Join(cells, "\t"))
	return err
}

func (h *tableHandler) Flush() error {
	if !h.header {
		return nil
	}
	return h.tw.Flush()
}
