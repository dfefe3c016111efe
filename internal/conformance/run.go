package conformance

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Revocation sections of PKITS: basic CRL processing (4.4), distribution
// points (4.14) and delta CRLs (4.15). A rejection there must come from
// revocation (403.13), not from an unrelated check that happened to fire.
var revocationSections = map[string]bool{"4.4": true, "4.14": true, "4.15": true}

// IsRevocationSection reports whether a PKITS section is about CRLs.
func IsRevocationSection(section string) bool { return revocationSections[section] }

// rejectionClass is, for sections whose every rejection is about one
// check, what a right rejection looks like: validity periods are 403.17,
// policies CERT_E_INVALID_POLICY, name constraints CERT_E_INVALID_NAME,
// revocation 403.13.
func rejectionClass(section string) (what string, ok func(*verify.Outcome) bool) {
	code := func(c substatus.Code) func(*verify.Outcome) bool {
		return func(o *verify.Outcome) bool { return o.Code == c }
	}
	sub := func(s substatus.Sub) func(*verify.Outcome) bool {
		return func(o *verify.Outcome) bool { return o.Sub == s }
	}
	switch section {
	case "4.2":
		return "403.17 (validity)", sub(substatus.CertTimeInvalid)
	case "4.8", "4.9", "4.10", "4.11", "4.12":
		return "CERT_E_INVALID_POLICY", code(substatus.CertEInvalidPolicy)
	case "4.13":
		return "CERT_E_INVALID_NAME", code(substatus.CertEInvalidName)
	case "4.4", "4.14", "4.15":
		return "403.13 (revocation)", sub(substatus.CertRevoked)
	}
	return "", nil
}

// nistTestPolicy is the arc under which PKITS defines NIST-test-policy-N
// (2.16.840.1.101.3.2.1.48.N).
var nistTestPolicy = []uint64{2, 16, 840, 1, 101, 3, 2, 1, 48}

// PolicyOID maps the suite's policy names ("anyPolicy",
// "NIST-test-policy-3") to OIDs.
func PolicyOID(name string) (x509.OID, error) {
	if name == AnyPolicy {
		return verify.AnyPolicy, nil
	}
	if n, ok := strings.CutPrefix(name, "NIST-test-policy-"); ok {
		if v, err := strconv.ParseUint(n, 10, 32); err == nil {
			return x509.OIDFromInts(append(slices.Clone(nistTestPolicy), v))
		}
	}
	return x509.OID{}, fmt.Errorf("%w: unknown policy name %q", ErrSuite, name)
}

// PolicyOptions are the case's RFC 5280 6.1.1 policy inputs for the engine.
func (c *Case) PolicyOptions() (verify.PolicyOptions, error) {
	var o verify.PolicyOptions
	if c.PKITS == nil {
		return o, nil
	}
	for _, name := range c.PKITS.InitialPolicySet {
		oid, err := PolicyOID(name)
		if err != nil {
			return o, fmt.Errorf("case %s: initial_policy_set: %w", c.ID, err)
		}
		o.InitialPolicies = append(o.InitialPolicies, oid)
	}
	o.RequireExplicit = c.PKITS.InitialExplicitPolicy
	o.InhibitMapping = c.PKITS.InitialPolicyMappingInhibit
	o.InhibitAnyPolicy = c.PKITS.InitialInhibitAnyPolicy
	return o, nil
}

// SkipReason says why a case cannot be run faithfully, or "" to run it.
// DSA: crypto/x509 does not verify DSA signatures (DSA is withdrawn by
// FIPS 186-5), so certgate can accept no DSA chain, and rejecting one says
// nothing about path validation.
func (c *Case) SkipReason(p *Parsed) string {
	if p.DSA {
		return "DSA key or signature (not supported by crypto/x509)"
	}
	return ""
}

// Result is what the engine said about a case.
type Result struct {
	Outcome *verify.Outcome
	// PolicySet is the user-constrained policy set of an accepted chain.
	PolicySet []x509.OID
}

// Run verifies the case's peer certificate with the engine the gateway
// uses: purpose client authentication, the case's trust anchors and
// intermediates and policy inputs, at the case's validation time, with
// checker (nil: no revocation checking). With presented, the
// intermediates are sent after the peer certificate, as a TLS client
// sends its chain, instead of being configured: checker must then not
// know them either.
func Run(ctx context.Context, c *Case, p *Parsed, checker revocation.Checker, presented bool) (*Result, error) {
	pol, err := c.PolicyOptions()
	if err != nil {
		return nil, err
	}
	opts := verify.Options{
		Roots:         p.Roots,
		Intermediates: p.Intermediates,
		Revocation:    checker,
		Purpose:       verify.PurposeClientAuth,
		Policy:        pol,
	}
	chain := [][]byte{p.PeerDER}
	if presented {
		opts.Intermediates = nil
		for _, c := range p.Intermediates {
			chain = append(chain, c.Raw)
		}
	}
	v, err := verify.New(opts)
	if err != nil {
		return nil, fmt.Errorf("run case %s: %w", c.ID, err)
	}
	// VerifyDER, as for bytes from a TLS handshake: a peer certificate
	// that does not parse is a typed rejection, not a harness error.
	r := &Result{Outcome: v.VerifyDER(ctx, chain, c.ValidationTime)}
	if r.Outcome.OK() {
		if r.PolicySet, err = v.PolicySet(r.Outcome.Chain); err != nil {
			return nil, fmt.Errorf("run case %s: accepted chain: %w", c.ID, err)
		}
	}
	return r, nil
}

// Judge compares a result with the expected one. It returns "" when the
// case passes, else one sentence saying what went wrong. An acceptance must
// come with PKITS's user-constrained policy set; a rejection is only right
// for the right reason where the section makes the reason unambiguous
// (rejectionClass).
func Judge(c *Case, r *Result) string {
	o := r.Outcome
	switch {
	case c.WantAccept() && o.OK():
		return c.judgePolicySet(r.PolicySet)
	case c.WantAccept():
		return "rejected, want accepted: " + o.Error()
	case o.OK():
		return "ACCEPTED, want rejected"
	case errors.Is(o.Err, verify.ErrMalformed):
		// RFC 5280 violations in the certificate itself (PKITS 4.4.15's
		// negative serial number) are rejected before any other check, as
		// the TLS stack would.
		return ""
	}
	if what, ok := rejectionClass(c.Section()); ok != nil && !ok(o) {
		return fmt.Sprintf("rejected for another reason, want %s: %s", what, o.Error())
	}
	return ""
}

func (c *Case) judgePolicySet(got []x509.OID) string {
	if c.PKITS == nil {
		return ""
	}
	var want []string
	for _, name := range c.PKITS.UserConstrainedPolicySet {
		oid, err := PolicyOID(name)
		if err != nil {
			return err.Error()
		}
		want = append(want, oid.String())
	}
	var have []string
	for _, oid := range got {
		have = append(have, oid.String())
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		return fmt.Sprintf("accepted with user-constrained policy set %v, want %v", have, want)
	}
	return ""
}
