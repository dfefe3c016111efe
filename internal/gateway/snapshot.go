package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/revocation"
	sitebuild "github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/verify"
)

// Snapshot is everything the gateway derives from one config: sites with
// their server certificates, verifiers, issuer lists, sorted locations and
// upstream handlers. It is immutable once built and safe for concurrent use;
// a reload builds a new one and swaps it in (Server.Swap).
type Snapshot struct {
	// Config is the config the snapshot was built from. Do not modify it.
	Config *config.Config
	// Sites in config order.
	Sites []*Site
	// Default is the site for connections without SNI or with an unknown name.
	Default *Site
	// Warnings are the load-time findings, already logged by Build:
	// non-self-signed trust anchors, issuer list size and truncation.
	Warnings []string

	exact    map[string]*Site // host name -> site
	wildcard map[string]*Site // "example.test" for "*.example.test" -> site
	// tls is the listener config: its only job is GetConfigForClient.
	// Being per snapshot, it also ties a connection to the snapshot that
	// chose its site.
	tls *tls.Config
}

// Site is one virtual host of a Snapshot.
type Site struct {
	// Index is the position in config.sites, for field paths and logs.
	Index int
	Name  string
	// Config is the site's config. Do not modify it.
	Config *config.Site
	// Issuers is the effective list of CA names sent in the CertificateRequest.
	Issuers *IssuerList
	// Verifier verifies client chains; nil when no location of the site
	// accepts or requires a certificate.
	Verifier *verify.Verifier
	// Revocation is the site's CRL/OCSP engine; nil when revocation is off
	// or the site never asks for a certificate. Its background refresh runs
	// between Snapshot.Start and Snapshot.Close.
	Revocation *revocation.Engine
	// RequestsCert is true when the handshake asks for a client
	// certificate: some location accepts or requires one. Go has no
	// server-side renegotiation, so it is asked for up front on every
	// connection to the site and enforced per request.
	RequestsCert bool
	// Locations sorted longest prefix first.
	Locations []*Location
	// Upstream is the parsed upstream URL; nil for the echo handler.
	Upstream *url.URL
	// Mapper maps verified certificates to users (the site's mapping:
	// block, issue 4); it maps nothing when the block is absent.
	Mapper *mapping.Mapper

	tls     *tls.Config
	handler http.Handler // reverse proxy or echo
}

// Location is one path-prefix rule of a site.
type Location struct {
	// Index is the position in sites[].locations.
	Index int
	// Path is the prefix, matched on whole path segments (see Site.Locate).
	Path string
	// Policy is config.ClientCertIgnore, ClientCertAccept or ClientCertRequire.
	Policy string
	// RejectInvalid turns an invalid certificate on an accept location
	// into a 403 instead of an anonymous request.
	RejectInvalid bool
	// Config is the location's config (allow_users, allow_groups...).
	Config *config.Location
}

// Build loads every file the config points at and derives a Snapshot. It
// does not listen. Errors name the field whose file failed
// (cfg.FieldErr); all of them are reported, joined. Warnings are logged to
// logger and kept in Snapshot.Warnings. cfg must have been through
// config.Load/Parse (or ApplyDefaults and Validate).
func Build(cfg *config.Config, logger *slog.Logger) (*Snapshot, error) {
	return BuildWith(cfg, logger, BuildOptions{})
}

// BuildWith is Build with the injected edges of BuildOptions (metrics
// callbacks for `certgate serve` and reloads).
func BuildWith(cfg *config.Config, logger *slog.Logger, bo BuildOptions) (*Snapshot, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Sites) == 0 {
		return nil, cfg.FieldErr("sites", ErrNoSites)
	}
	s := &Snapshot{
		Config:   cfg,
		exact:    map[string]*Site{},
		wildcard: map[string]*Site{},
	}
	var errs []error
	for i := range cfg.Sites {
		site, warns, err := buildSite(cfg, i, logger, bo)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Warnings = append(s.Warnings, warns...)
		s.Sites = append(s.Sites, site)
		for j, h := range site.Config.Hosts {
			h = normalizeHost(h)
			m, key := s.exact, h
			if rest, ok := strings.CutPrefix(h, "*."); ok {
				m, key = s.wildcard, rest
			}
			if other, dup := m[key]; dup {
				errs = append(errs, cfg.FieldErr(fmt.Sprintf("sites[%d].hosts[%d]", i, j),
					fmt.Errorf("%w: %q is also a host of site %q", ErrDuplicateHost, h, other.Name)))
				continue
			}
			m[key] = site
		}
		if site.Config.Default && s.Default == nil {
			s.Default = site
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if s.Default == nil {
		s.Default = s.Sites[0]
	}
	s.tls = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: s.configForClient,
	}
	return s, nil
}

