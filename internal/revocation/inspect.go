package revocation

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

// Fetcher fetches one URL taken from a certificate with exactly the rules
// the Engine applies to its CRL and OCSP fetches (http and https only, the
// host allow list also on redirects, no scheme change on redirect, a
// timeout covering the whole exchange, a body size limit, a cap on
// concurrent fetches). It exists so that `certgate verify --urlfetch`
// fetches AIA caIssuers certificates through this one guarded client
// instead of a second one.
type Fetcher struct {
	f *fetcher
}

// NewFetcher builds a Fetcher from the network fields of o (Timeout,
// MaxBytes, AllowHosts, MaxConcurrent, HTTPClient), with New's defaults.
// The other fields are ignored; Mode does not apply: the caller asked for
// the fetch explicitly.
func NewFetcher(o Options) (*Fetcher, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Fetcher{f: newFetcher(o)}, nil
}

// Fetch GETs rawURL and returns the body. Errors name the URL and wrap
// ErrUnsupportedScheme, ErrHostNotAllowed, ErrTimeout, ErrHTTPStatus or
// ErrTooLarge when those are the cause.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := f.f.checkURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", rawURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.f.timeout)
	defer cancel()
	body, err := f.f.get(ctx, u, nil, "")
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", rawURL, err)
	}
	return body, nil
}

// DistributionPointURLs returns the URIs of cert's CRL distribution points
// (RFC 5280 4.2.1.13) and of its Freshest CRL extension (delta CRLs,
// 4.2.1.15), parsed as Check parses them: crypto/x509 parses neither the
// Freshest CRL extension nor a distribution point named relative to the
// CRL issuer. `certgate verify` lists them next to what Check did with
// them.
func DistributionPointURLs(cert *x509.Certificate) (crl, delta []string, err error) {
	if crl, err = extensionURIs(cert, asn1CRLDP); err != nil {
		return nil, nil, fmt.Errorf("read CRL distribution points: %w", err)
	}
	if delta, err = extensionURIs(cert, asn1Freshest); err != nil {
		return crl, nil, fmt.Errorf("read Freshest CRL distribution points: %w", err)
	}
	return crl, delta, nil
}

func extensionURIs(cert *x509.Certificate, id asn1.ObjectIdentifier) ([]string, error) {
	for i := range cert.Extensions {
		if !cert.Extensions[i].Id.Equal(id) {
			continue
		}
		dps, err := parseDistPoints(cert.Extensions[i].Value)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, dp := range dps {
			out = append(out, dp.uris...)
		}
		return out, nil
	}
	return nil, nil
}
