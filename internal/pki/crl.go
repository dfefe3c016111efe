package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// CRL reason codes (RFC 5280 section 5.3.1), for Revoked.Reason.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonRemoveFromCRL        = 8
)

// Revoked is one CRL entry. A zero At means the CRL's ThisUpdate; Reason 0
// (unspecified) omits the reason code extension, as RFC 5280 recommends.
type Revoked struct {
	Serial *big.Int
	At     time.Time
	Reason int
}

// RevokedCert is a convenience for a Revoked entry naming c.
func RevokedCert(c *x509.Certificate, at time.Time, reason int) Revoked {
	return Revoked{Serial: c.SerialNumber, At: at, Reason: reason}
}

// CRLOptions controls CA.CRL. The zero value gives a base CRL number 1,
// valid now-1h .. now+24h, signed by the CA's key.
type CRLOptions struct {
	Number     int64     // CRL number; 0 means 1
	ThisUpdate time.Time // zero: now-1h
	NextUpdate time.Time // zero: ThisUpdate+25h (i.e. now+24h)
	// Delta adds the critical Delta CRL Indicator naming BaseNumber, the
	// number of the base CRL this delta applies to (RFC 5280 section 5.2.4).
	Delta      bool
	BaseNumber int64
	// IssuingDistributionPoint, when set, adds the critical IDP extension.
	IssuingDistributionPoint *IssuingDistributionPoint
	// SignWith signs with another key while keeping the CA's name and AKI:
	// the "CRL signed by the wrong key" case.
	SignWith crypto.Signer
	// SignatureAlgorithm overrides the default for the key.
	SignatureAlgorithm x509.SignatureAlgorithm
	// ExtraExtensions are added to the CRL as-is.
	ExtraExtensions []pkix.Extension
}

// CRL returns a DER-encoded X.509 v2 CRL issued by ca.
//
// crypto/x509 refuses issuers without cRLSign; the CA certificate is copied
// with that bit set so that tests can also build CRLs from CAs that lack it
// (the verifier, not this toolkit, must reject those).
func (ca *CA) CRL(revoked []Revoked, o CRLOptions) ([]byte, error) {
	if ca == nil || ca.Cert == nil {
		return nil, fmt.Errorf("create crl: %w", ErrNotCA)
	}
	key := o.SignWith
	if key == nil {
		key = ca.Key
	}
	if key == nil {
		return nil, fmt.Errorf("create crl for %q: %w", ca.Cert.Subject.CommonName, ErrNoKey)
	}
	now := time.Now().Truncate(time.Second)
	tmpl := &x509.RevocationList{
		Number:             big.NewInt(o.Number),
		ThisUpdate:         o.ThisUpdate,
		NextUpdate:         o.NextUpdate,
		SignatureAlgorithm: o.SignatureAlgorithm,
	}
	if o.Number == 0 {
		tmpl.Number = big.NewInt(1)
	}
	if tmpl.ThisUpdate.IsZero() {
		tmpl.ThisUpdate = now.Add(-time.Hour)
	}
	if tmpl.NextUpdate.IsZero() {
		tmpl.NextUpdate = tmpl.ThisUpdate.Add(25 * time.Hour)
	}
	for i, r := range revoked {
		if r.Serial == nil {
			return nil, fmt.Errorf("create crl: %w: revoked[%d] has no serial", ErrInvalidOption, i)
		}
		at := r.At
		if at.IsZero() {
			at = tmpl.ThisUpdate
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: at, ReasonCode: r.Reason})
	}
	if o.Delta {
		v, err := asn1.Marshal(big.NewInt(o.BaseNumber))
		if err != nil {
			return nil, fmt.Errorf("create crl: encode delta crl indicator: %w", err)
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: OIDDeltaCRLIndicator, Critical: true, Value: v})
	}
	if o.IssuingDistributionPoint != nil {
		v, err := o.IssuingDistributionPoint.marshal()
		if err != nil {
			return nil, fmt.Errorf("create crl: encode issuing distribution point: %w", err)
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: OIDIssuingDistributionPoint, Critical: true, Value: v})
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, o.ExtraExtensions...)

	issuer := *ca.Cert
	issuer.KeyUsage |= x509.KeyUsageCRLSign
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, &issuer, key)
	if err != nil {
		return nil, fmt.Errorf("create crl for %q: %w", ca.Cert.Subject.CommonName, err)
	}
	return der, nil
}

// DeltaCRLBase returns the base CRL number of a delta CRL and whether the
// CRL carries the Delta CRL Indicator at all.
func DeltaCRLBase(crl *x509.RevocationList) (*big.Int, bool, error) {
	for _, ext := range crl.Extensions {
		if !ext.Id.Equal(OIDDeltaCRLIndicator) {
			continue
		}
		n := new(big.Int)
		if _, err := asn1.Unmarshal(ext.Value, &n); err != nil {
			return nil, true, fmt.Errorf("parse delta crl indicator: %w", err)
		}
		return n, true, nil
	}
	return nil, false, nil
}
