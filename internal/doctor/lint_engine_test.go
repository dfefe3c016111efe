package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// utf8Name is a one-RDN-per-attribute Name whose values are UTF8String,
// where crypto/x509 writes PrintableString for the same text.
func utf8Name(t *testing.T, n pkix.Name) []byte {
	t.Helper()
	type atv struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	type atvSET []atv
	var rdns []atvSET
	for _, rdn := range n.ToRDNSequence() {
		var set atvSET
		for _, a := range rdn {
			set = append(set, atv{Type: a.Type, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(a.Value.(string))}})
		}
		rdns = append(rdns, set)
	}
	der, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestLintAgreesWithEngine: for trust the engine accepts, lint reports no
// error, and what it warns about does not claim a refusal.
func TestLintAgreesWithEngine(t *testing.T) {
	tests := []struct {
		name string
		// build returns the trust and a client chain (leaf first) under it.
		build        func(t *testing.T) (roots, inters []*x509.Certificate, chain []*x509.Certificate)
		wantWarnings []string // checks, in order
	}{
		{
			name: "PrintableString root subject, UTF8String intermediate issuer",
			build: func(t *testing.T) ([]*x509.Certificate, []*x509.Certificate, []*x509.Certificate) {
				name := pkix.Name{CommonName: "Mixed Root", Organization: []string{"Example"}}
				root := pkitest.NewRoot(t, "", caValid, pki.WithSubject(name))
				alias := *root.Cert
				alias.RawSubject = utf8Name(t, name)
				if bytes.Equal(alias.RawSubject, root.Cert.RawSubject) {
					t.Fatal("fixture: the names are byte-identical")
				}
				sub := pkitest.Wrap(&pki.CA{Cert: &alias, Key: root.Key}).Intermediate(t, "Mixed Issuing CA", caValid)
				leaf := sub.Client(t, "alice", leafValid)
				return []*x509.Certificate{root.Cert}, []*x509.Certificate{sub.Cert}, []*x509.Certificate{leaf.Cert}
			},
		},
		{
			name: "SHA-1 signed issuing CA",
			build: func(t *testing.T) ([]*x509.Certificate, []*x509.Certificate, []*x509.Certificate) {
				root := pkitest.NewRoot(t, "SHA-256 Root", caValid, pki.WithKeyType(pki.KeyRSA2048))
				sub := root.Intermediate(t, "SHA-1 Issuing CA", caValid, pki.WithSignatureAlgorithm(x509.SHA1WithRSA))
				leaf := sub.Client(t, "alice", leafValid)
				return []*x509.Certificate{root.Cert}, []*x509.Certificate{sub.Cert}, []*x509.Certificate{leaf.Cert}
			},
			wantWarnings: []string{CheckWeakSignature},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots, inters, chain := tt.build(t)
			v, err := verify.New(verify.Options{Roots: roots, Intermediates: inters})
			if err != nil {
				t.Fatal(err)
			}
			if o := v.Verify(context.Background(), chain, at); !o.OK() {
				t.Fatalf("engine: %s %s: %s", o.Sub, o.Code, o.Reason)
			}
			r := Lint(LintInput{Roots: certsOf("roots.pem", roots...), Intermediates: certsOf("intermediates.pem", inters...), SendIssuerList: true, At: at})
			var warnings []string
			for _, f := range r.Findings {
				if f.Severity == SevError {
					t.Errorf("lint error the engine does not agree with: %s: %s", f.Check, f.Message)
				}
				if f.Severity == SevWarning {
					warnings = append(warnings, f.Check)
					if f.Sub != "" {
						t.Errorf("warning %s claims clients get %s, but the engine accepts the chain", f.Check, f.Sub)
					}
				}
			}
			if strings.Join(warnings, ",") != strings.Join(tt.wantWarnings, ",") {
				t.Errorf("warnings = %v, want %v\n%s", warnings, tt.wantWarnings, text(t, r))
			}
		})
	}
}

