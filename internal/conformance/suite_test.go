package conformance

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

func TestLoadRejectsBadSuites(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"not json", "{", "decode suite"},
		{"wrong version", `{"version":2,"testcases":[]}`, "version 2"},
		{"case without id", `{"version":1,"testcases":[{"expected_result":"SUCCESS"}]}`, "has no id"},
		{"bad expected result", `{"version":1,"testcases":[{"id":"x","expected_result":"MAYBE","validation_time":"2011-04-15T00:00:00Z"}]}`, `"MAYBE"`},
		{"no validation time", `{"version":1,"testcases":[{"id":"x","expected_result":"FAILURE"}]}`, "no validation_time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "suite.json")
			if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if !errors.Is(err, ErrSuite) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load: %v, want ErrSuite naming the file and %q", err, c.want)
			}
		})
	}
}

func TestCaseHelpers(t *testing.T) {
	c := &Case{ID: "pkits::PolicyMappings::ValidPolicyMappingTest1Subpart2", PKITS: &Inputs{TestNumber: "4.10.1.2",
		InitialPolicySet: []string{"NIST-test-policy-2"}, InitialExplicitPolicy: true}}
	if got := c.Section(); got != "4.10" {
		t.Errorf("Section = %q, want 4.10", got)
	}
	if got := c.Group(); got != "PolicyMappings" {
		t.Errorf("Group = %q", got)
	}
	if c.DefaultPolicyInputs() {
		t.Error("DefaultPolicyInputs = true for explicit policy-2")
	}
	o, err := c.PolicyOptions()
	if err != nil || len(o.InitialPolicies) != 1 || o.InitialPolicies[0].String() != "2.16.840.1.101.3.2.1.48.2" || !o.RequireExplicit {
		t.Errorf("PolicyOptions = %+v, %v", o, err)
	}
	if _, err := PolicyOID("NIST-test-policy-x"); !errors.Is(err, ErrSuite) {
		t.Errorf("PolicyOID of a bad name: %v", err)
	}
	if p, err := PolicyOID(AnyPolicy); err != nil || !p.Equal(verify.AnyPolicy) {
		t.Errorf("PolicyOID(anyPolicy) = %v, %v", p, err)
	}
}

func TestJudge(t *testing.T) {
	ok := &verify.Outcome{Sub: substatus.OK}
	revoked := &verify.Outcome{Sub: substatus.CertRevoked, Code: substatus.CryptERevoked, Reason: "revoked"}
	expired := &verify.Outcome{Sub: substatus.CertTimeInvalid, Code: substatus.CertEExpired, Reason: "expired"}
	malformed := &verify.Outcome{Sub: substatus.CertUntrusted, Code: substatus.CryptEASN1BadTag, Reason: "bad", Err: verify.ErrMalformed}
	p1 := must(PolicyOID("NIST-test-policy-1"))
	crl := func(want string) *Case {
		return &Case{ID: "pkits::BasicCertificateRevocationTests::X", ExpectedResult: want,
			PKITS: &Inputs{TestNumber: "4.4.3", UserConstrainedPolicySet: []string{"NIST-test-policy-1"}}}
	}
	cases := []struct {
		name string
		c    *Case
		r    *Result
		want string // substring of the failure, "" for a pass
	}{
		{"accepted as expected", crl("SUCCESS"), &Result{Outcome: ok, PolicySet: []x509.OID{p1}}, ""},
		{"accepted with the wrong policy set", crl("SUCCESS"), &Result{Outcome: ok}, "policy set"},
		{"rejected, want accepted", crl("SUCCESS"), &Result{Outcome: revoked}, "want accepted"},
		{"accepted, want rejected", crl("FAILURE"), &Result{Outcome: ok}, "ACCEPTED"},
		{"rejected by revocation", crl("FAILURE"), &Result{Outcome: revoked}, ""},
		{"rejected for another reason in a revocation section", crl("FAILURE"), &Result{Outcome: expired}, "want 403.13"},
		{"malformed certificate", crl("FAILURE"), &Result{Outcome: malformed}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Judge(c.c, c.r)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Fatalf("Judge = %q, want %q", got, c.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
