package config

import (
	"errors"
	"fmt"
	"github.com/certgate/certgate/internal/accesslog"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/reqpath"
	"github.com/certgate/certgate/internal/verify"
)

// Validate checks the whole config after ApplyDefaults and reports every
// problem found, not just the first: the result is nil or an errors.Join of
// *FieldError, one per problem, in file order. Each struct checks its own
// fields; checks that span structs (a location requiring certificates needs
// trust roots, host names unique across sites) live with the smallest struct
// that sees both sides.
func (c *Config) Validate() error {
	v := &validator{c: c}
	c.validate(v)
	return errors.Join(v.errs...)
}

// validator collects problems; add is also the callback handed to the
// mapping block's validate hook.
type validator struct {
	c    *Config
	errs []error
}

func (v *validator) add(path string, err error) {
	v.errs = append(v.errs, v.c.FieldErr(path, err))
}

func (v *validator) addf(path, format string, args ...any) {
	v.add(path, fmt.Errorf(format, args...))
}

// oneOf checks an enumerated value.
func (v *validator) oneOf(path, got string, allowed []string) {
	if slices.Contains(allowed, got) {
		return
	}
	if got == "" {
		v.addf(path, "must be set to one of %s", strings.Join(allowed, ", "))
		return
	}
	v.addf(path, "must be one of %s (got %q)", strings.Join(allowed, ", "), got)
}

func (c *Config) validate(v *validator) {
	if err := checkListen(c.Listen); err != nil {
		v.add("listen", err)
	}
	c.Timeouts.validate(v, "timeouts")
	for i, p := range c.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			v.addf("trusted_proxies["+strconv.Itoa(i)+"]", "want an IP address or CIDR such as 10.0.0.0/8 (got %q)", p)
		}
	}
	if c.Limits.MaxConnections < 0 {
		v.addf("limits.max_connections", "must not be negative (got %d)", c.Limits.MaxConnections)
	}
	if c.Limits.MaxConnectionsPerIP < 0 {
		v.addf("limits.max_connections_per_ip", "must not be negative (got %d)", c.Limits.MaxConnectionsPerIP)
	}
	if c.ProxyProtocol && len(c.TrustedProxies) == 0 {
		v.addf("proxy_protocol", "needs trusted_proxies: a PROXY header is accepted only from the proxies listed there, never from any client")
	}
	if c.Admin.Listen != AdminOff {
		if err := checkListen(c.Admin.Listen); err != nil {
			v.add("admin.listen", fmt.Errorf("%w, or %q to disable the admin listener", err, AdminOff))
		} else if c.Admin.Listen == c.Listen {
			v.addf("admin.listen", "must differ from listen (%s): metrics and reload are served on their own listener", c.Listen)
		}
	}
	v.oneOf("log.format", c.Log.Format, logFormatValues)
	v.oneOf("log.level", c.Log.Level, logLevelValues)
	c.AccessLog.validate(v, "access_log")
	if c.Reload.Debounce < 0 {
		v.addf("reload.debounce", "must not be negative (got %v)", c.Reload.Debounce)
	}
	seenKey := map[string]bool{}
	for i, k := range c.SessionTickets.Keys {
		p := fmt.Sprintf("session_tickets.keys[%d]", i)
		switch {
		case strings.TrimSpace(k) == "":
			v.addf(p, "must name a key file (certgate pki ticket-key -o FILE writes one)")
		case seenKey[k]:
			v.addf(p, "%s is listed twice", k)
		}
		seenKey[k] = true
	}

	if len(c.Sites) == 0 {
		v.add("sites", fmt.Errorf("%w: define at least one site (name, hosts, certificate, upstream)", ErrNoSites))
		return
	}

	names := map[string]int{}    // site name -> index
	hosts := map[string]string{} // host -> path of its first use
	defaultSite := -1
	for i := range c.Sites {
		s := &c.Sites[i]
		p := "sites[" + strconv.Itoa(i) + "]"
		s.validate(v, p)

		if s.Name != "" {
			if j, dup := names[s.Name]; dup {
				v.addf(p+".name", "%q is already the name of sites[%d]; site names must be unique", s.Name, j)
			} else {
				names[s.Name] = i
			}
		}
		for j, h := range s.Hosts {
			hp := p + ".hosts[" + strconv.Itoa(j) + "]"
			if checkHost(h) != nil {
				continue // reported by Site.validate
			}
			if first, dup := hosts[h]; dup {
				v.addf(hp, "%q is already listed at %s; each host name selects exactly one site", h, first)
				continue
			}
			hosts[h] = hp
		}
		if s.Default {
			if defaultSite >= 0 {
				v.addf(p+".default", "only one site can be the default; sites[%d] (%q) already is", defaultSite, c.Sites[defaultSite].Name)
			} else {
				defaultSite = i
			}
		}
	}
	// The default site serves connections without SNI or with an unknown
	// name; without an explicit one the first site does. Any other site
	// without hosts could never be selected.
	if defaultSite < 0 {
		defaultSite = 0
	}
	for i := range c.Sites {
		if i != defaultSite && len(c.Sites[i].Hosts) == 0 {
			v.addf("sites["+strconv.Itoa(i)+"].hosts", "must list at least one host name: only the default site (sites[%d]) is used without a matching SNI name", defaultSite)
		}
		if i != defaultSite && c.Sites[i].Forward.DefaultSiteAnyHost {
			v.addf("sites["+strconv.Itoa(i)+"].forward.default_site_any_host", "applies only to the default site (sites[%d]): other sites answer only the hosts they list", defaultSite)
		}
	}
}

