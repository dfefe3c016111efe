package mapping

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestUPNIssuers: only certificates issued directly by a CA of
// upn.issuers map by UPN (Active Directory's NTAuth rule). A partner
// sub-CA under the same trusted root can write anyone's UPN.
func TestUPNIssuers(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Corp Root")
	issuing := root.Intermediate(t, "Corp Issuing CA")
	partner := root.Intermediate(t, "Partner Sub CA")
	// The same CA re-issued (renewed certificate, same name and key).
	reissued := pkitest.Wrap(&pki.CA{Cert: root.Intermediate(t, "Corp Issuing CA", pki.WithKey(issuing.Key)).Cert, Key: issuing.Key, Parent: root.CA})
	// Same name, other key: an impostor CA named like the issuing CA.
	impostor := root.Intermediate(t, "Corp Issuing CA")
	issuingFile := pkitest.WriteCerts(t, dir, "issuing.pem", issuing.Cert)
	leafFile := pkitest.WriteCerts(t, dir, "leaf.pem", issuing.Client(t, "x").Cert)

	alice := func(ca *pkitest.CA) []*x509.Certificate {
		l := ca.Client(t, "alice", pki.WithUPN("alice@corp.test"), pki.WithEmail("alice@corp.test"))
		return []*x509.Certificate{l.Cert, ca.Cert, root.Cert}
	}
	tests := []struct {
		name    string
		issuers []string
		chain   []*x509.Certificate
		want    string // user, or "" for unmapped
		reason  string
	}{
		{"issuing CA by file", []string{issuingFile}, alice(issuing), "alice@corp.test", `UPN "alice@corp.test"`},
		{"issuing CA by fingerprint", []string{colonFP(issuing.Cert)}, alice(issuing), "alice@corp.test", "UPN"},
		{"re-issued CA matches the file by name and key", []string{"issuing.pem"}, alice(reissued), "alice@corp.test", "UPN"},
		{"re-issued CA does not match a fingerprint", []string{fp(issuing.Cert)}, alice(reissued), "", "is not in upn.issuers"},
		{"partner sub-CA under the same root", []string{issuingFile}, alice(partner), "", `issuing CA "CN=Partner Sub CA"`},
		{"same name, other key", []string{issuingFile}, alice(impostor), "", "is not in upn.issuers"},
		{"root listed, leaf issued by a sub-CA", []string{fp(root.Cert)}, alice(issuing), "", "is not in upn.issuers"},
		{"email fallback is gated too", []string{fp(issuing.Cert)}, []*x509.Certificate{partner.Client(t, "bob", pki.WithEmail("bob@corp.test")).Cert, partner.Cert, root.Cert}, "", "is not in upn.issuers"},
		{"chain without an issuing CA", []string{fp(issuing.Cert)}, []*x509.Certificate{issuing.Client(t, "a", pki.WithUPN("a@corp.test")).Cert}, "", "no issuing CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(&Options{UPN: UPN{Enabled: true, FallbackEmail: true, Issuers: tt.issuers}}, dir)
			if err != nil {
				t.Fatal(err)
			}
			got, steps := m.Explain(tt.chain)
			if got.User != tt.want || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("Map = %+v, want user %q, reason with %q", got, tt.want, tt.reason)
			}
			if len(steps) != 1 || steps[0].Rule != RuleUPN || steps[0].Matched != (tt.want != "") {
				t.Errorf("trace = %+v", steps)
			}
		})
	}

	bad := []struct {
		name string
		upn  UPN
		path string
		is   error
		msg  string
	}{
		{"enabled without issuers", UPN{Enabled: true}, "upn.issuers", ErrNoUPNIssuers, "NTAuth"},
		{"missing file", UPN{Enabled: true, Issuers: []string{"nope.pem"}}, "upn.issuers[0]", ErrCertFile, "nope.pem"},
		{"leaf instead of CA", UPN{Enabled: true, Issuers: []string{leafFile}}, "upn.issuers[0]", nil, "not a CA certificate"},
		{"sha1 fingerprint", UPN{Enabled: true, Issuers: []string{strings.Repeat("ab", 20)}}, "upn.issuers[0]", nil, "SHA-1"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(&Options{UPN: tt.upn}, dir)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path != tt.path || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Compile = %v, want %s: ...%s", err, tt.path, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestIsFingerprint(t *testing.T) {
	for s, want := range map[string]bool{
		strings.Repeat("ab", 32):                                 true,
		"sha256 Fingerprint=" + strings.Repeat("AB:", 31) + "AB": true,
		strings.Repeat("ab", 20):                                 true,
		"ca/issuing.pem":                                         false,
		"/etc/certgate/" + strings.Repeat("ab", 32):              false,
		"abc": false,
	} {
		if got := IsFingerprint(s); got != want {
			t.Errorf("IsFingerprint(%q) = %v, want %v", s, got, want)
		}
	}
}
