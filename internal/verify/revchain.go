package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/revocation"
)

// ChainChecker is implemented by revocation checkers that need the whole
// validated path rather than a (certificate, issuer) pair. RFC 5280 6.3.3
// (f) lets a CA sign its CRLs with another key than the one that signed
// the certificate: the key of a self-issued rollover certificate on the
// path (PKITS 4.5, 4.6.15), or of a separate CRL-signing certificate with
// the same name (PKITS 4.4.19-4.4.21, 4.5.6). The verifier calls
// CheckChain instead of Check when Options.Revocation implements it.
//
// path is validated (leaf first, anchor last); the method reports on
// path[i], issued by path[i+1]. presented are the certificates the client
// sent: a CRL signer may be among them and not on the path (RFC 5280
// 6.3.3 allows any certificate path to the CRL issuer), as it may be
// among the configured ones. validSigner returns nil when signer, a
// certificate whose key signed a CRL for path[i], may be trusted for it:
// it is on the path, or the verifier built and validated a path from it to
// the same trust anchor (RFC 5280 6.3.3(f)) through the configured and
// presented intermediates, requiring cRLSign and checking its revocation
// in turn. The method signature uses only standard types, so
// internal/revocation implements it without importing this package.
type ChainChecker interface {
	CheckChain(ctx context.Context, path, presented []*x509.Certificate, i int, at time.Time,
		validSigner func(ctx context.Context, signer *x509.Certificate) error) revocation.Result
}

// purposeCRLSigner verifies the path of a CRL signer: its leaf needs
// cRLSign, no TLS usage.
const purposeCRLSigner Purpose = -1

// maxSignerDepth bounds the recursion "the CRL signer's own revocation is
// checked with a CRL whose signer must be validated...".
const maxSignerDepth = 2

// errSignerDepth is wrapped when validating a CRL signer would recurse
// deeper than maxSignerDepth.
var errSignerDepth = errors.New("crl signer validation nested too deeply")

func (v *Verifier) checkRevocation(ctx context.Context, path, presented []*x509.Certificate, i int, at time.Time) revocation.Result {
	if cc, ok := v.opts.Revocation.(ChainChecker); ok {
		return cc.CheckChain(ctx, path, presented, i, at, v.signerValidator(path, presented, at))
	}
	return v.opts.Revocation.Check(ctx, path[i], path[i+1], at)
}

// signerValidator returns the validSigner callback for one path.
func (v *Verifier) signerValidator(path, presented []*x509.Certificate, at time.Time) func(context.Context, *x509.Certificate) error {
	return func(ctx context.Context, signer *x509.Certificate) error {
		if signer == nil {
			return fmt.Errorf("validate crl signer: no certificate")
		}
		if inPath(path, signer) {
			// Validated with the path; its own revocation is checked as a
			// path element.
			return nil
		}
		if v.signerDepth >= maxSignerDepth {
			return fmt.Errorf("validate crl signer %s: %w", describe(signer), errSignerDepth)
		}
		// The presented certificates go with the signer as its presented
		// chain: its issuer may be one the client sent and the site does
		// not hold (RFC 5280 6.3.3 allows any path to the same anchor).
		chain := make([]*x509.Certificate, 0, 1+len(presented))
		chain = append(chain, signer)
		for _, c := range presented {
			if c != nil && !bytes.Equal(c.Raw, signer.Raw) {
				chain = append(chain, c)
			}
		}
		o := v.signerVerifier(path).Verify(ctx, chain, at)
		if !o.OK() {
			return fmt.Errorf("validate crl signer %s: %w", describe(signer), o)
		}
		return nil
	}
}

// signerVerifier is v restricted to the path's trust anchor (RFC 5280
// 6.3.3(f): the CRL issuer's path must end at the same anchor), with the
// path's certificates as extra intermediates, the CRL-signer purpose and
// the default policy inputs.
func (v *Verifier) signerVerifier(path []*x509.Certificate) *Verifier {
	anchor := path[len(path)-1]
	sv := *v
	sv.opts.Purpose = purposeCRLSigner
	sv.opts.PeerName = ""
	sv.opts.Policy = PolicyOptions{}
	sv.signerDepth = v.signerDepth + 1
	// The signer is presented with the client's chain, which passed the
	// presented-length cap already: one more certificate is not the
	// client's doing.
	sv.opts.MaxPresented = v.opts.MaxPresented + 1
	// The signer verifier has other anchors and purpose: it must not
	// share v's verified-chain cache.
	sv.cache = nil
	sv.anchors = map[string][]*x509.Certificate{}
	sv.anchorRaw = map[string]bool{string(anchor.Raw): true}
	k := dname.Key(anchor.RawSubject)
	sv.anchors[k] = []*x509.Certificate{anchor}
	sv.intermediates = make(map[string][]*x509.Certificate, len(v.intermediates)+len(path))
	for name, cs := range v.intermediates {
		sv.intermediates[name] = cs
	}
	for _, c := range path[1 : len(path)-1] {
		k := dname.Key(c.RawSubject)
		if !inPath(sv.intermediates[k], c) {
			sv.intermediates[k] = append(append([]*x509.Certificate(nil), sv.intermediates[k]...), c)
		}
	}
	return &sv
}
