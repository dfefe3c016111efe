package site

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/reqpath"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/verify"
)

// Site is everything derived from one config site that a decision needs.
// It is immutable once built and safe for concurrent use. It holds no
// server key and no listener; its only background work is the revocation
// engine's refresh, between Start and Close.
type Site struct {
	// Index is the position in config.sites, for field paths and logs.
	Index int
	// Name is the configured name, or "site<Index>" when it has none.
	Name string
	// Config is the site's config. Do not modify it.
	Config *config.Site
	// Roots and Intermediates are the loaded client_auth.trust files, in
	// configured order (nil when not configured).
	Roots, Intermediates []*x509.Certificate
	// Issuers is the effective list of CA names sent in the CertificateRequest.
	Issuers *IssuerList
	// Verifier verifies client chains; nil when no location of the site
	// accepts or requires a certificate.
	Verifier *verify.Verifier
	// Revocation is the site's CRL/OCSP engine; nil when revocation is off
	// or the site never asks for a certificate. Its background refresh runs
	// between Start and Close.
	Revocation *revocation.Engine
	// RequestsCert is true when the handshake asks for a client
	// certificate: some location accepts or requires one. Go has no
	// server-side renegotiation, so it is asked for up front on every
	// connection to the site and enforced per request.
	RequestsCert bool
	// Locations sorted longest prefix first.
	Locations []*Location
	// Implicit governs the paths no location covers, with the site's
	// client_auth.client_cert policy (require on a site with trust
	// roots, unless set).
	Implicit *Location
	// Mapper maps verified certificates to users (the site's mapping:
	// block, issue 4); it maps nothing when the block is absent.
	Mapper *mapping.Mapper
	// Forward says which identity headers the upstream receives, converted
	// once from the site's forward: block.
	Forward forward.Options
	// PathAllow are the canonical-path rules the site opted out of
	// (paths.allow); reqpath.Check applies the others to every request.
	PathAllow reqpath.Rule
	// CaseInsensitive matches location paths ignoring case
	// (paths.case_insensitive).
	CaseInsensitive bool
	// Warnings are the load-time findings, already logged by Build:
	// non-self-signed trust anchors, issuer list size and truncation.
	Warnings []string
}

// Location is one path-prefix rule of a site.
type Location struct {
	// Index is the position in sites[].locations; -1 for the implicit
	// location of paths no rule covers.
	Index int
	// Path is the prefix, matched on whole path segments (see Site.Locate).
	Path string
	// Policy is config.ClientCertIgnore, ClientCertAccept or ClientCertRequire.
	Policy string
	// RejectInvalid turns an invalid certificate on an accept location
	// into a 403 instead of an anonymous request.
	RejectInvalid bool
	// Upgrade lists the upgrade protocols the location lets through
	// (lower case); empty refuses every upgrade.
	Upgrade []string
	// Config is the location's config (allow_users, allow_groups...); nil
	// for the implicit location.
	Config *config.Location
}

// Options are the injected edges of Build and BuildAll.
type Options struct {
	// Logger receives the load-time findings; nil discards them.
	Logger *slog.Logger
	// OnFetch is called after every CRL or OCSP fetch of the sites'
	// revocation engines (revocation.Options.OnFetch), for the fetch
	// counters and histograms. It must not block.
	OnFetch func(kind, url string, ok bool, d time.Duration)
	// Revocation, when set, adjusts a site's revocation options after
	// they are read from the config and before the engine is built:
	// doctor commands use it to check cache-only (no network) or with a
	// flag's timeout. A mode set to revocation.Off builds no engine.
	Revocation func(*revocation.Options)
}