func (t *Timeouts) validate(v *validator, p string) {
	for _, d := range []struct {
		name string
		val  time.Duration
	}{
		{"handshake", t.Handshake},
		{"read_header", t.ReadHeader},
		{"idle", t.Idle},
		{"shutdown", t.Shutdown},
		{"upstream", t.Upstream},
		{"read_body", t.ReadBody},
		{"write", t.Write},
		{"max_connection_age", t.MaxConnectionAge},
	} {
		if d.val < 0 {
			v.addf(p+"."+d.name, "must not be negative (got %v)", d.val)
		}
	}
}

func (a *AccessLog) validate(v *validator, p string) {
	if a == nil {
		return
	}
	if strings.TrimSpace(a.Dir) == "" {
		v.addf(p+".dir", "must be set to the directory the W3C log files are written to")
	}
	v.oneOf(p+".rollover", a.Rollover, rolloverValues)
	if a.MaxSize < 0 || (a.Rollover == RolloverSize && a.MaxSize == 0) {
		v.addf(p+".max_size", "must be > 0 bytes (got %d)", a.MaxSize)
	}
	if a.Buffer <= 0 {
		v.addf(p+".buffer", "must be > 0 lines (got %d)", a.Buffer)
	}
	if len(a.Fields) > 0 {
		if _, err := accesslog.ParseFields(a.Fields); err != nil {
			v.add(p+".fields", err)
		}
	}
	if a.Format != "" && a.Format != accesslog.FormatW3C && a.Format != accesslog.FormatJSON {
		v.addf(p+".format", "must be w3c or json (got %q)", a.Format)
	}
}

// siteName is what a site name may contain: it appears in metric labels,
// log lines and access log file names.
func checkSiteName(name string) error {
	if name == "" {
		return errors.New("must be set: metrics, logs and errors identify the site by it")
	}
	if len(name) > 64 {
		return fmt.Errorf("must be at most 64 characters (got %d)", len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("may contain only letters, digits, '-', '_' and '.' (got %q)", name)
		}
	}
	return nil
}

