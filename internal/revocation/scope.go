package revocation

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certgate/certgate/internal/dname"
)

// ReasonFlags is the RFC 5280 ReasonFlags bit set (section 4.2.1.13): bit 1
// keyCompromise ... bit 8 aACompromise. It scopes a distribution point or an
// issuing distribution point to some revocation reasons. The zero value
// means "all reasons", as an absent reasons field does.
type ReasonFlags uint16

// AllReasons is every reason a CRL can cover (bits 1..8).
const AllReasons ReasonFlags = 0x1fe

var reasonFlagNames = [...]string{"unused", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn", "aACompromise"}

// String lists the reason names, "all reasons" for AllReasons or 0.
func (r ReasonFlags) String() string {
	if r == 0 || r&AllReasons == AllReasons {
		return "all reasons"
	}
	var out []string
	for i, n := range reasonFlagNames {
		if r&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}

// norm turns the "absent means all" zero value into an explicit set.
func (r ReasonFlags) norm() ReasonFlags {
	if r == 0 {
		return AllReasons
	}
	return r & AllReasons
}

// reasonCodeNames are the RFC 5280 section 5.3.1 CRLReason names.
var reasonCodeNames = map[int]string{
	0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
	4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
	9: "privilegeWithdrawn", 10: "aACompromise",
}

// ReasonCodeName names an RFC 5280 CRLReason code ("keyCompromise").
func ReasonCodeName(code int) string {
	if n, ok := reasonCodeNames[code]; ok {
		return n
	}
	return fmt.Sprintf("reason %d", code)
}

// reasonRemoveFromCRL (RFC 5280 5.3.1) in a delta CRL un-revokes a
// certificate that the base CRL lists as on hold.
const reasonRemoveFromCRL = 8

// IssuingDistributionPoint is the scope of a CRL (RFC 5280 section 5.2.5).
type IssuingDistributionPoint struct {
	// URIs are the uniformResourceIdentifier full names of the distribution
	// point, if any.
	URIs                       []string
	OnlyUserCerts, OnlyCACerts bool
	OnlyAttributeCerts         bool
	Indirect                   bool
	OnlySomeReasons            ReasonFlags // 0: all reasons
	names                      [][]byte    // raw GeneralName elements (fullName)
	relative                   []byte      // raw RDN (SET) of nameRelativeToCRLIssuer
	hasName                    bool
}

// distPoint is one RFC 5280 DistributionPoint of a certificate's CRL
// distribution points (2.5.29.31) or Freshest CRL (2.5.29.46) extension.
type distPoint struct {
	hasName   bool
	names     [][]byte // raw GeneralName elements of a fullName
	relative  []byte   // raw RDN of a nameRelativeToCRLIssuer
	uris      []string // uniformResourceIdentifier names, in order
	reasons   ReasonFlags
	crlIssuer [][]byte // raw GeneralName elements
}

// fullNames returns the point's names, resolving a nameRelativeToCRLIssuer
// against the cRLIssuer or, without one, the certificate issuer
// (RFC 5280 section 4.2.1.13). Parsed points are cached independently of
// the certificate, hence the resolution here.
func (dp *distPoint) fullNames(certIssuer []byte) [][]byte {
	if dp.relative == nil {
		return dp.names
	}
	base := certIssuer
	for _, n := range dp.crlIssuer {
		if inner, ok := directoryNameInner(n); ok {
			base = inner
			break
		}
	}
	if dn := directoryName(base, dp.relative); dn != nil {
		return append(append([][]byte(nil), dp.names...), dn)
	}
	return dp.names
}

// readDistPointName reads the content of a [0] DistributionPointName:
// fullName [0] GeneralNames or nameRelativeToCRLIssuer [1] RDN.
func readDistPointName(s cryptobyte.String) (names [][]byte, uris []string, relative []byte, err error) {
	var inner cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&inner, &tag) || !s.Empty() {
		return nil, nil, nil, fmt.Errorf("%w: distribution point name", ErrMalformedCRL)
	}
	switch tag {
	case cbasn1.Tag(0).Constructed().ContextSpecific():
		names, uris, err = readGeneralNames(inner)
		return names, uris, nil, err
	case cbasn1.Tag(1).Constructed().ContextSpecific():
		// Implicitly tagged SET: rebuild the SET element so that it can be
		// appended to an issuer name.
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(inner) })
		rdn, e := b.Bytes()
		if e != nil {
			return nil, nil, nil, fmt.Errorf("%w: nameRelativeToCRLIssuer: %v", ErrMalformedCRL, e)
		}
		return nil, nil, rdn, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: distribution point name tag %d", ErrMalformedCRL, tag)
}

// readGeneralNames reads the content of a GeneralNames SEQUENCE.
func readGeneralNames(s cryptobyte.String) (names [][]byte, uris []string, err error) {
	for !s.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&el, &tag) {
			return nil, nil, fmt.Errorf("%w: general name", ErrMalformedCRL)
		}
		names = append(names, bytes.Clone(el))
		if tag == cbasn1.Tag(6).ContextSpecific() {
			var v cryptobyte.String
			if el.ReadASN1(&v, tag) {
				uris = append(uris, string(v))
			}
		}
	}
	return names, uris, nil
}

