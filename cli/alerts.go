package cli

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/report"
	"github.com/imdsguard/imdsguard/store"
)

func newAlertsCommand(s Streams) *cobra.Command {
	var dbPath, format, since, until, suppressed string
	var f store.Filter
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List or show the alerts stored by imdsguard serve",
		Example: `  imdsguard alerts list --store alerts.db --since 24h --cloud-target AWS_IMDS
  imdsguard alerts show --store alerts.db -o ndjson 71c063ea9efff1d00ef82287bc977ee6`,
	}
	fl := cmd.PersistentFlags()
	fl.StringVar(&dbPath, "store", "imdsguard.db", "SQLite database of alerts (readable while serve runs)")
	fl.StringVarP(&format, "format", "o", "", "output format: table or ndjson (default table on a terminal)")
	out := func() (report.Handler, error) {
		fm := format
		if fm == "" {
			fm = "ndjson"
			if s.OutIsTerminal {
				fm = "table"
			}
		}
		if fm != "table" && fm != "ndjson" {
			return nil, usageErr("unknown format %q (want table or ndjson)", fm)
		}
		return report.New(fm, s.Out, report.Options{})
	}
	// printAlerts writes the alerts get reads from the store.
	printAlerts := func(get func(*store.Store) ([]*alert.Alert, error)) error {
		h, err := out()
		if err != nil {
			return err
		}
		st, err := openExisting(dbPath)
		if err != nil {
			return err
		}
		defer st.Close()
		as, err := get(st)
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := h.Alert(a); err != nil {
				return err
			}
		}
		return h.Flush()
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List alerts, filtered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if f.Since, err = parseWhen(since); err != nil {
				return usageErr("--since: %v", err)
			}
			if f.Until, err = parseWhen(until); err != nil {
				return usageErr("--until: %v", err)
			}
			switch suppressed {
			case "all":
			case "only", "none":
				only := suppressed == "only"
				f.Suppressed = &only
			default:
				return usageErr("--suppressed: want all, only or none, not %q", suppressed)
			}
			return printAlerts(func(st *store.Store) ([]*alert.Alert, error) {
				return st.List(context.Background(), f)
			})
		},
	}
	lf := list.Flags()
	lf.StringVar(&since, "since", "", "only alerts at or after: RFC 3339 time or a duration ago (24h)")
	lf.StringVar(&until, "until", "", "only alerts before: RFC 3339 time or a duration ago")
	lf.StringVar(&f.CloudTarget, "cloud-target", "", "only this cloud target (e.g. AWS_IMDS)")
	lf.StringVar(&f.Access, "access", "", "only this access: credential, sensitive or recon")
	lf.StringVar(&f.Namespace, "namespace", "", "only this namespace")
	lf.StringVar(&f.User, "user", "", "only this user")
	lf.StringVar(&f.Outcome, "outcome", "", "only this outcome: allowed, denied, failed or unknown")
	lf.StringVar(&suppressed, "suppressed", "all", "alerts an exception suppressed: all (listed, marked), only, or none")
	lf.IntVar(&f.Limit, "limit", 0, "at most this many alerts")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one alert",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printAlerts(func(st *store.Store) ([]*alert.Alert, error) {
				a, err := st.Get(context.Background(), args[0])
				if errors.Is(err, store.ErrNotFound) {
					return nil, &exitError{code: ExitUsage, err: err}
				}
				return []*alert.Alert{a}, err
			})
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

// openExisting opens the store at path, refusing to create one: a wrong
// --store must not look like an empty store.
func openExisting(path string) (*store.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageErr("--store: no alert store at %s (%v)", path, errors.Unwrap(err))
	}
	st, err := store.Open(path)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return st, nil
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}
