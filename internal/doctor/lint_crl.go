package doctor

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/revocation"
)

// CRL is a CRL as the revocation engine parsed it (internal/revocation:
// indexed, entries never materialised), with the file it was read from.
type CRL struct {
	*revocation.CRL
	// Source is the file, with "#N" for the Nth CRL of a PEM bundle.
	Source string
}

// LocalChecker answers a revocation question from local CRL files only,
// without the network: revocation.Engine.CheckLocal.
type LocalChecker interface {
	CheckLocal(cert, issuer *x509.Certificate, at time.Time) revocation.Result
}

// LoadCRLs loads CRL files and directories with the loader the gateway
// uses (revocation.New with these files as revocation.crls: PEM bundles
// or DER; in a directory the *.crl, *.pem and *.der files), in cache-only
// mode so that nothing is ever fetched. issuers (the roots and
// intermediates) verify the signatures at load, as serve does. The engine
// is returned for Lint's LintInput.Revocation.
func LoadCRLs(issuers []Cert, paths ...string) ([]CRL, *revocation.Engine, error) {
	certs := make([]*x509.Certificate, len(issuers))
	for i, c := range issuers {
		certs[i] = c.Certificate
	}
	e, err := revocation.New(revocation.Options{Mode: revocation.CacheOnly, LocalCRLs: paths, Issuers: certs})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return CRLsOf(e), e, nil
}

// CRLsOf lists the local CRL files an engine holds (the CRLs of a site's
// revocation.crls), sorted by file, without parsing them again.
func CRLsOf(e *revocation.Engine) []CRL {
	var out []CRL
	for _, l := range e.LoadedCRLs() {
		if l.Local && l.CRL != nil {
			out = append(out, CRL{CRL: l.CRL, Source: l.Source})
		}
	}
	return out
}