// buildSite loads one site. Warnings are logged here, with structured
// attributes, and returned as text for Snapshot.Warnings.
func buildSite(cfg *config.Config, i int, logger *slog.Logger, bo BuildOptions) (*Site, []string, error) {
	sc := &cfg.Sites[i]
	p := "sites[" + strconv.Itoa(i) + "]"
	site := &Site{Index: i, Name: sc.Name, Config: sc}
	if site.Name == "" {
		site.Name = "site" + strconv.Itoa(i)
	}
	log := logger.With("site", site.Name)
	var errs []error
	var warns []string

	cert, err := certfile.LoadKeyPair(sc.Certificate.Cert, sc.Certificate.Key)
	if err != nil {
		errs = append(errs, cfg.FieldErr(p+".certificate", err))
	}

	for j := range sc.Locations {
		lc := &sc.Locations[j]
		if !strings.HasPrefix(lc.Path, "/") {
			errs = append(errs, cfg.FieldErr(fmt.Sprintf("%s.locations[%d].path", p, j), fmt.Errorf("%w (got %q)", ErrBadLocation, lc.Path)))
			continue
		}
		loc := &Location{Index: j, Path: lc.Path, Policy: lc.ClientCert, Config: lc}
		if lc.RejectInvalid != nil {
			loc.RejectInvalid = *lc.RejectInvalid
		} else {
			loc.RejectInvalid = sc.ClientAuth.RejectInvalid
		}
		if loc.Policy == "" {
			loc.Policy = config.ClientCertIgnore
		}
		if loc.Policy != config.ClientCertIgnore {
			site.RequestsCert = true
		}
		site.Locations = append(site.Locations, loc)
	}
	// Longest prefix first; equal lengths keep config order (stable).
	sort.SliceStable(site.Locations, func(a, b int) bool {
		return len(site.Locations[a].Path) > len(site.Locations[b].Path)
	})

	trust := sc.ClientAuth.Trust
	var roots, inters []*x509.Certificate
	if len(trust.Roots) > 0 {
		if roots, err = loadCerts(trust.Roots); err != nil {
			errs = append(errs, cfg.FieldErr(p+".client_auth.trust.roots", err))
		}
	}
	if len(trust.Intermediates) > 0 {
		if inters, err = loadCerts(trust.Intermediates); err != nil {
			errs = append(errs, cfg.FieldErr(p+".client_auth.trust.intermediates", err))
		}
	}

	il := sc.ClientAuth.IssuerList
	var source []*x509.Certificate
	switch {
	case len(il.Source) > 0 && !slices.Equal(il.Source, trust.Roots):
		if source, err = loadCerts(il.Source); err != nil {
			errs = append(errs, cfg.FieldErr(p+".client_auth.issuer_list.source", err))
		}
	default:
		// The default source is the trust roots: reuse what was loaded
		// rather than reading the files twice.
		source = roots
	}
	// Mapping rules (and their one_to_one cert: files) belong to the
	// snapshot: a reload with a bad rule keeps the previous snapshot.
	if site.Mapper, err = sitebuild.CompileMapping(cfg, i); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}

	if site.RequestsCert {
		vopts := verify.Options{
			Roots:                      roots,
			Intermediates:              inters,
			AllowUnavailableRevocation: sc.ClientAuth.Revocation.OnUnavailable == config.OnUnavailableAllow,
			Purpose:                    verify.PurposeClientAuth,
		}
		mode, err := revocation.ParseMode(sc.ClientAuth.Revocation.Mode)
		if err != nil {
			return nil, nil, cfg.FieldErr(p+".client_auth.revocation.mode", err)
		}
		if mode == revocation.Off {
			log.Info("revocation is not checked for this site (mode off, IIS CertCheckMode 1)", "field", p+".client_auth.revocation.mode")
		} else {
			engine, err := bo.newRevocation(sc.ClientAuth.Revocation, log, append(append([]*x509.Certificate(nil), roots...), inters...))
			if err != nil {
				return nil, nil, cfg.FieldErr(p+".client_auth.revocation", err)
			}
			site.Revocation = engine
			vopts.Revocation = engine
		}
		site.Verifier, err = verify.New(vopts)
		if err != nil {
			site.closeRevocation()
			return nil, nil, cfg.FieldErr(p+".client_auth.trust", err)
		}
		for _, c := range site.Verifier.NonSelfSignedAnchors() {
			events.NonSelfSignedRoot(log, c, slog.String("field", p+".client_auth.trust.roots"))
		}
		for _, w := range site.Verifier.Warnings() {
			warns = append(warns, fmt.Sprintf("site %q: %s", site.Name, w))
		}
	}

	site.Issuers = newIssuerList(source, il)
	for _, w := range site.Issuers.log(log, p+".client_auth.issuer_list") {
		warns = append(warns, fmt.Sprintf("site %q: %s", site.Name, w))
	}

	site.tls = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		ClientAuth:   tls.NoClientCert,
	}
	if site.RequestsCert {
		// RequestClientCert asks for a certificate and accepts whatever
		// comes, unverified: crypto/tls must never decide (no
		// VerifyClientCert* mode, no VerifyPeerCertificate); internal/verify
		// does, once per connection, with typed outcomes.
		site.tls.ClientAuth = tls.RequestClientCert
		// A nil pool (send: false) sends no certificate_authorities at all.
		site.tls.ClientCAs = site.Issuers.Pool()
	}
	// Session tickets are sealed with this site's own automatically
	// rotated keys. Without this, crypto/tls seals every site's tickets
	// with the listener config's keys, so a ticket from a site that never
	// asks for a certificate would resume on a site that requires one and
	// skip the CertificateRequest: the client could never present its
	// certificate on that connection.
	siteTLS := site.tls
	siteTLS.WrapSession = siteTLS.EncryptTicket
	siteTLS.UnwrapSession = siteTLS.DecryptTicket

	if sc.Upstream == config.UpstreamEcho {
		site.handler = echoHandler{}
	} else {
		u, err := url.Parse(sc.Upstream)
		if err != nil {
			return nil, nil, cfg.FieldErr(p+".upstream", fmt.Errorf("parse upstream url: %w", err))
		}
		site.Upstream = u
		site.handler = newProxy(site, u, cfg.Timeouts.Upstream, logger)
	}
	return site, warns, nil
}

