package doctor

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/revocation"
)

func certsOf(source string, cs ...*x509.Certificate) []Cert {
	out := make([]Cert, len(cs))
	for i, c := range cs {
		out[i] = Cert{Certificate: c, Source: fmt.Sprintf("%s#%d", source, i+1)}
	}
	return out
}

func crlOf(t *testing.T, source string, der []byte) CRL {
	t.Helper()
	l, err := revocation.ParseCRL(der, nil)
	if err != nil {
		t.Fatal(err)
	}
	return CRL{CRL: l, Source: source}
}

// cleanTrust is a configuration lint must find nothing in.
func cleanTrust(t *testing.T) LintInput {
	root := pkitest.NewRoot(t, "Clean Root", caValid)
	sub := root.Intermediate(t, "Clean Issuing CA", caValid)
	crl := root.CRL(t, pki.CRLOptions{ThisUpdate: at.AddDate(0, 0, -1), NextUpdate: at.AddDate(0, 0, 30)})
	subCRL := sub.CRL(t, pki.CRLOptions{ThisUpdate: at.AddDate(0, 0, -1), NextUpdate: at.AddDate(0, 0, 8)})
	return LintInput{
		Roots:          certsOf("roots.pem", root.Cert),
		Intermediates:  certsOf("intermediates.pem", sub.Cert),
		CRLs:           []CRL{crlOf(t, "root.crl", crl), crlOf(t, "sub.crl", subCRL)},
		SendIssuerList: true,
		At:             at,
	}
}

func TestLintClean(t *testing.T) {
	r := Lint(cleanTrust(t))
	if len(r.Findings) != 0 {
		t.Fatalf("clean trust store: %d findings, want none:\n%s", len(r.Findings), text(t, r))
	}
	golden(t, "lint-clean.txt", normalize(text(t, r), ""))
	golden(t, "lint-clean.json", normalize(jsonOf(t, r), ""))
}

// plant is a trust configuration with one of each defect lint knows. want
// maps each planted defect to the check and the certificate (CN) or CRL
// (source) it must be reported on.
func plant(t *testing.T) (LintInput, []struct{ check, on string }) {
	good := pkitest.NewRoot(t, "Good Root", caValid)
	goodSub := good.Intermediate(t, "Good Issuing CA", caValid)

	leaf := good.Client(t, "Leaf In Roots", leafValid)
	notSelf := good.Intermediate(t, "Intermediate In Roots", caValid)
	expired := pkitest.NewRoot(t, "Expired Root", pki.WithValidity(t0.AddDate(-10, 0, 0), t0))
	notYet := good.Intermediate(t, "Future Issuing CA", pki.WithValidity(at.AddDate(0, 1, 0), at.AddDate(5, 0, 0)))
	serverOnly := pkitest.NewRoot(t, "Server Only Root", caValid, pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth))

	rsaRoot := pkitest.NewRoot(t, "RSA Root", caValid, pki.WithKeyType(pki.KeyRSA2048))
	sha1Sub := rsaRoot.Intermediate(t, "SHA-1 Issuing CA", caValid, pki.WithSignatureAlgorithm(x509.SHA1WithRSA))
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakKey := good.Intermediate(t, "Small Key CA", caValid, pki.WithKey(small))
	// inhibitAnyPolicy (2.5.29.54) not critical: RFC 5280 4.2.1.14.
	loose := good.Intermediate(t, "Loose Policy CA", caValid, pki.WithExtraExtensions(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 54}, Value: []byte{2, 1, 0}}))

	foreign := pkitest.NewRoot(t, "Unconfigured Root", caValid)
	orphan := foreign.Intermediate(t, "Orphan Issuing CA", caValid)
	dupA := pkitest.NewRoot(t, "Duplicate Root", caValid)
	dupB := pkitest.NewRoot(t, "Duplicate Root", caValid)

	crlExpired := good.CRL(t, pki.CRLOptions{Number: 7, ThisUpdate: at.AddDate(0, -1, 0), NextUpdate: at.AddDate(0, 0, -1)})
	crlSoon := goodSub.CRL(t, pki.CRLOptions{Number: 8, ThisUpdate: at.AddDate(0, 0, -4), NextUpdate: at.AddDate(0, 0, 3)})
	crlForeign := foreign.CRL(t, pki.CRLOptions{ThisUpdate: at.AddDate(0, 0, -1), NextUpdate: at.AddDate(0, 0, 30)})
	crlForged := good.CRL(t, pki.CRLOptions{ThisUpdate: at.AddDate(0, 0, -1), NextUpdate: at.AddDate(0, 0, 30), SignWith: pkitest.Key(t, "")})

	in := LintInput{
		Roots: certsOf("roots.pem", good.Cert, leaf.Cert, notSelf.Cert, expired.Cert, serverOnly.Cert,
			rsaRoot.Cert, dupA.Cert, dupB.Cert),
		Intermediates: certsOf("intermediates.pem", goodSub.Cert, notYet.Cert, sha1Sub.Cert, weakKey.Cert, orphan.Cert, loose.Cert),
		IssuerList:    certsOf("issuer-list.pem", good.Cert, foreign.Cert),
		CRLs: []CRL{crlOf(t, "expired.crl", crlExpired), crlOf(t, "soon.crl", crlSoon),
			crlOf(t, "foreign.crl", crlForeign), crlOf(t, "forged.crl", crlForged)},
		SendIssuerList: true,
		At:             at,
	}
	want := []struct{ check, on string }{
		{CheckNotCA, "Leaf In Roots"},
		{CheckRootNotSelfSigned, "Intermediate In Roots"},
		{CheckExpired, "Expired Root"},
		{CheckNotYetValid, "Future Issuing CA"},
		{CheckEKU, "Server Only Root"},
		{CheckWeakSignature, "SHA-1 Issuing CA"},
		{CheckWeakKey, "Small Key CA"},
		{CheckProfile, "Loose Policy CA"},
		{CheckIntermediateChain, "Orphan Issuing CA"},
		{CheckDuplicateSubject, "Duplicate Root"},
		{CheckIssuerListUntrust, "Unconfigured Root"},
		{CheckRootNotInList, "Server Only Root"},
		{CheckCRLExpired, "expired.crl"},
		{CheckCRLExpiring, "soon.crl"},
		{CheckCRLIssuer, "foreign.crl"},
		{CheckCRLSignature, "forged.crl"},
	}
	return in, want
}

