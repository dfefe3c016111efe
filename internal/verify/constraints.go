package verify

import (
	"crypto/x509"
	"errors"
	"time"

	"github.com/certgate/certgate/internal/substatus"
)

// needsConstraintCheck reports whether a path carries name constraints or
// certificate policy extensions. Most private client PKIs carry neither, so
// the common path never pays for a second chain verification.
func needsConstraintCheck(path []*x509.Certificate) bool {
	for _, c := range path {
		if len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
			len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0 {
			return true
		}
		if len(c.Policies) > 0 || len(c.PolicyIdentifiers) > 0 || len(c.PolicyMappings) > 0 ||
			c.RequireExplicitPolicy > 0 || c.RequireExplicitPolicyZero || c.InhibitPolicyMapping > 0 ||
			c.InhibitPolicyMappingZero || c.InhibitAnyPolicy > 0 || c.InhibitAnyPolicyZero {
			return true
		}
	}
	return false
}

type failFunc func(stage int, sub substatus.Sub, code substatus.Code, i int, sentinel error, format string, args ...any) (*Outcome, int)

// checkConstraints runs crypto/x509's name-constraint and policy processing
// on exactly this path: the anchor as the only root and the path's
// intermediates as the only intermediates. Everything else was checked
// before, with better diagnostics.
func (v *Verifier) checkConstraints(path []*x509.Certificate, at time.Time, fail failFunc) (*Outcome, bool) {
	last := len(path) - 1
	roots := x509.NewCertPool()
	roots.AddCert(path[last])
	inters := x509.NewCertPool()
	for _, c := range path[1:last] {
		inters.AddCert(c)
	}
	_, err := path[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return nil, true
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		idx := 0
		for i, c := range path {
			if inv.Cert != nil && c.Equal(inv.Cert) {
				idx = i
			}
		}
		switch inv.Reason {
		case x509.CANotAuthorizedForThisName, x509.TooManyConstraints, x509.NameMismatch, x509.NameConstraintsWithoutSANs, x509.UnconstrainedName:
			o, _ := fail(stageConstraints, substatus.CertUntrusted, substatus.CertEInvalidName, idx, ErrNameConstraints,
				"%s violates the name constraints of a CA above it: %v", describe(path[0]), err)
			return o, false
		case x509.CANotAuthorizedForExtKeyUsage:
			o, _ := fail(stageConstraints, substatus.CertUntrusted, substatus.CertEWrongUsage, idx, ErrWrongUsage,
				"a CA above %s does not allow its extended key usage: %v", describe(path[0]), err)
			return o, false
		}
	}
	o, _ := fail(stageConstraints, substatus.CertUntrusted, substatus.CertEInvalidPolicy, 0, ErrPolicy,
		"%s fails certificate policy or name processing (RFC 5280 6.1): %v", describe(path[0]), err)
	return o, false
}
