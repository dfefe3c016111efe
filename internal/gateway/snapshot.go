package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/site"
)

// Snapshot is everything the gateway derives from one config: the sites
// built by internal/site (trust, issuer lists, verifiers, mapping, sorted
// locations) plus what only serving needs: server certificates, TLS
// configs and upstream handlers. It is immutable once built and safe for
// concurrent use; a reload builds a new one and swaps it in (Server.Swap).
type Snapshot struct {
	// Config is the config the snapshot was built from. Do not modify it.
	Config *config.Config
	// Sites in config order: Sites[i].Index == i.
	Sites []*Site
	// Default is the site for connections without SNI or with an unknown name.
	Default *Site
	// Warnings are the load-time findings, already logged by Build:
	// non-self-signed trust anchors, issuer list size and truncation.
	Warnings []string

	set *site.Set
	// proxies are trusted_proxies, parsed.
	proxies []netip.Prefix
	// tls is the listener config: its only job is GetConfigForClient.
	// Being per snapshot, it also ties a connection to the snapshot that
	// chose its site.
	tls *tls.Config
	// stop ends the snapshot's background work (OCSP stapling).
	stop context.CancelFunc
}

// Site is one virtual host of a Snapshot: the runtime-free site.Site
// (Issuers, Verifier, Revocation, RequestsCert, Locations, Mapper, Locate)
// with its server certificate and upstream.
type Site struct {
	*site.Site
	// Upstream is the parsed upstream URL; nil for the echo handler.
	Upstream *url.URL

	tls     *tls.Config
	handler http.Handler // reverse proxy or echo
	// cert is the server certificate as loaded; stapler, when the
	// certificate names an OCSP responder, serves it with a staple.
	cert    *tls.Certificate
	stapler *stapler
}

// Location is one path-prefix rule of a site (site.Location).
type Location = site.Location

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
	// The server key pairs are the gateway's: internal/site never reads a
	// private key. They are loaded first so that a build reports every
	// unreadable file at once.
	var errs []error
	certs := make([]tls.Certificate, len(cfg.Sites))
	for i := range cfg.Sites {
		sc := &cfg.Sites[i]
		var err error
		if certs[i], err = loadServerCertificate(sc.Certificate); err != nil {
			errs = append(errs, cfg.FieldErr("sites["+strconv.Itoa(i)+"].certificate", err))
		}
	}
	ticketKeys, err := loadTicketKeys(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	set, err := site.BuildAll(cfg, site.Options{Logger: logger, OnFetch: bo.OnFetch})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		if set != nil {
			set.Close()
		}
		return nil, errors.Join(errs...)
	}
	s := &Snapshot{Config: cfg, Warnings: set.Warnings, set: set, proxies: cfg.TrustedProxyPrefixes()}
	for _, ss := range set.Sites {
		gs, err := newSite(cfg, ss, certs[ss.Index], ticketKeys, logger)
		if err != nil {
			set.Close()
			return nil, err
		}
		s.Sites = append(s.Sites, gs)
	}
	s.Default = s.Sites[set.Default.Index]
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	for _, gs := range s.Sites {
		if gs.stapler != nil {
			go gs.stapler.run(ctx)
		}
	}
	s.tls = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: s.configForClient,
	}
	return s, nil
}

