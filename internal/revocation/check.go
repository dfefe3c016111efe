package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/events"
)

var (
	asn1CRLDP    = asn1.ObjectIdentifier{2, 5, 29, 31}
	asn1Freshest = asn1.ObjectIdentifier{2, 5, 29, 46}
)

// run is the state of one Check: what was consulted and what failed.
type run struct {
	e            *Engine
	ctx          context.Context
	cert, issuer *x509.Certificate
	at, now      time.Time
	attempts     []Attempt
	failures     []failure
	// path and validSigner are set by CheckChain: they let a CRL be signed
	// by another certificate than the issuer (RFC 5280 6.3.3 (f)).
	path        []*x509.Certificate
	presented   []*x509.Certificate
	validSigner func(context.Context, *x509.Certificate) error
	// localOnly is set by CheckLocal: distribution point URLs (and so the
	// cache and the network) are not consulted.
	localOnly bool
}

type failure struct {
	kind, source string
	err          error
}

// crlUse is a CRL that contributed to the answer.
type crlUse struct {
	crl    *CRL
	kind   string // "file", "crl", "cache"
	source string
	good   string // prebuilt Good reason, when there is one
}

func (r *run) fail(kind, source string, err error, d time.Duration) {
	r.attempts = append(r.attempts, Attempt{Kind: kind, Source: source, Detail: "failed: " + err.Error(), Duration: d})
	r.failures = append(r.failures, failure{kind: kind, source: source, err: err})
}

func (r *run) ok(kind, source, detail string, d time.Duration) {
	r.attempts = append(r.attempts, Attempt{Kind: kind, Source: source, OK: true, Detail: detail, Duration: d})
}

// Check reports the revocation status of cert, issued by issuer, at time
// at. It implements Checker. Call it only for certificates of a chain that
// already verified to a trusted anchor, and not for the anchor itself.
//
// With Prefer "crl" the CRLs are consulted first (local files, then the
// distribution points, with their delta CRLs) and OCSP is the fallback;
// with "ocsp" the other way round. Every source consulted is recorded in
// Result.Attempts.
func (e *Engine) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) Result {
	if e.opts.Mode == Off {
		return Result{Status: NotChecked, Reason: "revocation checking is off (mode off, IIS CertCheckMode 1)"}
	}
	if cert == nil || issuer == nil {
		return Result{Status: Unknown, Reason: "revocation check called without a certificate and its issuer",
			Err: fmt.Errorf("%w: no certificate or issuer", ErrOffline)}
	}
	return e.check(&run{e: e, ctx: ctx, cert: cert, issuer: issuer, at: at, now: e.now(), attempts: make([]Attempt, 0, 2)})
}

// CheckChain is Check for path[i], issued by path[i+1], of a validated path
// (leaf first, anchor last). It implements verify.ChainChecker: besides the
// issuer's own key, a CRL may then be signed by another certificate with
// the CRL issuer's name (RFC 5280 6.3.3 (f)): one on the path (a key
// rollover's self-issued certificate), one the client presented, or one
// of Options.Issuers (a separate CRL-signing certificate, or the
// cRLIssuer of an indirect CRL), which validSigner must accept (the
// verifier validates its own path to the same anchor, its cRLSign key
// usage and its revocation). A client that sends its CA's CRL-signing
// certificate beside its chain is treated as one whose site configured
// it: the certificate still has to validate to the same anchor.
func (e *Engine) CheckChain(ctx context.Context, path, presented []*x509.Certificate, i int, at time.Time,
	validSigner func(ctx context.Context, signer *x509.Certificate) error) Result {
	if i < 0 || i+1 >= len(path) {
		return Result{Status: Unknown, Reason: fmt.Sprintf("revocation check of element %d of a %d-certificate path: no issuer", i, len(path)),
			Err: fmt.Errorf("%w: no issuer for path element %d", ErrOffline, i)}
	}
	if e.opts.Mode == Off {
		return e.Check(ctx, path[i], path[i+1], at)
	}
	return e.check(&run{e: e, ctx: ctx, cert: path[i], issuer: path[i+1], at: at, now: e.now(),
		attempts: make([]Attempt, 0, 2), path: path, presented: presented, validSigner: validSigner})
}

