// Command serveload is a load generator for `imdsguard serve`: it posts
// audit webhook batches (audit.k8s.io/v1 EventList bodies cut from an
// auditgen log) over keep-alive connections, HTTPS with a bearer token or
// plain HTTP, and reports throughput, latency, status codes and, given the
// server's PID, the server's CPU and peak memory. bench/serve.sh runs it.
//
// Modes:
//
//	closed    -c clients, each posting its next batch as soon as the last
//	          is answered, for -d: the sustained rate
//	open      batches scheduled every batch/-rate seconds whatever the
//	          answers, latency counted from the scheduled time (so a slow
//	          answer that delays later sends is not hidden), -c workers
//	overload  closed with many clients and large batches, for 503s and
//	          the server's memory under overload
//
// serveload -table FILE... prints -json results as one table with the
// benchmark's targets.
//
// Every batch sent has audit IDs not sent before in the run (see
// pool.body), so the server stores new alerts throughout rather than
// deduplicating.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imdsguard/imdsguard/auditgen"
)

type options struct {
	url, tokenFile, caCert string
	skipVerify, h2         bool
	mode                   string
	clients                int
	duration, warmup       time.Duration
	rate                   float64
	batch, batches         int
	seed                   int64
	execShare, attackShare float64
	backoff, timeout       time.Duration
	pid                    int
	resetHWM               bool
	jsonOut                string
	label                  string
	runID                  uint
	runIDSet               bool
}

