package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/doctor"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// cliArgs writes a case's inputs to files and returns the options
// `certgate verify` builds from its flags for them (cmd/certgate/verify.go
// fills doctor.VerifyOptions field by field from the flags):
//
//	certgate verify LEAF --roots R [--intermediates I] --crl DIR --at T
//	  --revocation cache-only [--policy OID]... [--require-explicit-policy]
//	  [--inhibit-policy-mapping] [--inhibit-any-policy]
//
// With presented, the intermediates are appended to the leaf file, as a
// client presents them, and --intermediates is not given.
func cliArgs(t *testing.T, c *Case, presented bool) doctor.VerifyOptions {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, pems ...string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(pems, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	o := doctor.VerifyOptions{
		CertFile:   write("leaf.pem", c.PeerCertificate),
		Roots:      []string{write("roots.pem", c.TrustedCerts...)},
		At:         c.ValidationTime,
		Revocation: "cache-only",
	}
	if presented {
		o.CertFile = write("leaf.pem", append([]string{c.PeerCertificate}, c.UntrustedIntermediates...)...)
	} else if len(c.UntrustedIntermediates) > 0 {
		o.Intermediates = []string{write("intermediates.pem", c.UntrustedIntermediates...)}
	}
	if len(c.CRLs) > 0 {
		crls := filepath.Join(dir, "crls")
		if err := os.Mkdir(crls, 0o700); err != nil {
			t.Fatal(err)
		}
		for i, s := range c.CRLs {
			if err := os.WriteFile(filepath.Join(crls, fmt.Sprintf("%02d.pem", i)), []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		o.CRLs = []string{crls}
	}
	if in := c.PKITS; in != nil && !c.DefaultPolicyInputs() {
		for _, name := range in.InitialPolicySet {
			oid, err := PolicyOID(name)
			if err != nil {
				t.Fatal(err)
			}
			o.Policies = append(o.Policies, oid.String())
		}
		o.RequireExplicitPolicy = in.InitialExplicitPolicy
		o.InhibitPolicyMapping = in.InitialPolicyMappingInhibit
		o.InhibitAnyPolicy = in.InitialInhibitAnyPolicy
	}
	return o
}

// reportResult turns the CLI's report back into the engine's terms, so
// that Judge applies the same rules to both: verdict, code and reason,
// and the policy set the report prints.
func reportResult(t *testing.T, r *doctor.VerifyReport) *Result {
	t.Helper()
	sub, err := substatus.ParseSub(r.Verdict)
	if err != nil {
		t.Fatalf("report verdict %q: %v", r.Verdict, err)
	}
	o := &verify.Outcome{Sub: sub, Reason: r.Reason}
	if r.Code != nil {
		if o.Code, err = substatus.ParseCode(r.Code.Name); err != nil {
			t.Fatalf("report code %q: %v", r.Code.Name, err)
		}
	}
	if !o.OK() {
		o.Err = errors.New(r.Reason)
		if o.Code == substatus.CryptEASN1BadTag {
			o.Err = fmt.Errorf("%w: %s", verify.ErrMalformed, r.Reason)
		}
	}
	res := &Result{Outcome: o}
	for _, s := range r.PolicySet {
		oid, err := verify.ParsePolicyOID(s)
		if err != nil {
			t.Fatalf("report policy set: %v", err)
		}
		res.PolicySet = append(res.PolicySet, oid)
	}
	return res
}

// cliCase runs one case the way `certgate verify` runs it, through
// doctor.Verify with the options its flags build, with the intermediates
// given as --intermediates or inside the leaf file (presented), and
// reports whether it passes. A DSA case never passes; it must still be
// answered with a 403.16 that says DSA, never a usage error (exit 2).
func cliCase(t *testing.T, c *Case, p *Parsed, presented bool) bool {
	t.Helper()
	how := "--intermediates"
	if presented {
		how = "intermediates in the leaf file"
	}
	r, err := doctor.Verify(context.Background(), cliArgs(t, c, presented))
	if err != nil {
		t.Errorf("certgate verify (%s) fails instead of answering (exit 2): %v", how, err)
		return false
	}
	if p.DSA {
		if r.Verdict != "403.16" || !strings.Contains(r.Reason, "DSA is withdrawn") {
			t.Errorf("DSA case (%s): verdict %s, want 403.16 saying DSA: %s", how, r.Verdict, r.Reason)
		}
		return false
	}
	why := Judge(c, reportResult(t, r))
	if why == "" {
		return true
	}
	t.Logf("FAIL %s [%s] (certgate verify, %s): %s", c.ID, c.PKITS.TestNumber, how, why)
	if r.Accepted {
		t.Errorf("certgate verify (%s) accepted a certificate PKITS requires to be rejected: %s", how, c.Description)
	}
	return false
}
