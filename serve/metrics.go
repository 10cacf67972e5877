package serve

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events, execEvents, malformed, authFailures prometheus.Counter
	alerts, suppressed                          *prometheus.CounterVec
	requests                                    *prometheus.CounterVec
	latency                                     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, inFlight func() float64) *metrics {
	m := &metrics{
		events:       prometheus.NewCounter(prometheus.CounterOpts{Name: "imdsguard_events_received_total", Help: "Audit events received."}),
		execEvents:   prometheus.NewCounter(prometheus.CounterOpts{Name: "imdsguard_exec_events_total", Help: "pods/exec audit events received."}),
		malformed:    prometheus.NewCounter(prometheus.CounterOpts{Name: "imdsguard_malformed_bodies_total", Help: "Batches refused as malformed."}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "imdsguard_auth_failures_total", Help: "Requests refused for failed authentication."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imdsguard_alerts_total", Help: "New or changed alerts stored."},
			[]string{"cloud_target", "access", "outcome"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imdsguard_alerts_suppressed_total", Help: "New or changed alerts an exception suppressed."},
			[]string{"exception"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imdsguard_intake_requests_total", Help: "Intake requests by status code."},
			[]string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "imdsguard_intake_request_seconds", Help: "Intake request latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
	}
	reg.MustRegister(m.events, m.execEvents, m.malformed, m.authFailures, m.alerts, m.suppressed, m.requests, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imdsguard_intake_in_flight", Help: "Batches being processed."}, inFlight))
	return m
}
