package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
)

// Purpose is the usage a chain is verified for.
type Purpose int

const (
	// PurposeClientAuth: EKU, if present, must allow clientAuth (or any).
	PurposeClientAuth Purpose = iota
	// PurposeServerAuth: EKU, if present, must allow serverAuth; the leaf
	// must match Options.PeerName when set.
	PurposeServerAuth
)

// Options configure a Verifier. They are fixed at load time; a config
// reload builds a new Verifier.
type Options struct {
	// Roots are the trust anchors. A non-self-signed certificate is accepted
	// as an anchor (RFC 5280 6.1.1(d) allows any anchor), with a warning.
	Roots []*x509.Certificate
	// Intermediates complete chains whose clients do not send them.
	Intermediates []*x509.Certificate
	// Revocation checks every chain element except the anchor. Nil means
	// revocation is not checked (mode off, IIS CertCheckMode 1).
	Revocation revocation.Checker
	// AllowUnavailableRevocation accepts a chain whose revocation status is
	// Unknown (on_unavailable: allow). Each use is reported in Warnings.
	AllowUnavailableRevocation bool
	Purpose                    Purpose
	// PeerName is checked against the leaf with PurposeServerAuth.
	PeerName string
	// MaxDepth bounds chain length (default 10) and MaxPaths the number of
	// candidate paths explored (default 32): presented chains are hostile input.
	MaxDepth int
	MaxPaths int
	// MaxPresented bounds how many certificates a client may present
	// (default DefaultMaxPresented); a longer list is refused before any
	// chain building (ErrChainTooLong).
	MaxPresented int
	// MaxRSABits is the largest RSA key a presented certificate may carry
	// (default DefaultMaxRSABits), unless it is one of the verifier's own
	// roots or intermediates: the cost of an RSA signature check grows with
	// the square of the key size, and the client chooses the key
	// (ErrKeyTooLarge).
	MaxRSABits int
	// SignatureBudget bounds the signature checks that fail in one Verify,
	// in P-256-verification units (an RSA-4096 check costs 5; see
	// keyCost); default DefaultSignatureBudget. A valid chain spends none
	// of it; fake candidate issuers that share a name and key identifier
	// with the real one each cost a failed check, and past the budget the
	// chain is refused (ErrSignatureBudget), so a hostile chain costs a
	// bounded multiple of a valid one (docs/benchmarks.md, "Hostile
	// chains").
	SignatureBudget int
	// Policy are the RFC 5280 6.1.1 policy inputs; the zero value (any
	// policy, nothing required) is right for a TLS server.
	Policy PolicyOptions
	// Profile decides what a certificate breaking an RFC 5280 profile rule
	// (substatus.ProfileRules) gets: a warning (ProfileStandard, the
	// default) or a 403.16 (ProfileStrict).
	Profile Profile
	// ChainCacheSize bounds the verified-chain cache (cache.go): a client
	// presenting a chain that verified before skips chain building and
	// signature checks; validity, usage and revocation are still checked
	// on every call. 0 means DefaultChainCacheSize, negative disables it.
	ChainCacheSize int
}

// Defaults of the hostile-input bounds of Options.
const (
	// DefaultMaxPresented: real clients send their leaf and one to three
	// CA certificates; ten leaves room for deep hierarchies and a root.
	DefaultMaxPresented = 10
	// DefaultMaxRSABits: 4096 is the largest RSA key public CAs issue
	// (CA/Browser Forum); crypto/tls itself accepts up to 8192.
	DefaultMaxRSABits = 4096
	// DefaultSignatureBudget: failed checks allowed, in P-256 units.
	DefaultSignatureBudget = 8
)

// Verifier verifies presented chains against fixed trust. It is safe for
// concurrent use.
type Verifier struct {
	opts      Options
	anchors   map[string][]*x509.Certificate // by dname.Key(RawSubject)
	anchorRaw map[string]bool
	// trustedProfile holds CheckProfile of every anchor and configured
	// intermediate, by raw DER: they are fixed, and a self-issued anchor
	// without an authority key identifier would otherwise cost a
	// signature check on every verification.
	trustedProfile map[string][]ProfileViolation
	intermediates  map[string][]*x509.Certificate // by dname.Key(RawSubject)
	warnings       []string
	nonSelfSigned  []*x509.Certificate
	// signerDepth is how many CRL-signer validations this verifier is
	// nested in (revchain.go).
	signerDepth int
	// cache remembers verified paths (cache.go); nil when disabled.
	cache *chainCache
}

