package doctor

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"time"

	"github.com/certgate/certgate/internal/verify"
)

// CertRef names a certificate in reports the way certgate logs one:
// subject, issuer and SHA-256 fingerprint (never the PEM).
type CertRef struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	SHA256    string    `json:"sha256"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Source    string    `json:"source,omitempty"`
}

func refOf(c *x509.Certificate, source string) CertRef {
	return CertRef{
		Subject:   dnString(c.Subject.String()),
		Issuer:    dnString(c.Issuer.String()),
		SHA256:    verify.Fingerprint(c),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		Source:    source,
	}
}

func dnString(s string) string {
	if s == "" {
		return "(empty name)"
	}
	return s
}

// DNString renders a DER DistinguishedName as received in a
// CertificateRequest (RFC 4514 order, as crypto/x509 prints names). A name
// that does not parse is shown as such rather than dropped: the server sent
// it and it counts towards the list size.
func DNString(der []byte) string {
	var rdn pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &rdn)
	if err != nil || len(rest) > 0 {
		return "(unparsable name)"
	}
	return dnString(rdn.String())
}

// validity says whether c is outside its validity window at t.
func validity(c *x509.Certificate, t time.Time) (expired, notYetValid bool) {
	return t.After(c.NotAfter), t.Before(c.NotBefore)
}

func day(t time.Time) string { return t.UTC().Format(time.RFC3339) }
