package doctor

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/mapping/report"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/verify"
)

// Purposes accepted by VerifyOptions.Purpose.
const (
	PurposeClient = "client"
	PurposeServer = "server"
)

// VerifyOptions is the input of Verify: a certificate file and either
// explicit trust (Roots, Intermediates, CRLs, Purpose, PeerName) or a site
// of a config (Config, Site), whose verifier is used as the gateway builds
// it.
type VerifyOptions struct {
	// CertFile is PEM or DER (the leaf first, then the intermediates the
	// client presents) or PKCS#12 (.p12/.pfx, opened with Password), as a
	// browser or the Windows certificate store exports it.
	CertFile string
	Password string

	// Explicit trust. Roots are required without Config.
	Roots, Intermediates []string
	// CRLs are local CRL files or directories, used in every revocation
	// mode but off.
	CRLs []string
	// Purpose is PurposeClient (default) or PurposeServer; PeerName, only
	// with PurposeServer, must match the leaf.
	Purpose  string
	PeerName string
	// Policies, RequireExplicitPolicy, InhibitPolicyMapping and
	// InhibitAnyPolicy are the RFC 5280 6.1.1 policy inputs (Policies:
	// dotted OIDs or "anyPolicy"; empty means {anyPolicy}); MaxDepth bounds
	// the chain below the anchor (0: the default, 10). With a site they
	// come from its client_auth block.
	// Profile is "standard" (default) or "strict": what a certificate
	// breaking an RFC 5280 profile rule gets (a warning, or 403.16).
	Profile               string
	Policies              []string
	RequireExplicitPolicy bool
	InhibitPolicyMapping  bool
	InhibitAnyPolicy      bool
	MaxDepth              int

	// Config and Site select a site (Site may be empty for a one-site
	// config). Config must come from config.Load.
	Config *config.Config
	Site   string

	// At is the verification time; zero means now.
	At time.Time
	// URLFetch allows the network: missing intermediates are fetched from
	// AIA caIssuers URLs, and revocation defaults to online. Without it
	// nothing is fetched.
	URLFetch bool
	// Revocation overrides the mode: "online", "cache-only" or "off".
	// Default: cache-only, or online with URLFetch; with a site, the
	// site's mode (cache-only instead of online without URLFetch).
	Revocation string
	// Timeout bounds each fetch; zero means revocation.DefaultTimeout, or
	// the site's revocation.timeout.
	Timeout time.Duration
	// Logger receives the revocation engine's log; nil discards it (the
	// report already says what failed).
	Logger *slog.Logger
	// Progress, when set, receives one line per network fetch as it starts
	// and ends (the CLI passes stderr on a terminal, or with --progress).
	Progress io.Writer
}

// verifyEnv is the verification set-up Verify runs: the one engine, how it
// was configured, and what the report needs to label certificates.
type verifyEnv struct {
	verifier      *verify.Verifier
	fetcher       *revocation.Fetcher
	mode          revocation.Mode
	modeNote      string
	onUnavailable string
	crlFiles      []string
	roots, inters []Cert
	trust         string
	purpose       verify.Purpose
	peerName      string
	warnings      []string
	close         func()

	// Site mode only.
	site       *site.Site
	siteConfig *config.Site
	mapper     *mapping.Mapper
}