func loadCerts(paths config.Paths) ([]*x509.Certificate, error) {
	certs, err := certfile.LoadCertificates(paths...)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("load %s: %w", strings.Join(paths, ", "), ErrNoCertificates)
	}
	return certs, nil
}

// configForClient chooses the site's TLS config by SNI.
func (s *Snapshot) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	return s.SiteFor(hello.ServerName).tls, nil
}

// SiteFor returns the site serving a host name (from SNI or a Host header,
// without port): an exact host first, then a wildcard covering exactly one
// leading label (*.example.test matches a.example.test, not
// a.b.example.test nor example.test), then the default site.
func (s *Snapshot) SiteFor(name string) *Site {
	name = normalizeHost(name)
	if name == "" {
		return s.Default
	}
	if site, ok := s.exact[name]; ok {
		return site
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		if site, ok := s.wildcard[parent]; ok {
			return site
		}
	}
	return s.Default
}

// Site returns the site with the given name, or nil.
func (s *Snapshot) Site(name string) *Site {
	for _, site := range s.Sites {
		if site.Name == name {
			return site
		}
	}
	return nil
}

// normalizeHost lower-cases a host name and drops a trailing dot: SNI and
// Host compare case-insensitively, and "a.example." names "a.example"
// (RFC 6066 section 3).
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// Locate returns the location governing a request path: the longest
// location path that is a prefix of it on a segment boundary. "/app"
// matches "/app" and "/app/x" but not "/application"; "/app/" matches
// "/app/x" but not "/app". A path no location covers is governed by an
// implicit ignore rule, the same as a site without locations (IIS sslFlags
// None); the returned Location then has Index -1.
//
// Matching is case-sensitive, like URL paths (RFC 3986 section 6.2.2.1). In
// front of a case-insensitive backend (IIS, Windows file systems), put the
// strict policy on "/" and carve out exceptions: a request that misses an
// exception by case then falls back to the strict rule.
func (site *Site) Locate(path string) *Location {
	for _, l := range site.Locations {
		if pathHasPrefix(path, l.Path) {
			return l
		}
	}
	return implicitLocation
}

var implicitLocation = &Location{Index: -1, Path: "/", Policy: config.ClientCertIgnore}

func pathHasPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// Start starts the background work of the snapshot: CRL and OCSP refresh
// before nextUpdate, so that steady-state requests never wait on a fetch.
func (s *Snapshot) Start(ctx context.Context) {
	for _, site := range s.Sites {
		if site.Revocation != nil {
			site.Revocation.Start(ctx)
		}
	}
}

// Close stops the snapshot's background work. Connections still served by
// it keep working: their revocation checks use the cache and fetch on demand.
func (s *Snapshot) Close() {
	for _, site := range s.Sites {
		site.closeRevocation()
	}
}

func (site *Site) closeRevocation() {
	if site.Revocation != nil {
		site.Revocation.Close()
	}
}