func (s *Site) validate(v *validator, p string) {
	if err := checkSiteName(s.Name); err != nil {
		v.add(p+".name", err)
	}
	for j, h := range s.Hosts {
		if err := checkHost(h); err != nil {
			v.add(p+".hosts["+strconv.Itoa(j)+"]", err)
		}
	}
	switch c := s.Certificate; {
	case c.PFX != "":
		if c.Cert != "" || c.Key != "" {
			v.addf(p+".certificate.pfx", "give either pfx (certificate and key in one PKCS#12 file) or cert and key, not both")
		}
	default:
		if c.Cert == "" {
			v.addf(p+".certificate.cert", "must be set to the server certificate file (PEM, leaf first, then its chain), or use pfx")
		}
		if c.Key == "" {
			v.addf(p+".certificate.key", "must be set to the server private key file (PEM), or use pfx")
		}
	}
	if err := checkUpstream(s.Upstream); err != nil {
		v.add(p+".upstream", err)
	}
	s.ClientAuth.validate(v, p+".client_auth")
	if s.Mapping != nil {
		s.Mapping.validate(p+".mapping", v.add)
	}
	s.Forward.validate(v, p+".forward")
	s.TLS.validate(v, p+".tls")

	for i, name := range s.Paths.Allow {
		if r, ok := reqpath.Parse(name); !ok || !r.Optional() {
			v.addf(p+".paths.allow["+strconv.Itoa(i)+"]", "must name a rule a site may opt out of: %s (got %q)", strings.Join(optionalPathRules(), ", "), name)
		}
	}
	paths := map[string]int{}
	needsCert := -1
	for j := range s.Locations {
		lp := p + ".locations[" + strconv.Itoa(j) + "]"
		l := &s.Locations[j]
		l.validate(v, lp)
		if k, dup := paths[l.Path]; dup && l.Path != "" {
			v.addf(lp+".path", "%q is already the path of locations[%d]; each path prefix needs one rule", l.Path, k)
		} else {
			paths[l.Path] = j
		}
		if needsCert < 0 && (l.ClientCert == ClientCertAccept || l.ClientCert == ClientCertRequire) {
			needsCert = j
		}
		// Without a mapping block no request ever has a user, so an allow
		// list would answer 403.100 to everyone.
		if s.Mapping == nil && l.ClientCert != ClientCertIgnore && (len(l.AllowUsers) > 0 || len(l.AllowGroups) > 0) {
			v.addf(lp, "allow_users/allow_groups need a mapping block on the site: without mapping no user or group is ever identified and every request would get 403.100")
		}
	}
	if needsCert < 0 && (s.ClientAuth.ClientCert == ClientCertAccept || s.ClientAuth.ClientCert == ClientCertRequire) && len(s.ClientAuth.Trust.Roots) == 0 {
		v.addf(p+".client_auth.trust.roots", "must list at least one CA certificate file: client_auth.client_cert is %s, and client certificates are only verified against configured roots", s.ClientAuth.ClientCert)
	}
	if needsCert >= 0 && len(s.ClientAuth.Trust.Roots) == 0 {
		l := s.Locations[needsCert]
		v.addf(p+".client_auth.trust.roots", "must list at least one CA certificate file: locations[%d] (path %q) has client_cert: %s, and client certificates are only verified against configured roots",
			needsCert, l.Path, l.ClientCert)
	}
	s.AccessLog.validate(v, p+".access_log")
	if d := s.Diagnostics; d.Page {
		// The page is matched on the canonical path the handler sees; a
		// path the handler would refuse as non-canonical is never served.
		if !strings.HasPrefix(d.Path, "/") || path.Clean(d.Path) != d.Path || d.Path == "/" {
			v.addf(p+".diagnostics.path", "must be an absolute, canonical path other than / such as %s (got %q)", DefaultDiagnosticsPath, d.Path)
		}
	}
}

// optionalPathRules lists the names paths.allow accepts.
func optionalPathRules() []string {
	var out []string
	for _, n := range reqpath.Names() {
		if r, _ := reqpath.Parse(n); r.Optional() {
			out = append(out, n)
		}
	}
	return out
}

// checkHost validates a SNI host name: a DNS name, or a wildcard whose
// whole leading label is "*" (the only form TLS certificates and SNI
// matching use, RFC 6125 section 6.4.3).
func checkHost(h string) error {
	if h == "" {
		return errors.New("must not be empty")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Errorf("%q is an IP address, which clients never send as SNI (RFC 6066 section 3); list DNS names, or make this the default site", h)
	}
	if strings.Contains(h, ":") || strings.Contains(h, "/") {
		return fmt.Errorf("must be a host name without scheme, port or path (got %q)", h)
	}
	name := h
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		name = rest
	}
	if strings.Contains(name, "*") {
		return fmt.Errorf("a wildcard is allowed only as the whole leading label, as in *.example.test (got %q)", h)
	}
	if err := checkHostname(name); err != nil {
		return fmt.Errorf("%w (got %q)", err, h)
	}
	return nil
}

// checkHostname validates a DNS name (letters, digits, '-' and '_' per
// label, as seen in practice; labels of 1..63 bytes; 253 bytes in all).
func checkHostname(name string) error {
	if len(name) > 253 {
		return errors.New("must be at most 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("must be a DNS name with labels of 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("DNS labels must not start or end with '-'")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("DNS names may contain only letters, digits, '-' and '_' (found %q)", r)
			}
		}
	}
	return nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port, such as 127.0.0.1:8443 or [::1]:8443 (got %q)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port must be a number from 0 to 65535 (got %q)", port)
	}
	if host == "" {
		return nil // all interfaces
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if err := checkHostname(host); err != nil {
		return fmt.Errorf("host must be an IP address or a host name (got %q): %w", host, err)
	}
	return nil
}

