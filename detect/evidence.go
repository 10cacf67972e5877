package detect

import (
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/imdsguard/imdsguard/detect/netaddr"
)

// finding is one piece of evidence with what it weighs.
type finding struct {
	Indicator
	access string
	// strong findings are enough to alert on their own; weak ones (a
	// generic path, x-ms-version) only count next to a strong one.
	strong bool
	// weight is how much the finding says about its cloud target.
	weight int
	// shared lists the clouds behind an address several of them use.
	shared []string
}

// Evidence weights: an address or hostname owned by one provider, or an
// environment variable of one, outweighs a path that several providers
// serve, which outweighs a header.
const (
	weightOwned  = 3
	weightPath   = 2
	weightHeader = 2
)

// evidence collects findings without duplicates.
type evidence struct {
	e        *Endpoints
	findings []finding
	seen     map[string]int
	// pending paths seen outside a metadata URL; they count only when
	// the command also names a metadata host.
	weakPaths []finding
}

func newEvidence(e *Endpoints) *evidence {
	return &evidence{e: e, seen: map[string]int{}}
}

func (ev *evidence) add(f finding) {
	key := f.Kind + "\x00" + f.Canonical + "\x00" + f.CloudTarget
	if i, ok := ev.seen[key]; ok {
		// Keep the strongest reading of the same indicator.
		if f.strong && !ev.findings[i].strong {
			ev.findings[i] = f
		}
		return
	}
	ev.seen[key] = len(ev.findings)
	ev.findings = append(ev.findings, f)
}

// tokenBreak splits text into candidate host, URL and path tokens: shell
// and code punctuation, quotes, and '$' (a variable glued to an address,
// as in 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).
func tokenBreak(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', '(', ')', '{', '}', '<', '>', '|', ';', ',', '=', '$', '*':
		return true
	}
	return false
}

var (
	portRe        = regexp.MustCompile(`:\d{1,5}(?:[/?#]|$)`)
	devTCPRe      = regexp.MustCompile(`/dev/(?:tcp|udp)/([^/\s'"<>` + "`" + `|;]+)/`)
	requestLineRe = regexp.MustCompile(`(?i)\b(?:GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS)\s+(\S+)\s+HTTP/\d`)
	hostHeaderRe  = regexp.MustCompile(`(?i)\bhost\s*:\s*([^\s'"]+)`)
)

// scan looks for evidence in one text. raw is the command as the API server
// received it; other texts come from shell normalization.
func (ev *evidence) scan(text string) {
	if text == "" {
		return
	}
	ev.scanOnce(text)
	// Code one-liners split a URL into concatenated string literals:
	// "http://169.254." + "169.254/latest".
	if joined, ok := joinLiterals(text); ok {
		ev.scanOnce(joined)
	}
	// Percent-escapes, once and twice.
	if strings.Contains(text, "%") {
		if d, err := url.PathUnescape(text); err == nil && d != text {
			ev.scanOnce(d)
			if strings.Contains(d, "%") {
				if d2, err := url.PathUnescape(d); err == nil && d2 != d {
					ev.scanOnce(d2)
				}
			}
		}
	}
}

// nextURL finds the next scheme://... URL at or after off: a scheme of up
// to 16 letters, digits, '+', '-' or '.' starting with a letter, and the
// text up to a space, quote or shell or code punctuation. It returns the
// URL and the offset after it, or next -1.
func nextURL(text string, off int) (u string, next int) {
	for off < len(text) {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			return "", -1
		}
		sep := off + i
		start := sep
		for start > 0 && sep-start < 16 && isSchemeByte(text[start-1]) {
			start--
		}
		for start < sep && !isLetter(text[start]) {
			start++
		}
		end := sep + 3
		for end < len(text) && !urlStop(text[end]) {
			end++
		}
		if start < sep && end > sep+3 {
			return text[start:end], end
		}
		off = sep + 3
	}
	return "", -1
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSchemeByte(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

func urlStop(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '\'', '"', '`', '|', ';', ',', '(', ')', '{', '}', '$', '*':
		return true
	}
	return false
}