// TestLintRevokedIntermediate: a configured intermediate that the given
// CRL revokes is an error naming 403.13, the intermediate and the CRL
// file, and the engine refuses a client under it with 403.13 too.
func TestLintRevokedIntermediate(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Revoking Root", caValid)
	revoked := root.Intermediate(t, "Revoked Issuing CA", caValid, pki.WithSerial(big.NewInt(0x1d2c)))
	good := root.Intermediate(t, "Good Issuing CA", caValid)
	der := root.CRL(t, pki.CRLOptions{ThisUpdate: at.AddDate(0, 0, -1), NextUpdate: at.AddDate(0, 0, 30)}, revoked.Cert)
	crlPath := pkitest.WriteFile(t, dir, "root.crl", der)

	roots, inters := certsOf("roots.pem", root.Cert), certsOf("intermediates.pem", revoked.Cert, good.Cert)
	crls, engine, err := LoadCRLs(append(append([]Cert(nil), roots...), inters...), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(crls) != 1 || crls[0].Source != crlPath {
		t.Fatalf("LoadCRLs(%s) = %+v, want the one CRL file", dir, crls)
	}
	r := Lint(LintInput{Roots: roots, Intermediates: inters, CRLs: crls, Revocation: engine, SendIssuerList: true, At: at})
	var got []Finding
	for _, f := range r.Findings {
		if f.Check == CheckRevokedCA {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d %s findings, want 1:\n%s", len(got), CheckRevokedCA, text(t, r))
	}
	f := got[0]
	if f.Severity != SevError || f.Sub != substatus.CertRevoked.String() || f.Cert == nil || f.Cert.Subject != "CN=Revoked Issuing CA" ||
		!strings.Contains(f.Message, "CRYPT_E_REVOKED") || !strings.Contains(f.Message, crlPath) {
		t.Errorf("finding = %+v, want an error on CN=Revoked Issuing CA with 403.13, CRYPT_E_REVOKED and %s", f, filepath.Base(crlPath))
	}
	golden(t, "lint-revoked-ca.txt", normalize(text(t, r), dir))

	// The engine agrees: a client under it gets 403.13 (the leaf itself
	// has no revocation source: on_unavailable allow lets the check reach
	// the intermediate).
	v, err := verify.New(verify.Options{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{revoked.Cert, good.Cert},
		Revocation: engine, AllowUnavailableRevocation: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := revoked.Client(t, "alice", leafValid)
	if o := v.Verify(context.Background(), []*x509.Certificate{leaf.Cert}, at); o.Sub != substatus.CertRevoked || o.Code != substatus.CryptERevoked {
		t.Errorf("engine: %s %s, want 403.13 CRYPT_E_REVOKED: %s", o.Sub, o.Code, o.Reason)
	}

	// Without the CRL the finding goes away.
	if r := Lint(LintInput{Roots: roots, Intermediates: inters, SendIssuerList: true, At: at}); len(r.Findings) != 0 {
		t.Errorf("findings without a CRL:\n%s", text(t, r))
	}
}

// TestLintRootNotInIssuerList: a trusted root whose name the issuer list
// that is sent does not carry (directly or through a configured
// intermediate under it) means 403.7 for its clients.
func TestLintRootNotInIssuerList(t *testing.T) {
	a := pkitest.NewRoot(t, "Listed Root", caValid)
	b := pkitest.NewRoot(t, "Unlisted Root", caValid)
	bSub := b.Intermediate(t, "Unlisted Issuing CA", caValid)
	bigList := bigRoots(t, 3, 4000)

	tests := []struct {
		name    string
		in      LintInput
		wantOn  []string // CNs of the roots reported
		wantFix string   // field named by the fix
	}{
		{
			name:    "source excludes it",
			in:      LintInput{Roots: certsOf("roots.pem", a.Cert, b.Cert), IssuerList: certsOf("list.pem", a.Cert)},
			wantOn:  []string{"Unlisted Root"},
			wantFix: "client_auth.issuer_list.source",
		},
		{
			name: "an intermediate under it is listed",
			in: LintInput{Roots: certsOf("roots.pem", a.Cert, b.Cert), Intermediates: certsOf("intermediates.pem", bSub.Cert),
				IssuerList: certsOf("list.pem", a.Cert, bSub.Cert)},
		},
		{
			name:    "truncated away by max_bytes",
			in:      LintInput{Roots: bigList, MaxBytes: 9000},
			wantOn:  []string{"Big Root 3"},
			wantFix: "client_auth.issuer_list.max_bytes",
		},
		{
			name: "no names sent: clients may offer any certificate",
			in:   LintInput{Roots: certsOf("roots.pem", a.Cert, b.Cert), IssuerList: []Cert{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.SendIssuerList, tt.in.At = true, at
			r := Lint(tt.in)
			var on []string
			for _, f := range r.Findings {
				if f.Check != CheckRootNotInList {
					continue
				}
				on = append(on, strings.TrimPrefix(strings.SplitN(f.Cert.Subject, ",", 2)[0], "CN="))
				if f.Severity != SevError || f.Sub != substatus.CertRequired.String() || !strings.Contains(f.Fix, tt.wantFix) {
					t.Errorf("finding = %+v, want an error with 403.7 naming %s", f, tt.wantFix)
				}
			}
			if strings.Join(on, ",") != strings.Join(tt.wantOn, ",") {
				t.Errorf("%s on %v, want %v\n%s", CheckRootNotInList, on, tt.wantOn, text(t, r))
			}
		})
	}
	r := Lint(LintInput{Roots: certsOf("roots.pem", a.Cert, b.Cert), IssuerList: certsOf("list.pem", a.Cert), SendIssuerList: true, At: at})
	golden(t, "lint-root-not-in-list.txt", normalize(text(t, r), ""))
}
