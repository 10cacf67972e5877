package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// Types of sink.
const (
	TypeNDJSON  = "ndjson"
	TypeWebhook = "webhook"
	TypeSlack   = "slack"
)

// Config describes one sink, as written in the server's YAML config.
type Config struct {
	// Name identifies the sink in the outbox; keep it when editing the
	// rest, or alerts owed under the old name wait for a sink that is gone.
	Name string `json:"name"`
	Type string `json:"type"`
	// Path is the ndjson file to append to, "-" for standard output.
	Path string `json:"path,omitempty"`
	// URL is where a webhook or Slack sink posts; URLFile names a file
	// holding it instead (Slack's URL is a secret).
	URL     string `json:"url,omitempty"`
	URLFile string `json:"urlFile,omitempty"`
	// SecretFile holds the webhook's HMAC key (SignatureHeader).
	SecretFile string `json:"secretFile,omitempty"`
	// CAFile is the PEM bundle the receiver's certificate must chain to.
	CAFile string `json:"caFile,omitempty"`
	// Timeout bounds one request ("10s" when empty).
	Timeout string `json:"timeout,omitempty"`
	// AllowHTTP permits an http:// URL, for local tests only.
	AllowHTTP bool `json:"allowHTTP,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// ParseFlag reads the --sink flag's form, [NAME=]TYPE:TARGET, for example
// ndjson:-, ndjson:/var/log/imdsguard/alerts.ndjson, siem=webhook:https://siem/hook
// or slack:@/etc/imdsguard/slack-url (a URL read from a file). NAME
// defaults to TYPE.
func ParseFlag(spec string) (Config, error) {
	var c Config
	rest := spec
	if name, r, ok := strings.Cut(spec, "="); ok && !strings.Contains(name, ":") {
		c.Name, rest = name, r
	}
	typ, target, ok := strings.Cut(rest, ":")
	if !ok || target == "" {
		return c, fmt.Errorf("%q: want [NAME=]TYPE:TARGET, e.g. ndjson:- or webhook:https://host/path", spec)
	}
	c.Type = typ
	if c.Name == "" {
		c.Name = typ
	}
	switch typ {
	case TypeNDJSON:
		c.Path = target
	case TypeWebhook, TypeSlack:
		if f, ok := strings.CutPrefix(target, "@"); ok {
			c.URLFile = f
		} else {
			c.URL = target
		}
	default:
		return c, fmt.Errorf("%q: unknown sink type %q (want ndjson, webhook or slack)", spec, typ)
	}
	return c, nil
}

// Validate checks configs, names unique, and says everything wrong.
func Validate(cs []Config) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range cs {
		where := fmt.Sprintf("sinks[%d]", i)
		if c.Name != "" {
			where += " (" + c.Name + ")"
		}
		bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(f, a...))) }
		if !nameRE.MatchString(c.Name) {
			bad("name: want 1-63 letters, digits, '.', '_' or '-'")
		} else if seen[c.Name] {
			bad("name: used twice")
		}
		seen[c.Name] = true
		switch c.Type {
		case TypeNDJSON:
			if c.Path == "" {
				bad("path: required (a file, or - for standard output)")
			}
			if c.URL != "" || c.URLFile != "" || c.SecretFile != "" {
				bad("an ndjson sink takes only a path")
			}
		case TypeWebhook, TypeSlack:
			if (c.URL == "") == (c.URLFile == "") {
				bad("give url or urlFile")
			}
			if c.URL != "" {
				if _, err := checkURL(c.URL, c.AllowHTTP); err != nil {
					bad("%v", err)
				}
			}
			for _, f := range [][2]string{{"urlFile", c.URLFile}, {"secretFile", c.SecretFile}, {"caFile", c.CAFile}} {
				if f[1] != "" {
					if _, err := os.Stat(f[1]); err != nil {
						bad("%s: %v", f[0], err)
					}
				}
			}
			if c.Type == TypeSlack && c.SecretFile != "" {
				bad("secretFile: Slack webhooks are not signed")
			}
		default:
			bad("type: %q is not ndjson, webhook or slack", c.Type)
		}
		if c.Timeout != "" {
			if d, err := time.ParseDuration(c.Timeout); err != nil || d <= 0 {
				bad("timeout: %q is not a positive duration", c.Timeout)
			}
		}
	}
	return errors.Join(errs...)
}

// Build makes the sink c describes; stdout is where "ndjson:-" writes.
func Build(c Config, stdout io.Writer, userAgent string) (Sink, error) {
	if err := Validate([]Config{c}); err != nil {
		return nil, err
	}
	if c.Type == TypeNDJSON {
		if c.Path == "-" {
			return NewNDJSONWriter(c.Name, stdout), nil
		}
		return NewNDJSONFile(c.Name, c.Path), nil
	}
	o := HTTPOptions{CAFile: c.CAFile, AllowHTTP: c.AllowHTTP, UserAgent: userAgent}
	if c.Timeout != "" {
		o.Timeout, _ = time.ParseDuration(c.Timeout)
	}
	url := c.URL
	if c.URLFile != "" {
		b, err := os.ReadFile(c.URLFile)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %v", c.Name, err)
		}
		url = string(bytes.TrimSpace(b))
	}
	var s Sink
	var err error
	if c.Type == TypeSlack {
		s, err = NewSlack(c.Name, url, o)
	} else {
		var secret []byte
		if c.SecretFile != "" {
			b, rerr := os.ReadFile(c.SecretFile)
			if rerr != nil {
				return nil, fmt.Errorf("sink %s: %v", c.Name, rerr)
			}
			if secret = bytes.TrimSpace(b); len(secret) < 16 {
				return nil, fmt.Errorf("sink %s: secretFile: the HMAC key is %d bytes; use at least 16", c.Name, len(secret))
			}
		}
		s, err = NewWebhook(c.Name, url, secret, o)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: %v", c.Name, err)
	}
	return s, nil
}
