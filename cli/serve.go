package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/imdsguard/imdsguard/serve"
	"github.com/imdsguard/imdsguard/sink"
	"github.com/imdsguard/imdsguard/store"
)

func newServeCommand(s Streams) *cobra.Command {
	var configFile, maxBody, sinkSecret, sinkCA string
	var sinkSpecs []string
	var check bool
	flagCfg := serve.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive the API server's audit webhook and alert in real time",
		Long: `Serve receives the Kubernetes API server's audit webhook (an EventList a
batch) on POST /audit/v1 (and /k8s-audit, Falco's path), runs the strict
engine, and stores one alert per exec session in an embedded SQLite database
before answering 2xx, so the API server's retries lose and duplicate nothing.

TLS is on by default and clients must authenticate with a certificate signed
by --client-ca or the bearer token in --token-file. --insecure (plain HTTP,
no authentication) is for local tests only.

Replies: 200 once the batch's alerts are stored; 400 malformed body; 401/403
failed authentication; 413 body over the limit; 415 not JSON; 503 with
Retry-After when the intake queue or the outbox is full.

Alerts are delivered at least once to the sinks (--sink, or sinks: in the
config): ndjson to stdout or a file, a webhook (HMAC-signed with
--sink-secret-file) and Slack; a sink that is down gets everything when it is
back. Exceptions (--exceptions, or exceptions: in the config) mark the
sessions they match as suppressed: stored and counted, not delivered.

/healthz, /readyz and /metrics (Prometheus) are served on the same port.
SIGTERM drains the requests in flight and stops.`,
		Example: `  imdsguard serve --tls-cert tls.crt --tls-key tls.key --client-ca ca.pem --store /var/lib/imdsguard/alerts.db
  imdsguard serve --config /etc/imdsguard/serve.yaml --check-config
  imdsguard serve --insecure --listen 127.0.0.1:8080 --store /tmp/alerts.db --sink ndjson:-
  imdsguard serve --config serve.yaml --sink siem=webhook:https://siem.example/hook --sink-secret-file hmac.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := serve.DefaultConfig()
			if configFile != "" {
				var err error
				if cfg, err = serve.LoadConfig(configFile); err != nil {
					return usageErr("--config: %v", err)
				}
			}
			// Flags given on the command line override the file.
			fl := cmd.Flags()
			set := func(name string, apply func()) {
				if fl.Changed(name) {
					apply()
				}
			}
			set("listen", func() { cfg.Listen = flagCfg.Listen })
			set("tls-cert", func() { cfg.TLSCert = flagCfg.TLSCert })
			set("tls-key", func() { cfg.TLSKey = flagCfg.TLSKey })
			set("client-ca", func() { cfg.ClientCA = flagCfg.ClientCA })
			set("token-file", func() { cfg.TokenFile = flagCfg.TokenFile })
			set("store", func() { cfg.Store = flagCfg.Store })
			set("insecure", func() { cfg.Insecure = flagCfg.Insecure })
			set("max-in-flight", func() { cfg.MaxInFlight = flagCfg.MaxInFlight })
			set("cloud", func() { cfg.Cloud = flagCfg.Cloud })
			set("endpoints", func() { cfg.Endpoints = flagCfg.Endpoints })
			set("exceptions", func() { cfg.ExceptionsFile = flagCfg.ExceptionsFile })
			set("max-outbox", func() { cfg.MaxOutbox = flagCfg.MaxOutbox })
			set("read-timeout", func() { cfg.ReadTimeout = flagCfg.ReadTimeout })
			if len(sinkSpecs) > 0 {
				// Sinks on the command line replace the file's.
				cfg.Sinks = nil
				for _, spec := range sinkSpecs {
					c, err := sink.ParseFlag(spec)
					if err != nil {
						return usageErr("--sink: %v", err)
					}
					if c.Type == sink.TypeWebhook {
						c.SecretFile = sinkSecret
					}
					if c.Type != sink.TypeNDJSON {
						c.CAFile = sinkCA
					}
					cfg.Sinks = append(cfg.Sinks, c)
				}
			} else if fl.Changed("sink-secret-file") || fl.Changed("sink-ca") {
				return usageErr("--sink-secret-file and --sink-ca apply to the sinks given with --sink")
			}
			if fl.Changed("max-body") {
				n, err := parseSize(maxBody)
				if err != nil {
					return usageErr("--max-body: %v", err)
				}
				cfg.MaxBodyBytes = int64(n)
			}
			if err := cfg.Validate(); err != nil {
				return usageErr("invalid configuration:\n%v", err)
			}
			if check {
				fmt.Fprintln(s.Out, "configuration OK")
				return nil
			}
			return runServe(s, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configFile, "config", "", "YAML configuration file (flags override it)")
	fl.BoolVar(&check, "check-config", false, "validate the configuration and exit")
	fl.StringVar(&flagCfg.Listen, "listen", flagCfg.Listen, "address to listen on")
	fl.StringVar(&flagCfg.TLSCert, "tls-cert", "", "server certificate (PEM); reloaded when the file changes")
	fl.StringVar(&flagCfg.TLSKey, "tls-key", "", "server key (PEM)")
	fl.StringVar(&flagCfg.ClientCA, "client-ca", "", "CA whose client certificates are accepted (mTLS)")
	fl.StringVar(&flagCfg.TokenFile, "token-file", "", "file holding the bearer token clients must send; reread when it changes")
	fl.StringVar(&flagCfg.Store, "store", flagCfg.Store, "SQLite database of alerts")
	fl.BoolVar(&flagCfg.Insecure, "insecure", false, "plain HTTP without authentication, for local tests only")
	fl.StringVar(&maxBody, "max-body", "16MiB", "largest batch accepted")
	fl.IntVar(&flagCfg.MaxInFlight, "max-in-flight", flagCfg.MaxInFlight, "batches processed at once; more are answered 503")
	fl.DurationVar(&flagCfg.ReadTimeout.Duration, "read-timeout", flagCfg.ReadTimeout.Duration, "longest time to read one request, headers and body")
	addDetectionFlags(fl, &flagCfg.Cloud, &flagCfg.Endpoints)
	fl.StringVar(&flagCfg.ExceptionsFile, "exceptions", "", exceptionsUsage)
	fl.StringArrayVar(&sinkSpecs, "sink", nil, "where alerts go, [NAME=]TYPE:TARGET, repeatable: ndjson:-, ndjson:FILE, webhook:https://..., slack:https://... (or slack:@FILE holding the URL)")
	fl.StringVar(&sinkSecret, "sink-secret-file", "", "file holding the HMAC key that signs the --sink webhooks' requests")
	fl.StringVar(&sinkCA, "sink-ca", "", "CA bundle the --sink webhook and Slack receivers' certificates must chain to (default: the system's)")
	fl.IntVar(&flagCfg.MaxOutbox, "max-outbox", flagCfg.MaxOutbox, "most deliveries owed to sinks; past it batches are answered 503 until sinks catch up")
	return cmd
}

func runServe(s Streams, cfg serve.Config) error {
	log := slog.New(slog.NewJSONHandler(s.Err, nil))
	strict, err := strictFromFlags(cfg.Cloud, cfg.Endpoints)
	if err != nil {
		return err
	}
	excs, err := cfg.ExceptionSet()
	if err != nil {
		return usageErr("%v", err)
	}
	for _, e := range excs.Expired() {
		log.Warn("exception expired, no longer applies", "exception", e.Name, "expires", e.Expires)
	}
	for _, w := range excs.Warnings() {
		log.Warn("weak exception", "warning", w)
	}
	sinks, err := cfg.BuildSinks(s.Out, "imdsguard/"+Version)
	if err != nil {
		return usageErr("%v", err)
	}
	st, err := store.Open(cfg.Store, store.WithMaxOutbox(cfg.MaxOutbox))
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	defer st.Close()
	var auth serve.Auth
	if cfg.TokenFile != "" {
		tok, err := serve.NewFileToken(cfg.TokenFile)
		if err != nil {
			return usageErr("--token-file: %v", err)
		}
		auth.Token = tok
	}
	auth.MTLS = cfg.ClientCA != ""
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	delivery := serve.NewDelivery(st, sinks, log, reg)
	warnOrphans(log, st, delivery.Names())
	srv := serve.New(st, strict, auth, reg, serve.WithLogger(log),
		serve.WithDelivery(delivery), serve.WithExceptions(excs),
		serve.WithLimits(serve.Limits{MaxBodyBytes: cfg.MaxBodyBytes, MaxInFlight: cfg.MaxInFlight}),
		serve.WithBusy(func(err error) bool { return errors.Is(err, store.ErrOutboxFull) }))
	hs := &http.Server{
		Handler:           srv.Handler(reg),
		ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout.Duration),
		ReadTimeout:       cfg.ReadTimeout.Duration,
		WriteTimeout:      cfg.ReadTimeout.Duration + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if !cfg.Insecure {
		tlsCfg, err := serve.TLSConfig(cfg.TLSCert, cfg.TLSKey, cfg.ClientCA)
		if err != nil {
			return usageErr("TLS: %v", err)
		}
		hs.TLSConfig = tlsCfg
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", !cfg.Insecure, "store", cfg.Store,
		"sinks", delivery.Names(), "exceptions", excs.Len())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	deliverCtx, stopDelivery := context.WithCancel(context.Background())
	delivered := make(chan struct{})
	go func() { delivery.Run(deliverCtx); close(delivered) }()
	defer func() { stopDelivery(); <-delivered }()
	errc := make(chan error, 1)
	go func() {
		if cfg.Insecure {
			errc <- hs.Serve(ln)
		} else {
			errc <- hs.ServeTLS(ln, "", "")
		}
	}()
	select {
	case err := <-errc:
		return &exitError{code: ExitUsage, err: err}
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	// Give the sinks a moment to take what is due; the rest stays in the
	// outbox for the next start.
	delivery.Drain(5 * time.Second)
	return err
}

// warnOrphans logs deliveries owed to sinks no longer configured: they
// wait, holding outbox space, until a sink of that name returns.
func warnOrphans(log *slog.Logger, st *store.Store, names []string) {
	depth, err := st.OutboxDepth(context.Background())
	if err != nil {
		log.Error("reading the outbox", "err", err)
		return
	}
	for name, n := range depth {
		if n > 0 && !slices.Contains(names, name) {
			log.Warn("deliveries owed to a sink that is not configured", "sink", name, "owed", n)
		}
	}
}
