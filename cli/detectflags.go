package cli

import (
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/pflag"

	"github.com/imdsguard/imdsguard/detect"
	"github.com/imdsguard/imdsguard/exception"
	"github.com/imdsguard/imdsguard/report"
)

// addDetectionFlags adds the flags that tune the strict engine.
func addDetectionFlags(fl *pflag.FlagSet, cloud, endpoints *string) {
	fl.StringVar(cloud, "cloud", "", "the cluster's cloud (aws, gcp, azure, oracle, digitalocean, openstack, hetzner, ibm, linode, vultr): names the target when the only evidence is an address several clouds share")
	fl.StringVar(endpoints, "endpoints", "", "YAML file of extra metadata endpoints (addresses, hostnames, paths, headers, env) for private clouds")
}

func strictOptions(cloud, endpoints string) ([]detect.StrictOption, error) {
	var opts []detect.StrictOption
	t, err := detect.ParseCloud(cloud)
	if err != nil {
		return nil, usageErr("--cloud: %v", err)
	}
	if t != "" {
		opts = append(opts, detect.WithCloud(t))
	}
	if endpoints != "" {
		e, err := detect.LoadEndpoints(endpoints)
		if err != nil {
			return nil, usageErr("--endpoints: %v", err)
		}
		opts = append(opts, detect.WithEndpoints(e))
	}
	return opts, nil
}

func strictFromFlags(cloud, endpoints string) (*detect.Strict, error) {
	opts, err := strictOptions(cloud, endpoints)
	if err != nil {
		return nil, err
	}
	return detect.NewStrict(opts...), nil
}

func queryEscape(s string) string { return url.QueryEscape(s) }

const exceptionsUsage = "YAML file of exceptions: sessions expected to reach metadata (matched ones are kept, marked suppressed and counted)"

// announceExceptions tells the operator, on w, which exceptions expired
// and which are easy to meet on purpose.
func announceExceptions(w io.Writer, set *exception.Set) {
	for _, e := range set.Expired() {
		fmt.Fprintf(w, "imdsguard: exception %s expired %s and no longer applies\n", report.Escape(e.Name), report.Escape(e.Expires))
	}
	for _, warn := range set.Warnings() {
		fmt.Fprintf(w, "imdsguard: warning: exception %s\n", report.Escape(warn))
	}
}
