package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Object identifiers of the extensions and names this package encodes by
// hand because crypto/x509 does not (or not in the needed form).
var (
	// OIDUPN is the Microsoft User Principal Name otherName type.
	OIDUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
	// OIDSubjectAltName is the SAN extension (RFC 5280 section 4.2.1.6).
	OIDSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// OIDFreshestCRL is the delta-CRL distribution point extension
	// (RFC 5280 section 4.2.1.15).
	OIDFreshestCRL = asn1.ObjectIdentifier{2, 5, 29, 46}
	// OIDDeltaCRLIndicator marks a delta CRL (RFC 5280 section 5.2.4).
	OIDDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	// OIDIssuingDistributionPoint is the CRL IDP extension (RFC 5280 section 5.2.5).
	OIDIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// GeneralName tags (RFC 5280 section 4.2.1.6), context-specific.
const (
	tagOtherName = 0
	tagRFC822    = 1
	tagDNS       = 2
	tagURI       = 6
	tagIP        = 7
)

// sanNames is everything that goes into one subjectAltName extension.
type sanNames struct {
	upns   []string
	dns    []string
	emails []string
	ips    []net.IP
	uris   []*url.URL
}

// marshalSAN encodes a SAN extension value. crypto/x509 cannot emit
// otherName, and a certificate may carry only one SAN extension, so when a
// UPN is present every name is encoded here. The UPN comes first, as
// Windows CAs write it.
func marshalSAN(n sanNames) ([]byte, error) {
	var raw []asn1.RawValue
	for _, upn := range n.upns {
		on, err := marshalUPN(upn)
		if err != nil {
			return nil, err
		}
		raw = append(raw, on)
	}
	for _, d := range n.dns {
		raw = append(raw, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagDNS, Bytes: []byte(d)})
	}
	for _, e := range n.emails {
		raw = append(raw, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagRFC822, Bytes: []byte(e)})
	}
	for _, ip := range n.ips {
		b := ip.To4()
		if b == nil {
			b = ip.To16()
		}
		if b == nil {
			return nil, fmt.Errorf("%w: ip SAN %v has no 4- or 16-byte form", ErrInvalidOption, ip)
		}
		raw = append(raw, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagIP, Bytes: b})
	}
	for _, u := range n.uris {
		raw = append(raw, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagURI, Bytes: []byte(u.String())})
	}
	return asn1.Marshal(raw)
}

// marshalUPN encodes otherName ::= [0] { type-id OID, value [0] EXPLICIT UTF8String }.
func marshalUPN(upn string) (asn1.RawValue, error) {
	str, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("encode upn %q: %w", upn, err)
	}
	val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("encode upn %q: %w", upn, err)
	}
	oid, err := asn1.Marshal(OIDUPN)
	if err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagOtherName, IsCompound: true, Bytes: append(oid, val...)}, nil
}

// OtherName is one otherName SAN entry: its type OID and its value, the
// element inside the [0] EXPLICIT wrapper (a UTF8String for a UPN).
type OtherName struct {
	TypeID asn1.ObjectIdentifier
	Value  asn1.RawValue
}

// OtherNames returns the otherName entries of a certificate's SAN, which
// crypto/x509 skips when parsing.
func OtherNames(c *x509.Certificate) ([]OtherName, error) {
	var out []OtherName
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(OIDSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		rest, err := asn1.Unmarshal(ext.Value, &names)
		if err != nil {
			return nil, fmt.Errorf("parse subjectAltName: %w", err)
		}
		if len(rest) != 0 {
			return nil, errors.New("parse subjectAltName: trailing data")
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != tagOtherName {
				continue
			}
			var on OtherName
			// The otherName is IMPLICIT [0]: re-tag its content as a SEQUENCE.
			seq := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: n.Bytes}
			der, err := asn1.Marshal(seq)
			if err != nil {
				return nil, fmt.Errorf("parse subjectAltName otherName: %w", err)
			}
			var tmp struct {
				TypeID asn1.ObjectIdentifier
				Value  asn1.RawValue // the [0] EXPLICIT wrapper, unwrapped below
			}
			if _, err := asn1.Unmarshal(der, &tmp); err != nil {
				return nil, fmt.Errorf("parse subjectAltName otherName: %w", err)
			}
			w := tmp.Value
			if w.Class != asn1.ClassContextSpecific || w.Tag != 0 || !w.IsCompound {
				return nil, fmt.Errorf("parse subjectAltName otherName %v: value is not [0] EXPLICIT", tmp.TypeID)
			}
			if rest, err := asn1.Unmarshal(w.Bytes, &on.Value); err != nil || len(rest) != 0 {
				return nil, fmt.Errorf("parse subjectAltName otherName %v: bad value (err %v, %d trailing bytes)", tmp.TypeID, err, len(rest))
			}
			on.TypeID = tmp.TypeID
			out = append(out, on)
		}
	}
	return out, nil
}

