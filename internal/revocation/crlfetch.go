package revocation

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/events"
)

// fetchCRL fetches, verifies and caches the CRL of ent. Concurrent calls
// for the same URL share one fetch (singleflight). The fetch runs detached
// from the caller's context, bounded by Options.Timeout, so that one
// cancelled request does not fail the others waiting on it; each caller
// still stops waiting when its own context ends.
//
// issuer verifies the CRL while it is parsed; nil (a cRLIssuer's CRL) or,
// with lenient, a signature the issuer's key does not verify leaves the
// CRL unverified for the caller to verify with another signer.
func (e *Engine) fetchCRL(ctx context.Context, ent *crlEntry, issuer *x509.Certificate, lenient bool) (*crlState, error) {
	ch := e.sf.DoChan("crl\x00"+ent.url, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.Timeout)
		defer cancel()
		return e.doFetchCRL(fctx, ent, issuer, lenient)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*crlState), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("stopped waiting for the fetch: %w", ctx.Err())
	}
}

func (e *Engine) doFetchCRL(ctx context.Context, ent *crlEntry, issuer *x509.Certificate, lenient bool) (*crlState, error) {
	if e.opts.OnFetchStart != nil {
		kind := "crl"
		if ent.delta.Load() {
			kind = "delta-crl"
		}
		e.opts.OnFetchStart(kind, ent.url)
	}
	start := time.Now()
	prev := ent.state.Load()
	var have validators
	if prev != nil && issuer != nil && ent.issuer.Load() == issuer {
		// A 304 confirms the copy in hand, which was verified with this
		// same issuer; any other case downloads and verifies afresh.
		have = prev.valid
	}
	c, der, verified, got, notModified, err := e.fetchAndParse(ctx, ent.url, issuer, lenient, have)
	if notModified {
		c, der, verified = prev.crl, nil, true
	}
	if e.opts.OnFetch != nil {
		kind := "crl"
		if ent.delta.Load() {
			kind = "delta-crl"
		}
		e.opts.OnFetch(kind, ent.url, err == nil, time.Since(start))
	}
	now := e.now()
	if err == nil && !c.NextUpdate.IsZero() && now.After(c.NextUpdate) {
		err = fmt.Errorf("%w: the distribution point serves a CRL whose nextUpdate %s has passed",
			ErrCRLExpired, c.NextUpdate.UTC().Format(time.RFC3339))
	}
	if err != nil {
		ent.failure.Store(&fetchFailure{at: now, err: err})
		if st := ent.state.Load(); st != nil {
			ent.nextRefresh.Store(now.Add(retryGap(st.crl.NextUpdate, now)).UnixNano())
		}
		events.CRLFetchFailed(e.log, ent.url, err)
		return nil, err
	}
	st := newCRLState(c, ent.url, now, false)
	st.valid = got
	if notModified {
		// Same CRL, confirmed current now (this counts as a fetch for
		// max_age): nothing to parse, verify or write again.
		e.log.Debug("CRL not modified", "url", ent.url, "crl", c.describe())
	}
	if verified {
		// The background refresher verifies the next CRL with it.
		ent.issuer.Store(issuer)
	}
	ent.state.Store(st)
	e.gen.Add(1)
	ent.failure.Store(nil)
	e.scheduleCRL(ent, st, now)
	if e.disk != nil && der != nil {
		if err := e.disk.put(diskMeta{Kind: "crl", Key: ent.url, Source: ent.url, FetchedAt: now, Validators: got}, der); err != nil {
			events.SourceFailed(e.log, events.EventRevocationCache, "could not write the revocation disk cache", ent.url, err)
		}
	}
	e.log.Debug("fetched CRL", "url", ent.url, "crl", c.describe())
	return st, nil
}

// fetchAndParse downloads a CRL and verifies it against issuer: signature
// (checked while the entries are indexed) and issuer name. See fetchCRL
// for a nil issuer and lenient.
//
// have are the validators of the copy the caller holds (verified with
// issuer): notModified reports the server's 304 for it, with no CRL
// returned. got are the validators of a downloaded CRL.
func (e *Engine) fetchAndParse(ctx context.Context, rawURL string, issuer *x509.Certificate, lenient bool, have validators) (c *CRL, der []byte, verified bool, got validators, notModified bool, err error) {
	u, err := e.fetch.checkURL(rawURL)
	if err != nil {
		return nil, nil, false, got, false, err
	}
	der, got, notModified, err = e.fetch.getConditional(ctx, u, have)
	if err != nil || notModified {
		return nil, nil, false, got, notModified, err
	}
	c, der, verified, err = e.parseFetchedCRL(ctx, der, issuer, lenient)
	return c, der, verified, got, false, err
}

// parseFetchedCRL parses and verifies a downloaded CRL (see fetchAndParse).
func (e *Engine) parseFetchedCRL(ctx context.Context, der []byte, issuer *x509.Certificate, lenient bool) (c *CRL, _ []byte, verified bool, err error) {
	pace := pacerFor(ctx)
	if issuer == nil {
		c, err = parseCRLPaced(der, nil, pace)
		return c, der, false, err
	}
	// The issuer name is checked before the (possibly expensive) parse and
	// signature check, which would otherwise report a CRL for another CA as
	// a bad signature.
	if p := crlIssuerPeek(der); p != nil && !dname.Equal(p, issuer.RawSubject) {
		return nil, nil, false, fmt.Errorf("%w: CRL issued by %q, expected %q", ErrCRLIssuer, nameString(p), issuer.Subject.String())
	}
	c, err = parseCRLPaced(der, issuer, pace)
	if err != nil && lenient && errors.Is(err, ErrCRLSignature) {
		c, err = parseCRLPaced(der, nil, pace)
		return c, der, false, err
	}
	if err != nil {
		return nil, nil, false, err
	}
	if !dname.Equal(c.RawIssuer, issuer.RawSubject) {
		return nil, nil, false, fmt.Errorf("%w: CRL issued by %q, expected %q", ErrCRLIssuer, c.Issuer.String(), issuer.Subject.String())
	}
	return c, der, true, nil
}

// nameString renders a raw Name for messages.
func nameString(raw []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return "(unparsable name)"
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdns)
	return n.String()
}

// crlIssuerPeek returns the raw issuer Name of a DER CRL, or nil.
func crlIssuerPeek(der []byte) []byte {
	d, err := decodePEMorDER(der)
	if err != nil {
		return nil
	}
	_, cs, ce, ok := derTLV(d, 0, len(d)) // CertificateList
	if !ok {
		return nil
	}
	_, p, te, ok := derTLV(d, cs, ce) // tbsCertList
	if !ok {
		return nil
	}
	tag, _, next, ok := derTLV(d, p, te)
	if ok && tag == tagInteger { // version
		p = next
		_, _, next, ok = derTLV(d, p, te)
	}
	if !ok { // signature AlgorithmIdentifier
		return nil
	}
	p = next
	tag, _, next, ok = derTLV(d, p, te)
	if !ok || tag != tagSequence {
		return nil
	}
	return d[p:next]
}
