package mapping

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
)

// attributeOIDs gives the attribute type of every name in DNAttributes
// (TestAttributeTableCoversNames keeps them in step).
// Values are read from pkix.Name.Names, which holds every attribute of the
// DN in order, so that DC and emailAddress (which pkix.Name has no field
// for) and repeated attributes (two OUs) are all seen.
var attributeOIDs = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"serialNumber": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"E":            {1, 2, 840, 113549, 1, 9, 1},       // emailAddress (PKCS #9)
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25}, // domainComponent (RFC 4519)
}

// attributeValues returns the string values of attribute attr in name, in
// DN order. Non-string values (an attribute encoded with a type crypto/x509
// does not decode) are skipped: a pattern cannot meaningfully match them.
func attributeValues(name *pkix.Name, attr string) []string {
	oid, ok := attributeOIDs[attr]
	if !ok {
		return nil
	}
	var out []string
	for _, atv := range name.Names {
		if !atv.Type.Equal(oid) {
			continue
		}
		if s, ok := atv.Value.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Where a criterion looks in the leaf certificate.
const (
	inSubject = iota
	inIssuer
	inSAN
)

// firstMatch returns the first value of c's field in leaf that c's pattern
// matches, and how many values the field has. It does not allocate for DN
// attributes and email/DNS SANs: it runs for every rule on every request
// that reaches mapping.
func (c *cond) firstMatch(leaf *x509.Certificate) (hit string, found bool, n int) {
	switch c.where {
	case inSubject, inIssuer:
		name := &leaf.Subject
		if c.where == inIssuer {
			name = &leaf.Issuer
		}
		for _, atv := range name.Names {
			if !atv.Type.Equal(c.oid) {
				continue
			}
			s, ok := atv.Value.(string)
			if !ok {
				continue
			}
			n++
			if c.glob.Match(s) {
				return s, true, n
			}
		}
		return "", false, n
	}
	vals := sanValues(leaf, c.san)
	for _, v := range vals {
		if c.glob.Match(v) {
			return v, true, len(vals)
		}
	}
	return "", false, len(vals)
}

// allValues lists the values of c's field in leaf, for a trace.
func (c *cond) allValues(leaf *x509.Certificate) []string {
	switch c.where {
	case inSubject:
		return attributeValues(&leaf.Subject, c.attr)
	case inIssuer:
		return attributeValues(&leaf.Issuer, c.attr)
	}
	return sanValues(leaf, c.san)
}

// firstAttribute returns the first string value of attr in name.
func firstAttribute(name *pkix.Name, attr string) (string, bool) {
	oid := attributeOIDs[attr]
	for _, atv := range name.Names {
		if atv.Type.Equal(oid) {
			if s, ok := atv.Value.(string); ok {
				return s, true
			}
		}
	}
	return "", false
}

// sanValues returns the subjectAltName entries of one kind.
func sanValues(c *x509.Certificate, kind string) []string {
	switch kind {
	case "email":
		return c.EmailAddresses
	case "dns":
		return c.DNSNames
	case "uri":
		out := make([]string, 0, len(c.URIs))
		for _, u := range c.URIs {
			out = append(out, u.String())
		}
		return out
	case "upn":
		upns, _ := UPNs(c) // a malformed UPN matches no pattern
		return upns
	}
	return nil
}
