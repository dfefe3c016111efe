package mapping

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/certgate/certgate/internal/dname"
)

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// oidUPN is szOID_NT_PRINCIPAL_NAME, the Microsoft UPN otherName.
	oidUPN = dname.OIDUPN
)

// UPNs returns the User Principal Names in c's subjectAltName, in order. A
// certificate without a SAN or without a UPN gives (nil, nil). Other
// otherName types are skipped. A UPN whose value is not a UTF8String
// explicitly tagged [0], as Windows CAs write it, is an ErrMalformedUPN:
// guessing at another encoding could map the certificate to the wrong user.
// The parser is dname.UPNs, shared with the UPN name constraints of
// internal/verify and the directory lookup, so every reader agrees on
// what a certificate's UPN is.
func UPNs(c *x509.Certificate) ([]string, error) {
	upns, err := dname.UPNs(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedUPN, err)
	}
	return upns, nil
}
