package importer

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/verify"
)

// NginxOptions are the inputs of Nginx besides the nginx.conf path.
type NginxOptions struct {
	// Upstream is used for servers without proxy_pass; default
	// DefaultUpstream.
	Upstream string
	// Output is the path the config will be written to.
	Output string
}

// Nginx translates nginx.conf (and the files it includes) into a certgate
// config.
func Nginx(path string, o NginxOptions) (*Result, error) {
	return nginxFrom(osNginxSource(path, os.ReadFile), path, o)
}

func nginxFrom(src *nginxSource, main string, o NginxOptions) (*Result, error) {
	if o.Upstream == "" {
		o.Upstream = DefaultUpstream
	}
	if o.Output == "" {
		o.Output = "certgate.yaml"
	}
	top, err := src.parseFile(main, 0)
	if err != nil {
		return nil, err
	}
	nx := &nginxImporter{o: o, src: src, main: main, rep: &Report{Source: main, Output: o.Output},
		doc: &document{files: map[string][]byte{}}, upstreams: map[string]*directive{}, hosts: map[string]string{}, names: map[string]bool{}, seen: map[string]bool{}}
	// The http block; a file of server blocks alone (a sites-enabled
	// snippet) is read as if inside one.
	var http []*directive
	for _, d := range top {
		if d.name == "http" && d.hasBlock {
			http = append(http, d.block...)
		}
	}
	if http == nil {
		http = top
	}
	nx.http(http)
	if len(nx.doc.sites) == 0 {
		return nil, fmt.Errorf("%s: no server block with \"listen ... ssl\" to translate; certgate serves HTTPS only", main)
	}
	nx.doc.header = []string{
		"Translated by `certgate import nginx` from " + main + ".",
		"Each block names the line it came from. Check with: certgate check -c " + filepath.Base(o.Output),
	}
	return nx.doc.render(o.Output, nx.rep)
}

type nginxImporter struct {
	o         NginxOptions
	src       *nginxSource
	main      string
	rep       *Report
	doc       *document
	upstreams map[string]*directive
	// inherited are the http-level directives servers inherit.
	inherited map[string]*directive
	hosts     map[string]string // host -> site that has it
	names     map[string]bool
	// cur is the site being translated, for report entries.
	cur  string
	seen map[string]bool
}

func (nx *nginxImporter) add(d *directive, it Item) {
	if d != nil {
		it.File, it.Line = d.file, d.line
		if it.Setting == "" {
			it.Setting = d.text()
		}
	}
	if it.File == "" {
		it.File = nx.main
	}
	if it.Site == "" {
		it.Site = nx.cur
	}
	// A directive reached twice (an upstream group used by two
	// locations) is reported once.
	key := fmt.Sprintf("%s:%d:%s:%s", it.File, it.Line, it.Setting, it.Reason)
	if nx.seen[key] {
		return
	}
	nx.seen[key] = true
	nx.rep.add(it)
}

// serverInherited are the directives a server takes from http when it
// does not set them itself (nginx's merge of ngx_http_ssl_module).
var serverInherited = []string{
	"ssl_certificate", "ssl_certificate_key", "ssl_verify_client", "ssl_client_certificate", "ssl_trusted_certificate",
	"ssl_crl", "ssl_verify_depth", "ssl_ocsp", "ssl_ocsp_responder", "ssl_protocols",
}