// CheckLocal is Check answered from the local CRL files
// (Options.LocalCRLs) alone, with Check's rules for issuer names,
// signatures, validity, scope and delta CRLs: no distribution point, cache
// or OCSP responder is consulted, so it never touches the network. It
// reports Revoked, Good, or Unknown when no local file answers; with mode
// Off (no files loaded) it reports NotChecked. `certgate lint` and `check`
// use it to find a configured CA certificate that the configured CRLs
// revoke, which the gateway would refuse with 403.13 (CRYPT_E_REVOKED).
func (e *Engine) CheckLocal(cert, issuer *x509.Certificate, at time.Time) Result {
	if e.opts.Mode == Off {
		return Result{Status: NotChecked, Reason: "revocation checking is off (mode off, IIS CertCheckMode 1)"}
	}
	if cert == nil || issuer == nil {
		return Result{Status: Unknown, Reason: "revocation check called without a certificate and its issuer",
			Err: fmt.Errorf("%w: no certificate or issuer", ErrOffline)}
	}
	r := &run{e: e, ctx: context.Background(), cert: cert, issuer: issuer, at: at, now: e.now(),
		attempts: make([]Attempt, 0, 2), localOnly: true}
	res, ok := r.crl()
	if !ok {
		res = r.unknown()
	}
	res.Attempts = r.attempts
	return res
}

func (e *Engine) check(r *run) Result {
	var res Result
	var ok bool
	if e.opts.Prefer == PreferOCSP {
		if res, ok = r.ocsp(); !ok {
			res, ok = r.crl()
		}
	} else {
		if res, ok = r.crl(); !ok {
			res, ok = r.ocsp()
		}
	}
	if !ok {
		res = r.unknown()
	}
	res.Attempts = r.attempts
	return res
}

// crl runs RFC 5280 section 6.3.3 over the certificate's distribution
// points (one implicit point when it has none): for each point, a CRL from
// the local files or else from the point's URLs, its delta CRL, a lookup,
// until the CRLs used cover all reasons. It reports false when the CRLs
// give no answer.
func (r *run) crl() (Result, bool) {
	dps, err := r.e.distPoints(r.cert, asn1CRLDP)
	if err != nil {
		r.fail("crl", "certificate", fmt.Errorf("read CRL distribution points: %w", err), 0)
	}
	certLocals := r.e.localsFor(r.cert.RawIssuer)
	if len(dps) == 0 && len(certLocals) == 0 {
		return Result{}, false
	}
	var covered ReasonFlags
	var uses []crlUse
	n := max(len(dps), 1)
	for i := 0; i < n && covered != AllReasons; i++ {
		var dp *distPoint
		if len(dps) > 0 {
			dp = &dps[i]
		}
		locals := certLocals
		if dp != nil && len(dp.crlIssuer) > 0 {
			// 6.3.3 (b)(1): the point's CRLs come from its cRLIssuer.
			locals = r.e.localsForNames(dp.crlIssuer)
		}
		// Several local CRLs may partition one point by reason (IDP
		// onlySomeReasons): take them until the reasons are covered. A
		// point's URLs are mirrors of one CRL: one of them is enough.
		for covered != AllReasons {
			base, reasons, ok := r.baseFor(dp, locals, covered)
			if !ok {
				break
			}
			delta, err := r.deltaFor(base, locals, dp)
			if err != nil {
				// The delta URLs' own failures are already attempts; this
				// says why the base CRL alone was not used.
				r.failures = append(r.failures, failure{kind: base.kind, source: base.source, err: err})
				break
			}
			if res, revoked := r.lookup(base, delta); revoked {
				return res, true
			}
			covered |= reasons
			uses = append(uses, base)
			if delta != nil {
				uses = append(uses, *delta)
			}
			if base.kind != "file" {
				break
			}
		}
	}
	if covered == AllReasons {
		return r.good(uses), true
	}
	if covered != 0 {
		r.failures = append(r.failures, failure{kind: "crl", source: uses[0].source,
			err: fmt.Errorf("%w: the CRLs found cover only %s", ErrCRLScope, covered)})
	}
	return Result{}, false
}

