package dname

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDUPN is szOID_NT_PRINCIPAL_NAME, the Microsoft User Principal Name
// otherName type.
var OIDUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}

var tagExplicit0 = cbasn1.Tag(0).ContextSpecific().Constructed()

// OtherNameUPN reads the content of one otherName GeneralName (RFC 5280
// 4.2.1.6: what follows its [0] IMPLICIT tag, type-id then value [0]
// EXPLICIT), as found in a subjectAltName or a nameConstraints subtree.
// isUPN is false for other type-ids. A UPN value must be a UTF8String, as
// Windows CAs write it: guessing at another encoding could name the wrong
// account. internal/mapping (UPN mapping) and internal/verify (UPN name
// constraints) both read UPNs here, so the UPN a constraint judged is the
// UPN the mapper uses.
func OtherNameUPN(content []byte) (upn string, isUPN bool, err error) {
	gn := cryptobyte.String(content)
	var typeID asn1.ObjectIdentifier
	if !gn.ReadASN1ObjectIdentifier(&typeID) {
		return "", false, errors.New("otherName without a type-id")
	}
	if !typeID.Equal(OIDUPN) {
		return "", false, nil
	}
	var wrapped, value cryptobyte.String
	if !gn.ReadASN1(&wrapped, tagExplicit0) || !gn.Empty() {
		return "", true, errors.New("value is not explicitly tagged [0]")
	}
	if !wrapped.ReadASN1(&value, cbasn1.UTF8String) || !wrapped.Empty() {
		return "", true, errors.New("value is not a UTF8String")
	}
	if !utf8.Valid(value) {
		return "", true, errors.New("value is not valid UTF-8")
	}
	return string(value), true, nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// UPNs returns the UPNs of c's subjectAltName in order (nil without any),
// or the first problem reading one: a SAN that is not a SEQUENCE of
// GeneralName, or a UPN otherName OtherNameUPN refuses.
func UPNs(c *x509.Certificate) ([]string, error) {
	var out []string
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		in := cryptobyte.String(ext.Value)
		var names cryptobyte.String
		if !in.ReadASN1(&names, cbasn1.SEQUENCE) || !in.Empty() {
			return nil, errors.New("subjectAltName is not a SEQUENCE of GeneralName")
		}
		for !names.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&gn, &tag) {
				return nil, errors.New("truncated GeneralName in subjectAltName")
			}
			if tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
				continue
			}
			upn, isUPN, err := OtherNameUPN(gn)
			if err != nil {
				return nil, fmt.Errorf("UPN otherName: %w", err)
			}
			if isUPN {
				out = append(out, upn)
			}
		}
	}
	return out, nil
}