// directoryName builds the GeneralName directoryName for base (a raw Name)
// extended by rdn (a raw RelativeDistinguishedName), as RFC 5280 section
// 4.2.1.13 defines nameRelativeToCRLIssuer.
func directoryName(base, rdn []byte) []byte {
	s := cryptobyte.String(base)
	var rdns cryptobyte.String
	if !s.ReadASN1(&rdns, cbasn1.SEQUENCE) {
		return nil
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(rdns)
			b.AddBytes(rdn)
		})
	})
	out, _ := b.Bytes()
	return out
}

// directoryNameOf wraps a raw Name as a GeneralName directoryName.
func directoryNameOf(name []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(name) })
	out, _ := b.Bytes()
	return out
}

func readReasonFlags(v cryptobyte.String) (ReasonFlags, bool) {
	var bs asn1.BitString
	// An implicitly tagged BIT STRING: re-tag it so cryptobyte can read it.
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(v) })
	der, err := b.Bytes()
	if err != nil {
		return 0, false
	}
	s := cryptobyte.String(der)
	if !s.ReadASN1BitString(&bs) {
		return 0, false
	}
	var r ReasonFlags
	for i := 0; i < 9 && i < bs.BitLength; i++ {
		if bs.At(i) != 0 {
			r |= 1 << i
		}
	}
	if r == 0 {
		// Present but empty covers no reason; keep it distinguishable
		// from "absent" (all reasons).
		r = 1 // only the "unused" bit: covers nothing useful
	}
	return r, true
}

// parseDistPoints parses CRLDistributionPoints syntax (2.5.29.31 and
// 2.5.29.46).
func parseDistPoints(der []byte) ([]distPoint, error) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, fmt.Errorf("%w: distribution points", ErrMalformedCRL)
	}
	var out []distPoint
	for !seq.Empty() {
		var dpS cryptobyte.String
		if !seq.ReadASN1(&dpS, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("%w: distribution point", ErrMalformedCRL)
		}
		var dp distPoint
		var nameS, reasonsS, issuerS cryptobyte.String
		var hasName, hasReasons, hasIssuer bool
		if !dpS.ReadOptionalASN1(&nameS, &hasName, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!dpS.ReadOptionalASN1(&reasonsS, &hasReasons, cbasn1.Tag(1).ContextSpecific()) ||
			!dpS.ReadOptionalASN1(&issuerS, &hasIssuer, cbasn1.Tag(2).Constructed().ContextSpecific()) ||
			!dpS.Empty() {
			return nil, fmt.Errorf("%w: distribution point fields", ErrMalformedCRL)
		}
		if hasIssuer {
			names, _, err := readGeneralNames(issuerS)
			if err != nil {
				return nil, err
			}
			dp.crlIssuer = names
		}
		if hasName {
			names, uris, rel, err := readDistPointName(nameS)
			if err != nil {
				return nil, err
			}
			dp.hasName, dp.names, dp.uris, dp.relative = true, names, uris, rel
		}
		if hasReasons {
			r, ok := readReasonFlags(reasonsS)
			if !ok {
				return nil, fmt.Errorf("%w: distribution point reasons", ErrMalformedCRL)
			}
			dp.reasons = r
		}
		out = append(out, dp)
	}
	return out, nil
}

// directoryNameInner returns the raw Name inside a directoryName GeneralName.
func directoryNameInner(gn []byte) ([]byte, bool) {
	s := cryptobyte.String(gn)
	var inner cryptobyte.String
	if !s.ReadASN1(&inner, cbasn1.Tag(4).Constructed().ContextSpecific()) {
		return nil, false
	}
	return inner, true
}

// parseIDP parses an Issuing Distribution Point extension value.
func parseIDP(der []byte) (*IssuingDistributionPoint, error) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, fmt.Errorf("%w: issuing distribution point", ErrMalformedCRL)
	}
	idp := &IssuingDistributionPoint{}
	var nameS, reasonsS cryptobyte.String
	var hasName, hasReasons bool
	if !seq.ReadOptionalASN1(&nameS, &hasName, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, fmt.Errorf("%w: issuing distribution point name", ErrMalformedCRL)
	}
	if hasName {
		names, uris, rel, err := readDistPointName(nameS)
		if err != nil {
			return nil, err
		}
		idp.hasName, idp.names, idp.URIs, idp.relative = true, names, uris, rel
	}
	bools := []struct {
		tag int
		out *bool
	}{{1, &idp.OnlyUserCerts}, {2, &idp.OnlyCACerts}}
	for _, bf := range bools {
		if !readImplicitBool(&seq, bf.tag, bf.out) {
			return nil, fmt.Errorf("%w: issuing distribution point flag [%d]", ErrMalformedCRL, bf.tag)
		}
	}
	if !seq.ReadOptionalASN1(&reasonsS, &hasReasons, cbasn1.Tag(3).ContextSpecific()) {
		return nil, fmt.Errorf("%w: issuing distribution point reasons", ErrMalformedCRL)
	}
	if hasReasons {
		r, ok := readReasonFlags(reasonsS)
		if !ok {
			return nil, fmt.Errorf("%w: issuing distribution point reasons", ErrMalformedCRL)
		}
		idp.OnlySomeReasons = r
	}
	if !readImplicitBool(&seq, 4, &idp.Indirect) || !readImplicitBool(&seq, 5, &idp.OnlyAttributeCerts) || !seq.Empty() {
		return nil, fmt.Errorf("%w: issuing distribution point flags", ErrMalformedCRL)
	}
	return idp, nil
}

