package verify

import (
	"crypto/x509"
	"fmt"

	"github.com/certgate/certgate/internal/substatus"
)

// needsConstraintCheck reports whether a path carries name constraints or
// certificate policy extensions, or the verifier has non-default policy
// inputs. Most private client PKIs carry neither, so the common path skips
// both checks.
func (v *Verifier) needsConstraintCheck(path []*x509.Certificate) bool {
	if !v.opts.Policy.isDefault() {
		return true
	}
	for _, c := range path {
		if hasNameConstraints(c) || hasPolicyExtensions(c) {
			return true
		}
	}
	return false
}

type failFunc func(stage int, sub substatus.Sub, code substatus.Code, i int, sentinel error, format string, args ...any) (*Outcome, int)

// checkConstraints enforces name constraints (nameconstraints.go) and
// certificate policies (policy.go) on exactly this path. Everything else
// was checked before, with more specific diagnostics.
func (v *Verifier) checkConstraints(path []*x509.Certificate, fail failFunc) (*Outcome, bool) {
	if nv := checkNameConstraints(path); nv != nil {
		o, _ := fail(stageConstraints, substatus.CertUntrusted, substatus.CertEInvalidName, nv.cert, ErrNameConstraints,
			"%s violates the name constraints of %s: %s (RFC 5280 4.2.1.10)", describe(path[nv.cert]), describe(path[nv.ca]), nv.detail)
		return o, false
	}
	if _, pf := processPolicies(path, v.opts.Policy); pf != nil {
		o, _ := fail(stageConstraints, substatus.CertUntrusted, substatus.CertEInvalidPolicy, pf.cert, ErrPolicy,
			"%s (RFC 5280 6.1)", pf.reason)
		return o, false
	}
	return nil, true
}

// PolicySet returns the user-constrained policy set (RFC 5280 6.1.6) of an
// accepted chain under the verifier's policy inputs: nil when the chain
// is valid for no particular policy, [AnyPolicy] when it is valid for all.
func (v *Verifier) PolicySet(chain []*x509.Certificate) ([]x509.OID, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("policy set: empty chain")
	}
	set, pf := processPolicies(chain, v.opts.Policy)
	if pf != nil {
		return nil, fmt.Errorf("policy set: %w: %s", ErrPolicy, pf.reason)
	}
	return set, nil
}