// joinLiterals removes the operator between two string literals joined
// by +, ., .. or << (Python, JavaScript, Perl, Lua, Ruby), quotes and all.
func joinLiterals(text string) (string, bool) {
	var b strings.Builder
	changed := false
	last := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '\'' && c != '"' {
			continue
		}
		j := i + 1
		for j < len(text) && text[j] == ' ' {
			j++
		}
		k := j
		switch {
		case strings.HasPrefix(text[j:], ".."), strings.HasPrefix(text[j:], "<<"):
			k += 2
		case j < len(text) && (text[j] == '+' || text[j] == '.'):
			k++
		default:
			continue
		}
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k < len(text) && (text[k] == '\'' || text[k] == '"') {
			b.WriteString(text[last:i])
			last = k + 1
			i = k
			changed = true
		}
	}
	if !changed {
		return text, false
	}
	b.WriteString(text[last:])
	return b.String(), true
}

func (ev *evidence) scanOnce(text string) {
	lower := strings.ToLower(text)
	// Each pattern runs only when its anchor is present: most commands
	// hold none of them.
	for off := 0; ; {
		u, next := nextURL(text, off)
		if next < 0 {
			break
		}
		ev.urlToken(u, true)
		off = next
	}
	if strings.Contains(text, "/dev/") {
		for _, m := range devTCPRe.FindAllStringSubmatch(text, -1) {
			ev.host(m[1], m[0], true)
		}
	}
	if strings.Contains(lower, "http/") {
		for _, m := range requestLineRe.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "/") {
				ev.barePath(target)
			} else {
				ev.urlToken(target, true)
			}
		}
	}
	if strings.Contains(lower, "host") {
		for _, m := range hostHeaderRe.FindAllStringSubmatch(text, -1) {
			ev.host(m[1], m[0], true)
		}
	}
	for _, tok := range strings.FieldsFunc(text, tokenBreak) {
		ev.token(tok)
	}
	ev.headers(text, lower)
	ev.env(text)
}

// token handles one bare token: a host, host/path, host:port or path.
func (ev *evidence) token(tok string) {
	if len(tok) > 4096 {
		tok = tok[:4096]
	}
	if strings.HasPrefix(tok, "/") && !strings.HasPrefix(tok, "//") {
		ev.barePath(tok)
		return
	}
	if !mayBeHost(tok) {
		return
	}
	ev.urlToken(tok, inURLContext(tok))
	// socat TCP:host:port, host:port lists: try the pieces of an
	// unbracketed token with colons (an IPv6 address was tried whole).
	if strings.Count(tok, ":") >= 1 && !strings.Contains(tok, "[") && !strings.Contains(tok, "//") {
		for _, p := range strings.Split(tok, ":") {
			if p != "" && p != tok && mayBeHost(p) {
				ev.host(p, tok, false)
			}
		}
	}
	// An address glued to a path by a variable or a quote is split by
	// tokenBreak; a path glued after text is tried as a path too.
	if i := strings.Index(tok, "/"); i > 0 {
		ev.barePath(tok[i:])
	}
}

// inURLContext says whether a bare token stands as a URL, so a short
// hostname in it is a host and not a word: a scheme, a path after the
// host, or a port ("metadata/computeMetadata/v1", "metadata:80", but not
// the header name in "Metadata: true").
func inURLContext(tok string) bool {
	if strings.Contains(tok, "://") || strings.HasPrefix(tok, "//") {
		return true
	}
	if i := strings.IndexByte(tok, '/'); i > 0 {
		return true
	}
	return portRe.MatchString(tok)
}

// mayBeHost is a cheap filter: most tokens of a command are words that
// cannot name a metadata host.
func mayBeHost(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= '0' && c <= '9' || c == '.' || c == ':' || c == '[' || c >= 0x80 || c == '%' {
			return true
		}
	}
	l := strings.ToLower(tok)
	return strings.Contains(l, "metadata") || strings.Contains(l, "instance-data")
}

// urlToken handles a URL or URL-like token. urlContext says whether a
// short hostname such as "metadata" stands as a host here.
func (ev *evidence) urlToken(tok string, urlContext bool) {
	hosts := netaddr.Hosts(tok)
	metadataHost := false
	target := ""
	for _, h := range hosts {
		if f, ok := ev.hostFinding(h, tok, urlContext); ok {
			metadataHost = true
			if target == "" || f.weight > 0 {
				target = f.CloudTarget
			}
			ev.add(f)
		}
	}
	p, q := splitPathQuery(tok)
	if p == "" {
		return
	}
	if metadataHost {
		ev.path(p, q, true)
	} else {
		ev.pathCandidate(p, q)
	}
}