// New indexes the trust material. It fails only on unusable input.
func New(opts Options) (*Verifier, error) {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 10
	}
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 32
	}
	if opts.MaxPresented <= 0 {
		opts.MaxPresented = DefaultMaxPresented
	}
	if opts.MaxRSABits <= 0 {
		opts.MaxRSABits = DefaultMaxRSABits
	}
	if opts.SignatureBudget <= 0 {
		opts.SignatureBudget = DefaultSignatureBudget
	}
	v := &Verifier{
		opts:           opts,
		anchors:        map[string][]*x509.Certificate{},
		anchorRaw:      map[string]bool{},
		trustedProfile: map[string][]ProfileViolation{},
		intermediates:  map[string][]*x509.Certificate{},
		cache:          newChainCache(opts.ChainCacheSize),
	}
	for i, c := range opts.Roots {
		if c == nil {
			return nil, fmt.Errorf("verify: root %d is nil", i)
		}
		if v.anchorRaw[string(c.Raw)] {
			continue
		}
		v.anchorRaw[string(c.Raw)] = true
		v.trustedProfile[string(c.Raw)] = CheckProfile(c)
		k := dname.Key(c.RawSubject)
		v.anchors[k] = append(v.anchors[k], c)
		if why := anchorUnusable(c); why != "" {
			v.warnings = append(v.warnings, fmt.Sprintf(
				"trusted root %q (sha256 %s) %s: every chain through it is rejected with 403.16", c.Subject.String(), Fingerprint(c), why))
		}
		if !isSelfSigned(c) {
			v.nonSelfSigned = append(v.nonSelfSigned, c)
			v.warnings = append(v.warnings, fmt.Sprintf(
				"trusted root %q (sha256 %s) is not self-signed: certgate uses it as a trust anchor and does not check its own issuer or revocation; chains through its issuer %q are not needed (on IIS this is KB 2802568 and usually ends in 403.16 or 403.7)",
				c.Subject.String(), Fingerprint(c), c.Issuer.String()))
		}
	}
	seen := map[string]bool{}
	for i, c := range opts.Intermediates {
		if c == nil {
			return nil, fmt.Errorf("verify: intermediate %d is nil", i)
		}
		if seen[string(c.Raw)] || v.anchorRaw[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		v.trustedProfile[string(c.Raw)] = CheckProfile(c)
		k := dname.Key(c.RawSubject)
		v.intermediates[k] = append(v.intermediates[k], c)
	}
	return v, nil
}

// anchorUnusable says why no chain can end at anchor c, or "": the rules
// of evaluate's structure stage for the anchor.
func anchorUnusable(c *x509.Certificate) string {
	switch {
	case (c.Version >= 3 && !c.BasicConstraintsValid) || (c.BasicConstraintsValid && !c.IsCA):
		return "is not a CA (no basicConstraints with cA true, RFC 5280 4.2.1.9)"
	case c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0:
		return "has a Key Usage without keyCertSign (RFC 5280 4.2.1.3)"
	}
	if exts := unhandledCritical(c); len(exts) > 0 {
		return fmt.Sprintf("has a critical extension certgate does not enforce (%v, RFC 5280 4.2)", exts)
	}
	return ""
}

// Warnings returns load-time findings, such as non-self-signed anchors.
func (v *Verifier) Warnings() []string { return v.warnings }

// NonSelfSignedAnchors returns the trust anchors that are not self-signed,
// in configured order: each has a warning in Warnings, and the site build
// logs each as a non_self_signed_root event.
func (v *Verifier) NonSelfSignedAnchors() []*x509.Certificate { return v.nonSelfSigned }

// Anchors returns the trust anchors in configured order.
func (v *Verifier) Anchors() []*x509.Certificate { return v.opts.Roots }

// NoCertificate is the outcome when a client presented no certificate
// where one is required: 403.7.
func NoCertificate() *Outcome {
	return &Outcome{
		Sub:    substatus.CertRequired,
		Code:   substatus.SecENoCredentials,
		Reason: "the client sent no certificate; if it has one, the browser probably did not offer it because its issuer is not among the CA names this site sends (run certgate probe and certgate select)",
		Err:    ErrNoCertificate,
	}
}