// UPNs returns the User Principal Names (otherName 1.3.6.1.4.1.311.20.2.3)
// in a certificate's SAN.
func UPNs(c *x509.Certificate) ([]string, error) {
	ons, err := OtherNames(c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, on := range ons {
		if !on.TypeID.Equal(OIDUPN) {
			continue
		}
		var s string
		if _, err := asn1.UnmarshalWithParams(on.Value.FullBytes, &s, "utf8"); err != nil {
			return nil, fmt.Errorf("parse upn otherName: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// distributionPoint mirrors RFC 5280 DistributionPoint, like crypto/x509's
// private type, so that Freshest CRL is encoded exactly as CRL DP is.
type distributionPoint struct {
	DistributionPoint distributionPointName `asn1:"optional,tag:0"`
	Reason            asn1.BitString        `asn1:"optional,tag:1"`
	CRLIssuer         asn1.RawValue         `asn1:"optional,tag:2"`
}

type distributionPointName struct {
	FullName     []asn1.RawValue  `asn1:"optional,tag:0"`
	RelativeName pkix.RDNSequence `asn1:"optional,tag:1"`
}

func uriNames(urls []string) []asn1.RawValue {
	out := make([]asn1.RawValue, 0, len(urls))
	for _, u := range urls {
		out = append(out, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagURI, Bytes: []byte(u)})
	}
	return out
}

// marshalDistributionPoints encodes CRLDistributionPoints syntax: one
// DistributionPoint per URL, each with a fullName URI.
func marshalDistributionPoints(urls []string) ([]byte, error) {
	dps := make([]distributionPoint, 0, len(urls))
	for _, u := range urls {
		dps = append(dps, distributionPoint{DistributionPoint: distributionPointName{FullName: uriNames([]string{u})}})
	}
	return asn1.Marshal(dps)
}

// FreshestCRLURLs returns the URI full names of a certificate's Freshest CRL
// (delta CRL distribution point) extension.
func FreshestCRLURLs(c *x509.Certificate) ([]string, error) {
	for _, ext := range c.Extensions {
		if ext.Id.Equal(OIDFreshestCRL) {
			return ParseDistributionPoints(ext.Value)
		}
	}
	return nil, nil
}

// ParseDistributionPoints decodes a CRLDistributionPoints-syntax value
// (2.5.29.31 or 2.5.29.46) and returns its URI full names.
func ParseDistributionPoints(der []byte) ([]string, error) {
	var dps []distributionPoint
	rest, err := asn1.Unmarshal(der, &dps)
	if err != nil {
		return nil, fmt.Errorf("parse distribution points: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("parse distribution points: trailing data")
	}
	var out []string
	for _, dp := range dps {
		for _, n := range dp.DistributionPoint.FullName {
			if n.Class == asn1.ClassContextSpecific && n.Tag == tagURI {
				out = append(out, string(n.Bytes))
			}
		}
	}
	return out, nil
}

// IssuingDistributionPoint is the CRL extension that scopes a CRL
// (RFC 5280 section 5.2.5). It is always marked critical.
type IssuingDistributionPoint struct {
	URLs                  []string
	OnlyContainsUserCerts bool
	OnlyContainsCACerts   bool
	IndirectCRL           bool
}

type issuingDistributionPoint struct {
	DistributionPoint          distributionPointName `asn1:"optional,tag:0"`
	OnlyContainsUserCerts      bool                  `asn1:"optional,tag:1"`
	OnlyContainsCACerts        bool                  `asn1:"optional,tag:2"`
	OnlySomeReasons            asn1.BitString        `asn1:"optional,tag:3"`
	IndirectCRL                bool                  `asn1:"optional,tag:4"`
	OnlyContainsAttributeCerts bool                  `asn1:"optional,tag:5"`
}

func (p *IssuingDistributionPoint) marshal() ([]byte, error) {
	v := issuingDistributionPoint{
		OnlyContainsUserCerts: p.OnlyContainsUserCerts,
		OnlyContainsCACerts:   p.OnlyContainsCACerts,
		IndirectCRL:           p.IndirectCRL,
	}
	if len(p.URLs) > 0 {
		v.DistributionPoint.FullName = uriNames(p.URLs)
	}
	return asn1.Marshal(v)
}

// ParseIssuingDistributionPoint decodes an IDP extension value.
func ParseIssuingDistributionPoint(der []byte) (*IssuingDistributionPoint, error) {
	var v issuingDistributionPoint
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil {
		return nil, fmt.Errorf("parse issuing distribution point: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("parse issuing distribution point: trailing data")
	}
	p := &IssuingDistributionPoint{
		OnlyContainsUserCerts: v.OnlyContainsUserCerts,
		OnlyContainsCACerts:   v.OnlyContainsCACerts,
		IndirectCRL:           v.IndirectCRL,
	}
	for _, n := range v.DistributionPoint.FullName {
		if n.Class == asn1.ClassContextSpecific && n.Tag == tagURI {
			p.URLs = append(p.URLs, string(n.Bytes))
		}
	}
	return p, nil
}

// OIDNTDSCASecurityExt is szOID_NTDS_CA_SECURITY_EXT, the extension in
// which a Windows enterprise CA (since KB5014754) writes the security
// identifier of the account a certificate was issued to; OIDNTDSObjectSID
// (szOID_NTDS_OBJECTSID) is the otherName type inside it.
var (
	OIDNTDSCASecurityExt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}
	OIDNTDSObjectSID     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2, 1}
)

// MarshalSIDExtension encodes the SID extension value as Windows CAs write
// it: SEQUENCE { [0] { szOID_NTDS_OBJECTSID, [0] EXPLICIT OCTET STRING
// "S-1-5-21-..." } }, the SID in its string form.
func MarshalSIDExtension(sid string) ([]byte, error) {
	str, err := asn1.Marshal([]byte(sid))
	if err != nil {
		return nil, fmt.Errorf("encode sid %q: %w", sid, err)
	}
	val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
	if err != nil {
		return nil, err
	}
	oid, err := asn1.Marshal(OIDNTDSObjectSID)
	if err != nil {
		return nil, err
	}
	on, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagOtherName, IsCompound: true, Bytes: append(oid, val...)})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: on})
}
