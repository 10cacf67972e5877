package exception

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imdsguard/imdsguard/alert"
)

// Exception is one entry of the exceptions list, as written in YAML.
type Exception struct {
	// Name identifies the exception in alerts, metrics and logs.
	Name string `json:"name"`
	// Reason says why the sessions are expected; required.
	Reason string `json:"reason"`
	// Expires, when set, is when the exception stops applying: RFC 3339,
	// or a date (the exception applies through that day, UTC).
	Expires string `json:"expires,omitempty"`

	// Users, Groups, Namespaces, Pods and Containers are globs ("*" any
	// text, "?" one character) on the authenticated username, any of the
	// user's groups, and the target's namespace, pod and container.
	Users      []string `json:"users,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	Namespaces []string `json:"namespaces,omitempty"`
	Pods       []string `json:"pods,omitempty"`
	Containers []string `json:"containers,omitempty"`
	// SourceCIDRs holds when every source IP of the request is inside one
	// of them: the leading ones come from X-Forwarded-For, which the
	// client writes, so one matching address proves nothing.
	SourceCIDRs []string `json:"sourceCIDRs,omitempty"`
	// UserAgents are globs on the user agent, which the client chooses.
	UserAgents []string `json:"userAgents,omitempty"`
	// Command is a regular expression (RE2) that must match the whole
	// executed command, the argv quoted as a POSIX shell would read it.
	// It is anchored at both ends, so a payload appended to an excepted
	// script breaks the match.
	Command string `json:"command,omitempty"`
}

// File is the YAML document of an exceptions file.
type File struct {
	Exceptions []Exception `json:"exceptions"`
}

// Set is a validated list of exceptions, matched in order.
type Set struct {
	active   []*compiled
	expired  []Exception
	warnings []string
	now      func() time.Time
}

type compiled struct {
	Exception
	expires                               time.Time // zero: never
	users, groups, namespaces, pods, ctrs []*regexp.Regexp
	agents                                []*regexp.Regexp
	cidrs                                 []netip.Prefix
	command                               *regexp.Regexp
}

// Option configures a Set.
type Option func(*Set)

// WithClock sets the clock expiry is judged by (tests).
func WithClock(now func() time.Time) Option { return func(s *Set) { s.now = now } }

// Load reads an exceptions file (YAML, unknown fields refused) and
// compiles it.
func Load(path string, opts ...Option) (*Set, error) {
	list, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := New(list, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ReadFile reads the exceptions of a file without compiling them.
func ReadFile(path string) ([]Exception, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return f.Exceptions, nil
}

// New validates and compiles list, reporting every problem at once.
// Exceptions already expired are kept aside (Expired) and never match.
func New(list []Exception, opts ...Option) (*Set, error) {
	s := &Set{now: time.Now}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	seen := map[string]bool{}
	now := s.now()
	for i, e := range list {
		where := fmt.Sprintf("exceptions[%d]", i)
		if e.Name != "" {
			where += fmt.Sprintf(" (%s)", e.Name)
		}
		c, problems := compile(e)
		if e.Name != "" && seen[e.Name] {
			problems = append(problems, "name: used twice")
		}
		seen[e.Name] = true
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: %s", where, p))
		}
		if len(problems) > 0 {
			continue
		}
		if !c.expires.IsZero() && !now.Before(c.expires) {
			s.expired = append(s.expired, e)
			continue
		}
		if w := c.weakness(); w != "" {
			s.warnings = append(s.warnings, fmt.Sprintf("%s: %s", where, w))
		}
		s.active = append(s.active, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func compile(e Exception) (*compiled, []string) {
	var problems []string
	c := &compiled{Exception: e}
	if strings.TrimSpace(e.Name) == "" {
		problems = append(problems, "name: required")
	}
	if strings.TrimSpace(e.Reason) == "" {
		problems = append(problems, "reason: required (say why these sessions are expected)")
	}
	if e.Expires != "" {
		t, err := parseExpiry(e.Expires)
		if err != nil {
			problems = append(problems, "expires: "+err.Error())
		}
		c.expires = t
	}
	globs := func(field string, patterns []string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, p := range patterns {
			if p == "" {
				problems = append(problems, field+": empty pattern")
				continue
			}
			out = append(out, globRegexp(p))
		}
		return out
	}
	c.users = globs("users", e.Users)
	c.groups = globs("groups", e.Groups)
	c.namespaces = globs("namespaces", e.Namespaces)
	c.pods = globs("pods", e.Pods)
	c.ctrs = globs("containers", e.Containers)
	c.agents = globs("userAgents", e.UserAgents)
	for _, cidr := range e.SourceCIDRs {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			if a, aerr := netip.ParseAddr(cidr); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("sourceCIDRs: %q is not a CIDR or an address", cidr))
			continue
		}
		c.cidrs = append(c.cidrs, p.Masked())
	}
	if e.Command != "" {
		re, err := regexp.Compile(`^(?:` + e.Command + `)$`)
		if err != nil {
			problems = append(problems, "command: "+err.Error())
		}
		c.command = re
	}
	if len(e.Users)+len(e.Groups)+len(e.Namespaces)+len(e.Pods)+len(e.Containers)+
		len(e.SourceCIDRs)+len(e.UserAgents) == 0 && e.Command == "" {
		problems = append(problems, "no condition: an exception must name at least one of users, groups, namespaces, pods, containers, sourceCIDRs, userAgents, command")
	}
	return c, problems
}

// weakness says when every condition is one the client chooses.
func (c *compiled) weakness() string {
	if len(c.users)+len(c.groups)+len(c.namespaces)+len(c.pods)+len(c.ctrs)+len(c.cidrs) > 0 {
		return ""
	}
	return "matches only on what the client sends (user agent, command): anyone allowed to exec can meet it; add users, groups or namespaces"
}

// parseExpiry reads RFC 3339, or a date meaning the end of that day UTC.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-31T18:00:00Z) nor a date (2026-12-31)", s)
}

// globRegexp turns a glob into an anchored regexp: "*" any text, "?" one
// character, everything else literal.
func globRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// Expired returns the exceptions that had expired when the set was built.
func (s *Set) Expired() []Exception {
	if s == nil {
		return nil
	}
	return s.expired
}

// Warnings returns advice about exceptions that are easy to meet on purpose.
func (s *Set) Warnings() []string {
	if s == nil {
		return nil
	}
	return s.warnings
}

// Len returns the number of exceptions in force when the set was built.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.active)
}

// Match returns the suppression of the first exception in force that a
// matches, or nil.
func (s *Set) Match(a *alert.Alert) *alert.Suppression {
	if s == nil || len(s.active) == 0 {
		return nil
	}
	now := s.now()
	for _, c := range s.active {
		if !c.expires.IsZero() && !now.Before(c.expires) {
			continue
		}
		if c.matches(a) {
			return &alert.Suppression{Exception: c.Name, Reason: c.Reason}
		}
	}
	return nil
}

// Apply marks the alerts an exception matches and returns how many it
// marked.
func (s *Set) Apply(alerts []*alert.Alert) int {
	n := 0
	for _, a := range alerts {
		if a.Suppressed = s.Match(a); a.Suppressed != nil {
			n++
		}
	}
	return n
}

func (c *compiled) matches(a *alert.Alert) bool {
	return anyMatch(c.users, a.User.Username) &&
		anyOf(c.groups, a.User.Groups) &&
		anyMatch(c.namespaces, a.Namespace) &&
		anyMatch(c.pods, a.Pod) &&
		anyMatch(c.ctrs, a.Container) &&
		anyMatch(c.agents, a.UserAgent) &&
		c.sourcesInside(a.SourceIPs) &&
		(c.command == nil || c.command.MatchString(a.ExecutedCommand))
}

// anyMatch holds when no pattern is given or one matches s.
func anyMatch(res []*regexp.Regexp, s string) bool {
	if len(res) == 0 {
		return true
	}
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// anyOf holds when no pattern is given or one matches one of values.
func anyOf(res []*regexp.Regexp, values []string) bool {
	if len(res) == 0 {
		return true
	}
	for _, v := range values {
		if anyMatch(res, v) {
			return true
		}
	}
	return false
}

func (c *compiled) sourcesInside(ips []string) bool {
	if len(c.cidrs) == 0 {
		return true
	}
	if len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return false
		}
		a = a.Unmap()
		inside := false
		for _, p := range c.cidrs {
			if p.Contains(a) {
				inside = true
				break
			}
		}
		if !inside {
			return false
		}
	}
	return true
}