// VerifyDER parses the presented DER certificates first, so that a
// malformed certificate is a typed 403.16 instead of a bare error.
func (v *Verifier) VerifyDER(ctx context.Context, presented [][]byte, at time.Time) *Outcome {
	if len(presented) > v.opts.MaxPresented {
		return v.tooLong(len(presented), nil)
	}
	certs := make([]*x509.Certificate, 0, len(presented))
	for i, der := range presented {
		c, err := ParseCertificate(der)
		if err != nil {
			role := RoleIntermediate
			if i == 0 {
				role = RoleLeaf
			}
			if certfile.IsDSA(der) {
				return dsaOutcome(&Element{Index: i, Role: role}, nil,
					fmt.Sprintf("certificate %d of the presented chain is a DSA certificate", i), err)
			}
			return &Outcome{
				Sub:     substatus.CertUntrusted,
				Code:    substatus.CryptEASN1BadTag,
				Element: &Element{Index: i, Role: role},
				Reason:  fmt.Sprintf("certificate %d of the presented chain cannot be parsed: %v", i, err),
				Err:     fmt.Errorf("%w: %w", ErrMalformed, err),
			}
		}
		certs = append(certs, c)
	}
	return v.Verify(ctx, certs, at)
}

// Verify builds chains from the presented certificates (leaf first) plus the
// configured intermediates to the trust anchors, valid at time at, and
// returns the typed outcome. When several candidate chains exist, a valid
// one wins; otherwise the one that got furthest (see docs/errors.md,
// "Precedence").
func (v *Verifier) Verify(ctx context.Context, presented []*x509.Certificate, at time.Time) *Outcome {
	if len(presented) == 0 || presented[0] == nil {
		return NoCertificate()
	}
	if at.IsZero() {
		at = time.Now()
	}
	// Cheap refusals of hostile input, before any signature.
	if len(presented) > v.opts.MaxPresented {
		return v.tooLong(len(presented), presented[0])
	}
	if o := v.oversizedKey(presented); o != nil {
		return o
	}
	// A chain seen before: its signatures verified along this path, the
	// first one the builder produces for it. If the path is still
	// accepted, so is the chain, exactly as below; if not, everything is
	// redone below so that the outcome is the uncached one (cache.go).
	var key [sha256.Size]byte
	if v.cache != nil {
		key = chainKey(presented)
		if o := v.fromCache(ctx, key, presented, at); o != nil {
			return o
		}
	}
	sigs := newSigChecks(v.opts.SignatureBudget)
	b := builder{v: v, presented: presented[1:], at: at, sigs: sigs}
	b.build([]*x509.Certificate{presented[0]})

	var best *Outcome
	bestRank := -1
	for i, p := range b.complete {
		if bestRank >= stageStructure {
			// Cheap stages first: a path failing structure, validity or
			// usage at a stage no later than the best failure so far
			// cannot win, whatever its signatures, so they are not checked.
			if o, st := v.evaluateTo(ctx, p, presented, at, true, stageUsage, nil); o != nil && st <= bestRank {
				continue
			}
		}
		o, rank := v.evaluateTo(ctx, p, presented, at, false, stageAccepted, sigs)
		if sigs.exhausted {
			return v.budgetExhausted(presented, sigs)
		}
		if o.OK() {
			if i == 0 && v.cache != nil {
				v.cache.store(key, presented, p)
			}
			return o
		}
		if rank > bestRank {
			best, bestRank = o, rank
		}
	}
	if sigs.exhausted {
		return v.budgetExhausted(presented, sigs)
	}
	if best != nil {
		return best
	}
	o := v.incomplete(b.longestIncomplete(), presented, sigs)
	if sigs.exhausted {
		return v.budgetExhausted(presented, sigs)
	}
	return o
}

// Stages of evaluation, in the order they are checked. A failure at a later
// stage ranks higher: it came closer to being accepted. This is the
// precedence documented in docs/errors.md.
const (
	stageSignature = iota + 1
	stageStructure
	stageValidity
	stageUsage
	stageConstraints
	stageRevocation
	stageAccepted
)

// evaluate checks one candidate path built from presented (leaf first).
// sigsVerified skips the signature stage for a path from the chain cache,
// whose signatures were verified when it was stored.
func (v *Verifier) evaluate(ctx context.Context, path, presented []*x509.Certificate, at time.Time, sigsVerified bool) (*Outcome, int) {
	return v.evaluateTo(ctx, path, presented, at, sigsVerified, stageAccepted, nil)
}