// baseFor finds a complete CRL for one distribution point: the newest
// valid local CRL in scope, else the first URL of the point that yields
// one.
func (r *run) baseFor(dp *distPoint, locals []*localCRL, covered ReasonFlags) (crlUse, ReasonFlags, bool) {
	var best *localCRL
	var bestReasons ReasonFlags
	var localErrs []failure
	for _, l := range locals {
		if l.crl.IsDelta() {
			continue
		}
		reasons, err := r.usable(l.crl, dp, false)
		if err == nil && reasons&^covered == 0 {
			continue // already used, or adds no reason: not a failure
		}
		if err != nil {
			if !errors.Is(err, ErrCRLScope) && l.warned.CompareAndSwap(false, true) {
				events.SourceFailed(r.e.log, events.EventCRLUnusable, "ignoring local CRL", l.path, err, slog.String("issuer", l.crl.Issuer.String()))
			}
			localErrs = append(localErrs, failure{kind: "file", source: l.path, err: err})
			continue
		}
		if best == nil || l.crl.ThisUpdate.After(best.crl.ThisUpdate) {
			best, bestReasons = l, reasons
		}
	}
	if best != nil {
		r.ok("file", best.path, best.detail, 0)
		return crlUse{crl: best.crl, kind: "file", source: best.path, good: best.good}, bestReasons, true
	}
	urls := 0
	if dp != nil {
		for _, u := range dp.uris {
			urls++
			use, ok := r.fromURL(u, false, dp)
			if !ok {
				continue
			}
			reasons, err := use.crl.scope(r.cert, dp)
			if err != nil {
				r.fail(use.kind, u, err, 0)
				continue
			}
			return use, reasons, true
		}
		if urls == 0 && len(locals) == 0 {
			r.fail("crl", "certificate", errors.New("the CRL distribution point names no URL (directory name only) and no local CRL covers it"), 0)
		}
	}
	for _, f := range localErrs {
		r.fail(f.kind, f.source, f.err, 0)
	}
	return crlUse{}, 0, false
}

// usable validates a CRL for this check: kind, issuer name, signature,
// validity at the check time (and, online, now), scope.
func (r *run) usable(c *CRL, dp *distPoint, delta bool) (ReasonFlags, error) {
	if err := r.valid(c, delta, dp); err != nil {
		return 0, err
	}
	return c.scope(r.cert, dp)
}

// valid checks what does not depend on scope: kind, usability, issuer name
// (the certificate issuer's, compared as RFC 5280 7.1 says, unless the
// distribution point names a cRLIssuer, which scope checks), signer,
// validity at the check time and, online, now.
func (r *run) valid(c *CRL, delta bool, dp *distPoint) error {
	switch {
	case delta && !c.IsDelta():
		return fmt.Errorf("%w: expected a delta CRL, got a base CRL", ErrDeltaCRL)
	case !delta && c.IsDelta():
		return fmt.Errorf("%w: expected a complete CRL, got a delta CRL", ErrDeltaCRL)
	case c.unusable != nil:
		return c.unusable
	case (dp == nil || len(dp.crlIssuer) == 0) && !dname.Equal(c.RawIssuer, r.issuer.RawSubject):
		return fmt.Errorf("%w: CRL issued by %q, certificate issued by %q", ErrCRLIssuer, c.Issuer.String(), r.issuer.Subject.String())
	}
	if err := r.checkSigner(c); err != nil {
		return err
	}
	if err := c.validAt(r.at, thisUpdateSkew); err != nil {
		return err
	}
	if r.e.opts.Mode == Online && !c.NextUpdate.IsZero() && r.now.After(c.NextUpdate) {
		// Online mode never uses a CRL past nextUpdate, whatever the
		// validation time.
		return fmt.Errorf("%w: nextUpdate %s has passed", ErrCRLExpired, c.NextUpdate.Format(time.RFC3339))
	}
	return nil
}

