package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/verify"
)

// Bounds of the AIA walk: a chain deeper than the verifier's default
// MaxDepth cannot verify anyway, and a CA naming many caIssuers URLs
// should not turn one verify into many fetches.
const (
	maxAIADepth   = 10
	maxAIAURLs    = 4
	maxAIAInBody  = 16 // certificates taken from one PKCS#7 or PEM response
	kindAIAIssuer = "AIA caIssuers"
)

// AIAFetch is one fetch of an AIA caIssuers URL by --urlfetch.
type AIAFetch struct {
	// For is the certificate whose issuer was missing.
	For string `json:"for"`
	URL string `json:"url"`
	// Started is when the fetch began; Duration how long it took.
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	OK         bool      `json:"ok"`
	// Detail is "1 certificate (DER): CN=Sub CA" or "failed: ...".
	Detail string `json:"detail"`
	// Issuer is the subject of the certificate taken as the issuer.
	Issuer string `json:"issuer,omitempty"`

	forCert  *x509.Certificate
	duration time.Duration
}

type aiaResult struct {
	fetched []*x509.Certificate
	// from maps a fetched certificate's DER to the URL it came from.
	from    map[string]string
	fetches []AIAFetch
}

// completeChain walks up from the leaf like `certutil -urlfetch`: while the
// issuer of the current certificate is neither presented nor configured
// (by name, as the verifier's chain builder looks issuers up), it fetches
// the certificate's AIA caIssuers URLs (RFC 5280 4.2.2.1) and takes the
// first certificate carrying the issuer's name. Only the chain of the
// presented leaf is walked, only on the user's explicit --urlfetch, and
// through the revocation package's guarded Fetcher. What the fetched
// certificates are worth is left to the verifier: they are appended to
// the presented chain, as if the client had sent them.
func completeChain(ctx context.Context, f *revocation.Fetcher, prog *progress, presented, inters, roots []*x509.Certificate) aiaResult {
	res := aiaResult{from: map[string]string{}}
	if len(presented) == 0 {
		return res
	}
	known := make([]*x509.Certificate, 0, len(presented)+len(inters)+len(roots))
	known = append(append(append(known, presented...), inters...), roots...)
	isRoot := map[string]bool{}
	for _, r := range roots {
		isRoot[string(r.Raw)] = true
	}
	cur := presented[0]
	seen := map[string]bool{string(cur.Raw): true}
	for depth := 0; depth < maxAIADepth; depth++ {
		if isRoot[string(cur.Raw)] || dname.Equal(cur.RawIssuer, cur.RawSubject) {
			return res // reached an anchor, or a self-issued certificate: nothing above to fetch
		}
		next := issuerAmong(cur, known)
		if next == nil {
			next = fetchIssuer(ctx, f, prog, cur, &res)
			if next == nil {
				return res
			}
			res.fetched = append(res.fetched, next)
			known = append(known, next)
		}
		if seen[string(next.Raw)] {
			return res
		}
		seen[string(next.Raw)] = true
		cur = next
	}
	return res
}

// issuerAmong returns a certificate named as cur's issuer, preferring one
// whose subject key ID matches cur's authority key ID.
func issuerAmong(cur *x509.Certificate, cands []*x509.Certificate) *x509.Certificate {
	var byName *x509.Certificate
	for _, c := range cands {
		if bytes.Equal(c.Raw, cur.Raw) || !dname.Equal(c.RawSubject, cur.RawIssuer) {
			continue
		}
		if len(cur.AuthorityKeyId) == 0 || len(c.SubjectKeyId) == 0 || bytes.Equal(cur.AuthorityKeyId, c.SubjectKeyId) {
			return c
		}
		if byName == nil {
			byName = c
		}
	}
	return byName
}