// evaluateTo is evaluate stopping after stage upTo (stageUsage or
// stageAccepted): when every stage up to it passes it returns nil and the
// next stage. Signature checks go through sigs
// (nil: unbudgeted).
func (v *Verifier) evaluateTo(ctx context.Context, path, presented []*x509.Certificate, at time.Time, sigsVerified bool, upTo int, sigs *sigChecks) (*Outcome, int) {
	last := len(path) - 1
	elem := func(i int) *Element {
		role := RoleIntermediate
		switch i {
		case 0:
			role = RoleLeaf
		case last:
			role = RoleRoot
		}
		return &Element{Index: i, Role: role, Cert: path[i]}
	}
	fail := func(stage int, sub substatus.Sub, code substatus.Code, i int, sentinel error, format string, args ...any) (*Outcome, int) {
		reason := fmt.Sprintf(format, args...)
		return &Outcome{Sub: sub, Code: code, Element: elem(i), Reason: reason, Chain: path,
			Err: fmt.Errorf("%w: %s", sentinel, reason)}, stage
	}

	// 1. Signatures: each certificate is signed by the next one's key.
	if !sigsVerified {
		if o := signatureFailure(path, sigs); o != nil {
			return o, stageSignature
		}
	}

	// 2. Structure: issuers are CAs allowed to sign, path lengths hold, and
	// no certificate carries a critical extension we do not enforce.
	for i := 1; i < last; i++ {
		c := path[i]
		if !c.BasicConstraintsValid || !c.IsCA {
			return fail(stageStructure, substatus.CertUntrusted, substatus.CertERole, i, ErrNotCA,
				"%s issued %s but is not a CA (basicConstraints cA is not true)", describe(c), describe(path[i-1]))
		}
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return fail(stageStructure, substatus.CertUntrusted, substatus.CertEWrongUsage, i, ErrWrongUsage,
				"%s issued %s but its Key Usage does not include keyCertSign", describe(c), describe(path[i-1]))
		}
	}
	for i := 1; i <= last; i++ {
		c := path[i]
		if !c.BasicConstraintsValid || !(c.MaxPathLen > 0 || c.MaxPathLenZero) {
			continue
		}
		// RFC 5280 6.1.4(l,m): non-self-issued intermediates below this CA.
		below := 0
		for j := 1; j < i; j++ {
			if !selfIssued(path[j]) {
				below++
			}
		}
		if below > c.MaxPathLen {
			return fail(stageStructure, substatus.CertUntrusted, substatus.CertEPathLenConst, i, ErrPathLen,
				"%s allows %d intermediate CA(s) below it (pathLenConstraint) but the chain has %d", describe(c), c.MaxPathLen, below)
		}
	}
	// The anchor's key signs the certificate below it, so it must be a
	// key allowed to sign certificates (RFC 5280 4.2.1.9: a version 3
	// certificate without basicConstraints cA MUST NOT be used to verify
	// certificate signatures; 4.2.1.3: nor one whose Key Usage lacks
	// keyCertSign). crypto/x509's CheckSignatureFrom applies the same rule
	// to every parent, the root included; a version 1 root, which cannot
	// carry extensions, is accepted as it is there.
	if last > 0 {
		a := path[last]
		if (a.Version >= 3 && !a.BasicConstraintsValid) || (a.BasicConstraintsValid && !a.IsCA) {
			return fail(stageStructure, substatus.CertUntrusted, substatus.CertERole, last, ErrNotCA,
				"trusted root %s issued %s but is not a CA (no basicConstraints with cA true), so its key may not verify certificate signatures (RFC 5280 4.2.1.9)", describe(a), describe(path[last-1]))
		}
		if a.KeyUsage != 0 && a.KeyUsage&x509.KeyUsageCertSign == 0 {
			return fail(stageStructure, substatus.CertUntrusted, substatus.CertEWrongUsage, last, ErrWrongUsage,
				"trusted root %s issued %s but its Key Usage does not include keyCertSign (RFC 5280 4.2.1.3)", describe(a), describe(path[last-1]))
		}
	}
	// Every certificate, the anchor included: RFC 5280 6.1 treats the
	// anchor as an input whose extensions are not processed, but an anchor
	// whose issuer marked an extension critical asks not to be used by
	// software that does not understand it (RFC 5280 4.2), and
	// crypto/x509 refuses it too.
	for i := 0; i <= last; i++ {
		if exts := unhandledCritical(path[i]); len(exts) > 0 {
			return fail(stageStructure, substatus.CertUntrusted, substatus.CertECritical, i, ErrCriticalExtension,
				"%s has a critical extension certgate does not enforce (%v), so it must be rejected (RFC 5280 4.2)", describe(path[i]), exts)
		}
	}

	// Profile rules (profile.go): rejected under the strict profile,
	// reported otherwise. They come after the structural checks, whose
	// diagnostics are more specific.
	var profileWarnings []string
	for i := 0; i <= last; i++ {
		pvs, ok := v.trustedProfile[string(path[i].Raw)]
		if !ok {
			pvs = CheckProfile(path[i])
		}
		for _, pv := range pvs {
			if v.opts.Profile == ProfileStrict {
				return fail(stageStructure, substatus.CertUntrusted, substatus.CertEMalformed, i, ErrProfile,
					"%s; the profile is strict, so it is rejected (the standard profile accepts it with a warning)", pv)
			}
			profileWarnings = append(profileWarnings, pv.String()+"; accepted because the profile is standard (profile: strict rejects it)")
		}
	}

	// 3. Validity windows, leaf first so the message names the most
	// specific certificate.
	for i := 0; i <= last; i++ {
		c := path[i]
		if at.Before(c.NotBefore) {
			return fail(stageValidity, substatus.CertTimeInvalid, substatus.CertEExpired, i, ErrNotYetValid,
				"%s is not yet valid: valid from %s, now is %s", describe(c), c.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
		if at.After(c.NotAfter) {
			return fail(stageValidity, substatus.CertTimeInvalid, substatus.CertEExpired, i, ErrExpired,
				"%s expired at %s, now is %s", describe(c), c.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
	}

	// 4. Usage of the leaf, and EKU nesting through the intermediates as
	// CryptoAPI and Go both enforce.
	// A CRL signer's path (revchain.go) needs cRLSign, not a TLS usage.
	if v.opts.Purpose == purposeCRLSigner {
		if ku := path[0].KeyUsage; ku != 0 && ku&x509.KeyUsageCRLSign == 0 {
			return fail(stageUsage, substatus.CertUntrusted, substatus.CertEWrongUsage, 0, ErrWrongUsage,
				"%s signed a CRL but its Key Usage does not include cRLSign (it has %s)", describe(path[0]), keyUsageNames(ku))
		}
	} else {
		leaf := path[0]
		want, wantName := x509.ExtKeyUsageClientAuth, "clientAuth"
		if v.opts.Purpose == PurposeServerAuth {
			want, wantName = x509.ExtKeyUsageServerAuth, "serverAuth"
		}
		if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			return fail(stageUsage, substatus.CertUntrusted, substatus.CertEWrongUsage, 0, ErrWrongUsage,
				"%s has a Key Usage extension without digitalSignature (it has %s), so it cannot sign the TLS handshake", describe(leaf), keyUsageNames(leaf.KeyUsage))
		}
		for i := 0; i < last || (last == 0 && i == 0); i++ {
			c := path[i]
			if !ekuAllows(c, want) {
				what := "the leaf"
				if i > 0 {
					what = "a CA above the leaf"
				}
				return fail(stageUsage, substatus.CertUntrusted, substatus.CertEWrongUsage, i, ErrWrongUsage,
					"%s has an Extended Key Usage without %s (it has %s): %s is not allowed for %s authentication", describe(c), wantName, ekuNames(c), what, wantName[:len(wantName)-4])
			}
		}
		if v.opts.Purpose == PurposeServerAuth && v.opts.PeerName != "" {
			if err := leaf.VerifyHostname(v.opts.PeerName); err != nil {
				return fail(stageUsage, substatus.CertUntrusted, substatus.CertEInvalidName, 0, ErrWrongUsage,
					"%s is not valid for %q: %v", describe(leaf), v.opts.PeerName, err)
			}
		}
	}

	if upTo <= stageUsage {
		return nil, stageUsage + 1
	}

	// 5. Name constraints and certificate policies (constraints.go).
	if v.needsConstraintCheck(path) {
		if o, ok := v.checkConstraints(path, fail); !ok {
			return o, stageConstraints
		}
	}

	// 6. Revocation of every element but the anchor. Only reached for paths
	// whose signatures verify to an anchor: the URLs are client-supplied.
	out := &Outcome{Sub: substatus.OK, Code: substatus.NoError, Chain: path, Warnings: profileWarnings}
	if v.opts.Revocation == nil {
		return out, stageAccepted
	}
	out.Revocation = make([]revocation.Result, len(path))
	for i := 0; i < last; i++ {
		if err := ctx.Err(); err != nil {
			return fail(stageRevocation, substatus.CertRevoked, substatus.CryptERevocationOffline, i, ErrRevocationOffline,
				"revocation check of %s was cancelled: %v", describe(path[i]), err)
		}
		r := v.checkRevocation(ctx, path, presented, i, at)
		out.Revocation[i] = r
		switch r.Status {
		case revocation.Revoked:
			o, st := fail(stageRevocation, substatus.CertRevoked, substatus.CryptERevoked, i, ErrRevoked,
				"%s (serial %s) was revoked at %s, reason %s, according to %s", describe(path[i]), serialHex(path[i]),
				r.RevokedAt.UTC().Format(time.RFC3339), reasonName(r.ReasonCode), r.Source)
			o.Revocation = out.Revocation
			return o, st
		case revocation.Unknown:
			if v.opts.AllowUnavailableRevocation {
				out.Warnings = append(out.Warnings, fmt.Sprintf(
					"revocation status of %s is unknown (%s) and on_unavailable is allow: ACCEPTED WITHOUT A REVOCATION CHECK", describe(path[i]), r.Reason))
				continue
			}
			// A certificate that names no CRL or OCSP location at all is
			// CRYPT_E_NO_REVOCATION_CHECK in CryptoAPI, not "offline": no
			// server was down, there was nothing to ask.
			code := substatus.CryptERevocationOffline
			if errors.Is(r.Err, revocation.ErrNoSource) {
				code = substatus.CryptENoRevocationCheck
			}
			o, st := fail(stageRevocation, substatus.CertRevoked, code, i, ErrRevocationOffline,
				"the revocation status of %s could not be determined: %s", describe(path[i]), r.Reason)
			o.Revocation = out.Revocation
			return o, st
		}
	}
	return out, stageAccepted
}

// incomplete explains a chain that reached no anchor. Its self-signed
// check goes through sigs (nil: unbudgeted).
func (v *Verifier) incomplete(path []*x509.Certificate, presented []*x509.Certificate, sigs *sigChecks) *Outcome {
	top := path[len(path)-1]
	i := len(path) - 1
	role := RoleIntermediate
	if i == 0 {
		role = RoleLeaf
	}
	o := &Outcome{Sub: substatus.CertUntrusted, Chain: path, Element: &Element{Index: i, Role: role, Cert: top}}
	if selfIssued(top) && sigs.check(top, top) == nil {
		o.Code = substatus.CertEUntrustedRoot
		if i > 0 {
			o.Element.Role = RoleRoot
		}
		o.Reason = fmt.Sprintf("the chain ends in root %q (sha256 %s), which is not among the site's trusted roots", top.Subject.String(), Fingerprint(top))
		o.Err = fmt.Errorf("%w: %s", ErrUntrustedRoot, o.Reason)
		return o
	}
	o.Code = substatus.CertEChaining
	if k := dname.Key(top.RawIssuer); len(v.anchors[k]) > 0 || len(v.intermediates[k]) > 0 {
		o.Code = substatus.TrustECertSignature
		o.Reason = fmt.Sprintf("%s names issuer %q, but no certificate with that name in the trust store or the presented chain has the key that signed it", describe(top), top.Issuer.String())
		o.Err = fmt.Errorf("%w: %s", ErrSignature, o.Reason)
		return o
	}
	o.Reason = fmt.Sprintf("the issuer %q of %s was not found: the client did not send it and it is neither a trusted root nor in trust.intermediates", top.Issuer.String(), describe(top))
	o.Err = fmt.Errorf("%w: %s", ErrChaining, o.Reason)
	return o
}

// builder enumerates candidate paths depth-first, bounded by MaxDepth and
// MaxPaths so that a hostile client cannot make it explode.
type builder struct {
	v         *Verifier
	presented []*x509.Certificate
	// at orders candidate issuers (valid ones first); sigs counts and
	// memoises signature checks (nil: unbudgeted, for PathOf).
	at         time.Time
	sigs       *sigChecks
	complete   [][]*x509.Certificate
	incomplete [][]*x509.Certificate
	explored   int
}

func (b *builder) build(path []*x509.Certificate) {
	if b.explored >= b.v.opts.MaxPaths || b.sigs != nil && b.sigs.exhausted {
		return
	}
	cur := path[len(path)-1]
	found := false
	for _, a := range b.v.anchors[dname.Key(cur.RawIssuer)] {
		if bytes.Equal(a.Raw, cur.Raw) {
			continue
		}
		found = true
		b.explored++
		b.complete = append(b.complete, appendCopy(path, a))
		if b.explored >= b.v.opts.MaxPaths {
			return
		}
	}
	// A certificate that is itself an anchor ends the path there too.
	if len(path) > 1 && b.v.anchorRaw[string(cur.Raw)] {
		return
	}
	if len(path) < b.v.opts.MaxDepth && !(selfIssued(cur) && b.sigs.check(cur, cur) == nil) {
		for _, next := range b.issuerCandidates(cur) {
			if inPath(path, next) {
				continue
			}
			found = true
			b.build(appendCopy(path, next))
			if b.explored >= b.v.opts.MaxPaths {
				return
			}
		}
	}
	if !found {
		b.explored++
		b.incomplete = append(b.incomplete, path)
	}
}

// issuerCandidates returns presented then configured intermediates whose
// subject is cur's issuer, ordered by cheap checks so that the path most
// likely to verify is tried, and its signatures spent, first (see
// candidateRank).
func (b *builder) issuerCandidates(cur *x509.Certificate) []*x509.Certificate {
	var cands []*x509.Certificate
	add := func(c *x509.Certificate) {
		if b.v.anchorRaw[string(c.Raw)] {
			return // reached through b.v.anchors instead
		}
		cands = append(cands, c)
	}
	issuer := dname.Key(cur.RawIssuer)
	for _, c := range b.presented {
		if c != nil && dname.Key(c.RawSubject) == issuer {
			add(c)
		}
	}
	for _, c := range b.v.intermediates[issuer] {
		dup := false
		for _, p := range b.presented {
			if p != nil && bytes.Equal(p.Raw, c.Raw) {
				dup = true
				break
			}
		}
		if !dup {
			add(c)
		}
	}
	if len(cands) > 1 {
		slices.SortStableFunc(cands, func(x, y *x509.Certificate) int {
			return candidateRank(cur, x, b.at) - candidateRank(cur, y, b.at)
		})
	}
	return cands
}

func (b *builder) longestIncomplete() []*x509.Certificate {
	var best []*x509.Certificate
	for _, p := range b.incomplete {
		if len(p) > len(best) {
			best = p
		}
	}
	return best
}

func appendCopy(path []*x509.Certificate, c *x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, len(path), len(path)+1)
	copy(out, path)
	return append(out, c)
}

func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if bytes.Equal(p.Raw, c.Raw) {
			return true
		}
	}
	return false
}