// checkSigner verifies the CRL's signature: by the certificate issuer's
// key when the CRL has its name, else (CheckChain only) by a certificate
// with the CRL issuer's name from the path, the presented certificates or
// Options.Issuers that
// validSigner accepts (RFC 5280 6.3.3 (f)). Verified keys are remembered
// by the CRL, so the common case is one comparison.
func (r *run) checkSigner(c *CRL) error {
	var err error
	if dname.Equal(c.RawIssuer, r.issuer.RawSubject) {
		if err = c.CheckSignatureFrom(r.issuer); err == nil {
			return nil
		}
	} else {
		err = fmt.Errorf("%w: CRL issuer %q is not the certificate issuer and no validated CRL signer certificate has its name", ErrIndirectCRL, c.Issuer.String())
	}
	if r.validSigner == nil {
		return err
	}
	try := func(s *x509.Certificate) bool {
		if s == nil || s == r.issuer || bytes.Equal(s.Raw, r.issuer.Raw) || !dname.Equal(s.RawSubject, c.RawIssuer) {
			return false
		}
		// A separate CRL signer needs cRLSign, not to be a CA (RFC 5280
		// 4.2.1.3): PKITS 4.4.19's is an end-entity certificate.
		if c.checkSignatureFrom(s, false) != nil {
			return false
		}
		if verr := r.validSigner(r.ctx, s); verr != nil {
			err = fmt.Errorf("%w: signed by %q, which may not sign it: %v", ErrCRLSignature, s.Subject.String(), verr)
			return false
		}
		return true
	}
	for _, s := range r.path {
		if try(s) {
			return nil
		}
	}
	for _, s := range r.presented {
		if try(s) {
			return nil
		}
	}
	for _, s := range r.e.opts.Issuers {
		if try(s) {
			return nil
		}
	}
	return err
}

// fromURL returns a valid CRL for url from the cache or, online, the
// network, recording the attempt.
func (r *run) fromURL(url string, delta bool, dp *distPoint) (crlUse, bool) {
	kind := "crl"
	if delta {
		kind = "delta-crl"
	}
	if r.localOnly {
		return crlUse{}, false
	}
	if _, err := r.e.fetch.checkURL(url); err != nil {
		r.fail(kind, url, err, 0)
		return crlUse{}, false
	}
	ent := r.e.crlEntry(url)
	ent.lastUsed.Store(r.now.UnixNano())
	ent.delta.Store(delta)
	if st := ent.state.Load(); st != nil && (r.e.opts.Mode == CacheOnly || r.e.fresh(st, r.now)) {
		if err := r.valid(st.crl, delta, dp); err != nil {
			r.fail("cache", url, err, 0)
			return crlUse{}, false
		}
		if ent.issuer.Load() == nil && r.e.opts.Mode == Online && st.crl.CheckSignatureFrom(r.issuer) == nil {
			// Loaded from disk: now that an issuer verified it, the
			// background refresher can take over.
			ent.issuer.CompareAndSwap(nil, r.issuer)
			r.e.scheduleCRL(ent, st, r.now)
		}
		r.ok("cache", url, st.detail, 0)
		return crlUse{crl: st.crl, kind: "cache", source: url, good: st.good}, true
	}
	if r.e.opts.Mode == CacheOnly {
		r.fail("cache", url, ErrNotCached, 0)
		return crlUse{}, false
	}
	if f := ent.failure.Load(); f != nil && r.now.Sub(f.at) < failureBackoff {
		r.fail(kind, url, fmt.Errorf("%w (failed at %s; next try after %s)", f.err,
			f.at.UTC().Format(time.RFC3339), f.at.Add(failureBackoff).UTC().Format(time.RFC3339)), 0)
		return crlUse{}, false
	}
	start := time.Now()
	// Verified while parsed by the issuer's key, except for a cRLIssuer's
	// CRL, whose signer is found by checkSigner; with CheckChain a CRL the
	// issuer did not sign is also kept for checkSigner to try.
	signer := r.issuer
	if dp != nil && len(dp.crlIssuer) > 0 {
		signer = nil
	}
	st, err := r.e.fetchCRL(r.ctx, ent, signer, r.validSigner != nil)
	if err == nil {
		err = r.valid(st.crl, delta, dp)
	}
	if err != nil {
		r.fail(kind, url, err, time.Since(start))
		return crlUse{}, false
	}
	r.ok(kind, url, "fetched and verified "+st.crl.describe(), time.Since(start))
	return crlUse{crl: st.crl, kind: kind, source: url, good: st.good}, true
}

// fresh reports whether a cached CRL may be used without refetching in
// Online mode: before its nextUpdate and younger than MaxAge.
func (e *Engine) fresh(st *crlState, now time.Time) bool {
	c := st.crl
	if c.NextUpdate.IsZero() {
		if now.Sub(st.fetchedAt) >= noNextUpdateTTL {
			return false
		}
	} else if now.After(c.NextUpdate) {
		return false
	}
	return e.opts.MaxAge == 0 || now.Sub(st.fetchedAt) < e.opts.MaxAge
}