// fetchIssuer tries cur's caIssuers URLs in order and records each fetch.
func fetchIssuer(ctx context.Context, f *revocation.Fetcher, prog *progress, cur *x509.Certificate, res *aiaResult) *x509.Certificate {
	for i, u := range cur.IssuingCertificateURL {
		if i == maxAIAURLs {
			break
		}
		fe := AIAFetch{For: dnString(cur.Subject.String()), URL: u, Started: time.Now().UTC(), forCert: cur}
		prog.start("aia", u)
		start := time.Now()
		body, err := f.Fetch(ctx, u)
		fe.duration = time.Since(start)
		prog.done("aia", u, err == nil, fe.duration)
		fe.DurationMS = float64(fe.duration.Microseconds()) / 1000
		var got *x509.Certificate
		if err == nil {
			var certs []*x509.Certificate
			var format string
			certs, format, err = parseAIABody(body)
			if err == nil {
				if got = issuerAmong(cur, certs); got == nil {
					err = fmt.Errorf("%s (%s) but none is named %q", count(len(certs), "certificate"), format, dnString(cur.Issuer.String()))
				} else {
					fe.OK, fe.Issuer = true, dnString(got.Subject.String())
					fe.Detail = fmt.Sprintf("%s (%s): %s", count(len(certs), "certificate"), format, fe.Issuer)
				}
			}
		}
		if err != nil {
			fe.Detail = "failed: " + strings.TrimPrefix(err.Error(), fmt.Sprintf("fetch %q: ", u))
		}
		res.fetches = append(res.fetches, fe)
		if got != nil {
			res.from[string(got.Raw)] = u
			return got
		}
	}
	return nil
}

// parseAIABody reads an AIA caIssuers response: one DER certificate (RFC
// 5280 4.2.2.1 "a single DER encoded certificate"), a certs-only PKCS#7
// (".p7c"), or PEM certificates, which servers also publish.
func parseAIABody(body []byte) ([]*x509.Certificate, string, error) {
	var ders [][]byte
	format := "DER"
	switch {
	case bytes.Contains(body, []byte("-----BEGIN")):
		format = "PEM"
		for rest := body; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch b.Type {
			case "CERTIFICATE":
				ders = append(ders, b.Bytes)
			case "PKCS7":
				p7, err := pkcs7Certificates(b.Bytes)
				if err != nil {
					return nil, format, err
				}
				ders = append(ders, p7...)
			}
		}
		if len(ders) == 0 {
			return nil, format, fmt.Errorf("%w: PEM without a CERTIFICATE or PKCS7 block", ErrNoCertificates)
		}
	default:
		if p7, err := pkcs7Certificates(body); err == nil {
			ders, format = p7, "PKCS#7"
		} else {
			ders = [][]byte{body}
		}
	}
	if len(ders) > maxAIAInBody {
		ders = ders[:maxAIAInBody]
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := verify.ParseCertificate(der)
		if err != nil {
			return nil, format, fmt.Errorf("parse %s certificate %d: %w", format, i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, format, nil
}

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// pkcs7Certificates returns the certificates of a DER PKCS#7 SignedData
// (RFC 5652 5.1; a certs-only ".p7c" has no content and no signers).
// Only the envelope is read here; the certificates are parsed by the
// caller with verify.ParseCertificate.
func pkcs7Certificates(der []byte) ([][]byte, error) {
	bad := func(what string) ([][]byte, error) {
		return nil, fmt.Errorf("%w: not a PKCS#7 SignedData: %s", ErrBadInput, what)
	}
	in := cryptobyte.String(der)
	var ci, content, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&oid) {
		return bad("ContentInfo")
	}
	if !oid.Equal(oidSignedData) {
		return bad("content type " + oid.String())
	}
	if !ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !content.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return bad("content")
	}
	if !sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) {
		return bad("SignedData header")
	}
	var set cryptobyte.String
	var has bool
	if !sd.ReadOptionalASN1(&set, &has, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return bad("certificates")
	}
	var out [][]byte
	for !set.Empty() {
		var elem cryptobyte.String
		var tag cbasn1.Tag
		if !set.ReadAnyASN1Element(&elem, &tag) {
			return bad("certificate")
		}
		// Other CertificateChoices (attribute certificates) are tagged.
		if tag == cbasn1.SEQUENCE {
			out = append(out, elem)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the PKCS#7 holds no certificate", ErrNoCertificates)
	}
	return out, nil
}