func (nx *nginxImporter) http(ds []*directive) {
	nx.inherited = map[string]*directive{}
	for _, d := range ds {
		switch {
		case d.name == "upstream" && d.hasBlock && len(d.args) == 1:
			nx.upstreams[d.args[0]] = d
		case contains(serverInherited, d.name):
			nx.inherited[d.name] = d
		case d.name == "map" && len(d.args) >= 1 && strings.HasPrefix(d.args[0], "$ssl_client_"):
			nx.add(d, Item{Kind: NotTranslated, Security: true, Setting: "map " + strings.Join(d.args, " "),
				Reason: "a map of client certificate fields is not translated; whatever it decided (users, access) is not enforced",
				Action: "express it with mapping: rules (many_to_one on subject/issuer) and allow_users / allow_groups"})
		}
	}
	for _, d := range ds {
		if d.name == "server" && d.hasBlock {
			nx.server(d)
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// serverDirectives are handled by the server translation; anything else
// in a server or location block is reported.
var handledServer = map[string]bool{
	"listen": true, "server_name": true, "location": true, "if": true, "ssl": true,
	"ssl_certificate": true, "ssl_certificate_key": true, "ssl_verify_client": true, "ssl_client_certificate": true,
	"ssl_trusted_certificate": true, "ssl_crl": true, "ssl_verify_depth": true, "ssl_ocsp": true, "ssl_ocsp_responder": true,
	"proxy_pass": true,
}

// nginxSecurity are directives that decide who gets in or what a client
// may reach; reported as security entries when not translated.
var nginxSecurity = map[string]string{
	"allow":                "IP allow/deny lists are not translated; certgate does not filter by client address",
	"deny":                 "IP allow/deny lists are not translated; certgate does not filter by client address",
	"auth_basic":           "basic authentication is not translated",
	"auth_basic_user_file": "basic authentication is not translated",
	"auth_request":         "subrequest authorization is not translated",
	"satisfy":              "not translated",
	"limit_except":         "method restrictions are not translated",
	"return":               "not translated; the request goes to the upstream instead",
	"rewrite":              "not translated; the path reaches the upstream unchanged",
	"ssl_protocols":        "certgate negotiates TLS 1.2 and 1.3 only, whatever was listed",
	"ssl_ciphers":          "certgate uses Go's TLS cipher suites (TLS 1.2 ECDHE with AEAD, all TLS 1.3)",
	"ssl_ocsp_cache":       "certgate keeps its own cache of OCSP answers",
	"proxy_ssl_verify":     "upstream TLS settings are not translated",
}

type nginxListen struct {
	port          string
	ssl, dflt     bool
	d             *directive
	addr, unix    string
	proxyProtocol bool
}

func parseListen(d *directive) (nginxListen, bool) {
	l := nginxListen{d: d}
	if len(d.args) == 0 {
		return l, false
	}
	a := d.args[0]
	for _, f := range d.args[1:] {
		switch {
		case f == "ssl":
			l.ssl = true
		case f == "default_server" || f == "default":
			l.dflt = true
		case f == "proxy_protocol":
			l.proxyProtocol = true
		}
	}
	if strings.HasPrefix(a, "unix:") {
		l.unix = a
		return l, true
	}
	if _, err := strconv.ParseUint(a, 10, 16); err == nil {
		l.port = a
		return l, true
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		// "127.0.0.1" or "[::1]" alone: port 80.
		l.addr, l.port = strings.Trim(a, "[]"), "80"
		return l, true
	}
	l.addr, l.port = host, port
	return l, true
}

// lookup returns the directive named name of the server, or the inherited
// one; nil when neither sets it.
func lookup(block []*directive, inherited map[string]*directive, name string) *directive {
	var found *directive
	for _, d := range block {
		if d.name == name {
			found = d
		}
	}
	if found == nil {
		found = inherited[name]
	}
	return found
}

func arg(d *directive) string {
	if d == nil || len(d.args) == 0 {
		return ""
	}
	return d.args[0]
}

// file resolves a path of the nginx config: relative paths are relative
// to the configuration prefix.
func (nx *nginxImporter) file(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	abs, err := filepath.Abs(filepath.Join(nx.src.prefix, p))
	if err != nil {
		return p
	}
	return abs
}

func (nx *nginxImporter) siteName(server *directive, hosts []string) string {
	name := "server-" + strconv.Itoa(server.line)
	if len(hosts) > 0 {
		name = strings.TrimPrefix(hosts[0], "*.")
	}
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	name = b.String()
	if name == "" {
		name = "server-" + strconv.Itoa(server.line)
	}
	if len(name) > 60 {
		name = name[:60]
	}
	base := name
	for i := 2; nx.names[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	nx.names[name] = true
	return name
}

// verifyPolicy is what ssl_verify_client asks of a server.
type verifyPolicy struct {
	mode string // off | on | optional | optional_no_ca
	d    *directive
}

func (nx *nginxImporter) server(srv *directive) {
	block := srv.block
	var listens []nginxListen
	tls := false
	for _, d := range block {
		switch d.name {
		case "listen":
			l, ok := parseListen(d)
			if !ok {
				continue
			}
			listens = append(listens, l)
			tls = tls || l.ssl
		case "ssl":
			if arg(d) == "on" {
				tls = true
				for i := range listens {
					listens[i].ssl = true
				}
			}
		}
	}
	if !tls {
		nx.add(srv, Item{Kind: NotTranslated, Setting: "server (" + listenText(listens) + ")",
			Reason: "no \"listen ... ssl\": a plain-HTTP server; certgate serves HTTPS only"})
		return
	}
	// Hosts.
	var hosts []string
	sn := lookup(block, nil, "server_name")
	if sn != nil {
		for _, n := range sn.args {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			switch {
			case n == "" || n == "_" || n == "localhost":
				continue
			case strings.HasPrefix(n, "~"):
				nx.add(sn, Item{Kind: NotTranslated, Security: true, Setting: "server_name " + n,
					Reason: "regular-expression server names are not supported; requests for those names reach the default site and get its policy",
					Action: "list the host names under hosts:"})
				continue
			case strings.HasPrefix(n, "."):
				hosts = appendHost(hosts, n[1:], "*"+n)
				continue
			case strings.HasSuffix(n, ".*") || strings.Count(n, "*") > 1 || (strings.Contains(n, "*") && !strings.HasPrefix(n, "*.")):
				nx.add(sn, Item{Kind: NotTranslated, Security: true, Setting: "server_name " + n,
					Reason: "only a leading \"*.\" wildcard is supported; requests for that name reach the default site and get its policy",
					Action: "list the host names under hosts:"})
				continue
			}
			hosts = appendHost(hosts, n)
		}
	}
	valid := hosts[:0]
	for _, h := range hosts {
		if validHost(h) != nil {
			nx.add(sn, Item{Kind: NotTranslated, Security: true, Setting: "server_name " + h,
				Reason: "not a host name certgate accepts; requests for it reach the default site and get its policy"})
			continue
		}
		valid = append(valid, h)
	}
	hosts = valid
	s := newSite(nx.siteName(srv, hosts))
	nx.cur = s.Name
	defer func() { nx.cur = "" }()
	s.note("", "%s: server %s", srv.where(), strings.Join(sn.argsOr(), " "))
	var kept []string
	for _, h := range hosts {
		if other, dup := nx.hosts[h]; dup {
			nx.add(sn, Item{Kind: NotTranslated, Security: true, Setting: "server_name " + h,
				Reason: "already served by site " + other + " (nginx uses the first server for a name on each port)"})
			continue
		}
		nx.hosts[h] = s.Name
		kept = append(kept, h)
	}
	s.Hosts = kept
	if sn != nil && len(kept) > 0 {
		s.note("hosts", "%s: %s", sn.where(), sn.text())
	}

	// Listen port and default server.
	for _, l := range listens {
		if !l.ssl {
			nx.add(l.d, Item{Kind: NotTranslated, Reason: "a plain-HTTP listener; certgate serves HTTPS only"})
			continue
		}
		if l.unix != "" {
			nx.add(l.d, Item{Kind: NotTranslated, Reason: "certgate listens on TCP only"})
			continue
		}
		if l.proxyProtocol {
			nx.add(l.d, Item{Kind: NotTranslated, Security: true, Reason: "the PROXY protocol is not translated; client addresses in logs are the load balancer's"})
		}
		port := ":" + l.port
		// ":443" listens on every IPv4 and IPv6 address.
		if l.addr != "" && l.addr != "*" && l.addr != "::" && l.addr != "0.0.0.0" {
			port = net.JoinHostPort(l.addr, l.port)
		}
		if validListen(port) != nil {
			nx.add(l.d, Item{Kind: NotTranslated, Reason: "not an address certgate can listen on"})
			continue
		}
		switch {
		case nx.doc.listen == "":
			nx.doc.listen = port
			nx.doc.listenComment = l.d.where() + ": " + l.d.text()
		case nx.doc.listen != port:
			nx.add(l.d, Item{Kind: NotTranslated, Reason: "certgate listens on one address (" + nx.doc.listen + "); this one is not served",
				Action: "run a second certgate for it"})
		}
		if l.dflt && !s.Default {
			if nx.defaultTaken() {
				nx.add(l.d, Item{Kind: NotTranslated, Security: true, Reason: "another site is already the default; certgate has one default site"})
			} else {
				s.Default = true
				s.note("default", "%s: default_server", l.d.where())
			}
		}
	}
	if len(s.Hosts) == 0 && !s.Default {
		if nx.defaultTaken() {
			nx.add(srv, Item{Kind: NotTranslated, Security: true, Setting: "server (" + listenText(listens) + ")",
				Reason: "the server has no usable server_name and another site is already the default; it is not translated"})
			return
		}
		s.Default = true
		s.note("default", "no server_name: this site answers connections without a known SNI name")
	}

	// Server certificate.
	cert, key := lookup(block, nx.inherited, "ssl_certificate"), lookup(block, nx.inherited, "ssl_certificate_key")
	s.Certificate = config.Certificate{Cert: "certs/" + s.Name + ".pem", Key: "certs/" + s.Name + ".key"}
	for _, pair := range []struct {
		d    *directive
		dst  *string
		what string
	}{{cert, &s.Certificate.Cert, "ssl_certificate"}, {key, &s.Certificate.Key, "ssl_certificate_key"}} {
		v := arg(pair.d)
		switch {
		case pair.d == nil || v == "":
			nx.add(srv, Item{Kind: Todo, Setting: pair.what, Reason: "not set; a placeholder path is used", Action: "put the server certificate and key at " + *pair.dst})
		case strings.Contains(v, "$") || strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "engine:"):
			nx.add(pair.d, Item{Kind: NotTranslated, Reason: "variables, data: and engine: values are not supported; a placeholder path is used",
				Action: "put the file at " + *pair.dst})
		default:
			*pair.dst = nx.file(v)
		}
	}
	if n := countNamed(block, "ssl_certificate"); n > 1 {
		nx.add(cert, Item{Kind: NotTranslated, Reason: "several ssl_certificate directives (RSA and ECDSA); certgate serves the first",
			Action: "put the chain you want served in certificate.cert"})
	}
	if cert != nil {
		s.note("certificate", "%s: %s", cert.where(), cert.text())
	}

	pol := nx.clientAuth(s, block)
	nx.locations(s, srv, block, pol)
	nx.doc.sites = append(nx.doc.sites, s)
}

func (d *directive) argsOr() []string {
	if d == nil {
		return nil
	}
	return d.args
}

func countNamed(block []*directive, name string) int {
	n := 0
	for _, d := range block {
		if d.name == name {
			n++
		}
	}
	return n
}

func appendHost(hosts []string, hs ...string) []string {
	for _, h := range hs {
		if !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func listenText(ls []nginxListen) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, l.d.text())
	}
	return strings.Join(parts, "; ")
}

func (nx *nginxImporter) defaultTaken() bool {
	for _, s := range nx.doc.sites {
		if s.Default {
			return true
		}
	}
	return false
}

// clientAuth translates the server's ssl_verify_client and the files and
// revocation settings that go with it, and returns the policy.
func (nx *nginxImporter) clientAuth(s *siteOut, block []*directive) verifyPolicy {
	vc := lookup(block, nx.inherited, "ssl_verify_client")
	pol := verifyPolicy{mode: "off", d: vc}
	if vc != nil {
		pol.mode = arg(vc)
	}
	switch pol.mode {
	case "off":
		return pol
	case "on", "optional", "optional_no_ca":
	default:
		// An unknown value: nginx would not start; require, the stricter.
		nx.add(vc, Item{Kind: Stricter, Security: true, Reason: "unknown ssl_verify_client value; translated as on (require)"})
		pol.mode = "on"
	}
	ca := &s.ClientAuth
	clientCA := lookup(block, nx.inherited, "ssl_client_certificate")
	trusted := lookup(block, nx.inherited, "ssl_trusted_certificate")
	var trustNotes []string
	if arg(clientCA) == "" {
		clientCA = nil
	}
	if arg(trusted) == "" {
		trusted = nil
	}
	if clientCA != nil {
		ca.Trust.Roots = append(ca.Trust.Roots, nx.file(arg(clientCA)))
		trustNotes = append(trustNotes, clientCA.where()+": "+clientCA.text()+" (trusted, and its CA names sent to clients)")
	}
	switch {
	case trusted != nil && clientCA != nil:
		// OpenSSL chains through these but anchors only at a self-signed
		// root; certgate anchors at anything in roots. As intermediates
		// they can never stand in for a root: the stricter reading.
		ca.Trust.Intermediates = config.Paths{nx.file(arg(trusted))}
		trustNotes = append(trustNotes, trusted.where()+": "+trusted.text()+" (used to build chains, names not sent)")
		nx.add(trusted, Item{Kind: Stricter, Security: true,
			Reason: "translated as trust.intermediates: its certificates help build chains but are not trust anchors",
			Action: "move any self-signed root in it to trust.roots"})
	case trusted != nil:
		ca.Trust.Roots = append(ca.Trust.Roots, nx.file(arg(trusted)))
		trustNotes = append(trustNotes, trusted.where()+": "+trusted.text()+" (trusted, names not sent)")
		f := false
		ca.IssuerList.Send = &f
	}
	if len(ca.Trust.Roots) == 0 {
		ca.Trust.Roots = config.Paths{"certs/" + s.Name + "-client-ca.pem"}
		trustNotes = append(trustNotes, "TODO: nginx had no CA file (optional_no_ca accepts any issuer); certgate needs the roots to verify against")
		nx.add(vc, Item{Kind: Todo, Security: true, Reason: "no ssl_client_certificate or ssl_trusted_certificate; certgate validates certificates against configured roots only",
			Action: "put the CA certificates your clients' certificates chain to in certs/" + s.Name + "-client-ca.pem"})
	}
	for _, n := range trustNotes {
		s.note("client_auth.trust", "%s", n)
	}
	if ca.IssuerList.Send != nil {
		s.note("client_auth.issuer_list", "only ssl_trusted_certificate: nginx sent no CA names")
	}
	nx.checkAnchors(s, vc, ca.Trust.Roots)

	switch pol.mode {
	case "optional":
		ca.RejectInvalid = true
		s.note("client_auth.reject_invalid", "%s: %s: nginx refuses a certificate that fails verification (400, $ssl_client_verify FAILED) even when optional", vc.where(), vc.text())
	case "optional_no_ca":
		s.note("client_auth", "%s: %s: a certificate that fails verification proceeds anonymously (the upstream sees no verified identity)", vc.where(), vc.text())
	}
	// ssl_verify_depth (default 1) bounds the verified chain to the leaf
	// and that many CAs. certgate bounds what the client presents: leaf
	// plus depth CAs is the most an honest client of such a chain sends.
	depth, dd := 1, lookup(block, nx.inherited, "ssl_verify_depth")
	if dd != nil {
		if n, err := strconv.Atoi(arg(dd)); err == nil && n >= 0 {
			depth = n
		}
	}
	ca.MaxChainLength = min(max(depth+1, 1), 32)
	at := vc
	if dd != nil {
		at = dd
		s.note("client_auth.max_chain_length", "%s: %s: the leaf and at most %d CA certificate(s)", dd.where(), dd.text(), depth)
	} else {
		s.note("client_auth.max_chain_length", "nginx's default ssl_verify_depth 1: the leaf and at most one CA certificate")
	}
	nx.add(at, Item{Kind: Differs, Security: true, Setting: fmt.Sprintf("ssl_verify_depth %d", depth),
		Reason: fmt.Sprintf("nginx bounded the verified chain to %d CA certificate(s) above the leaf; certgate bounds the chain the client presents (max_chain_length: %d), so a client sending only its leaf may still be verified through a longer chain built from trust.intermediates", depth, ca.MaxChainLength),
		Action: "list in trust only the CAs whose chains you accept"})
	nx.revocation(s, block)
	return pol
}

// checkAnchors reports CA files holding certificates that are not
// self-signed: OpenSSL (nginx) builds chains up to a self-signed root, but
// certgate takes every certificate of trust.roots as an anchor.
func (nx *nginxImporter) checkAnchors(s *siteOut, at *directive, roots config.Paths) {
	for _, r := range roots {
		certs, err := certfile.LoadCertificates(r)
		if err != nil {
			continue // a file to create later; certgate check loads and reports it
		}
		for _, c := range certs {
			if !verify.IsSelfSigned(c) {
				nx.add(at, Item{Kind: Todo, Security: true, Setting: r,
					Reason: fmt.Sprintf("holds %q, which is not self-signed: nginx trusted it only as part of a chain to a root in the file, certgate takes every certificate in trust.roots as a trust anchor", c.Subject.String()),
					Action: "move intermediate CAs to client_auth.trust.intermediates"})
			}
		}
	}
}

func (nx *nginxImporter) revocation(s *siteOut, block []*directive) {
	r := &s.ClientAuth.Revocation
	crl := lookup(block, nx.inherited, "ssl_crl")
	if arg(crl) == "" {
		crl = nil
	}
	ocsp := lookup(block, nx.inherited, "ssl_ocsp")
	ocspOn := ocsp != nil && arg(ocsp) != "off"
	switch {
	case ocspOn:
		r.Mode = config.RevocationOnline
		r.Prefer = config.PreferOCSP
		s.note("client_auth.revocation", "%s: %s: OCSP for client certificates", ocsp.where(), ocsp.text())
		if arg(ocsp) == "leaf" {
			nx.add(ocsp, Item{Kind: Stricter, Security: true, Reason: "certgate checks every certificate of the chain except the root, not only the leaf"})
		}
		nx.add(ocsp, Item{Kind: Differs, Security: true, Reason: "certgate asks the OCSP responder named in each certificate and falls back to its CRL distribution points; an unobtainable answer is 403.13",
			Action: "set revocation.on_unavailable or allow_hosts if needed"})
		if resp := lookup(block, nx.inherited, "ssl_ocsp_responder"); resp != nil {
			nx.add(resp, Item{Kind: NotTranslated, Security: true, Reason: "certgate uses the responders the certificates name (AIA), not a fixed one",
				Action: "restrict fetches with revocation.allow_hosts"})
		}
		if crl != nil {
			r.CRLs = config.Paths{nx.file(arg(crl))}
			s.note("client_auth.revocation", "%s: %s", crl.where(), crl.text())
		}
	case crl != nil:
		// ssl_crl is a file nginx reads at start: local CRLs only.
		r.Mode = config.RevocationCacheOnly
		r.CRLs = config.Paths{nx.file(arg(crl))}
		// nginx sets X509_V_FLAG_CRL_CHECK_ALL: every certificate of the
		// chain needs a CRL in the file, as cache-only demands.
		s.note("client_auth.revocation", "%s: %s: local CRLs only, never fetched; every certificate below the root needs its CRL there", crl.where(), crl.text())
	default:
		r.Mode = config.RevocationOff
		s.note("client_auth.revocation", "no ssl_crl and no ssl_ocsp: nginx checked no revocation, and neither does this")
		nx.add(nil, Item{Kind: Differs, Security: true, Site: s.Name, Setting: "revocation",
			Reason: "the server had no ssl_crl or ssl_ocsp, so revoked certificates were accepted; mode: off keeps that",
			Action: "consider revocation mode: online"})
	}
}

// nginxLoc is a location block flattened with its policy.
type nginxLoc struct {
	d        *directive
	modifier string
	path     string
	require  bool // an if ($ssl_client_verify != SUCCESS) { return 4xx; } inside
	proxy    *directive
	// upgrade is the directive passing the Upgrade header on
	// (proxy_set_header Upgrade $http_upgrade): WebSocket proxying.
	upgrade *directive
}

func (nx *nginxImporter) locations(s *siteOut, srv *directive, block []*directive, pol verifyPolicy) {
	base := map[string]string{"off": config.ClientCertIgnore, "on": config.ClientCertRequire, "optional": config.ClientCertAccept, "optional_no_ca": config.ClientCertAccept}[pol.mode]
	rootNote := "no ssl_verify_client: certificates are not used"
	if pol.d != nil {
		rootNote = pol.d.where() + ": " + pol.d.text()
	}
	for _, d := range block {
		if d.name == "if" && nx.verifyIf(d, pol) {
			base = config.ClientCertRequire
			rootNote = d.where() + ": if (" + strings.Join(d.args, " ") + ") { return ... } at server level"
		}
	}
	var locs []nginxLoc
	var serverProxy *directive
	for _, d := range block {
		switch {
		case d.name == "location" && d.hasBlock:
			locs = nx.flatten(locs, d, pol)
		case d.name == "proxy_pass":
			serverProxy = d
		case !handledServer[d.name]:
			nx.reportOther(s, d)
		}
	}
	root := config.Location{Path: "/", ClientCert: base}
	s.Locations = []config.Location{root}
	s.note("locations[0]", "%s", rootNote)
	var rootProxy *directive
	for _, l := range locs {
		policy := base
		if l.require {
			policy = config.ClientCertRequire
		}
		switch l.modifier {
		case "", "^~":
		case "=":
			// A location is never less strict than its server (only an
			// $ssl_client_verify check changes its policy), so the
			// prefix is the stricter reading.
			if rank(policy) > rank(base) {
				nx.add(l.d, Item{Kind: Stricter, Security: true, Reason: "an exact-match location translated as a path prefix: the paths below it get its policy too"})
			}
		default:
			it := Item{Kind: NotTranslated, Reason: "regular-expression locations are not supported; the paths it matched get the prefix locations' policy"}
			if policy != base {
				it.Security = true
				it.Action = "add prefix locations covering the paths it matched with client_cert: " + policy
			}
			nx.add(l.d, it)
			continue
		}
		if l.path == "/" {
			if l.require {
				s.Locations[0].ClientCert = config.ClientCertRequire
				s.note("locations[0]", "%s: location / with an $ssl_client_verify check", l.d.where())
			}
			if l.upgrade != nil {
				s.Locations[0].Upgrade = []string{"websocket"}
				s.note("locations[0]", "%s: %s: WebSocket upgrades are passed on", l.upgrade.where(), l.upgrade.text())
			}
			rootProxy = l.proxy
			continue
		}
		if !strings.HasPrefix(l.path, "/") || strings.ContainsAny(l.path, "?#") {
			nx.add(l.d, Item{Kind: NotTranslated, Security: policy != base, Reason: "not a path certgate can match"})
			continue
		}
		dup := false
		for i := range s.Locations {
			if s.Locations[i].Path == l.path {
				dup = true
				if rank(policy) > rank(s.Locations[i].ClientCert) {
					s.Locations[i].ClientCert = policy
				}
			}
		}
		if dup {
			continue
		}
		if !strings.HasSuffix(l.path, "/") && rank(policy) > rank(base) {
			nx.add(l.d, Item{Kind: Differs, Security: true,
				Reason: "nginx matches " + l.path + " as a string prefix (" + l.path + "x too); certgate matches whole path segments, so " + l.path + "x gets the server's policy",
				Action: "check no other path starts with " + l.path})
		}
		i := len(s.Locations)
		s.Locations = append(s.Locations, config.Location{Path: l.path, ClientCert: policy})
		if l.upgrade != nil {
			// nginx passes any protocol the client names; certgate lists
			// them, and WebSocket is what this pattern is for.
			s.Locations[i].Upgrade = []string{"websocket"}
			s.note("locations["+strconv.Itoa(i)+"]", "%s: %s: WebSocket upgrades are passed on", l.upgrade.where(), l.upgrade.text())
			nx.add(l.upgrade, Item{Kind: Stricter, Reason: "nginx passed whatever protocol the client asked for; certgate passes websocket only (upgrade: [websocket])"})
		}
		why := ""
		if l.require {
			why = " with an $ssl_client_verify check"
		}
		s.note("locations["+strconv.Itoa(i)+"]", "%s: %s%s", l.d.where(), l.d.text(), why)
	}
	nx.upstream(s, serverProxy, rootProxy, locs)
	if pol.mode == "off" && len(s.ClientAuth.Trust.Roots) == 0 {
		for _, l := range s.Locations {
			if l.ClientCert != config.ClientCertIgnore {
				// $ssl_client_verify is NONE without ssl_verify_client:
				// nginx refused everyone here; so does require, once
				// certgate has roots to load.
				s.ClientAuth.Trust.Roots = config.Paths{"certs/" + s.Name + "-client-ca.pem"}
				s.ClientAuth.Revocation.Mode = config.RevocationOff
				nx.add(nil, Item{Kind: Todo, Security: true, Setting: "if ($ssl_client_verify != SUCCESS) without ssl_verify_client",
					Reason: "nginx never asked for a certificate, so these paths refused every request; translated as require",
					Action: "put your client CA in certs/" + s.Name + "-client-ca.pem, or remove the locations"})
				break
			}
		}
	}
}

// verifyIf recognises `if ($ssl_client_verify != SUCCESS) { return 4xx; }`
// (and "= NONE" with optional, where a failed certificate is refused by
// nginx anyway): a certificate is required.
func (nx *nginxImporter) verifyIf(d *directive, pol verifyPolicy) bool {
	cond := strings.TrimSpace(strings.Join(d.args, " "))
	cond = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(cond, "("), ")"))
	f := strings.Fields(cond)
	returns := false
	for _, b := range d.block {
		if b.name == "return" && len(b.args) > 0 {
			if code, err := strconv.Atoi(b.args[0]); err == nil && code >= 400 && code < 600 {
				returns = true
			}
		}
	}
	if len(f) != 3 || f[0] != "$ssl_client_verify" || !returns {
		if strings.Contains(cond, "$ssl_client") {
			nx.add(d, Item{Kind: NotTranslated, Security: true, Setting: "if (" + cond + ")",
				Reason: "a condition on client certificate fields other than \"$ssl_client_verify != SUCCESS\" with a 4xx return is not translated",
				Action: "express it with mapping: rules and allow_users / allow_groups"})
		}
		return false
	}
	switch {
	case f[1] == "!=" && f[2] == "SUCCESS":
		return true
	case f[1] == "=" && f[2] == "NONE" && (pol.mode == "optional" || pol.mode == "on"):
		return true
	case f[1] == "=" && f[2] == "NONE":
		nx.add(d, Item{Kind: Stricter, Security: true, Setting: "if (" + cond + ")",
			Reason: "with optional_no_ca this let failed certificates through; translated as require, which refuses them too"})
		return true
	}
	nx.add(d, Item{Kind: NotTranslated, Security: true, Setting: "if (" + cond + ")", Reason: "condition not recognised"})
	return false
}