// deltaFor finds the delta CRL to apply to base (RFC 5280 5.2.4, 6.3.3
// (c)): the newest valid local delta for the same issuer and scope, else
// one from the base's (or the certificate's) Freshest CRL URLs. It returns
// nil without error when no delta is advertised or the base is newer than
// the delta; an advertised delta that cannot be obtained is an error,
// because the base alone may miss recent revocations.
func (r *run) deltaFor(base crlUse, locals []*localCRL, dp *distPoint) (*crlUse, error) {
	b := base.crl
	var best *localCRL
	for _, l := range locals {
		c := l.crl
		if !c.IsDelta() || r.fits(b, c) != nil || r.valid(c, true, dp) != nil {
			continue
		}
		if best == nil || newer(c, best.crl) {
			best = l
		}
	}
	if best != nil {
		if !newer(best.crl, b) {
			return nil, nil
		}
		r.ok("file", best.path, best.detail, 0)
		return &crlUse{crl: best.crl, kind: "file", source: best.path}, nil
	}
	urls := append([]string(nil), b.FreshestURIs...)
	if dps, err := r.e.distPoints(r.cert, asn1Freshest); err == nil {
		for _, dp := range dps {
			urls = append(urls, dp.uris...)
		}
	}
	if len(urls) == 0 {
		return nil, nil
	}
	var tried []string
	for _, u := range urls {
		if contains(tried, u) {
			continue
		}
		tried = append(tried, u)
		use, ok := r.fromURL(u, true, dp)
		if !ok {
			continue
		}
		if err := r.fits(b, use.crl); err != nil {
			r.fail("delta-crl", u, err, 0)
			continue
		}
		if !newer(use.crl, b) {
			return nil, nil
		}
		return &use, nil
	}
	return nil, fmt.Errorf("%w: the base CRL names delta CRLs at %s and none is usable", ErrDeltaCRL, strings.Join(tried, ", "))
}

// fits checks that delta applies to base: same issuer and scope, and a
// base CRL number at least the delta's BaseCRLNumber.
func (r *run) fits(base, delta *CRL) error {
	switch {
	case !dname.Equal(base.RawIssuer, delta.RawIssuer):
		return fmt.Errorf("%w: delta issuer differs from the base CRL issuer", ErrDeltaCRL)
	case !bytes.Equal(base.rawIDP, delta.rawIDP):
		return fmt.Errorf("%w: delta scope (issuing distribution point) differs from the base CRL's", ErrDeltaCRL)
	case base.Number == nil:
		return fmt.Errorf("%w: the base CRL has no CRL number", ErrDeltaCRL)
	case delta.BaseNumber.Cmp(base.Number) > 0:
		return fmt.Errorf("%w: delta needs base CRL #%s or later, have #%s", ErrDeltaCRL, delta.BaseNumber, base.Number)
	}
	return nil
}