func TestLintFindsEachDefect(t *testing.T) {
	in, want := plant(t)
	r := Lint(in)
	for _, w := range want {
		t.Run(w.check, func(t *testing.T) {
			for _, f := range r.Findings {
				if f.Check != w.check {
					continue
				}
				if (f.Cert != nil && strings.Contains(f.Cert.Subject, "CN="+w.on)) || (f.CRL != nil && f.CRL.Source == w.on) {
					if f.Message == "" || f.Fix == "" {
						t.Errorf("finding %s has no message or fix: %+v", w.check, f)
					}
					return
				}
			}
			t.Errorf("no %s finding on %q; findings:\n%s", w.check, w.on, text(t, r))
		})
	}
	// Planted defects must not leak onto the healthy CAs.
	for _, f := range r.Findings {
		if f.Cert != nil && (f.Cert.Subject == "CN=Good Root" || f.Cert.Subject == "CN=Good Issuing CA") {
			t.Errorf("finding on a healthy CA: %s %s: %s", f.Check, f.Cert.Subject, f.Message)
		}
	}
	golden(t, "lint-defects.txt", normalize(text(t, r), ""))
	golden(t, "lint-defects.json", normalize(jsonOf(t, r), ""))
}

// bigRoots returns n roots whose subjects are about size bytes each, to
// push the issuer list past Schannel's 12288 and warn_bytes.
func bigRoots(t *testing.T, n, size int) []Cert {
	var out []*x509.Certificate
	for i := range n {
		name := pkix.Name{CommonName: fmt.Sprintf("Big Root %d", i+1), OrganizationalUnit: []string{strings.Repeat("x", size)}}
		out = append(out, pkitest.NewRoot(t, "", caValid, pki.WithSubject(name)).Cert)
	}
	return certsOf("big-roots.pem", out...)
}

func TestLintIssuerListSize(t *testing.T) {
	roots := bigRoots(t, 5, 4000) // ~4 KB each: 20 KB
	tests := []struct {
		name     string
		maxBytes int
		send     bool
		checks   []string
		dropped  map[string]int // check -> dropped CAs
	}{
		{"default max", 0, true, []string{CheckIssuerListSchannel, CheckIssuerListWarn}, map[string]int{CheckIssuerListSchannel: 2}},
		{"max 9000", 9000, true, []string{CheckIssuerListSchannel, CheckIssuerListWarn, CheckIssuerListMax, CheckRootNotInList, CheckRootNotInList, CheckRootNotInList}, map[string]int{CheckIssuerListSchannel: 2, CheckIssuerListMax: 3}},
		{"not sent", 0, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Lint(LintInput{Roots: roots, At: at, MaxBytes: tt.maxBytes, SendIssuerList: tt.send})
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Check)
				if n, ok := tt.dropped[f.Check]; ok && len(f.Related) != n {
					t.Errorf("%s names %d dropped CAs, want %d", f.Check, len(f.Related), n)
				}
				if f.Check == CheckIssuerListSchannel && len(f.Related) > 0 && f.Related[0].Subject != roots[3].Subject.String() {
					t.Errorf("Schannel drops from the end: first dropped = %s, want Big Root 4", f.Related[0].Subject)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.checks, ",") {
				t.Errorf("checks = %v, want %v", got, tt.checks)
			}
			if tt.send && r.IssuerList.Bytes <= 16384 {
				t.Fatalf("test list is only %d bytes; it must exceed warn_bytes", r.IssuerList.Bytes)
			}
		})
	}
	r := Lint(LintInput{Roots: roots, At: at, MaxBytes: 9000, SendIssuerList: true})
	golden(t, "lint-issuer-list.txt", normalize(text(t, r), ""))
}