func main() {
	var o options
	var genCertDir string
	var tableMode bool
	flag.StringVar(&o.url, "url", "https://127.0.0.1:8443/audit/v1", "intake URL (http:// for serve --insecure)")
	flag.StringVar(&o.tokenFile, "token-file", "", "bearer token file (the server's --token-file)")
	flag.StringVar(&o.caCert, "cacert", "", "PEM certificate(s) to trust for the server (default: the system's)")
	flag.BoolVar(&o.skipVerify, "k", false, "do not verify the server's certificate")
	flag.BoolVar(&o.h2, "h2", false, "use HTTP/2 over TLS (default HTTP/1.1 keep-alive, a connection per client)")
	flag.StringVar(&o.mode, "mode", "closed", "closed, open or overload")
	flag.IntVar(&o.clients, "c", 0, "concurrent clients (closed, overload) or workers (open); default 8, 64, 64")
	flag.DurationVar(&o.duration, "d", 20*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before the measurement, not counted")
	flag.Float64Var(&o.rate, "rate", 40000, "open: target events a second")
	flag.IntVar(&o.batch, "batch", 400, "events a batch (the API server's --audit-webhook-batch-max-size is 400)")
	flag.IntVar(&o.batches, "batches", 256, "distinct batches generated; later passes over them get new audit IDs")
	flag.Int64Var(&o.seed, "seed", 1, "auditgen seed")
	flag.Float64Var(&o.execShare, "exec-share", 0, "auditgen share of requests that are kubectl exec sessions (0: its default, 0.001)")
	flag.Float64Var(&o.attackShare, "attack-share", 0, "auditgen share of exec sessions that reach a metadata service (0: its default, 0.2)")
	flag.DurationVar(&o.backoff, "backoff", 0, "closed, overload: a client's pause after a 503")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "request timeout")
	flag.IntVar(&o.pid, "pid", 0, "server PID: sample its RSS, peak RSS (VmHWM) and CPU from /proc")
	flag.BoolVar(&o.resetHWM, "reset-hwm", false, "reset the server's VmHWM at the start (needs the right to write /proc/PID/clear_refs)")
	flag.StringVar(&o.jsonOut, "json", "", "also write the result as JSON to this file (- for standard output)")
	flag.StringVar(&o.label, "label", "", "name of the scenario in the output")
	flag.UintVar(&o.runID, "run-id", 0, "audit IDs start with run-id + pass in hex; 0 sends the generated IDs first (default: random, so runs against one store do not overlap)")
	flag.StringVar(&genCertDir, "gen-cert", "", "write a self-signed certificate for 127.0.0.1/localhost to DIR/tls.crt and DIR/tls.key, and exit")
	flag.BoolVar(&tableMode, "table", false, "print the -json results named as arguments as one table, with the benchmark's targets, and exit")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { o.runIDSet = o.runIDSet || f.Name == "run-id" })
	if tableMode {
		if err := table(os.Stdout, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "serveload:", err)
			os.Exit(1)
		}
		return
	}
	if genCertDir != "" {
		if err := genCert(genCertDir); err != nil {
			fmt.Fprintln(os.Stderr, "serveload:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

// sample is one request.
type sample struct {
	sched, sent, end time.Time // sched: scheduled (open) or sent
	code             int       // 0: transport error
	events, alerts   int       // from a 200's body
	bytes            int
	err              string
}

type loader struct {
	o      options
	p      *pool
	client *http.Client
	token  string
	next   atomic.Uint64
	proto  atomic.Value // the protocol of the last answer (resp.Proto)
}

func run(o options) error {
	switch o.mode {
	case "closed":
		o.clients = cmp0(o.clients, 8)
	case "open", "overload":
		o.clients = cmp0(o.clients, 64)
	default:
		return fmt.Errorf("-mode %q: want closed, open or overload", o.mode)
	}
	if o.label == "" {
		o.label = o.mode
	}
	if o.mode == "open" && o.rate <= 0 {
		return errors.New("-rate must be > 0")
	}
	l := &loader{o: o}
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return err
		}
		l.token = strings.TrimSpace(string(b))
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: o.skipVerify}
	if o.caCert != "" {
		pemData, err := os.ReadFile(o.caCert)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("%s: no PEM certificate", o.caCert)
		}
		tlsCfg.RootCAs = roots
	}
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		ForceAttemptHTTP2:   o.h2,
		MaxIdleConns:        o.clients * 2,
		MaxIdleConnsPerHost: o.clients * 2,
		DisableCompression:  true,
		IdleConnTimeout:     90 * time.Second,
	}
	if !o.h2 {
		// An empty, non-nil map turns HTTP/2 off.
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	l.client = &http.Client{Transport: tr, Timeout: o.timeout}

	t := time.Now()
	var err error
	l.p, err = newPool(auditgen.Config{Seed: o.seed, ExecShare: o.execShare, AttackShare: o.attackShare}, o.batches, o.batch)
	if err != nil {
		return err
	}
	if o.runIDSet {
		l.p.runID = uint32(o.runID)
	} else {
		l.p.runID = rand.Uint32()
	}
	st := l.p.stats
	fmt.Fprintf(os.Stderr, "serveload: %d batches of %d events generated in %.1fs (%.0f KiB a batch); pods/exec: 1 event in %.0f, 1 request in %.0f; %d exec requests reach a metadata service\n",
		len(l.p.bodies), o.batch, time.Since(t).Seconds(), float64(l.p.bytes)/float64(len(l.p.bodies))/1024,
		float64(st.Events)/float64(max(l.p.execEvents, 1)), float64(st.Requests)/float64(max(st.ExecRequests, 1)), st.AttackRequests)

	// One request outside the measurement: fails fast on a wrong URL,
	// token or certificate.
	if s := l.post(context.Background(), nil, time.Now()); s.code != http.StatusOK && s.code != http.StatusServiceUnavailable {
		return fmt.Errorf("first request: HTTP %d %s", s.code, s.err)
	}

	if o.pid > 0 && o.resetHWM {
		if err := resetHWM(o.pid); err != nil {
			fmt.Fprintf(os.Stderr, "serveload: resetting VmHWM: %v (peak RSS is since the server started)\n", err)
		}
	}
	var w *watcher
	if o.pid > 0 {
		w = startWatcher(o.pid, 50*time.Millisecond)
	}

	start := time.Now()
	winStart := start.Add(o.warmup)
	winEnd := winStart.Add(o.duration)
	// CPU times at the start of the window.
	type cpuAt struct {
		at                time.Time
		self, server, all time.Duration
		ok, allOK         bool
	}
	cpuc := make(chan cpuAt, 1)
	go func() {
		time.Sleep(time.Until(winStart))
		c := cpuAt{at: time.Now(), self: selfCPU()}
		var err error
		c.all, err = machineCPU()
		c.allOK = err == nil
		if o.pid > 0 {
			var err error
			c.server, err = procCPU(o.pid)
			c.ok = err == nil
		}
		cpuc <- c
	}()
	var samples []sample
	if o.mode == "open" {
		samples = l.open(start, winEnd)
	} else {
		samples = l.closed(winEnd)
	}
	var res result
	res.fill(o, l.p, samples, winStart, winEnd)
	if proto, ok := l.proto.Load().(string); ok {
		// What was spoken, not what was asked for.
		res.Proto = protoName(o.url, proto)
	}
	c0 := <-cpuc
	// CPU shares are over the time from the window's start to now, when
	// every request has been answered.
	wall := time.Since(c0.at).Seconds()
	res.ClientCPUCores = (selfCPU() - c0.self).Seconds() / wall
	if all, err := machineCPU(); err == nil && c0.allOK {
		res.MachineCPUCores = (all - c0.all).Seconds() / wall
	}
	if o.pid > 0 {
		if cpu1, err := procCPU(o.pid); err == nil && c0.ok {
			cpu := (cpu1 - c0.server).Seconds()
			res.ServerCPUCores = cpu / wall
			if res.EventsAccepted > 0 {
				res.ServerCPUNsPerEvent = cpu * 1e9 / float64(res.EventsAccepted)
			}
		}
		maxRSS, hwm := w.finish()
		res.ServerMaxRSSMiB = float64(maxRSS) / 1024
		res.ServerHWMMiB = float64(hwm) / 1024
	}
	res.print(os.Stdout)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		b = append(b, '\n')
		if o.jsonOut == "-" {
			os.Stdout.Write(b)
		} else if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// protoName is "https/2.0" or "http/1.1": the scheme and the version
// the server answered with.
func protoName(url, respProto string) string {
	scheme := "http"
	if strings.HasPrefix(url, "https:") {
		scheme = "https"
	}
	return scheme + "/" + strings.TrimPrefix(respProto, "HTTP/")
}

func cmp0(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// post sends the next batch; sched is when it was due.
func (l *loader) post(ctx context.Context, buf *[]byte, sched time.Time) sample {
	var b []byte
	if buf != nil {
		b = *buf
	}
	b = l.p.body(b, l.next.Add(1)-1)
	if buf != nil {
		*buf = b
	}
	s := sample{sched: sched, bytes: len(b)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.o.url, bytes.NewReader(b))
	if err != nil {
		s.err = err.Error()
		return s
	}
	req.Header.Set("Content-Type", "application/json")
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	s.sent = time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		s.end = time.Now()
		s.err = err.Error()
		return s
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.end = time.Now()
	s.code = resp.StatusCode
	l.proto.Store(resp.Proto)
	if s.code == http.StatusOK {
		var r struct{ Events, Alerts int }
		json.Unmarshal(body, &r)
		s.events, s.alerts = r.Events, r.Alerts
	} else if s.code != http.StatusServiceUnavailable {
		s.err = strings.TrimSpace(string(body))
	}
	return s
}

// closed runs o.clients clients until winEnd; the requests in flight then
// are finished.
func (l *loader) closed(winEnd time.Time) []sample {
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	for range l.o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var mine []sample
			for time.Now().Before(winEnd) {
				now := time.Now()
				s := l.post(context.Background(), &buf, now)
				s.sched = s.sent
				mine = append(mine, s)
				if s.code == http.StatusServiceUnavailable && l.o.backoff > 0 {
					time.Sleep(l.o.backoff)
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

// open schedules a batch every batch/rate seconds from start to winEnd,
// for o.clients workers; a batch waits for a free worker, and its latency
// counts from when it was due.
func (l *loader) open(start, winEnd time.Time) []sample {
	interval := time.Duration(float64(l.o.batch) / l.o.rate * float64(time.Second))
	jobs := make(chan time.Time, 1<<20)
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	for range l.o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var mine []sample
			for sched := range jobs {
				mine = append(mine, l.post(context.Background(), &buf, sched))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(winEnd) {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- due
	}
	close(jobs)
	wg.Wait()
	return all
}

type latency struct {
	P50, P90, P99, P999, Max, Mean float64 // milliseconds
}

func latencies(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	slices.Sort(d)
	q := func(f float64) float64 {
		i := int(f*float64(len(d))+0.999999) - 1
		i = min(max(i, 0), len(d)-1)
		return ms(d[i])
	}
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return latency{P50: q(.50), P90: q(.90), P99: q(.99), P999: q(.999), Max: ms(d[len(d)-1]), Mean: ms(sum / time.Duration(len(d)))}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type result struct {
	Label       string  `json:"label"`
	Mode        string  `json:"mode"`
	URL         string  `json:"url"`
	Proto       string  `json:"proto"`
	Clients     int     `json:"clients"`
	BatchEvents int     `json:"batch_events"`
	BatchKiB    float64 `json:"batch_kib"`
	TargetRate  float64 `json:"target_events_per_s,omitempty"`
	DurationS   float64 `json:"duration_s"`
	// ElapsedS runs from the end of the warm-up to the last answer of the
	// requests started (closed) or due (open) in the measured window.
	ElapsedS       float64        `json:"elapsed_s"`
	Requests       int            `json:"requests"`
	Codes          map[string]int `json:"codes"`
	ErrorSamples   []string       `json:"error_samples,omitempty"`
	EventsAccepted int64          `json:"events_accepted"`
	EventsPerS     float64        `json:"events_per_s"`
	MBPerS         float64        `json:"mb_per_s"`
	AlertsReported int64          `json:"alerts_reported"`
	// Latency is of every request of the window, from when it was sent
	// (closed) or due (open); Service, open only, from when it was sent;
	// Latency200 of the 200s alone.
	Latency    latency  `json:"latency_ms"`
	Latency200 latency  `json:"latency_200_ms"`
	Service    *latency `json:"service_ms,omitempty"`
	// LatencyAlerts is of the 200s whose batch had alerts (a store
	// commit), AlertBatches their number.
	LatencyAlerts       latency `json:"latency_alert_batches_ms"`
	AlertBatches        int     `json:"alert_batches"`
	ServerCPUCores      float64 `json:"server_cpu_cores,omitempty"`
	ServerCPUNsPerEvent float64 `json:"server_cpu_ns_per_event,omitempty"`
	ClientCPUCores      float64 `json:"client_cpu_cores"`
	// MachineCPUCores is the whole machine's busy CPU: beyond server and
	// client, other processes disturbed the run.
	MachineCPUCores float64 `json:"machine_cpu_cores"`
	ServerMaxRSSMiB float64 `json:"server_max_rss_mib,omitempty"`
	ServerHWMMiB    float64 `json:"server_peak_rss_mib,omitempty"`
}

func (r *result) fill(o options, p *pool, samples []sample, winStart, winEnd time.Time) {
	r.Label, r.Mode, r.URL, r.Clients, r.BatchEvents = o.label, o.mode, o.url, o.clients, o.batch
	r.Proto = "http/1.1"
	if strings.HasPrefix(o.url, "https:") {
		r.Proto = "https/1.1"
		if o.h2 {
			r.Proto = "https/2"
		}
	}
	r.BatchKiB = float64(p.bytes) / float64(len(p.bodies)) / 1024
	if o.mode == "open" {
		r.TargetRate = o.rate
	}
	r.DurationS = o.duration.Seconds()
	r.Codes = map[string]int{}
	var all, ok, svc, withAlerts []time.Duration
	var last time.Time
	var bytes int64
	errs := map[string]bool{}
	for _, s := range samples {
		if s.sched.Before(winStart) || !s.sched.Before(winEnd) {
			continue
		}
		r.Requests++
		code := "error"
		if s.code != 0 {
			code = strconv.Itoa(s.code)
		}
		r.Codes[code]++
		if s.err != "" && len(errs) < 5 {
			errs[code+": "+s.err] = true
		}
		if s.end.After(last) {
			last = s.end
		}
		lat := s.end.Sub(s.sched)
		all = append(all, lat)
		if !s.sent.IsZero() {
			svc = append(svc, s.end.Sub(s.sent))
		}
		if s.code == http.StatusOK {
			ok = append(ok, lat)
			r.EventsAccepted += int64(s.events)
			r.AlertsReported += int64(s.alerts)
			if s.alerts > 0 {
				withAlerts = append(withAlerts, lat)
			}
			bytes += int64(s.bytes)
		}
	}
	for e := range errs {
		r.ErrorSamples = append(r.ErrorSamples, e)
	}
	sort.Strings(r.ErrorSamples)
	r.ElapsedS = max(last.Sub(winStart), o.duration).Seconds()
	r.EventsPerS = float64(r.EventsAccepted) / r.ElapsedS
	r.MBPerS = float64(bytes) / r.ElapsedS / 1e6
	r.Latency = latencies(all)
	r.Latency200 = latencies(ok)
	r.LatencyAlerts, r.AlertBatches = latencies(withAlerts), len(withAlerts)
	if o.mode == "open" {
		l := latencies(svc)
		r.Service = &l
	}
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "== %s: %s, %s, %d %s, batches of %d events (%.0f KiB), %.0fs measured",
		r.Label, r.Mode, r.Proto, r.Clients, map[bool]string{true: "workers", false: "clients"}[r.Mode == "open"],
		r.BatchEvents, r.BatchKiB, r.DurationS)
	if r.TargetRate > 0 {
		fmt.Fprintf(w, ", target %.0f events/s", r.TargetRate)
	}
	fmt.Fprintln(w)
	var codes []string
	for c, n := range r.Codes {
		codes = append(codes, fmt.Sprintf("%s: %d", c, n))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "requests %d (%s)\n", r.Requests, strings.Join(codes, ", "))
	for _, e := range r.ErrorSamples {
		if len(e) > 160 {
			e = e[:160] + "..."
		}
		fmt.Fprintf(w, "  e.g. %s\n", e)
	}
	fmt.Fprintf(w, "accepted %d events in %.2fs: %.0f events/s, %.1f MB/s; %d alerts reported\n",
		r.EventsAccepted, r.ElapsedS, r.EventsPerS, r.MBPerS, r.AlertsReported)
	pl := func(name string, l latency) {
		fmt.Fprintf(w, "%-22s p50 %7.2f  p90 %7.2f  p99 %7.2f  p99.9 %7.2f  max %7.2f ms\n", name, l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	if r.Mode == "open" {
		pl("latency (from due)", r.Latency)
		pl("service (from sent)", *r.Service)
	} else {
		pl("latency", r.Latency)
	}
	if r.Codes["200"] != r.Requests {
		pl("latency of 200s", r.Latency200)
	}
	if r.AlertBatches > 0 {
		pl(fmt.Sprintf("200s with alerts (%d)", r.AlertBatches), r.LatencyAlerts)
	}
	if r.ServerHWMMiB > 0 {
		fmt.Fprintf(w, "server: %.2f cores, %.0f ns CPU an event accepted; RSS max sampled %.1f MiB, peak (VmHWM) %.1f MiB\n",
			r.ServerCPUCores, r.ServerCPUNsPerEvent, r.ServerMaxRSSMiB, r.ServerHWMMiB)
	}
	other := r.MachineCPUCores - r.ClientCPUCores - r.ServerCPUCores
	fmt.Fprintf(w, "client: %.2f cores; whole machine busy %.2f cores", r.ClientCPUCores, r.MachineCPUCores)
	if r.ServerHWMMiB > 0 {
		fmt.Fprintf(w, ", of which other processes %.2f", max(other, 0))
	}
	fmt.Fprintln(w)
}
