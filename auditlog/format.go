package auditlog

import (
	"fmt"
	"strings"
)

// Format is an input format.
type Format int

const (
	// FormatAuto detects the format per file (and per object).
	FormatAuto Format = iota
	// FormatEvents is the API server's log: one audit.k8s.io/v1 Event a line.
	FormatEvents
	// FormatEventList is a JSON document: an EventList (the audit webhook's
	// body) or a JSON array of Events.
	FormatEventList
	// FormatElastic is Elastic documents, one a line, with the event under
	// kubernetes.audit (nested objects or dotted keys).
	FormatElastic
	// FormatESSearch is an Elasticsearch search response (hits.hits[]._source).
	FormatESSearch
)

var formatNames = map[Format]string{
	FormatAuto:      "auto",
	FormatEvents:    "events",
	FormatEventList: "eventlist",
	FormatElastic:   "elastic",
	FormatESSearch:  "es-search",
}

func (f Format) String() string {
	if n, ok := formatNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatNames lists the accepted names, for help text.
func FormatNames() []string {
	return []string{"auto", "events", "eventlist", "elastic", "es-search"}
}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for f, n := range formatNames {
		if strings.EqualFold(s, n) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown input format %q (want one of %s)", s, strings.Join(FormatNames(), ", "))
}

// Error is a problem with one place in the input. Line is 0 when the
// problem concerns the whole file.
type Error struct {
	File string
	Line int
	Err  error
	// Warning is set for problems that did not stop the line from being
	// read (invalid UTF-8, replaced).
	Warning bool
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Stats counts what was read.
type Stats struct {
	Bytes       int64 `json:"bytes"`
	Lines       int64 `json:"lines"`
	Events      int64 `json:"events"`
	Malformed   int64 `json:"malformed"`
	Oversized   int64 `json:"oversized"`
	InvalidUTF8 int64 `json:"invalid_utf8"`
	// Skipped counts Elastic documents that hold no audit event.
	Skipped int64 `json:"skipped"`
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Bytes += o.Bytes
	s.Lines += o.Lines
	s.Events += o.Events
	s.Malformed += o.Malformed
	s.Oversized += o.Oversized
	s.InvalidUTF8 += o.InvalidUTF8
	s.Skipped += o.Skipped
}