func TestLintConfig(t *testing.T) {
	dir := t.TempDir()
	in := cleanTrust(t)
	expired := pkitest.NewRoot(t, "Expired Root", pki.WithValidity(t0.AddDate(-10, 0, 0), t0))
	pkitest.WriteCerts(t, dir, "roots.pem", in.Roots[0].Certificate, expired.Cert)
	pkitest.WriteCerts(t, dir, "intermediates.pem", in.Intermediates[0].Certificate)
	server := pkitest.NewRoot(t, "Server CA").Localhost(t)
	pkitest.WriteLeaf(t, dir, "server", server)
	cfg := `
sites:
  - name: intranet
    hosts: [intranet.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      issuer_list: {max_bytes: 12288}
    locations:
      - {path: /, client_cert: require}
`
	path := pkitest.WriteFile(t, dir, "certgate.yaml", []byte(cfg))
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	reports, err := LintConfig(c, "", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Name != "intranet" || reports[0].IssuerList.MaxBytes != 12288 || reports[0].Intermediates != 1 {
		t.Fatalf("LintConfig = %+v, want one report for intranet with max_bytes 12288 and 1 intermediate", reports)
	}
	if len(reports[0].Findings) != 1 || reports[0].Findings[0].Check != CheckExpired {
		t.Errorf("findings = %s, want one %s", text(t, reports[0]), CheckExpired)
	}
	if _, err := LintConfig(c, "nosuch", at); err == nil {
		t.Error("LintConfig(site nosuch) succeeded, want an error naming the site")
	}
}

// TestLintDirectoryMethods: lint -c names the weak directory methods a
// site allows, and a directory with no strong method at all.
func TestLintDirectoryMethods(t *testing.T) {
	dir := t.TempDir()
	in := cleanTrust(t)
	pkitest.WriteCerts(t, dir, "roots.pem", in.Roots[0].Certificate)
	pkitest.WriteCerts(t, dir, "intermediates.pem", in.Intermediates[0].Certificate)
	pkitest.WriteLeaf(t, dir, "server", pkitest.NewRoot(t, "Server CA").Localhost(t))
	for _, tt := range []struct {
		methods string
		want    []string
	}{
		{"[issuer_serial, ski]", nil},
		{"[issuer_serial, upn, subject]", []string{CheckWeakMapping, CheckWeakMapping}},
		{"[rfc822]", []string{CheckWeakMapping, CheckNoStrongMapping}},
	} {
		t.Run(tt.methods, func(t *testing.T) {
			cfg := `
sites:
  - name: intranet
    hosts: [intranet.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
    mapping:
      upn: {issuers: [intermediates.pem]}
      directory: {url: "ldaps://dc.corp.test", base_dn: "dc=corp,dc=test", allow_weak: true, methods: ` + tt.methods + `}
    locations:
      - {path: /, client_cert: require}
`
			c, err := config.Load(pkitest.WriteFile(t, dir, "certgate.yaml", []byte(cfg)))
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			reports, err := LintConfig(c, "", at)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range reports[0].Findings {
				got = append(got, f.Check)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings %q, want %q:\n%s", got, tt.want, text(t, reports[0]))
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := pkitest.WriteFile(t, dir, "garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	empty := pkitest.WriteFile(t, dir, "notes.txt", []byte("hello"))
	for name, paths := range map[string][]string{
		"missing file":   {dir + "/nope.pem"},
		"bad PEM":        {garbage},
		"no certificate": {empty},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadCerts(paths...)
			if err == nil || !strings.Contains(err.Error(), paths[0]) {
				t.Fatalf("LoadCerts(%v) error = %v, want one naming the file", paths, err)
			}
		})
	}
	// In a directory, files without certificates are skipped.
	root := pkitest.NewRoot(t, "Dir Root", caValid)
	pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
	sub := t.TempDir()
	pkitest.WriteCerts(t, sub, "root.pem", root.Cert)
	pkitest.WriteFile(t, sub, "README", []byte("trust store"))
	got, err := LoadCerts(sub)
	if err != nil || len(got) != 1 {
		t.Fatalf("LoadCerts(dir) = %d certs, %v; want 1, nil", len(got), err)
	}
}
