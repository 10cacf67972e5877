// Package serve is imdsguard's real-time front end: it receives the
// Kubernetes API server's audit webhook, runs the strict engine on every
// batch and stores the alerts durably before it answers, so the API
// server's retries never lose or duplicate an alert.
//
// Alerts leave through sinks (package sink): the store's outbox keeps
// what each sink is owed, and Delivery sends it, retrying until the sink
// takes it. Exceptions (package exception) mark the sessions they match
// as suppressed: stored and counted, not delivered.
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/auditlog"
	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/exception"
	"github.com/imdsguard/imdsguard/scan"
)

// Store is what the server needs of the alert store (package store).
type Store interface {
	SaveBatch(ctx context.Context, alerts []*alert.Alert, sinks []string) ([]*alert.Alert, error)
	Writable(ctx context.Context) error
}

// ErrBusy is returned by a Store that cannot take more (its outbox is
// full): the server answers 503 and the API server retries later.
var ErrBusy = errors.New("store busy")

// Limits bound the intake.
type Limits struct {
	// MaxBodyBytes is the largest batch accepted (413 above it).
	MaxBodyBytes int64
	// MaxInFlight is how many batches are processed at once; more get
	// 503 with Retry-After.
	MaxInFlight int
}

// Server handles the audit webhook.
type Server struct {
	store   Store
	strict  *detect.Strict
	auth    Authenticator
	limits  Limits
	log     *slog.Logger
	slots   chan struct{}
	metrics *metrics
	sinks   []string
	wake    func()
	excs    *exception.Set
	isBusy  func(error) bool
}

// Option configures a Server.
type Option func(*Server)

// WithLimits sets the intake limits.
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l } }

// WithLogger sets the logger (JSON log/slog).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithSinks names the sinks every new or changed alert is queued for.
func WithSinks(names ...string) Option { return func(s *Server) { s.sinks = names } }

// WithDelivery queues alerts for d's sinks and wakes d when it did.
func WithDelivery(d *Delivery) Option {
	return func(s *Server) { s.sinks, s.wake = d.Names(), d.Wake }
}

// WithExceptions suppresses the sessions set matches.
func WithExceptions(set *exception.Set) Option { return func(s *Server) { s.excs = set } }

// WithBusy tells the server which store errors mean "try later" (503).
func WithBusy(is func(error) bool) Option { return func(s *Server) { s.isBusy = is } }

// New returns a Server over st, judging with strict and letting in the
// clients auth accepts.
func New(st Store, strict *detect.Strict, auth Authenticator, reg prometheus.Registerer, opts ...Option) *Server {
	s := &Server{
		store:  st,
		strict: strict,
		auth:   auth,
		limits: Limits{MaxBodyBytes: 16 << 20, MaxInFlight: 8},
		log:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
		isBusy: func(err error) bool { return errors.Is(err, ErrBusy) },
	}
	for _, o := range opts {
		o(s)
	}
	s.slots = make(chan struct{}, s.limits.MaxInFlight)
	s.metrics = newMetrics(reg, func() float64 { return float64(len(s.slots)) })
	return s
}