func checkSignature(child, parent *x509.Certificate) error {
	// CheckSignature, not CheckSignatureFrom: CA-ness is checked separately
	// so that the reason can say which rule failed.
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

func isSelfSigned(c *x509.Certificate) bool {
	if !selfIssued(c) {
		return false
	}
	return checkSignature(c, c) == nil
}

func ekuAllows(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true // absent EKU is unrestricted (RFC 5280 4.2.1.12)
	}
	for _, u := range c.ExtKeyUsage {
		if u == want || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// Fingerprint is the lowercase hex SHA-256 of the DER certificate.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return "?"
	}
	return fmt.Sprintf("%X", c.SerialNumber)
}

func describe(c *x509.Certificate) string {
	name := c.Subject.String()
	if name == "" {
		name = "(empty subject, serial " + serialHex(c) + ")"
	}
	return fmt.Sprintf("certificate %q", name)
}

// IsSelfSigned reports whether c names itself as issuer (RFC 5280 7.1
// name matching) and its own key verifies its signature, by the rules the
// verifier applies to every signature (SHA-1 accepted, MD5 refused, as
// crypto/x509's CheckSignature). It is the test New uses to warn about a
// non-self-signed trust anchor.
func IsSelfSigned(c *x509.Certificate) bool { return isSelfSigned(c) }