func checkUpstream(u string) error {
	if u == UpstreamEcho {
		return nil
	}
	want := fmt.Sprintf("must be %q or an absolute http:// or https:// URL with a host", UpstreamEcho)
	if u == "" {
		return errors.New(want)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme == "" || parsed.Host == "" && parsed.Opaque != "" {
		if !strings.Contains(u, "://") {
			return fmt.Errorf("%s (got %q; did you mean \"http://%s\"?)", want, u, u)
		}
		return fmt.Errorf("%s (got %q)", want, u)
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return fmt.Errorf("%s (got scheme %q)", want, parsed.Scheme)
	}
	if parsed.Host == "" || parsed.Hostname() == "" {
		return fmt.Errorf("%s (got %q, which has no host)", want, u)
	}
	if parsed.Fragment != "" || strings.Contains(u, "#") {
		return fmt.Errorf("must not contain a #fragment (got %q)", u)
	}
	return nil
}

func (a *ClientAuth) validate(v *validator, p string) {
	v.oneOf(p+".client_cert", a.ClientCert, clientCertValues)
	checkPaths(v, p+".trust.roots", a.Trust.Roots)
	checkPaths(v, p+".trust.intermediates", a.Trust.Intermediates)
	a.IssuerList.validate(v, p+".issuer_list")
	a.Revocation.validate(v, p+".revocation")
	// Below 2048 bits an RSA key is breakable; above 8192 crypto/tls
	// refuses the handshake anyway.
	if a.MaxRSABits < 2048 || a.MaxRSABits > 8192 {
		v.addf(p+".max_rsa_bits", "must be between 2048 and 8192 (got %d)", a.MaxRSABits)
	}
	if a.MaxChainLength < 1 || a.MaxChainLength > 32 {
		v.addf(p+".max_chain_length", "must be between 1 and 32 (got %d)", a.MaxChainLength)
	}
	if _, err := verify.ParseProfile(a.Profile); err != nil {
		v.add(p+".profile", err)
	}
	if a.MaxDepth < 0 || a.MaxDepth > MaxChainDepth {
		v.addf(p+".max_depth", "must be from 1 to %d, or 0 for the default 10 (got %d)", MaxChainDepth, a.MaxDepth)
	}
	for i, oid := range a.Policies {
		if _, err := verify.ParsePolicyOID(oid); err != nil {
			v.add(p+".policies["+strconv.Itoa(i)+"]", err)
		}
	}
}

// MaxChainDepth is the largest client_auth.max_depth: chains are hostile
// input, and no real PKI is deeper.
const MaxChainDepth = 32

// checkPaths rejects empty entries, which would otherwise resolve to the
// config directory itself.
func checkPaths(v *validator, p string, ps Paths) {
	for i, path := range ps {
		if strings.TrimSpace(path) == "" {
			if len(ps) == 1 {
				v.addf(p, "must not be an empty path")
			} else {
				v.addf(p+"["+strconv.Itoa(i)+"]", "must not be an empty path")
			}
		}
	}
}

func (il *IssuerList) validate(v *validator, p string) {
	checkPaths(v, p+".source", il.Source)
	if il.WarnBytes != nil && *il.WarnBytes <= 0 {
		v.addf(p+".warn_bytes", "must be > 0 (got %d)", *il.WarnBytes)
	}
	if il.MaxBytes != nil && (*il.MaxBytes <= 0 || *il.MaxBytes > MaxIssuerListBytes) {
		v.addf(p+".max_bytes", "must be from 1 to %d, the most CA-name bytes a TLS CertificateRequest can carry (got %d)", MaxIssuerListBytes, *il.MaxBytes)
	}
}

func (r *Revocation) validate(v *validator, p string) {
	v.oneOf(p+".mode", r.Mode, revocationModes)
	v.oneOf(p+".prefer", r.Prefer, preferValues)
	v.oneOf(p+".on_unavailable", r.OnUnavailable, onUnavailableValues)
	checkPaths(v, p+".crls", r.CRLs)
	if r.MaxAge < 0 {
		v.addf(p+".max_age", "must not be negative (got %v); 0 refetches only at nextUpdate", r.MaxAge)
	}
	if r.Timeout <= 0 {
		v.addf(p+".timeout", "must be > 0 (got %v)", r.Timeout)
	}
	if r.MaxBytes <= 0 {
		v.addf(p+".max_bytes", "must be > 0 (got %d)", r.MaxBytes)
	}
	if r.MaxConcurrent <= 0 {
		v.addf(p+".max_concurrent", "must be > 0 (got %d)", r.MaxConcurrent)
	}
	if r.FetchProxy != "" {
		if u, err := url.Parse(r.FetchProxy); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			v.addf(p+".fetch_proxy", "must be an http:// or https:// proxy URL with a host and no path, such as http://squid.internal:3128 (got %q)", r.FetchProxy)
		}
	}
	for i, h := range r.AllowHosts {
		hp := p + ".allow_hosts[" + strconv.Itoa(i) + "]"
		if _, err := netip.ParseAddr(h); err == nil {
			continue
		}
		if h == "" || strings.ContainsAny(h, ":/") {
			v.addf(hp, "must be a host name or IP address without scheme, port or path (got %q)", h)
			continue
		}
		if err := checkHostname(h); err != nil {
			v.addf(hp, "%v (got %q)", err, h)
		}
	}
}