// flatten appends the location d and its nested locations.
func (nx *nginxImporter) flatten(out []nginxLoc, d *directive, pol verifyPolicy) []nginxLoc {
	l := nginxLoc{d: d}
	switch len(d.args) {
	case 1:
		l.path = d.args[0]
	case 2:
		l.modifier, l.path = d.args[0], d.args[1]
	default:
		nx.add(d, Item{Kind: NotTranslated, Reason: "unexpected location arguments"})
		return out
	}
	if strings.HasPrefix(l.path, "@") {
		nx.add(d, Item{Kind: NotTranslated, Reason: "named locations are internal redirect targets; not translated"})
		return out
	}
	var nested []*directive
	for _, b := range d.block {
		switch {
		case b.name == "if":
			if nx.verifyIf(b, pol) {
				l.require = true
			}
		case b.name == "proxy_pass":
			l.proxy = b
		case b.name == "proxy_set_header" && len(b.args) == 2 && strings.EqualFold(b.args[0], "Upgrade") && b.args[1] == "$http_upgrade":
			l.upgrade = b
		case b.name == "proxy_set_header" && len(b.args) == 2 && strings.EqualFold(b.args[0], "Connection"):
			// Goes with the Upgrade header; certgate handles both.
		case b.name == "location" && b.hasBlock:
			nested = append(nested, b)
		case !handledServer[b.name]:
			nx.reportOther(nil, b)
		}
	}
	out = append(out, l)
	// A nested location does not inherit the if of its parent
	// (rewrite-module directives are not inherited), as in nginx.
	for _, n := range nested {
		out = nx.flatten(out, n, pol)
	}
	return out
}