// IsSelfIssued reports whether c's subject and issuer are the same name
// compared as RFC 5280 7.1 says (not byte for byte).
func IsSelfIssued(c *x509.Certificate) bool { return selfIssued(c) }

// EKUAllows reports whether c's Extended Key Usage admits want: no EKU
// extension, or one listing want or anyExtendedKeyUsage (RFC 5280
// 4.2.1.12). Verify applies it to the leaf and every CA above it (EKU
// nesting, as CryptoAPI and Go do).
func EKUAllows(c *x509.Certificate, want x509.ExtKeyUsage) bool { return ekuAllows(c, want) }

// CheckSignature verifies that parent's key signed child, with the rules
// Verify uses for each link of a chain.
func CheckSignature(child, parent *x509.Certificate) error { return checkSignature(child, parent) }

// PathOf builds the path from the CA certificate c to a trust anchor
// through the configured intermediates, as Verify builds client chains:
// issuer names compared as RFC 5280 7.1 says, candidates whose key
// identifier matches first, each signature checked by CheckSignature. It
// returns the first such path (c first, anchor last; just c when c is an
// anchor), or the outcome Verify gives a client chain that stops at c:
// 403.16 with CERT_E_CHAINING, CERT_E_UNTRUSTEDROOT or
// TRUST_E_CERT_SIGNATURE. Validity, usage, constraints and revocation are
// not checked: they depend on the client chain. `certgate lint` uses it to
// find configured intermediates that chain to no root.
func (v *Verifier) PathOf(c *x509.Certificate) ([]*x509.Certificate, *Outcome) {
	if c == nil {
		return nil, NoCertificate()
	}
	if v.anchorRaw[string(c.Raw)] {
		return []*x509.Certificate{c}, nil
	}
	b := builder{v: v}
	b.build([]*x509.Certificate{c})
	var sigFail *Outcome
	for _, p := range b.complete {
		o := signatureFailure(p, nil)
		if o == nil {
			return p, nil
		}
		if sigFail == nil {
			sigFail = o
		}
	}
	if sigFail != nil {
		return nil, sigFail
	}
	return nil, v.incomplete(b.longestIncomplete(), nil, nil)
}