// Handler serves the intake paths, health, readiness and metrics.
func (s *Server) Handler(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/audit/v1", s.intake)
	mux.HandleFunc("/k8s-audit", s.intake) // Falco k8saudit's path, for drop-in use
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", s.ready)
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if len(s.slots) == cap(s.slots) {
		http.Error(w, "intake queue full", http.StatusServiceUnavailable)
		return
	}
	if err := s.store.Writable(r.Context()); err != nil {
		http.Error(w, "store not writable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// reply writes a JSON answer and records it.
func (s *Server) reply(w http.ResponseWriter, start time.Time, code int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
	s.metrics.requests.WithLabelValues(fmt.Sprint(code)).Inc()
	s.metrics.latency.Observe(time.Since(start).Seconds())
}

func (s *Server) fail(w http.ResponseWriter, start time.Time, code int, reason string) {
	s.reply(w, start, code, map[string]any{"error": reason})
}

func (s *Server) intake(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, start, http.StatusMethodNotAllowed, "POST an EventList, an Event or a JSON array of Events")
		return
	}
	if code, why := s.auth.Authenticate(r); code != 0 {
		s.metrics.authFailures.Inc()
		s.log.Warn("authentication failed", "remote", r.RemoteAddr, "reason", why)
		s.fail(w, start, code, why)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.fail(w, start, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	// Take a slot before reading the body: memory stays bounded under
	// overload, and the API server retries a 503.
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		s.fail(w, start, http.StatusServiceUnavailable, "intake queue full, retry later")
		return
	}
	body, err := readBody(w, r, s.limits.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(w, start, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", s.limits.MaxBodyBytes))
			return
		}
		s.fail(w, start, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	res, err := s.process(r.Context(), body)
	switch {
	case err != nil && s.isBusy(err):
		w.Header().Set("Retry-After", "5")
		s.fail(w, start, http.StatusServiceUnavailable, "alert store busy, retry later")
		return
	case err != nil:
		s.log.Error("storing alerts", "err", err)
		s.fail(w, start, http.StatusInternalServerError, "storing alerts failed")
		return
	}
	if len(res.problems) > 0 {
		// The events that parsed are stored; the batch is refused so
		// the API server's logs show the problem.
		s.metrics.malformed.Inc()
		s.fail(w, start, http.StatusBadRequest, "malformed batch: "+strings.Join(res.problems, "; "))
		return
	}
	s.reply(w, start, http.StatusOK, map[string]any{"events": res.events, "alerts": res.alerts})
}

// readBody reads the body whole, at most max bytes, into a buffer sized
// from Content-Length when the client sent one.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	size := int64(64 << 10)
	if r.ContentLength > 0 {
		size = min(r.ContentLength, max) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	return buf.Bytes(), err
}

type result struct {
	events, alerts int
	problems       []string
}

// process judges one batch and stores its alerts. Only events that could
// be pods/exec are decoded (the same sound prefilter as scan).
func (s *Server) process(ctx context.Context, body []byte) (result, error) {
	var res result
	res.events = bytes.Count(body, []byte(`"auditID"`))
	s.metrics.events.Add(float64(res.events))
	reader := auditlog.NewReader(auditlog.Options{
		OnlyExec: true,
		OnError: func(e *auditlog.Error) {
			if !e.Warning && len(res.problems) < 5 {
				res.problems = append(res.problems, e.Error())
			}
		},
	})
	an := scan.NewAnalyzer(scan.EngineStrict, s.strict)
	sessions := alert.NewSessions()
	st := reader.ReadBytes("request", body, func(rec *auditlog.Record) {
		if detect.IsPodExec(&rec.Event) {
			s.metrics.execEvents.Inc()
		}
		if f, ok := an.Analyze(rec); ok {
			sessions.Add(f.Input, f.Exec, f.Verdict)
		}
	})
	if st.Lines == 0 && len(res.problems) == 0 {
		res.problems = append(res.problems, "empty body")
	}
	alerts := sessions.Alerts()
	if len(alerts) == 0 {
		return res, nil
	}
	s.excs.Apply(alerts)
	changed, err := s.store.SaveBatch(ctx, alerts, s.sinks)
	if err != nil {
		return res, err
	}
	res.alerts = len(alerts)
	queued := false
	for _, a := range changed {
		attrs := []any{"id", a.ID, "audit_id", a.AuditID, "user", a.User.Username,
			"namespace", a.Namespace, "pod", a.Pod, "cloud_target", a.CloudTarget, "access", a.Access, "outcome", a.Outcome}
		if a.Suppressed != nil {
			s.metrics.suppressed.WithLabelValues(a.Suppressed.Exception).Inc()
			s.log.Info("alert suppressed", append(attrs, "exception", a.Suppressed.Exception)...)
			continue
		}
		queued = true
		s.metrics.alerts.WithLabelValues(a.CloudTarget, a.Access, a.Outcome).Inc()
		s.log.Info("alert", attrs...)
	}
	if queued && s.wake != nil {
		s.wake()
	}
	return res, nil
}