// newSite adds the server certificate, TLS config and upstream handler to
// a built site.
func newSite(cfg *config.Config, ss *site.Site, cert tls.Certificate, ticketKeys [][]byte, logger *slog.Logger) (*Site, error) {
	gs := &Site{Site: ss, cert: &cert}
	minVersion, suites, curves, alpn := ss.Config.TLS.Settings()
	gs.tls = &tls.Config{
		MinVersion:       minVersion,
		CipherSuites:     suites,
		CurvePreferences: curves,
		Certificates:     []tls.Certificate{cert},
		NextProtos:       alpn,
		ClientAuth:       tls.NoClientCert,
	}
	if ss.Config.TLS.Stapling() {
		if st := newStapler(ss.Name, cert, logger); st != nil {
			// The certificate comes from the stapler, which swaps in
			// fresh responses; Certificates stays empty so that
			// crypto/tls always asks it, with or without SNI.
			gs.stapler = st
			gs.tls.Certificates = nil
			gs.tls.GetCertificate = st.get
		}
	}
	if ss.RequestsCert {
		// RequestClientCert asks for a certificate and accepts whatever
		// comes, unverified: crypto/tls must never decide (no
		// VerifyClientCert* mode, no VerifyPeerCertificate); internal/verify
		// does, once per connection, with typed outcomes.
		gs.tls.ClientAuth = tls.RequestClientCert
		// A nil pool (send: false) sends no certificate_authorities at all.
		gs.tls.ClientCAs = ss.Issuers.Pool()
	}
	// Session tickets are sealed with this site's own automatically
	// rotated keys. Without this, crypto/tls seals every site's tickets
	// with the listener config's keys, so a ticket from a site that never
	// asks for a certificate would resume on a site that requires one and
	// skip the CertificateRequest: the client could never present its
	// certificate on that connection.
	siteTLS := gs.tls
	siteTLS.WrapSession = siteTLS.EncryptTicket
	siteTLS.UnwrapSession = siteTLS.DecryptTicket
	if len(ticketKeys) > 0 {
		// Shared keys (session_tickets.keys): every instance with the same
		// files derives the same per-site keys, so a ticket resumes on any
		// instance, still only on the site that issued it.
		keys, err := siteTicketKeys(ticketKeys, ss.Name)
		if err != nil {
			return nil, cfg.FieldErr("session_tickets.keys", err)
		}
		siteTLS.SetSessionTicketKeys(keys)
	}

	sc := ss.Config
	if sc.Upstream == config.UpstreamEcho {
		gs.handler = echoHandler{}
	} else {
		u, err := url.Parse(sc.Upstream)
		if err != nil {
			return nil, cfg.FieldErr("sites["+strconv.Itoa(ss.Index)+"].upstream", fmt.Errorf("parse upstream url: %w", err))
		}
		gs.Upstream = u
		gs.handler = newProxy(gs, u, cfg.Timeouts.Upstream, logger)
	}
	return gs, nil
}

// configForClient chooses the site's TLS config by SNI.
func (s *Snapshot) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	return s.SiteFor(hello.ServerName).tls, nil
}

// SiteFor returns the site serving a host name (from SNI or a Host header,
// without port): see site.Set.SiteFor.
func (s *Snapshot) SiteFor(name string) *Site {
	return s.Sites[s.set.SiteFor(name).Index]
}

// Site returns the site with the given name, or nil.
func (s *Snapshot) Site(name string) *Site {
	for _, gs := range s.Sites {
		if gs.Name == name {
			return gs
		}
	}
	return nil
}

// Start starts the background work of the snapshot: CRL and OCSP refresh
// before nextUpdate, so that steady-state requests never wait on a fetch.
func (s *Snapshot) Start(ctx context.Context) { s.set.Start(ctx) }

// Close stops the snapshot's background work and closes its idle upstream
// connections. Connections still served by it keep working: their
// revocation checks use the cache and fetch on demand, their requests
// open upstream connections again as needed.
func (s *Snapshot) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.set.Close()
	for _, gs := range s.Sites {
		closeIdleUpstream(gs.handler)
	}
}

// loadServerCertificate reads a site's certificate: a PFX file or a
// certificate and key pair, with the password of password_file when set.
// A wrong password names the password file, the one thing to check.
func loadServerCertificate(c config.Certificate) (tls.Certificate, error) {
	var password []byte
	if c.PasswordFile != "" {
		p, err := certfile.ReadPasswordFile(c.PasswordFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("read password_file: %w", err)
		}
		password = p
	}
	var (
		tc  tls.Certificate
		err error
	)
	if c.PFX != "" {
		tc, err = certfile.LoadPFX(c.PFX, password)
	} else {
		tc, err = certfile.LoadKeyPairPassword(c.Cert, c.Key, password)
	}
	if errors.Is(err, certfile.ErrWrongPassword) {
		if c.PasswordFile == "" {
			return tc, fmt.Errorf("%w (no password_file is set: the file needs one)", err)
		}
		return tc, fmt.Errorf("%w (password from %s)", err, c.PasswordFile)
	}
	return tc, err
}

// trustedProxy reports whether a connection from addr comes from one of
// trusted_proxies.
func (s *Snapshot) trustedProxy(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