func readImplicitBool(s *cryptobyte.String, tag int, out *bool) bool {
	var v cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&v, &present, cbasn1.Tag(tag).ContextSpecific()) {
		return false
	}
	if !present {
		return true
	}
	if len(v) != 1 || (v[0] != 0 && v[0] != 0xff) {
		return false
	}
	*out = v[0] == 0xff
	return true
}

// idpNames returns the IDP's distribution point names, resolving a
// nameRelativeToCRLIssuer against the CRL issuer.
func (c *CRL) idpNames() [][]byte {
	if c.IDP == nil {
		return nil
	}
	if c.IDP.relative == nil {
		return c.IDP.names
	}
	if dn := directoryName(c.RawIssuer, c.IDP.relative); dn != nil {
		return append(append([][]byte(nil), c.IDP.names...), dn)
	}
	return c.IDP.names
}

// anyNameEqual reports whether two GeneralNames share a name;
// directoryNames are compared as RFC 5280 7.1 says, others byte for byte.
func anyNameEqual(a, b [][]byte) bool {
	for _, x := range a {
		for _, y := range b {
			if bytes.Equal(x, y) {
				return true
			}
			xi, okx := directoryNameInner(x)
			yi, oky := directoryNameInner(y)
			if okx && oky && dname.Equal(xi, yi) {
				return true
			}
		}
	}
	return false
}

// scope decides whether crl, reached through distribution point dp (nil:
// the certificate has no CRL distribution points), covers cert, and for
// which reasons. It implements RFC 5280 section 6.3.3 steps (b) and (d).
func (c *CRL) scope(cert *x509.Certificate, dp *distPoint) (ReasonFlags, error) {
	if dp != nil && len(dp.crlIssuer) > 0 {
		// (b)(1)(i): the point names the CRL issuer; its CRL must be an
		// indirect CRL from that issuer.
		if !anyNameEqual([][]byte{directoryNameOf(c.RawIssuer)}, dp.crlIssuer) {
			return 0, fmt.Errorf("%w: CRL issuer %q is not the distribution point's cRLIssuer", ErrCRLScope, c.Issuer.String())
		}
		if c.IDP == nil || !c.IDP.Indirect {
			return 0, fmt.Errorf("%w: the distribution point names a cRLIssuer and the CRL is not indirect", ErrCRLScope)
		}
	} else if !dname.Equal(c.RawIssuer, cert.RawIssuer) {
		// (b)(1)(ii)
		return 0, fmt.Errorf("%w: crl issuer is not the certificate issuer", ErrCRLIssuer)
	}
	idp := c.IDP
	if idp == nil {
		reasons := AllReasons
		if dp != nil {
			reasons = dp.reasons.norm()
		}
		return reasons, nil
	}
	if idp.hasName {
		idpNames := c.idpNames()
		switch {
		case dp != nil && dp.hasName:
			if !anyNameEqual(idpNames, dp.fullNames(cert.RawIssuer)) {
				return 0, fmt.Errorf("%w: issuing distribution point %s does not match the certificate's distribution point", ErrCRLScope, nameList(idp.URIs))
			}
		case dp != nil && len(dp.crlIssuer) > 0:
			if !anyNameEqual(idpNames, dp.crlIssuer) {
				return 0, fmt.Errorf("%w: issuing distribution point does not match the certificate's cRLIssuer", ErrCRLScope)
			}
		default:
			return 0, fmt.Errorf("%w: the CRL is partitioned (issuing distribution point %s) and the certificate names no distribution point", ErrCRLScope, nameList(idp.URIs))
		}
	}
	switch {
	case idp.OnlyUserCerts && isCA(cert):
		return 0, fmt.Errorf("%w: the CRL only covers end-entity certificates and this is a CA certificate", ErrCRLScope)
	case idp.OnlyCACerts && !isCA(cert):
		return 0, fmt.Errorf("%w: the CRL only covers CA certificates and this is an end-entity certificate", ErrCRLScope)
	case idp.OnlyAttributeCerts:
		return 0, fmt.Errorf("%w: the CRL only covers attribute certificates", ErrCRLScope)
	}
	reasons := idp.OnlySomeReasons.norm()
	if dp != nil {
		reasons &= dp.reasons.norm()
	}
	return reasons, nil
}

func nameList(uris []string) string {
	if len(uris) == 0 {
		return "(directory name)"
	}
	return fmt.Sprintf("%q", strings.Join(uris, " "))
}
