package verify

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"

	"github.com/certgate/certgate/internal/substatus"
)

// Profile says what the verifier does with a certificate that breaks an
// RFC 5280 profile rule of the substatus catalogue (substatus.ProfileRules):
// rules that describe a sloppy certificate, not a forged one. Rules whose
// violation can change who gets in are always enforced, whatever the
// profile.
type Profile int

const (
	// ProfileStandard accepts such a certificate and names the rule in
	// Outcome.Warnings (and so in `certgate verify` and `lint`).
	ProfileStandard Profile = iota
	// ProfileStrict rejects it: 403.16 CERT_E_MALFORMED naming the rule.
	ProfileStrict
)

// ParseProfile reads a profile name: "standard" (or "") or "strict".
func ParseProfile(s string) (Profile, error) {
	switch s {
	case "", "standard":
		return ProfileStandard, nil
	case "strict":
		return ProfileStrict, nil
	}
	return ProfileStandard, fmt.Errorf("profile %q: want standard or strict", s)
}

func (p Profile) String() string {
	if p == ProfileStrict {
		return "strict"
	}
	return "standard"
}

var (
	oidAKI           = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidSKI           = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidBasicConstr   = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidEKU           = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidPolicyConstr  = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidInhibitAnyPol = asn1.ObjectIdentifier{2, 5, 29, 54}
	oidAIA           = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
)

// ProfileViolation is one certificate breaking one profile rule.
type ProfileViolation struct {
	Rule   substatus.ProfileRule
	Cert   *x509.Certificate
	Detail string
}

func (p ProfileViolation) String() string {
	return fmt.Sprintf("%s breaks RFC 5280 profile rule %s (%s): %s", describe(p.Cert), p.Rule.Name, p.Rule.Section, p.Detail)
}

// CheckProfile returns the profile rules c breaks, in catalogue order.
// It is the one implementation: the verifier applies it to every
// certificate of a chain and `certgate lint` to configured certificates.
func CheckProfile(c *x509.Certificate) []ProfileViolation {
	var out []ProfileViolation
	add := func(name, format string, args ...any) {
		r, ok := substatus.LookupProfileRule(name)
		if !ok {
			panic("verify: profile rule " + name + " is not in the substatus catalogue")
		}
		out = append(out, ProfileViolation{Rule: r, Cert: c, Detail: fmt.Sprintf(format, args...)})
	}
	isCA := c.BasicConstraintsValid && c.IsCA
	ext := func(oid asn1.ObjectIdentifier) (present, critical bool) {
		for _, e := range c.Extensions {
			if e.Id.Equal(oid) {
				return true, e.Critical
			}
		}
		return false, false
	}
	// An empty Name is the DER of an empty SEQUENCE.
	emptySubject := len(c.RawSubject) <= 2

	if c.SerialNumber != nil && c.SerialNumber.Sign() <= 0 {
		add("serial-not-positive", "serial number %s", c.SerialNumber)
	}
	if n := serialOctets(c.SerialNumber); n > 20 {
		add("serial-too-long", "the serial number is %d octets", n)
	}
	if isCA && emptySubject {
		add("ca-empty-subject", "the subject is empty")
	}
	if c.KeyUsage&x509.KeyUsageCertSign != 0 && !isCA {
		add("keycertsign-without-ca", "Key Usage has keyCertSign but basicConstraints cA is not true")
	}
	if present, critical := ext(oidBasicConstr); present && isCA && !critical {
		add("bc-not-critical", "basicConstraints is not critical")
	}
	if present, _ := ext(oidEKU); present && len(c.ExtKeyUsage)+len(c.UnknownExtKeyUsage) == 0 {
		add("empty-eku", "the Extended Key Usage extension lists no purpose")
	}
	// isSelfSigned checks a signature: only asked when the AKI is absent.
	if present, critical := ext(oidAKI); !present && !(selfIssued(c) && isSelfSigned(c)) {
		add("aki-missing", "no authority key identifier, and the certificate is not self-signed")
	} else if critical {
		add("aki-critical", "authorityKeyIdentifier is critical")
	}
	if present, critical := ext(oidSKI); !present && isCA {
		add("ski-missing", "no subject key identifier on a CA certificate")
	} else if critical {
		add("ski-critical", "subjectKeyIdentifier is critical")
	}
	if _, critical := ext(oidAIA); critical {
		add("aia-critical", "authorityInfoAccess is critical")
	}
	if present, critical := ext(oidSubjectAltName); present {
		switch {
		case critical && !emptySubject:
			add("san-critical-with-subject", "subjectAltName is critical and the subject is %q", c.Subject.String())
		case !critical && emptySubject:
			add("san-not-critical-empty-subject", "the subject is empty and subjectAltName is not critical")
		}
	}
	for _, n := range c.DNSNames {
		if !validDNSName(n) {
			add("dns-name-syntax", "dNSName %q", n)
			break
		}
	}
	for _, oid := range []asn1.ObjectIdentifier{oidPolicyConstr, oidInhibitAnyPol} {
		if present, critical := ext(oid); present && !critical {
			add("policy-constraints-not-critical", "extension %s is not critical", oid)
			break
		}
	}
	if present, critical := ext(oidNameConstraints); present {
		if !critical {
			add("nc-not-critical", "nameConstraints is not critical")
		}
		if !isCA {
			add("nc-on-end-entity", "nameConstraints on a certificate that is not a CA")
		}
		for _, d := range append(append([]string(nil), c.PermittedDNSDomains...), c.ExcludedDNSDomains...) {
			if strings.HasPrefix(d, ".") {
				add("nc-dns-leading-period", "dNSName constraint %q", d)
				break
			}
		}
	}
	return out
}

// serialOctets is the length of the DER INTEGER content of a serial.
func serialOctets(n *big.Int) int {
	if n == nil {
		return 0
	}
	if n.Sign() <= 0 {
		return len(n.Bytes()) + 1
	}
	b := n.Bytes()
	if b[0]&0x80 != 0 {
		return len(b) + 1
	}
	return len(b)
}

// validDNSName is RFC 1034 3.5's preferred name syntax as RFC 1123 2.1
// relaxed it (a label may start with a digit), with '*' allowed as the
// whole left-most label (RFC 6125 6.4.3).
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i, l := range strings.Split(s, ".") {
		if i == 0 && l == "*" {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
