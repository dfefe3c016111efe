package dname

import (
	"encoding/asn1"
	"errors"
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
