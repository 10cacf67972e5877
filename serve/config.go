package serve

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imdsguard/imdsguard/exception"
	"github.com/imdsguard/imdsguard/sink"
)

// Config is the server's configuration: a YAML file (--config), every
// field also a flag.
type Config struct {
	Listen       string   `json:"listen"`
	TLSCert      string   `json:"tlsCert,omitempty"`
	TLSKey       string   `json:"tlsKey,omitempty"`
	ClientCA     string   `json:"clientCA,omitempty"`
	TokenFile    string   `json:"tokenFile,omitempty"`
	Store        string   `json:"store"`
	Insecure     bool     `json:"insecure,omitempty"`
	MaxBodyBytes int64    `json:"maxBodyBytes,omitempty"`
	MaxInFlight  int      `json:"maxInFlight,omitempty"`
	Cloud        string   `json:"cloud,omitempty"`
	Endpoints    string   `json:"endpoints,omitempty"`
	ReadTimeout  Duration `json:"readTimeout,omitempty"`
	// MaxOutbox bounds the deliveries owed to sinks; past it, batches
	// that would add more are answered 503 until the sinks catch up.
	MaxOutbox int           `json:"maxOutbox,omitempty"`
	Sinks     []sink.Config `json:"sinks,omitempty"`
	// Exceptions are written inline, or in ExceptionsFile (the format
	// scan --exceptions reads), or both.
	Exceptions     []exception.Exception `json:"exceptions,omitempty"`
	ExceptionsFile string                `json:"exceptionsFile,omitempty"`
}

// Duration reads "30s"-style durations in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %s: %v", b, err)
	}
	d.Duration = v
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// DefaultConfig is the configuration without a file or flags.
func DefaultConfig() Config {
	return Config{Listen: ":8443", Store: "imdsguard.db", MaxBodyBytes: 16 << 20, MaxInFlight: 8,
		ReadTimeout: Duration{30 * time.Second}, MaxOutbox: 100000}
}

// LoadConfig reads a YAML config file over the defaults; unknown fields
// are errors.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}

// Validate checks the configuration and says everything wrong at once.
func (c Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen: an address is required, e.g. :8443"))
	}
	if c.Store == "" {
		errs = append(errs, errors.New("store: a database path is required"))
	}
	if c.Insecure {
		if c.TLSCert != "" || c.ClientCA != "" || c.TokenFile != "" {
			errs = append(errs, errors.New("insecure: plain HTTP without authentication cannot be combined with TLS, a client CA or a token"))
		}
	} else {
		if c.TLSCert == "" || c.TLSKey == "" {
			errs = append(errs, errors.New("tlsCert and tlsKey are required (or insecure: true, for local tests only)"))
		}
		if c.ClientCA == "" && c.TokenFile == "" {
			errs = append(errs, errors.New("clientCA or tokenFile is required: clients must authenticate"))
		}
		for _, f := range [][2]string{{"tlsCert", c.TLSCert}, {"tlsKey", c.TLSKey}, {"clientCA", c.ClientCA}, {"tokenFile", c.TokenFile}} {
			if f[1] == "" {
				continue
			}
			if _, err := os.Stat(f[1]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", f[0], err))
			}
		}
	}
	if c.Endpoints != "" {
		if _, err := os.Stat(c.Endpoints); err != nil {
			errs = append(errs, fmt.Errorf("endpoints: %v", err))
		}
	}
	// Built as the server builds them, so a key too short or an
	// exceptions file that does not compile fails the check too.
	if _, err := c.BuildSinks(io.Discard, ""); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.ExceptionSet(); err != nil {
		errs = append(errs, err)
	}
	if c.ReadTimeout.Duration <= 0 {
		errs = append(errs, errors.New("readTimeout must be positive: slow clients would hold connections forever"))
	}
	if c.MaxOutbox <= 0 {
		errs = append(errs, errors.New("maxOutbox must be positive"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("maxBodyBytes must be positive"))
	}
	if c.MaxInFlight <= 0 {
		errs = append(errs, errors.New("maxInFlight must be positive"))
	}
	return errors.Join(errs...)
}

// BuildSinks makes the configured sinks; stdout is where "ndjson -" writes.
func (c Config) BuildSinks(stdout io.Writer, userAgent string) ([]sink.Sink, error) {
	if err := sink.Validate(c.Sinks); err != nil {
		return nil, err
	}
	var sinks []sink.Sink
	for _, sc := range c.Sinks {
		s, err := sink.Build(sc, stdout, userAgent)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	return sinks, nil
}

// ExceptionSet compiles the inline exceptions and those of
// ExceptionsFile as one list, so names are unique across both.
func (c Config) ExceptionSet() (*exception.Set, error) {
	list := c.Exceptions
	where := "exceptions"
	if c.ExceptionsFile != "" {
		fromFile, err := exception.ReadFile(c.ExceptionsFile)
		if err != nil {
			return nil, fmt.Errorf("exceptionsFile: %w", err)
		}
		list = append(slices.Clip(list), fromFile...)
		where = fmt.Sprintf("exceptions (the %d inline, then those of %s)", len(c.Exceptions), c.ExceptionsFile)
	}
	set, err := exception.New(list)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return set, nil
}