// newer compares CRL numbers (thisUpdate when a number is missing).
func newer(a, b *CRL) bool {
	if a.Number != nil && b.Number != nil {
		return a.Number.Cmp(b.Number) > 0
	}
	return a.ThisUpdate.After(b.ThisUpdate)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lookup applies the delta over the base: a delta entry with reason
// removeFromCRL takes a certificate off hold.
func (r *run) lookup(base crlUse, delta *crlUse) (Result, bool) {
	if delta != nil {
		if e, ok := delta.crl.LookupCertificate(r.cert); ok {
			if e.HasReason && e.ReasonCode == reasonRemoveFromCRL {
				return Result{}, false
			}
			return r.revoked(*delta, e), true
		}
	}
	if e, ok := base.crl.LookupCertificate(r.cert); ok && !(e.HasReason && e.ReasonCode == reasonRemoveFromCRL) {
		return r.revoked(base, e), true
	}
	return Result{}, false
}

func (r *run) revoked(use crlUse, e Entry) Result {
	what := "CRL"
	if use.crl.IsDelta() {
		what = "delta CRL"
	}
	return Result{
		Status:     Revoked,
		Source:     use.source,
		RevokedAt:  e.RevokedAt,
		ReasonCode: e.ReasonCode,
		NextUpdate: use.crl.NextUpdate,
		Reason: fmt.Sprintf("certificate %s serial %s was revoked on %s (reason %s) according to %s %q",
			subjectOf(r.cert), serialHex(r.cert), e.RevokedAt.Format(time.RFC3339), ReasonCodeName(e.ReasonCode), what, use.source),
		Err: fmt.Errorf("%w: serial %s on %s %q", ErrRevoked, serialHex(r.cert), what, use.source),
	}
}

// good builds the Good result. It names the CRLs but not the certificate
// (the caller knows which element it asked about): it runs on every
// handshake, so the common single-CRL case uses a prebuilt sentence.
func (r *run) good(uses []crlUse) Result {
	if len(uses) == 1 && uses[0].good != "" {
		return Result{Status: Good, Source: uses[0].source, NextUpdate: uses[0].crl.NextUpdate, Reason: uses[0].good}
	}
	next := time.Time{}
	names := make([]string, 0, len(uses))
	for _, u := range uses {
		if nu := u.crl.NextUpdate; !nu.IsZero() && (next.IsZero() || nu.Before(next)) {
			next = nu
		}
		names = append(names, fmt.Sprintf("%q", u.source))
	}
	return Result{
		Status:     Good,
		Source:     uses[0].source,
		NextUpdate: next,
		Reason:     "not revoked according to CRL " + strings.Join(names, " + "),
	}
}

// unknown builds the "offline" result naming every source and what failed.
func (r *run) unknown() Result {
	if len(r.failures) == 0 {
		return Result{
			Status: Unknown,
			Reason: fmt.Sprintf("certificate %s serial %s names no CRL distribution point or OCSP responder, and no local CRL from %q covers it",
				subjectOf(r.cert), serialHex(r.cert), r.issuer.Subject.String()),
			Err: fmt.Errorf("%w: %w", ErrOffline, ErrNoSource),
		}
	}
	parts := make([]string, 0, len(r.failures))
	errs := make([]error, 0, len(r.failures))
	for _, f := range r.failures {
		parts = append(parts, fmt.Sprintf("%s %q: %v", kindLabel(f.kind), f.source, f.err))
		errs = append(errs, fmt.Errorf("%s %q: %w", kindLabel(f.kind), f.source, f.err))
	}
	return Result{
		Status: Unknown,
		Source: r.failures[0].source,
		Reason: fmt.Sprintf("no current revocation information for certificate %s serial %s: %s",
			subjectOf(r.cert), serialHex(r.cert), strings.Join(parts, "; ")),
		Err: fmt.Errorf("%w: %w", ErrOffline, errors.Join(errs...)),
	}
}

func kindLabel(kind string) string {
	switch kind {
	case "crl":
		return "CRL"
	case "delta-crl":
		return "delta CRL"
	case "ocsp":
		return "OCSP"
	case "file":
		return "CRL file"
	case "cache":
		return "cached CRL"
	}
	return kind
}

func subjectOf(c *x509.Certificate) string {
	s := c.Subject.String()
	if s == "" {
		s = "(empty subject)"
	}
	return fmt.Sprintf("%q", s)
}

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return "?"
	}
	return fmt.Sprintf("%X", c.SerialNumber)
}

// distPoints returns the parsed CRL distribution points (or Freshest CRL
// points) of cert, cached by the extension's bytes: a gateway sees the same
// few CAs' extensions on every handshake.
func (e *Engine) distPoints(cert *x509.Certificate, id asn1.ObjectIdentifier) ([]distPoint, error) {
	var raw []byte
	for i := range cert.Extensions {
		if cert.Extensions[i].Id.Equal(id) {
			raw = cert.Extensions[i].Value
			break
		}
	}
	if raw == nil {
		return nil, nil
	}
	e.dpMu.RLock()
	dps, ok := e.dpCache[string(raw)]
	e.dpMu.RUnlock()
	if ok {
		return dps, nil
	}
	dps, err := parseDistPoints(raw)
	if err != nil {
		return nil, err
	}
	e.dpMu.Lock()
	if len(e.dpCache) >= maxDPCache {
		clear(e.dpCache)
	}
	e.dpCache[string(raw)] = dps
	e.dpMu.Unlock()
	return dps, nil
}