// Verify answers what the gateway would answer to the certificate in
// o.CertFile, and why: it runs the verification engine (internal/verify
// with internal/revocation) that the gateway runs, after fetching missing
// intermediates from AIA caIssuers URLs when o.URLFetch allows the network.
// With a site it uses the verifier site.Build makes for that site (the
// gateway's), its issuer list and its certificate mapping, and decides
// with site.Decide.
//
// A rejected certificate is a report, not an error; errors are usage or
// input problems (unreadable files, unknown site, no trust).
func Verify(ctx context.Context, o VerifyOptions) (*VerifyReport, error) {
	if o.CertFile == "" {
		return nil, fmt.Errorf("verify: %w: no certificate file given", ErrUsage)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	ders, sources, err := readPresented(o.CertFile, o.Password)
	if err != nil {
		return nil, err
	}
	var env *verifyEnv
	prog := newProgress(o.Progress)
	if o.Config != nil {
		env, err = siteEnv(o, prog)
	} else {
		env, err = explicitEnv(o, prog)
	}
	if err != nil {
		return nil, err
	}
	defer env.close()

	// Certificates that do not parse are left to VerifyDER, which types
	// them (403.16, CRYPT_E_ASN1_BADTAG); no AIA walk starts from them.
	var presented []*x509.Certificate
	parsed := true
	for _, der := range ders {
		c, err := verify.ParseCertificate(der)
		if err != nil {
			parsed = false
			break
		}
		presented = append(presented, c)
	}
	var walk aiaResult
	if o.URLFetch && parsed {
		walk = completeChain(ctx, env.fetcher, prog, presented, certsOnly(env.inters), certsOnly(env.roots))
	}
	all := slices.Clone(ders)
	for _, c := range walk.fetched {
		all = append(all, c.Raw)
	}
	out := env.verifier.VerifyDER(ctx, all, at)
	var reach map[string]VerifyFetch
	if o.URLFetch && env.mode != revocation.Off {
		reach = reachability(ctx, env.fetcher, prog, out.Revocation)
	}

	b := &reportBuilder{o: o, env: env, at: at, out: out, presented: presented, sources: sources, walk: walk, reach: reach}
	return b.build(), nil
}

// explicitEnv builds a verifier from --roots, --intermediates and --crl.
func explicitEnv(o VerifyOptions, prog *progress) (*verifyEnv, error) {
	if o.Site != "" {
		return nil, fmt.Errorf("verify: %w: --site needs -c certgate.yaml", ErrUsage)
	}
	if len(o.Roots) == 0 {
		return nil, fmt.Errorf("verify: %w: no trust anchors: give --roots FILE (repeatable), or -c certgate.yaml --site NAME to use a site's trust", ErrUsage)
	}
	env := &verifyEnv{onUnavailable: config.OnUnavailableDeny, close: func() {}, crlFiles: o.CRLs, peerName: o.PeerName}
	switch o.Purpose {
	case "", PurposeClient:
		env.purpose = verify.PurposeClientAuth
		if o.PeerName != "" {
			return nil, fmt.Errorf("verify: %w: --peer-name needs --purpose server", ErrUsage)
		}
	case PurposeServer:
		env.purpose = verify.PurposeServerAuth
	default:
		return nil, fmt.Errorf("verify: %w: --purpose %q: want client or server", ErrUsage, o.Purpose)
	}
	var err error
	if env.roots, err = LoadCerts(o.Roots...); err != nil {
		return nil, fmt.Errorf("verify: load roots: %w", err)
	}
	if len(o.Intermediates) > 0 {
		// A DSA intermediate that cannot be parsed is left out with a
		// warning: a chain through it is a 403.16 that says DSA (the
		// presented certificates are typed by the verifier), not a
		// refusal to run.
		var skipped []error
		if env.inters, skipped, err = loadCerts(o.Intermediates, true); err != nil {
			return nil, fmt.Errorf("verify: load intermediates: %w", err)
		}
		for _, e := range skipped {
			env.warnings = append(env.warnings, fmt.Sprintf("intermediate left out: %v", e))
		}
	}
	env.trust = fmt.Sprintf("--roots %s (%s)", strings.Join(o.Roots, ", "), count(len(env.roots), "root"))
	if len(env.inters) > 0 {
		env.trust += fmt.Sprintf(", --intermediates %s (%s)", strings.Join(o.Intermediates, ", "), count(len(env.inters), "intermediate"))
	}

	switch {
	case o.Revocation != "":
		env.modeNote = "--revocation"
	case o.URLFetch:
		o.Revocation, env.modeNote = "online", "default with --urlfetch"
	default:
		o.Revocation, env.modeNote = "cache-only", "default without --urlfetch: no network"
	}
	if env.mode, err = revocation.ParseMode(o.Revocation); err != nil {
		return nil, fmt.Errorf("verify: %w: --revocation: %w", ErrUsage, err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = revocation.DefaultTimeout
	}
	issuers := append(certsOnly(env.roots), certsOnly(env.inters)...)
	if o.MaxDepth < 0 || o.MaxDepth > config.MaxChainDepth {
		return nil, fmt.Errorf("verify: %w: --max-depth %d: want 1 to %d", ErrUsage, o.MaxDepth, config.MaxChainDepth)
	}
	// The same conversion as a site's client_auth block.
	pol, err := site.PolicyOptions(config.ClientAuth{Policies: o.Policies, RequireExplicitPolicy: o.RequireExplicitPolicy,
		InhibitPolicyMapping: o.InhibitPolicyMapping, InhibitAnyPolicy: o.InhibitAnyPolicy})
	if err != nil {
		return nil, fmt.Errorf("verify: %w: --policy: %w", ErrUsage, err)
	}
	profile, err := verify.ParseProfile(o.Profile)
	if err != nil {
		return nil, fmt.Errorf("verify: %w: --profile: %w", ErrUsage, err)
	}
	vopts := verify.Options{
		Profile:       profile,
		Roots:         certsOnly(env.roots),
		Intermediates: certsOnly(env.inters),
		Purpose:       env.purpose,
		PeerName:      o.PeerName,
		MaxDepth:      o.MaxDepth,
		Policy:        pol,
	}
	if in := policyInputs(o); in != "" {
		env.trust += "; " + in
	}
	if env.mode != revocation.Off {
		ro := revocation.Options{Mode: env.mode, LocalCRLs: o.CRLs, Issuers: issuers, Timeout: timeout, Logger: o.Logger}
		prog.hook(&ro)
		if !o.At.IsZero() {
			// "What would the gateway answer at --at": its clock, which
			// judges the freshness of fetched CRLs and OCSP answers, reads
			// --at too.
			at := o.At
			ro.Now = func() time.Time { return at }
		}
		eng, err := revocation.New(ro)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		env.close = eng.Close
		// Assigned only when non-nil: a nil *Engine in the interface
		// would not read as "no revocation checking".
		vopts.Revocation = eng
	} else if len(o.CRLs) > 0 {
		env.warnings = append(env.warnings, "the --crl files were not read: revocation checking is off")
	}
	if env.verifier, err = verify.New(vopts); err != nil {
		env.close()
		return nil, fmt.Errorf("verify: %w", err)
	}
	if env.fetcher, err = revocation.NewFetcher(revocation.Options{Timeout: timeout}); err != nil {
		env.close()
		return nil, fmt.Errorf("verify: %w", err)
	}
	return env, nil
}

// siteEnv builds the site with site.Build, as the gateway does, and takes
// its verifier. No other site is built and no server key is read: verify
// needs neither. Only the revocation mode (and, with --timeout, the fetch
// timeout) may differ from the config, and the report says so: without
// --urlfetch an online site is checked cache-only, so that verify never
// uses the network unasked.
func siteEnv(o VerifyOptions, prog *progress) (*verifyEnv, error) {
	if len(o.Roots)+len(o.Intermediates)+len(o.CRLs)+len(o.Policies) > 0 || o.Purpose != "" || o.PeerName != "" ||
		o.RequireExplicitPolicy || o.InhibitPolicyMapping || o.InhibitAnyPolicy || o.MaxDepth != 0 || o.Profile != "" {
		return nil, fmt.Errorf("verify: %w: with -c the site's trust is used: --roots, --intermediates, --crl, --purpose, --peer-name, --profile, the policy flags and --max-depth do not apply (set them in the site's client_auth)", ErrUsage)
	}
	cfg := o.Config
	i, err := report.SiteIndex(cfg, o.Site)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	sc := &cfg.Sites[i]
	rc := sc.ClientAuth.Revocation
	field := fmt.Sprintf("sites[%d].client_auth", i)

	env := &verifyEnv{siteConfig: sc, purpose: verify.PurposeClientAuth, crlFiles: rc.CRLs, onUnavailable: rc.OnUnavailable}
	if env.onUnavailable == "" {
		env.onUnavailable = config.OnUnavailableDeny
	}
	siteMode, err := revocation.ParseMode(rc.Mode)
	if err != nil {
		return nil, cfg.FieldErr(field+".revocation.mode", err)
	}
	env.mode, env.modeNote = siteMode, "the site's revocation.mode"
	switch {
	case o.Revocation != "":
		if env.mode, err = revocation.ParseMode(o.Revocation); err != nil {
			return nil, fmt.Errorf("verify: %w: --revocation: %w", ErrUsage, err)
		}
		env.modeNote = "--revocation"
		if env.mode != siteMode {
			env.warnings = append(env.warnings, fmt.Sprintf("revocation mode %s from --revocation, not the site's %s: the gateway may answer differently", env.mode, siteMode))
		}
	case siteMode == revocation.Online && !o.URLFetch:
		env.mode, env.modeNote = revocation.CacheOnly, "the site's online mode without --urlfetch: no network"
		env.warnings = append(env.warnings, "the site checks revocation online, but without --urlfetch verify does not use the network: revocation was checked from the local CRLs and the disk cache only (cache-only); add --urlfetch for the gateway's exact answer")
	}
	adjust := func(ro *revocation.Options) {
		ro.Mode = env.mode
		if o.Timeout > 0 {
			ro.Timeout = o.Timeout
		}
		if !o.At.IsZero() {
			// As in explicitEnv: the engine judges freshness at --at.
			at := o.At
			ro.Now = func() time.Time { return at }
		}
		prog.hook(ro)
	}

	s, err := site.Build(cfg, i, site.Options{Logger: o.Logger, Revocation: adjust, OnFetch: prog.onFetch()})
	if err != nil {
		return nil, err
	}
	env.close = s.Close
	env.site = s
	if s.Verifier == nil {
		s.Close()
		return nil, fmt.Errorf("verify: %w: site %q asks for no client certificate (no location has client_cert accept or require), so the gateway never verifies one", ErrUsage, sc.Name)
	}
	env.verifier = s.Verifier
	fail := func(err error) (*verifyEnv, error) {
		s.Close()
		return nil, err
	}
	for _, c := range env.verifier.Anchors() {
		env.roots = append(env.roots, Cert{Certificate: c, Source: field + ".trust.roots"})
	}
	for _, c := range s.Intermediates {
		env.inters = append(env.inters, Cert{Certificate: c, Source: field + ".trust.intermediates"})
	}
	env.trust = fmt.Sprintf("site %q of %s (%s", s.Name, cfg.Path, count(len(env.roots), "root"))
	if len(env.inters) > 0 {
		env.trust += ", " + count(len(env.inters), "intermediate")
	}
	env.trust += ")"
	fo, err := site.RevocationOptions(rc)
	if err != nil {
		return fail(cfg.FieldErr(field+".revocation", err))
	}
	adjust(&fo)
	// AIA fetches obey the site's allow_hosts, timeout and max_bytes.
	if env.fetcher, err = revocation.NewFetcher(fo); err != nil {
		return fail(cfg.FieldErr(field+".revocation", err))
	}
	// The site's own mapper, as the gateway built it.
	env.mapper = s.Mapper
	return env, nil
}

// readPresented reads the certificate file as the client's presented chain:
// the DER of each CERTIFICATE block of a PEM file, or each certificate of
// a DER file (one, or several concatenated). The DER is not parsed here:
// a certificate that does not parse is the verifier's typed 403.16.
func readPresented(path, password string) (ders [][]byte, sources []string, err error) {
	if data, rerr := readFile(path); rerr == nil && (isP12(path) || looksLikePFX(data)) {
		// The leaf and the CA certificates the file carries, which is
		// what a client holding it presents.
		_, leaf, cas, err := decodeP12(data, password, path)
		if err != nil {
			return nil, nil, fmt.Errorf("verify: %w", err)
		}
		if leaf == nil {
			return nil, nil, fmt.Errorf("verify: read certificate %s: %w (a PKCS#12 trust store without a client certificate and key)", path, ErrNoCertificates)
		}
		ders = append(ders, leaf.Raw)
		for _, c := range cas {
			ders = append(ders, c.Raw)
		}
		for i := range ders {
			sources = append(sources, source(path, i, len(ders)))
		}
		return ders, sources, nil
	}
	blocks, err := certfile.ReadPEMOrDER(path)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: read certificate: %w", err)
	}
	for _, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			ders = append(ders, b.Bytes)
		case "":
			ders = append(ders, splitDER(b.Bytes)...)
		}
	}
	if len(ders) == 0 {
		return nil, nil, fmt.Errorf("verify: read certificate %s: %w (want PEM CERTIFICATE blocks or DER)", path, ErrNoCertificates)
	}
	for i := range ders {
		sources = append(sources, source(path, i, len(ders)))
	}
	return ders, sources, nil
}

// splitDER splits concatenated DER certificates by their outer SEQUENCE.
// Bytes that are not framed as one are returned as one element, for the
// parser to reject.
func splitDER(data []byte) [][]byte {
	var out [][]byte
	s := cryptobyte.String(data)
	for !s.Empty() {
		var elem cryptobyte.String
		if !s.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			return append(out, []byte(s))
		}
		out = append(out, elem)
	}
	return out
}

func certsOnly(cs []Cert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.Certificate
	}
	return out
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// policyInputs renders non-default policy inputs for the report's trust
// line, "" for the defaults.
func policyInputs(o VerifyOptions) string {
	var parts []string
	if o.Profile != "" {
		parts = append(parts, "--profile "+o.Profile)
	}
	if len(o.Policies) > 0 {
		parts = append(parts, "--policy "+strings.Join(o.Policies, ","))
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{o.RequireExplicitPolicy, "--require-explicit-policy"}, {o.InhibitPolicyMapping, "--inhibit-policy-mapping"}, {o.InhibitAnyPolicy, "--inhibit-any-policy"}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	if o.MaxDepth > 0 {
		parts = append(parts, fmt.Sprintf("--max-depth %d", o.MaxDepth))
	}
	return strings.Join(parts, " ")
}