func (f *Forward) validate(v *validator, p string) {
	for i, h := range f.Strip {
		if err := checkHeaderName(strings.TrimSuffix(h, "*")); err != nil {
			v.add(p+".strip["+strconv.Itoa(i)+"]", fmt.Errorf("%w; a trailing * names a prefix", err))
		}
	}
	if err := checkHeaderName(f.UserHeader); err != nil {
		v.add(p+".user_header", err)
	}
	if err := checkHeaderName(f.GroupsHeader); err != nil {
		v.add(p+".groups_header", err)
	}
	if f.UserHeader != "" && strings.EqualFold(f.UserHeader, f.GroupsHeader) {
		v.addf(p+".groups_header", "must differ from user_header (both are %q)", f.UserHeader)
	}
	if h := f.SSLHeaders; h != nil {
		seen := map[string]string{strings.ToLower(f.UserHeader): "user_header", strings.ToLower(f.GroupsHeader): "groups_header"}
		for _, n := range []struct{ key, name string }{
			{"verify", h.Verify}, {"s_dn", h.SubjectDN}, {"i_dn", h.IssuerDN}, {"serial", h.Serial}, {"sha256", h.Fingerprint}, {"cert", h.Cert},
		} {
			if err := checkHeaderName(n.name); err != nil {
				v.add(p+".ssl_headers."+n.key, err)
				continue
			}
			if other, dup := seen[strings.ToLower(n.name)]; dup {
				v.addf(p+".ssl_headers."+n.key, "header %q is already used by %s", n.name, other)
			}
			seen[strings.ToLower(n.name)] = "ssl_headers." + n.key
		}
	}
}

// checkHeaderName accepts an RFC 9110 section 5.1 field name (a token).
func checkHeaderName(h string) error {
	if h == "" {
		return errors.New("must be an HTTP header name")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return fmt.Errorf("must be an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~), got %q", h)
	}
	return nil
}

func (l *Location) validate(v *validator, p string) {
	switch {
	case !strings.HasPrefix(l.Path, "/"):
		v.addf(p+".path", "must start with \"/\" (got %q)", l.Path)
	case strings.ContainsAny(l.Path, "?#"):
		v.addf(p+".path", "must be a path prefix without ?query or #fragment (got %q)", l.Path)
	}
	v.oneOf(p+".client_cert", l.ClientCert, clientCertValues)
	seen := map[string]bool{}
	for i, u := range l.Upgrade {
		up := p + ".upgrade[" + strconv.Itoa(i) + "]"
		switch {
		case u == UpgradeH2C:
			// RFC 9113 section 3.1 removed the h2c upgrade; after its 101
			// the tunnel carries HTTP requests the gateway never checks.
			v.addf(up, "h2c is never allowed: it would tunnel HTTP/2 requests past every location rule (RFC 9113 removed the h2c upgrade)")
		case checkHeaderName(u) != nil:
			v.addf(up, "must be an upgrade protocol name such as websocket (got %q)", u)
		case seen[u]:
			v.addf(up, "%q is listed twice", u)
		}
		seen[u] = true
	}
	if l.ClientCert == ClientCertIgnore {
		// With ignore no certificate is used, so no user is ever known and
		// the allow list would deny everyone.
		if len(l.AllowUsers) > 0 {
			v.addf(p+".allow_users", "needs client_cert: accept or require: with ignore no user is ever identified")
		}
		if len(l.AllowGroups) > 0 {
			v.addf(p+".allow_groups", "needs client_cert: accept or require: with ignore no user is ever identified")
		}
	}
}

// TrustedProxyPrefixes returns trusted_proxies parsed; entries that do not
// parse (Validate reports them) are left out.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		if pf, err := parseProxy(p); err == nil {
			out = append(out, pf)
		}
	}
	return out
}

// parseProxy reads "10.0.0.0/8", "192.0.2.7" or "::1" as a prefix, in
// canonical form (IPv4-mapped IPv6 unmapped, host bits zero).
func parseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zones are not allowed")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