// signatureFailure is stage 1 of evaluate: the outcome for the first link
// of path whose signature does not verify, nil when all do. Checks go
// through sigs (nil: unbudgeted).
func signatureFailure(path []*x509.Certificate, sigs *sigChecks) *Outcome {
	for i := 0; i < len(path)-1; i++ {
		if err := sigs.check(path[i], path[i+1]); err != nil {
			role := RoleIntermediate
			if i == 0 {
				role = RoleLeaf
			}
			if isDSA(path[i]) || isDSA(path[i+1]) {
				return dsaOutcome(&Element{Index: i, Role: role, Cert: path[i]}, path,
					fmt.Sprintf("%s is signed with DSA by %q", describe(path[i]), path[i+1].Subject.String()), err)
			}
			reason := fmt.Sprintf("the signature of %s does not verify with the public key of its issuer %q: %v", describe(path[i]), path[i+1].Subject.String(), err)
			return &Outcome{Sub: substatus.CertUntrusted, Code: substatus.TrustECertSignature, Element: &Element{Index: i, Role: role, Cert: path[i]},
				Reason: reason, Chain: path, Err: fmt.Errorf("%w: %s", ErrSignature, reason)}
		}
	}
	return nil
}

func isDSA(c *x509.Certificate) bool {
	return c.PublicKeyAlgorithm == x509.DSA || c.SignatureAlgorithm == x509.DSAWithSHA1 || c.SignatureAlgorithm == x509.DSAWithSHA256
}

// dsaOutcome is the 403.16 for a DSA certificate or signature: one
// sentence that says DSA, whatever crypto/x509's error was (an
// unimplemented algorithm, or parameters it cannot parse).
func dsaOutcome(elem *Element, chain []*x509.Certificate, what string, cause error) *Outcome {
	reason := what + ", which certgate does not accept: DSA is withdrawn by FIPS 186-5 and crypto/x509 verifies no DSA signature; reissue the certificate with an RSA or ECDSA key"
	return &Outcome{Sub: substatus.CertUntrusted, Code: substatus.TrustECertSignature, Element: elem, Reason: reason, Chain: chain,
		Err: fmt.Errorf("%w: %s: %w", ErrDSA, reason, cause)}
}