func (nx *nginxImporter) reportOther(s *siteOut, d *directive) {
	reason, sec := nginxSecurity[d.name]
	switch {
	case d.name == "proxy_set_header" && strings.Contains(strings.Join(d.args, " "), "$ssl_client"):
		reason, sec = "certgate sends its own identity headers: RFC 9440 Client-Cert / Client-Cert-Chain and the mapped user (forward:), and strips client-sent copies; headers built from $ssl_client_* variables are not sent", true
	case !sec:
		reason = "no certgate equivalent"
	}
	it := Item{Kind: NotTranslated, Security: sec, Reason: reason}
	if s != nil {
		it.Site = s.Name
	}
	nx.add(d, it)
}

// upstream picks the site's upstream from proxy_pass: the one of location
// /, else of the server, else the first; other targets need per-location
// upstreams.
func (nx *nginxImporter) upstream(s *siteOut, serverProxy, rootProxy *directive, locs []nginxLoc) {
	chosen := rootProxy
	if chosen == nil {
		chosen = serverProxy
	}
	if chosen == nil {
		for _, l := range locs {
			if l.proxy != nil {
				chosen = l.proxy
				break
			}
		}
	}
	if chosen == nil {
		s.Upstream = nx.o.Upstream
		s.note("upstream", "TODO: no proxy_pass: nginx served this itself; point this at the application")
		nx.add(nil, Item{Kind: Todo, Site: s.Name, Setting: "upstream", Reason: "no proxy_pass in the server; the output uses " + s.Upstream,
			Action: "set upstream: to the application's address, or import with --upstream"})
		return
	}
	u, ok := nx.proxyURL(chosen)
	if !ok {
		s.Upstream = nx.o.Upstream
		return
	}
	s.Upstream = u
	s.note("upstream", "%s: %s", chosen.where(), chosen.text())
	for _, l := range locs {
		if l.proxy == nil || l.proxy == chosen {
			continue
		}
		if other, ok := nx.proxyURL(l.proxy); ok && other != u {
			nx.add(l.proxy, Item{Kind: Todo, Security: false,
				Reason: "this location proxies to " + other + "; certgate sends every path of the site to " + u + " (per-location upstreams are not available in this certgate)",
				Action: "route it in the upstream, or split the path into a site of its own"})
		}
	}
}

