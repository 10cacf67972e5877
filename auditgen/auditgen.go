// Package auditgen writes synthetic Kubernetes audit logs that look like the
// JSON lines kube-apiserver's log backend writes: ordinary API traffic from
// kubelets, controllers, operators and people, with some kubectl exec
// sessions among it, a share of which reach a cloud instance metadata
// service.
//
// Every event is an audit.k8s.io/v1 Event encoded by encoding/json's Encoder,
// as the API server does, so `&` appears as \u0026 and each line ends with a
// newline. The output depends only on the Config: the same Config gives the
// same bytes.
package auditgen

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Defaults used for zero Config fields.
const (
	DefaultExecShare   = 0.001
	DefaultAttackShare = 0.2
	DefaultRate        = 40
)

// DefaultStart is the first request's time when Config.Start is zero.
var DefaultStart = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// Config says what to generate.
type Config struct {
	// Seed selects the log; the same Config always gives the same bytes.
	Seed int64
	// Events is the number of audit events to write. With the default
	// stages the count is exact (see Write).
	Events int
	// Bytes, when > 0, stops the log once about this many bytes
	// (uncompressed) have been written. When both Events and Bytes are set,
	// whichever is reached first ends the log.
	Bytes int64
	// ExecShare is the share of requests that are kubectl exec sessions
	// (0 means DefaultExecShare, a negative value means none).
	ExecShare float64
	// AttackShare is the share of exec sessions whose command reaches a
	// metadata service (0 means DefaultAttackShare, negative means none).
	AttackShare float64
	// ForceBenign and ForceAttack, when either is > 0, replace the random
	// exec sessions with exactly this many benign and attack sessions,
	// spread evenly through the log. Forced attack sessions take AttackArgv
	// in order; the last ForceDenied of them are denied by RBAC (403).
	ForceBenign int
	ForceAttack int
	ForceDenied int
	// Rate is the mean number of requests per second (0 means DefaultRate).
	Rate float64
	// Start is the first request's receive time (zero means DefaultStart).
	Start time.Time
	// Stages lists the stages to write, like the inverse of a policy's
	// omitStages. Empty means all: RequestReceived, ResponseStarted (for
	// long-running requests and failed authentication) and ResponseComplete.
	Stages []auditv1.Stage
	// Gzip compresses the output.
	Gzip bool
}

// Stats tells what Write wrote.
type Stats struct {
	Events   int64 // audit events (lines)
	Requests int64 // API requests (audit IDs)
	// ExecRequests counts pods/exec requests. A denied WebSocket attempt
	// counts twice: kubectl retries it over SPDY.
	ExecRequests int64
	// AttackRequests counts the exec requests whose command reaches a
	// metadata service.
	AttackRequests int64
	// ExecSessions counts kubectl exec invocations, AttackSessions those
	// that target a metadata service, DeniedSessions those RBAC refused.
	ExecSessions   int64
	AttackSessions int64
	DeniedSessions int64
	// Bytes is the uncompressed size of the log.
	Bytes int64
}

// Write writes the audit log cfg describes to w as JSON lines.
//
// Requests are generated in time order; their stages are written in
// stage-time order, so a long-running request (watch, exec, log) has its
// ResponseComplete written after the requests that came while it was open.
// A request is only started if all its events fit in Events, and once the
// budget is nearly used up the remainder is filled with single-event
// requests (failed authentication, logged at ResponseStarted), so the count
// is exact unless Stages leaves out ResponseStarted. Forced exec sessions are
// always written, even past the budget. Open requests are completed at the
// end, so the log holds every stage of every request it starts.
func Write(w io.Writer, cfg Config) (Stats, error) {
	if cfg.Events <= 0 && cfg.Bytes <= 0 {
		return Stats{}, errors.New("auditgen: Events or Bytes must be > 0")
	}
	if cfg.ForceBenign < 0 || cfg.ForceAttack < 0 || cfg.ForceDenied < 0 {
		return Stats{}, errors.New("auditgen: forced session counts must not be negative")
	}
	if cfg.ForceDenied > cfg.ForceAttack {
		return Stats{}, errors.New("auditgen: ForceDenied must not exceed ForceAttack")
	}
	for _, s := range cfg.Stages {
		switch s {
		case auditv1.StageRequestReceived, auditv1.StageResponseStarted, auditv1.StageResponseComplete:
		default:
			return Stats{}, fmt.Errorf("auditgen: unknown stage %q", s)
		}
	}
	var gz *gzip.Writer
	out := w
	if cfg.Gzip {
		gz = gzip.NewWriter(w)
		out = gz
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	g := newGen(cfg, bw)
	err := g.run()
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if gz != nil {
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
	}
	return g.stats, err
}

// ParseSize reads a size such as 1GiB, 200MB, 512KiB, 10M or 4096.
// KB, MB and GB are powers of 1000; K, M, G and the -iB forms are powers of
// 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("size %q: no number", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, t[i:])
	}
	return int64(v * mult), nil
}
