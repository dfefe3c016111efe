package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"
)

// fetchCRL fetches, verifies and caches the CRL of ent. Concurrent calls
// for the same URL share one fetch (singleflight). The fetch runs detached
// from the caller's context, bounded by Options.Timeout, so that one
// cancelled request does not fail the others waiting on it; each caller
// still stops waiting when its own context ends.
func (e *Engine) fetchCRL(ctx context.Context, ent *crlEntry, issuer *x509.Certificate) (*crlState, error) {
	ch := e.sf.DoChan("crl\x00"+ent.url, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.Timeout)
		defer cancel()
		return e.doFetchCRL(fctx, ent, issuer)
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

func (e *Engine) doFetchCRL(ctx context.Context, ent *crlEntry, issuer *x509.Certificate) (*crlState, error) {
	start := time.Now()
	c, der, err := e.fetchAndParse(ctx, ent.url, issuer)
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
		e.log.Warn("ignoring CRL", "url", ent.url, "issuer", issuer.Subject.String(), "error", err)
		return nil, err
	}
	st := newCRLState(c, ent.url, now, false)
	ent.issuer.Store(issuer)
	ent.state.Store(st)
	ent.failure.Store(nil)
	e.scheduleCRL(ent, st, now)
	if e.disk != nil {
		if err := e.disk.put(diskMeta{Kind: "crl", Key: ent.url, Source: ent.url, FetchedAt: now}, der); err != nil {
			e.log.Warn("could not write the revocation disk cache", "url", ent.url, "error", err)
		}
	}
	e.log.Debug("fetched CRL", "url", ent.url, "crl", c.describe())
	return st, nil
}

// fetchAndParse downloads a CRL and verifies it against issuer: signature
// (checked while the entries are indexed) and issuer name.
func (e *Engine) fetchAndParse(ctx context.Context, rawURL string, issuer *x509.Certificate) (*CRL, []byte, error) {
	u, err := e.fetch.checkURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	der, err := e.fetch.get(ctx, u, nil, "")
	if err != nil {
		return nil, nil, err
	}
	// The issuer name is checked before the (possibly expensive) parse and
	// signature check, which would otherwise report a CRL for another CA as
	// a bad signature.
	if p := crlIssuerPeek(der); p != nil && !bytes.Equal(p, issuer.RawSubject) {
		return nil, nil, fmt.Errorf("%w: CRL issued by %q, expected %q", ErrCRLIssuer, nameString(p), issuer.Subject.String())
	}
	c, err := ParseCRL(der, issuer)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(c.RawIssuer, issuer.RawSubject) {
		return nil, nil, fmt.Errorf("%w: CRL issued by %q, expected %q", ErrCRLIssuer, c.Issuer.String(), issuer.Subject.String())
	}
	return c, der, nil
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
