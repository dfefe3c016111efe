package mapping

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/certgate/certgate/internal/dname"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// oidUPN is szOID_NT_PRINCIPAL_NAME, the Microsoft UPN otherName.
	oidUPN = dname.OIDUPN
)

// GeneralName tag of otherName (RFC 5280 section 4.2.1.6):
//
//	otherName [0] IMPLICIT SEQUENCE { type-id OBJECT IDENTIFIER,
//	                                  value   [0] EXPLICIT ANY }
var tagOtherName = cbasn1.Tag(0).ContextSpecific().Constructed()

// UPNs returns the User Principal Names in c's subjectAltName, in order. A
// certificate without a SAN or without a UPN gives (nil, nil). Other
// otherName types are skipped. A UPN whose value is not a UTF8String
// explicitly tagged [0], as Windows CAs write it, is an ErrMalformedUPN:
// guessing at another encoding could map the certificate to the wrong user.
func UPNs(c *x509.Certificate) ([]string, error) {
	var out []string
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		upns, err := parseSANUPNs(ext.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, upns...)
	}
	return out, nil
}

func parseSANUPNs(der []byte) ([]string, error) {
	in := cryptobyte.String(der)
	var names cryptobyte.String
	if !in.ReadASN1(&names, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: subjectAltName is not a SEQUENCE of GeneralName", ErrMalformedUPN)
	}
	var out []string
	for !names.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&gn, &tag) {
			return nil, fmt.Errorf("%w: truncated GeneralName in subjectAltName", ErrMalformedUPN)
		}
		if tag != tagOtherName {
			continue
		}
		upn, isUPN, err := ParseOtherNameUPN(gn)
		if err != nil {
			return nil, err
		}
		if !isUPN {
			continue
		}
		out = append(out, upn)
	}
	return out, nil
}

// ParseOtherNameUPN reads the content of one otherName GeneralName with
// dname.OtherNameUPN, the parser internal/verify's UPN name constraints
// use too, and marks its errors as ErrMalformedUPN.
func ParseOtherNameUPN(content []byte) (upn string, isUPN bool, err error) {
	upn, isUPN, err = dname.OtherNameUPN(content)
	if err != nil {
		return "", isUPN, fmt.Errorf("%w: %w", ErrMalformedUPN, err)
	}
	return upn, isUPN, nil
}
