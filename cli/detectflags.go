package cli

import (
	"net/url"

	"github.com/spf13/pflag"

	"github.com/imdsguard/imdsguard/detect"
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