// proxyURL turns a proxy_pass target into an upstream URL, resolving an
// upstream{} group to its first server.
func (nx *nginxImporter) proxyURL(d *directive) (string, bool) {
	raw := arg(d)
	if strings.Contains(raw, "$") {
		nx.add(d, Item{Kind: NotTranslated, Reason: "proxy_pass with variables is not supported", Action: "set upstream: by hand"})
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		nx.add(d, Item{Kind: NotTranslated, Reason: "not an http(s) URL", Action: "set upstream: by hand"})
		return "", false
	}
	host := u.Host
	if g, ok := nx.upstreams[host]; ok {
		var servers []*directive
		for _, b := range g.block {
			if b.name == "server" && len(b.args) > 0 {
				servers = append(servers, b)
			}
		}
		if len(servers) == 0 || strings.HasPrefix(servers[0].args[0], "unix:") {
			nx.add(d, Item{Kind: NotTranslated, Reason: "upstream group " + host + " has no TCP server", Action: "set upstream: by hand"})
			return "", false
		}
		host = servers[0].args[0]
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(strings.Trim(host, "[]"), "80")
		}
		if len(servers) > 1 {
			nx.add(g, Item{Kind: NotTranslated, Setting: "upstream " + g.args[0],
				Reason: fmt.Sprintf("%d servers; certgate sends to one upstream, the first (%s)", len(servers), servers[0].args[0]),
				Action: "balance behind one address, or list the others when certgate supports several targets"})
		}
	}
	if u.Path != "" && u.Path != "/" {
		nx.add(d, Item{Kind: Differs, Reason: "nginx replaced the matched location prefix with " + u.Path + "; certgate forwards the request path unchanged (a path prefix of the upstream URL is prepended)",
			Action: "check the paths the application expects"})
	}
	out := u.Scheme + "://" + host
	if u.Path != "" && u.Path != "/" {
		out += strings.TrimSuffix(u.Path, "/")
	}
	if validUpstream(out) != nil {
		nx.add(d, Item{Kind: NotTranslated, Reason: "not an upstream URL certgate accepts", Action: "set upstream: by hand"})
		return "", false
	}
	return out, true
}