// host handles a host candidate found in context (a /dev/tcp path, a
// Host header, a host:port piece).
func (ev *evidence) host(h, written string, urlContext bool) {
	for _, c := range netaddr.Hosts(h) {
		if f, ok := ev.hostFinding(c, written, urlContext); ok {
			ev.add(f)
		}
	}
}

// hostFinding recognises a metadata address or hostname.
func (ev *evidence) hostFinding(h, written string, urlContext bool) (finding, bool) {
	if h == "" {
		return finding{}, false
	}
	if a, ok := netaddr.Canonical(h); ok {
		if r := ev.e.lookupAddr(a); r != nil {
			f := finding{Indicator: Indicator{Kind: KindAddress, Text: hostText(h, written), Canonical: a.WithZone("").String()}, strong: true}
			if r.Target != "" {
				f.CloudTarget, f.weight = r.Target, weightOwned
			} else {
				f.CloudTarget, f.shared = TargetUnknown, r.Shared
			}
			return f, true
		}
		return finding{}, false
	}
	name := strings.TrimSuffix(strings.ToLower(h), ".")
	if r := ev.e.lookupHost(name); r != nil && (urlContext || !r.URLContext) {
		return finding{Indicator: Indicator{Kind: KindHostname, Text: hostText(h, written), Canonical: r.Name, CloudTarget: r.Target}, strong: true, weight: weightOwned}, true
	}
	return finding{}, false
}

// hostText is the host as written when the token holds it (in any case),
// else the whole token.
func hostText(h, written string) string {
	lw := strings.ToLower(written)
	if len(lw) == len(written) {
		if i := strings.Index(lw, h); i >= 0 {
			return written[i : i+len(h)]
		}
	}
	return written
}

// splitPathQuery takes the path and query of a URL-like token.
func splitPathQuery(tok string) (string, string) {
	rest := tok
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	} else if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		if j := strings.IndexAny(rest[:i], "/?#"); j < 0 {
			rest = rest[i+1:]
		}
	}
	i := strings.IndexAny(rest, "/?#")
	if i < 0 {
		return "", ""
	}
	rest = rest[i:]
	if rest[0] == '#' {
		return "", ""
	}
	p, q, _ := strings.Cut(rest, "?")
	p, _, _ = strings.Cut(p, "#")
	if p == "" {
		p = "/"
	}
	return p, q
}

// cleanPath decodes percent-escapes (once and twice), folds backslashes,
// removes dot segments and repeated slashes.
func cleanPath(p string) string {
	for i := 0; i < 2 && strings.Contains(p, "%"); i++ {
		d, err := url.PathUnescape(p)
		if err != nil {
			break
		}
		p = d
	}
	p = strings.ReplaceAll(p, "\\", "/")
	trailing := strings.HasSuffix(p, "/")
	p = path.Clean("/" + p)
	if trailing && p != "/" {
		p += "/"
	}
	return p
}

// path records the path of a URL whose host is a metadata service.
func (ev *evidence) path(p, q string, inMetadataURL bool) {
	cp := cleanPath(p)
	r := ev.e.matchPath(cp, q)
	if r == nil {
		return
	}
	f := finding{
		Indicator: Indicator{Kind: KindPath, Text: p, Canonical: r.Pattern, CloudTarget: r.Target},
		access:    r.Access,
		strong:    inMetadataURL || r.Standalone,
		weight:    weightPath,
	}
	if r.Query != "" {
		f.Canonical += "?" + r.Query
	}
	if f.strong {
		ev.add(f)
	} else {
		ev.weakPaths = append(ev.weakPaths, f)
	}
}

// pathCandidate records a path seen away from a metadata host.
func (ev *evidence) pathCandidate(p, q string) { ev.path(p, q, false) }

func (ev *evidence) barePath(tok string) {
	p, q, _ := strings.Cut(tok, "?")
	ev.path(p, q, false)
}