// Build derives site i of cfg. It loads the trust, issuer list and
// mapping files, but no server key. Errors name the field whose file
// failed (cfg.FieldErr); all of them are reported, joined. Warnings are
// logged to o.Logger and kept in Site.Warnings. cfg must have been through
// config.Load/Parse (or ApplyDefaults and Validate). The caller must Close
// the site to release its revocation engine.
func Build(cfg *config.Config, i int, o Options) (*Site, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sc := &cfg.Sites[i]
	p := "sites[" + strconv.Itoa(i) + "]"
	s := &Site{Index: i, Name: sc.Name, Config: sc, CaseInsensitive: sc.Paths.CaseInsensitive}
	for _, name := range sc.Paths.Allow {
		if r, ok := reqpath.Parse(name); ok && r.Optional() {
			s.PathAllow |= r
		}
	}
	if s.Name == "" {
		s.Name = "site" + strconv.Itoa(i)
	}
	log := logger.With("site", s.Name)
	var errs []error

	for j := range sc.Locations {
		lc := &sc.Locations[j]
		if !strings.HasPrefix(lc.Path, "/") {
			errs = append(errs, cfg.FieldErr(fmt.Sprintf("%s.locations[%d].path", p, j), fmt.Errorf("%w (got %q)", ErrBadLocation, lc.Path)))
			continue
		}
		loc := &Location{Index: j, Path: lc.Path, Policy: lc.ClientCert, Upgrade: lc.Upgrade, Config: lc}
		if lc.RejectInvalid != nil {
			loc.RejectInvalid = *lc.RejectInvalid
		} else {
			loc.RejectInvalid = sc.ClientAuth.RejectInvalid
		}
		if loc.Policy == "" {
			loc.Policy = config.ClientCertIgnore
		}
		if loc.Policy != config.ClientCertIgnore {
			s.RequestsCert = true
		}
		s.Locations = append(s.Locations, loc)
	}
	s.Implicit = ImplicitLocation
	if pol := sc.ClientAuth.ClientCert; pol != "" && pol != config.ClientCertIgnore {
		s.Implicit = &Location{Index: -1, Path: "/", Policy: pol, RejectInvalid: sc.ClientAuth.RejectInvalid}
		s.RequestsCert = true
	}
	// Longest prefix first; equal lengths keep config order (stable).
	sort.SliceStable(s.Locations, func(a, b int) bool {
		return len(s.Locations[a].Path) > len(s.Locations[b].Path)
	})

	var err error
	trust := sc.ClientAuth.Trust
	if len(trust.Roots) > 0 {
		if s.Roots, err = loadCerts(trust.Roots); err != nil {
			errs = append(errs, cfg.FieldErr(p+".client_auth.trust.roots", err))
		}
	}
	if len(trust.Intermediates) > 0 {
		if s.Intermediates, err = loadCerts(trust.Intermediates); err != nil {
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
		source = s.Roots
	}
	// Mapping rules (and their one_to_one cert: files) belong to the
	// build: a reload with a bad rule keeps the previous snapshot.
	s.Forward = ForwardOptions(sc.Forward)
	if s.Mapper, err = CompileMapping(cfg, i); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	if s.RequestsCert {
		if err := s.buildVerifier(cfg, p, log, o); err != nil {
			return nil, err
		}
	}

	s.Issuers = NewIssuerList(source, il)
	for _, w := range s.Issuers.log(log, p+".client_auth.issuer_list") {
		s.Warnings = append(s.Warnings, fmt.Sprintf("site %q: %s", s.Name, w))
	}
	return s, nil
}

// buildVerifier builds the verifier and its revocation engine.
func (s *Site) buildVerifier(cfg *config.Config, p string, log *slog.Logger, o Options) error {
	ca := s.Config.ClientAuth
	rc := ca.Revocation
	pol, err := PolicyOptions(ca)
	if err != nil {
		return cfg.FieldErr(p+".client_auth.policies", err)
	}
	profile, err := verify.ParseProfile(ca.Profile)
	if err != nil {
		return cfg.FieldErr(p+".client_auth.profile", err)
	}
	vopts := verify.Options{
		Profile:                    profile,
		Roots:                      s.Roots,
		Intermediates:              s.Intermediates,
		AllowUnavailableRevocation: rc.OnUnavailable == config.OnUnavailableAllow,
		Purpose:                    verify.PurposeClientAuth,
		MaxRSABits:                 s.Config.ClientAuth.MaxRSABits,
		MaxPresented:               s.Config.ClientAuth.MaxChainLength,
		MaxDepth:                   ca.MaxDepth,
		Policy:                     pol,
	}
	mode, err := revocation.ParseMode(rc.Mode)
	if err != nil {
		return cfg.FieldErr(p+".client_auth.revocation.mode", err)
	}
	ro, err := RevocationOptions(rc)
	switch {
	case err != nil && mode != revocation.Off:
		return cfg.FieldErr(p+".client_auth.revocation", err)
	case err != nil:
		// Settings that apply only to checking do not matter when
		// nothing is checked.
		ro = revocation.Options{Mode: mode, LocalCRLs: rc.CRLs}
	}
	if o.Revocation != nil {
		o.Revocation(&ro)
	}
	if ro.Mode == revocation.Off {
		log.Info("revocation is not checked for this site (mode off, IIS CertCheckMode 1)", "field", p+".client_auth.revocation.mode")
	} else {
		ro.Logger, ro.OnFetch = log, o.OnFetch
		ro.Issuers = append(slices.Clone(s.Roots), s.Intermediates...)
		engine, err := revocation.New(ro)
		if err != nil {
			return cfg.FieldErr(p+".client_auth.revocation", err)
		}
		s.Revocation = engine
		// Assigned only when non-nil: a nil *Engine in the interface
		// would not read as "no revocation checking".
		vopts.Revocation = engine
	}
	if s.Verifier, err = verify.New(vopts); err != nil {
		s.Close()
		return cfg.FieldErr(p+".client_auth.trust", err)
	}
	for _, c := range s.Verifier.NonSelfSignedAnchors() {
		events.NonSelfSignedRoot(log, c, slog.String("field", p+".client_auth.trust.roots"))
	}
	for _, w := range s.Verifier.Warnings() {
		s.Warnings = append(s.Warnings, fmt.Sprintf("site %q: %s", s.Name, w))
	}
	return nil
}

// PolicyOptions converts the RFC 5280 6.1.1 policy inputs of a
// client_auth block (policies and the three flags) for the verifier.
func PolicyOptions(ca config.ClientAuth) (verify.PolicyOptions, error) {
	o := verify.PolicyOptions{
		RequireExplicit:  ca.RequireExplicitPolicy,
		InhibitMapping:   ca.InhibitPolicyMapping,
		InhibitAnyPolicy: ca.InhibitAnyPolicy,
	}
	for _, s := range ca.Policies {
		oid, err := verify.ParsePolicyOID(s)
		if err != nil {
			return o, err
		}
		o.InitialPolicies = append(o.InitialPolicies, oid)
	}
	return o, nil
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

// Locate returns the location governing a request path: the longest
// location path that is a prefix of it on a segment boundary. "/app"
// matches "/app" and "/app/x" but not "/application"; "/app/" matches
// "/app/x" but not "/app". A path no location covers is governed by the
// site's Implicit location (client_auth.client_cert: require by default
// on a site with trust roots, so that a location list cut short fails
// closed); it has Index -1.
//
// Matching is case-sensitive, like URL paths (RFC 3986 section 6.2.2.1),
// unless the site sets paths.case_insensitive for a backend that ignores
// case (IIS, ASP.NET, Windows file systems): then /SECRET is under
// /secret, with Unicode simple case folding. path must have passed
// reqpath.Check.
func (s *Site) Locate(path string) *Location {
	for _, l := range s.Locations {
		if s.CaseInsensitive {
			if pathHasPrefixFold(path, l.Path) {
				return l
			}
		} else if pathHasPrefix(path, l.Path) {
			return l
		}
	}
	if s.Implicit != nil {
		return s.Implicit
	}
	return ImplicitLocation
}

// Location returns the site's location for sites[].locations[j], or nil.
func (s *Site) Location(j int) *Location {
	for _, l := range s.Locations {
		if l.Index == j {
			return l
		}
	}
	return nil
}

// AnyLocation requires a client certificate and has no allow lists: the
// location the doctor decides with when it knows no request path
// (`certgate verify -c`, `certgate map test`). Do not modify it.
var AnyLocation = &Location{Index: -1, Path: "/", Policy: config.ClientCertRequire}

// ImplicitLocation governs the paths no location covers on a site whose
// client_auth.client_cert is ignore (a site without trust roots): client
// certificates are ignored. Do not modify it.
var ImplicitLocation = &Location{Index: -1, Path: "/", Policy: config.ClientCertIgnore}

func pathHasPrefixFold(path, prefix string) bool {
	n, ok := reqpath.HasPrefixFold(path, prefix)
	if !ok {
		return false
	}
	return n == len(path) || strings.HasSuffix(prefix, "/") || path[n] == '/'
}

func pathHasPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// TrustedCAs returns the site's trust anchors (nil when no location uses
// client certificates).
func (s *Site) TrustedCAs() []*x509.Certificate {
	if s.Verifier == nil {
		return nil
	}
	return s.Verifier.Anchors()
}

// Start starts the site's background work: CRL and OCSP refresh before
// nextUpdate, so that steady-state requests never wait on a fetch.
func (s *Site) Start(ctx context.Context) {
	if s.Revocation != nil {
		s.Revocation.Start(ctx)
	}
}

// Close stops the site's background work. Verifications still running
// keep working: their revocation checks use the cache and fetch on demand.
func (s *Site) Close() {
	if s.Revocation != nil {
		s.Revocation.Close()
	}
	if s.Mapper != nil {
		s.Mapper.Close()
	}
}
