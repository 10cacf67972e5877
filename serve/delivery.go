package serve

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/sink"
	"github.com/imdsguard/imdsguard/store"
)

// Outbox is what delivery needs of the store: the alerts owed to each
// sink, and a record of each attempt.
type Outbox interface {
	Pending(ctx context.Context, sink string, now time.Time, limit int) ([]store.OutboxItem, error)
	Ack(ctx context.Context, seqs ...int64) error
	Retry(ctx context.Context, seq int64, next time.Time, lastErr string) error
	OutboxDepth(ctx context.Context) (map[string]int, error)
}

// Delivery runs one worker per sink that sends what the outbox owes it,
// oldest first, and retries failures with exponential backoff for as long
// as it takes: an alert leaves the outbox only once its sink took it.
type Delivery struct {
	outbox  Outbox
	sinks   []sink.Sink
	log     *slog.Logger
	wake    []chan struct{}
	batch   int
	poll    time.Duration
	backoff Backoff

	delivered, errors *prometheus.CounterVec
}

// Backoff is the wait after consecutive failures of a sink: Min doubled
// each time, at most Max, with ±20% jitter.
type Backoff struct{ Min, Max time.Duration }

func (b Backoff) after(failures int) time.Duration {
	d := b.Min
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// DeliveryOption configures a Delivery.
type DeliveryOption func(*Delivery)

// WithBackoff sets the retry backoff (default 1s to 5m).
func WithBackoff(b Backoff) DeliveryOption { return func(d *Delivery) { d.backoff = b } }

// WithPoll sets how often a sink's worker looks for due items when not
// woken (default 1s).
func WithPoll(p time.Duration) DeliveryOption { return func(d *Delivery) { d.poll = p } }

// NewDelivery returns the delivery of outbox to sinks; reg receives its
// metrics (deliveries, errors, outbox depth per sink).
func NewDelivery(outbox Outbox, sinks []sink.Sink, log *slog.Logger, reg prometheus.Registerer, opts ...DeliveryOption) *Delivery {
	d := &Delivery{
		outbox: outbox, sinks: sinks, log: log, batch: 100, poll: time.Second,
		backoff: Backoff{Min: time.Second, Max: 5 * time.Minute},
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imdsguard_sink_delivered_total",
			Help: "Alerts a sink accepted."}, []string{"sink"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imdsguard_sink_errors_total",
			Help: "Failed delivery attempts per sink."}, []string{"sink"}),
	}
	for _, o := range opts {
		o(d)
	}
	for _, s := range sinks {
		d.wake = append(d.wake, make(chan struct{}, 1))
		d.delivered.WithLabelValues(s.Name())
		d.errors.WithLabelValues(s.Name())
	}
	reg.MustRegister(d.delivered, d.errors, &depthCollector{outbox: outbox, sinks: sinks})
	return d
}

// Names returns the sinks' names, for SaveBatch.
func (d *Delivery) Names() []string {
	names := make([]string, len(d.sinks))
	for i, s := range d.sinks {
		names[i] = s.Name()
	}
	return names
}

// Wake tells the workers that new items were queued.
func (d *Delivery) Wake() {
	for _, w := range d.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Run delivers until ctx is done.
func (d *Delivery) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, s := range d.sinks {
		wg.Go(func() { d.work(ctx, s, d.wake[i]) })
	}
	wg.Wait()
}

// Drain waits, at most max, until nothing due is owed to any sink, for a
// shutdown that leaves little behind. Run must still be running.
func (d *Delivery) Drain(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		owed := false
		for _, s := range d.sinks {
			items, err := d.outbox.Pending(context.Background(), s.Name(), time.Now(), 1)
			owed = owed || (err == nil && len(items) > 0)
		}
		if !owed {
			return
		}
		d.Wake()
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *Delivery) work(ctx context.Context, s sink.Sink, wake <-chan struct{}) {
	name := s.Name()
	failures := 0
	wait := func(dur time.Duration) bool {
		t := time.NewTimer(dur)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-wake:
			return true
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		items, err := d.outbox.Pending(ctx, name, time.Now(), d.batch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("reading the outbox", "sink", name, "err", err)
			}
			wait(d.backoff.after(1))
			continue
		}
		if len(items) == 0 {
			wait(d.poll)
			continue
		}
		alerts, seqs := collapse(items)
		err = s.Deliver(ctx, alerts)
		n := sink.Delivered(err, len(alerts))
		var acked []int64
		for _, group := range seqs[:n] {
			acked = append(acked, group...)
		}
		if len(acked) > 0 {
			if aerr := d.outbox.Ack(context.WithoutCancel(ctx), acked...); aerr != nil && !errors.Is(aerr, store.ErrNotFound) {
				d.log.Error("acknowledging deliveries", "sink", name, "err", aerr)
			}
			d.delivered.WithLabelValues(name).Add(float64(n))
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		d.errors.WithLabelValues(name).Inc()
		backoff := d.backoff.after(failures)
		d.log.Warn("delivery failed", "sink", name, "delivered", n, "owed", len(alerts)-n,
			"failures", failures, "retry_in", backoff.String(), "err", err.Error())
		next := time.Now().Add(backoff)
		for _, group := range seqs[n:] {
			for _, seq := range group {
				if rerr := d.outbox.Retry(context.WithoutCancel(ctx), seq, next, err.Error()); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
					d.log.Error("recording a failed delivery", "sink", name, "err", rerr)
				}
			}
		}
		// The sink is down: new alerts wait with the old ones, rather
		// than each finding that out again.
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// collapse delivers each alert once per round: items of one alert (queued
// once per change) share the alert's current version.
func collapse(items []store.OutboxItem) ([]*alert.Alert, [][]int64) {
	var alerts []*alert.Alert
	var seqs [][]int64
	at := map[string]int{}
	for _, it := range items {
		if i, ok := at[it.AlertID]; ok {
			seqs[i] = append(seqs[i], it.Seq)
			continue
		}
		at[it.AlertID] = len(alerts)
		alerts = append(alerts, it.Alert)
		seqs = append(seqs, []int64{it.Seq})
	}
	return alerts, seqs
}

// depthCollector reads the outbox depth at scrape time.
type depthCollector struct {
	outbox Outbox
	sinks  []sink.Sink
}

var depthDesc = prometheus.NewDesc("imdsguard_outbox_depth", "Alert deliveries owed, per sink.", []string{"sink"}, nil)

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := c.outbox.OutboxDepth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	for _, s := range c.sinks {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(depth[s.Name()]), s.Name())
	}
	// Items owed to sinks no longer configured count too: they hold
	// outbox space.
	for name, n := range depth {
		if !c.has(name) && n > 0 {
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n), name)
		}
	}
}

func (c *depthCollector) has(name string) bool {
	for _, s := range c.sinks {
		if s.Name() == name {
			return true
		}
	}
	return false
}