func (ev *evidence) headers(text, lower string) {
	for i, re := range ev.e.headerRes {
		h := ev.e.Headers[i]
		if !hasNeedles(lower, h.Needle) {
			continue
		}
		var loc []int
		if first, _, _ := strings.Cut(h.Needle, ","); first != "" && len(lower) == len(text) {
			// Run the pattern only around the needle: a header is short.
			for off, tries := 0, 0; loc == nil && tries < 8; tries++ {
				j := strings.Index(lower[off:], first)
				if j < 0 {
					break
				}
				from, to := max(0, off+j-48), min(len(text), off+j+len(first)+96)
				if l := re.FindStringIndex(text[from:to]); l != nil {
					loc = []int{from + l[0], from + l[1]}
				}
				off += j + len(first)
			}
		} else {
			loc = re.FindStringIndex(text)
		}
		if loc != nil {
			written := strings.TrimLeft(text[loc[0]:loc[1]], " \t\"'({[,;")
			ev.add(finding{
				Indicator: Indicator{Kind: KindHeader, Text: written, Canonical: h.Name, CloudTarget: h.Target},
				strong:    h.Standalone,
				weight:    weightHeader,
			})
		}
	}
}

// env finds references to variables that carry credential endpoints, as
// whole words (ECS_CONTAINER_METADATA_URI_V4 is not also _URI).
func (ev *evidence) env(text string) {
	for i := range ev.e.Env {
		r := &ev.e.Env[i]
		for off := 0; off < len(text); {
			j := strings.Index(text[off:], r.Name)
			if j < 0 {
				break
			}
			start, end := off+j, off+j+len(r.Name)
			off = end
			if start > 0 && isWordByte(text[start-1]) || end < len(text) && isWordByte(text[end]) {
				continue
			}
			ev.add(finding{
				Indicator: Indicator{Kind: KindEnv, Text: r.Name, Canonical: r.Name, CloudTarget: r.Target},
				access:    r.Access,
				strong:    true,
				weight:    weightOwned,
			})
			break
		}
	}
}

// hasNeedles reports whether lower holds every comma-separated needle.
func hasNeedles(lower, needles string) bool {
	for needles != "" {
		var n string
		n, needles, _ = strings.Cut(needles, ",")
		if n != "" && !strings.Contains(lower, n) {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// accessRank orders access classes.
func accessRank(a string) int {
	switch a {
	case AccessCredential:
		return 3
	case AccessSensitive:
		return 2
	case AccessRecon:
		return 1
	}
	return 0
}

// verdict turns the evidence into a verdict. cloud is the cluster's cloud,
// used when the only evidence is an address several clouds share.
func (ev *evidence) verdict(cloud string) Verdict {
	var v Verdict
	strong := false
	for _, f := range ev.findings {
		if f.strong {
			strong = true
			break
		}
	}
	if !strong {
		return v
	}
	// Next to a metadata host, weak evidence counts too.
	all := append([]finding{}, ev.findings...)
	for _, f := range ev.weakPaths {
		key := f.Kind + "\x00" + f.Canonical + "\x00" + f.CloudTarget
		if _, dup := ev.seen[key]; !dup {
			ev.seen[key] = -1
			f.strong = true
			all = append(all, f)
		}
	}
	v.Match = true
	score := map[string]int{}
	var order []string
	access := AccessRecon
	sharedByCloud := false
	for _, f := range all {
		v.Indicators = append(v.Indicators, f.Indicator)
		if accessRank(f.access) > accessRank(access) {
			access = f.access
		}
		if f.Kind == KindAddress && f.weight == 0 {
			for _, t := range f.shared {
				sharedByCloud = sharedByCloud || t == cloud
			}
			continue
		}
		if _, ok := score[f.CloudTarget]; !ok {
			order = append(order, f.CloudTarget)
		}
		score[f.CloudTarget] += f.weight
	}
	v.CloudTarget = TargetUnknown
	best := 0
	for _, t := range order {
		if score[t] > best {
			v.CloudTarget, best = t, score[t]
		}
	}
	if best == 0 && sharedByCloud {
		v.CloudTarget = cloud
	}
	v.Access = access
	v.CredentialTheft = access == AccessCredential
	return v
}
