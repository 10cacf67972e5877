// Command auditgen writes a synthetic Kubernetes audit log (JSON lines, as
// kube-apiserver's log backend writes them). See package auditgen.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/imdsguard/imdsguard/auditgen"
)

func main() {
	var cfg auditgen.Config
	var size, out string
	flag.Int64Var(&cfg.Seed, "seed", 1, "random seed; the same flags give the same log")
	flag.IntVar(&cfg.Events, "events", 0, "number of audit events to write")
	flag.StringVar(&size, "size", "", "stop at about this many bytes, uncompressed (e.g. 200MB, 1GiB)")
	flag.Float64Var(&cfg.ExecShare, "exec-share", auditgen.DefaultExecShare, "share of requests that are kubectl exec sessions (0: default, negative: none)")
	flag.Float64Var(&cfg.AttackShare, "attack-share", auditgen.DefaultAttackShare, "share of exec sessions that reach a metadata service (0: default, negative: none)")
	flag.IntVar(&cfg.ForceBenign, "benign-execs", 0, "exactly this many benign exec sessions, spread through the log (replaces -exec-share)")
	flag.IntVar(&cfg.ForceAttack, "attack-execs", 0, "exactly this many metadata-attack exec sessions (replaces -exec-share)")
	flag.IntVar(&cfg.ForceDenied, "denied-execs", 0, "how many of the -attack-execs sessions RBAC denies")
	flag.Float64Var(&cfg.Rate, "rate", auditgen.DefaultRate, "mean requests per second")
	flag.BoolVar(&cfg.Gzip, "gzip", false, "gzip the output")
	flag.StringVar(&out, "o", "-", "output file (- for standard output)")
	flag.Parse()
	if err := run(cfg, size, out); err != nil {
		fmt.Fprintln(os.Stderr, "auditgen:", err)
		os.Exit(1)
	}
}

func run(cfg auditgen.Config, size, out string) error {
	if size != "" {
		n, err := auditgen.ParseSize(size)
		if err != nil {
			return err
		}
		cfg.Bytes = n
	}
	if cfg.Events == 0 && cfg.Bytes == 0 {
		cfg.Events = 10000
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	st, err := auditgen.Write(w, cfg)
	if err != nil {
		return err
	}
	if c, ok := w.(io.Closer); ok && out != "-" {
		if err := c.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "auditgen: %d events, %d requests, %d bytes; exec sessions %d (attack %d, denied %d); exec requests %d (attack %d)\n",
		st.Events, st.Requests, st.Bytes, st.ExecSessions, st.AttackSessions, st.DeniedSessions, st.ExecRequests, st.AttackRequests)
	return nil
}
