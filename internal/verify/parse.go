package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var oidCRLDistributionPoints = asn1.ObjectIdentifier{2, 5, 29, 31}

// ParseCertificate parses one DER certificate like x509.ParseCertificate.
// It also accepts a certificate that crypto/x509 refuses only because of
// its CRL distribution points extension: crypto/x509 does not support a
// distribution point named relative to the CRL issuer
// (nameRelativeToCRLIssuer, RFC 5280 4.2.1.13; PKITS 4.14.4-4.14.6 and
// 4.14.29). Such a certificate is returned with the extension kept
// unparsed in Extensions (CRLDistributionPoints is empty), which is where
// internal/revocation reads distribution points from.
//
// Only the parser's view changes: Raw, RawTBSCertificate and every other
// field are those of the original bytes, so signatures verify as usual.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err == nil {
		return c, nil
	}
	pos, ok := cdpOIDLastByte(der)
	if !ok {
		return nil, err
	}
	// Parse a copy whose CDP extension has an OID crypto/x509 does not
	// know (2.5.29.127, same length), then put the byte back: all Raw*
	// fields and extension values alias the copy.
	m := bytes.Clone(der)
	m[pos] = 0x7f
	c, err2 := x509.ParseCertificate(m)
	if err2 != nil {
		return nil, err
	}
	m[pos] = der[pos]
	masked := asn1.ObjectIdentifier{2, 5, 29, 127}
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(masked) {
			c.Extensions[i].Id = slices.Clone(oidCRLDistributionPoints)
		}
	}
	for i, id := range c.UnhandledCriticalExtensions {
		if id.Equal(masked) {
			c.UnhandledCriticalExtensions[i] = slices.Clone(oidCRLDistributionPoints)
		}
	}
	return c, nil
}

// cdpOIDLastByte finds, by walking the TBSCertificate's structure, the
// offset of the last byte of the cRLDistributionPoints extension's OID.
func cdpOIDLastByte(der []byte) (int, bool) {
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return 0, false
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipASN1(cbasn1.INTEGER) || // serialNumber
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // signature
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // issuer
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // subject
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // subjectPublicKeyInfo
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) || // issuerUniqueID
		!tbs.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific()) { // subjectUniqueID
		return 0, false
	}
	var exts cryptobyte.String
	var has bool
	if !tbs.ReadOptionalASN1(&exts, &has, cbasn1.Tag(3).Constructed().ContextSpecific()) || !has ||
		!exts.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return 0, false
	}
	want := []byte{0x06, 0x03, 0x55, 0x1d, 0x1f}
	for !exts.Empty() {
		var ext cryptobyte.String
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) {
			return 0, false
		}
		if bytes.HasPrefix(ext, want) {
			// ext aliases der, so the capacities give its offset.
			pos := cap(der) - cap(ext) + len(want) - 1
			if pos < len(want) || pos >= len(der) || !bytes.Equal(der[pos+1-len(want):pos+1], want) {
				return 0, false
			}
			return pos, true
		}
	}
	return 0, false
}
