package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// The targets of the serve benchmark (bench/serve.sh), checked by table
// on the scenarios of these labels.
const (
	targetEventsPerS = 100000 // label "sustained": closed loop, durable store
	targetP99ms      = 50     // label "latency": open loop at latencyRate
	latencyRate      = 40000
	// Overload: labels "overload" and "overload-x4" (four times the
	// clients). Memory is called bounded when the peak with four times
	// the clients is at most boundedRatio times the peak with one times.
	boundedRatio = 1.5
)

// table prints the results in files as one table, then the targets.
func table(w io.Writer, files []string) error {
	var rs []result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		rs = append(rs, r)
	}
	fmt.Fprintf(w, "%-12s %-9s %4s %6s %9s %6s %8s %8s %8s %6s %6s %5s %6s %8s %6s\n",
		"scenario", "proto", "conc", "batch", "events/s", "MB/s", "p50 ms", "p99 ms", "max ms",
		"200", "503", "err", "server", "peak RSS", "other")
	fmt.Fprintf(w, "%-12s %-9s %4s %6s %9s %6s %8s %8s %8s %6s %6s %5s %6s %8s %6s\n",
		"", "", "", "events", "accepted", "", "", "", "", "", "", "", "cores", "MiB", "cores")
	by := map[string]result{}
	for _, r := range rs {
		by[r.Label] = r
		other := max(r.MachineCPUCores-r.ClientCPUCores-r.ServerCPUCores, 0)
		errs := 0
		for c, n := range r.Codes {
			if c != "200" && c != "503" {
				errs += n
			}
		}
		fmt.Fprintf(w, "%-12s %-9s %4d %6d %9.0f %6.1f %8.1f %8.1f %8.1f %6d %6d %5d %6.2f %8.1f %6.2f\n",
			r.Label, r.Proto, r.Clients, r.BatchEvents, r.EventsPerS, r.MBPerS, r.Latency.P50, r.Latency.P99, r.Latency.Max,
			r.Codes["200"], r.Codes["503"], errs, r.ServerCPUCores, r.ServerHWMMiB, other)
	}
	fmt.Fprintln(w, "\nlatency: open loop from the time a batch was due; closed loop from when it was sent.")
	fmt.Fprintln(w, "peak RSS: the server's VmHWM over the scenario; other cores: busy CPU of other processes (0 on a quiet machine).")
	fmt.Fprintln(w)
	verdict := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "MISSED"
	}
	if r, ok := by["sustained"]; ok {
		fmt.Fprintf(w, "target: >= %d events/s sustained, durable store: %.0f events/s (%s, %s)  %s\n",
			targetEventsPerS, r.EventsPerS, r.Proto, plural(r.Clients, "client"), verdict(r.EventsPerS >= targetEventsPerS))
	}
	if r, ok := by["latency"]; ok {
		met := r.Latency.P99 <= targetP99ms && r.EventsPerS >= 0.98*r.TargetRate && r.Codes["200"] == r.Requests
		fmt.Fprintf(w, "target: p99 <= %d ms at %d events/s: p99 %.1f ms at %.0f events/s achieved (of %.0f due; %d of %d requests 200)  %s\n",
			targetP99ms, latencyRate, r.Latency.P99, r.EventsPerS, r.TargetRate, r.Codes["200"], r.Requests, verdict(met))
	}
	if r, ok := by["overload"]; ok {
		fmt.Fprintf(w, "target: 503 under overload: %d of %d requests answered 503 (%s, batches of %d events)  %s\n",
			r.Codes["503"], r.Requests, plural(r.Clients, "client"), r.BatchEvents, verdict(r.Codes["503"] > 0))
		if r4, ok := by["overload-x4"]; ok {
			ratio := r4.ServerHWMMiB / r.ServerHWMMiB
			fmt.Fprintf(w, "target: bounded memory under overload: peak RSS %.1f MiB with %d clients, %.1f MiB with %d (x%.2f; bounded: <= x%.1f)  %s\n",
				r.ServerHWMMiB, r.Clients, r4.ServerHWMMiB, r4.Clients, ratio, boundedRatio, verdict(ratio <= boundedRatio))
		}
	}
	for _, r := range rs {
		if other := r.MachineCPUCores - r.ClientCPUCores - r.ServerCPUCores; other > 0.2 {
			fmt.Fprintf(w, "warning: %s: other processes used %.2f cores during the run; its figures are disturbed\n", r.Label, other)
		}
	}
	return nil
}

func plural(n int, what string) string {
	s := fmt.Sprintf("%d %s", n, what)
	if n != 1 {
		s += "s"
	}
	return strings.TrimSpace(s)
}
