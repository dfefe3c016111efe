package site

import (
	"crypto/x509"
	"errors"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Mapper is what Decide needs of certificate mapping. *mapping.Mapper is
// one; the gateway passes a per-connection memo of the site's Mapper, so
// that a keep-alive connection maps once.
type Mapper interface {
	Map(chain []*x509.Certificate) mapping.Result
	Decide(r mapping.Result) *mapping.Denial
}

// RuleNoVerifiedCert is the mapping rule of a request without a verified
// certificate (Decision.Mapping.Rule): nothing was mapped.
const RuleNoVerifiedCert = "no verified client certificate"

// Decision is what Decide makes of a request: allowed (Deny nil), with the
// client's identity, or refused with one Denial.
type Decision struct {
	// Deny is the refusal (403.x); nil lets the request through.
	Deny *Denial
	// Verified: the verified certificate identifies the client (and may be
	// mapped and forwarded). False means the request is anonymous.
	Verified bool
	// Downgraded is the failed outcome of an invalid certificate on an
	// accept location: the request goes on anonymously and the failure is
	// recorded (IIS SslNegotiateCert behaviour: the certificate is not used).
	Downgraded *verify.Outcome
	// Mapping is the certificate mapping of a verified certificate, or
	// {Rule: RuleNoVerifiedCert}; on a mapping or allow-list denial, the
	// result that was refused.
	Mapping mapping.Result
	// User and Groups are the mapped identity; empty for an anonymous or
	// unmapped request.
	User   string
	Groups []string
}

// Allowed reports whether the request may go on.
func (d *Decision) Allowed() bool { return d.Deny == nil }

// Denial is the one shape of a refusal, whatever refused: verification
// (403.7, .13, .16, .17...), certificate mapping (403.12) or a location's
// allow lists (403.100). The client-facing text comes from the substatus
// catalogue; Reason, Element and Rule are the detail for logs and detailed
// error pages; Unwrap gives the internal cause.
type Denial struct {
	Sub  substatus.Sub
	Code substatus.Code
	// Element is the chain element that failed verification; nil for
	// mapping and allow-list refusals and when no single certificate is
	// to blame (403.7).
	Element *verify.Element
	// Reason is one sentence an operator can act on.
	Reason string
	// Rule is the deciding mapping rule (or mapping.RuleNone) for 403.12,
	// the location for 403.100; empty for verification refusals.
	Rule string
	// Outcome is the verification outcome of a verification refusal, nil
	// otherwise.
	Outcome *verify.Outcome
	// Mapping is the mapping or allow-list refusal, nil otherwise.
	Mapping *mapping.Denial
}

// Error renders the verification outcome or mapping denial it comes from:
// "403.16 CERT_E_UNTRUSTEDROOT (0x800B0109): leaf ...".
func (d *Denial) Error() string {
	switch {
	case d.Outcome != nil:
		return d.Outcome.Error()
	case d.Mapping != nil:
		return d.Mapping.Error()
	}
	return d.Sub.String() + " " + d.Code.String() + ": " + d.Reason
}

// Unwrap returns the internal cause: the verification outcome (which
// unwraps to its error) or the mapping denial.
func (d *Denial) Unwrap() error {
	switch {
	case d.Outcome != nil:
		return d.Outcome
	case d.Mapping != nil:
		return d.Mapping
	}
	return nil
}

// Verification reports whether the denial is a failed verification.
func (d *Denial) Verification() bool { return d.Outcome != nil }

// FromOutcome is the denial of a failed verification outcome.
func FromOutcome(o *verify.Outcome) *Denial {
	return &Denial{Sub: o.Sub, Code: o.Code, Element: o.Element, Reason: o.Reason, Outcome: o}
}

// FromMapping is the denial of a mapping or allow-list refusal.
func FromMapping(md *mapping.Denial) *Denial {
	return &Denial{Sub: md.Sub, Code: md.Code, Reason: md.Reason, Rule: md.Rule, Mapping: md}
}

// Decide is the one judge of a request: the location's policy applied to
// the connection's verification outcome, then certificate mapping of a
// verified chain (403.12 when mapping refuses it), then the location's
// allow_users / allow_groups (403.100). It is pure; the only work it
// does is m.Map, and nothing is allocated unless the request is refused.
//
// outcome is nil for ignore locations (nothing is verified) and otherwise
// never nil: verify.NoCertificate() when the client sent none. m may be
// nil: nothing is mapped.
func Decide(loc *Location, outcome *verify.Outcome, m Mapper) Decision {
	d := Decision{Mapping: mapping.Result{Rule: RuleNoVerifiedCert}}
	deny, useCert, downgraded := applyPolicy(loc, outcome)
	if deny != nil {
		d.Deny = FromOutcome(deny)
		return d
	}
	d.Verified, d.Downgraded = useCert, downgraded
	if d.Verified && m != nil {
		d.Mapping = m.Map(outcome.Chain)
		if md := m.Decide(d.Mapping); md != nil {
			d.Deny = FromMapping(md)
			return d
		}
		if d.Mapping.Mapped() {
			d.User, d.Groups = d.Mapping.User, d.Mapping.Groups
		}
	}
	if lc := loc.Config; lc != nil && (len(lc.AllowUsers) > 0 || len(lc.AllowGroups) > 0) {
		if md := mapping.Authorize(d.Mapping, loc.Path, lc.AllowUsers, lc.AllowGroups); md != nil {
			d.Deny = FromMapping(md)
		}
	}
	return d
}

// applyPolicy applies a location policy (ignore, accept, require) to a
// verification outcome: the outcome to refuse with, or whether the
// certificate identifies the client, or the outcome of an invalid
// certificate downgraded to an anonymous request.
func applyPolicy(loc *Location, outcome *verify.Outcome) (deny *verify.Outcome, useCert bool, downgraded *verify.Outcome) {
	switch loc.Policy {
	case config.ClientCertIgnore:
		// The certificate, if any, is neither checked nor forwarded.
		return nil, false, nil
	case config.ClientCertAccept:
		switch {
		case outcome == nil:
			return nil, false, nil
		case outcome.OK():
			return nil, true, nil
		case NoCertificate(outcome):
			return nil, false, nil
		case loc.RejectInvalid:
			return outcome, false, nil
		default:
			return nil, false, outcome
		}
	default: // require, and any unknown policy: fail closed
		switch {
		case outcome == nil:
			return verify.NoCertificate(), false, nil
		case outcome.OK():
			return nil, true, nil
		default:
			return outcome, false, nil
		}
	}
}

// NoCertificate reports whether an outcome says the client sent no
// certificate (403.7), as opposed to sending a bad one.
func NoCertificate(o *verify.Outcome) bool {
	return errors.Is(o.Err, verify.ErrNoCertificate)
}
