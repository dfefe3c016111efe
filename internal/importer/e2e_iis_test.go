package importer

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestIISEndToEnd translates an applicationHost.config and its netsh
// output, writes the test PKI where the config refers, serves it over real
// TLS and checks that certgate answers as IIS's semantics demand:
// SslRequireCert without a certificate is 403.7, an untrusted certificate
// 403.16, a revoked one 403.13 (revocation checked online, as the binding
// says), a Deny mapping or an unmapped certificate 403.12 (anonymous
// authentication off), one-to-one and many-to-one mappings name the user,
// and a user URL Authorization does not allow gets 403.100.
func TestIISEndToEnd(t *testing.T) {
	// CRLs served from a CDP on loopback: online revocation, as netsh's
	// "Verify Client Certificate Revocation : Enabled" demands.
	crls := map[string][]byte{}
	cdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := crls[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(b)
	}))
	defer cdp.Close()

	root := pkitest.NewRoot(t, "Contoso Root CA")
	issuing := root.Intermediate(t, "Contoso Issuing CA 1", pki.WithCRLDistributionPoints(cdp.URL+"/root.crl"))
	leaf := func(cn string, subj pkix.Name) *pki.Leaf {
		subj.CommonName = cn
		return issuing.Client(t, cn, pki.WithSubject(subj), pki.WithCRLDistributionPoints(cdp.URL+"/issuing.crl"))
	}
	alice := leaf("alice", pkix.Name{Organization: []string{"Contoso"}})
	contractor := leaf("bob", pkix.Name{Organization: []string{"Contoso"}, OrganizationalUnit: []string{"Contractors East"}})
	jdoe := leaf("jdoe", pkix.Name{Organization: []string{"Fabrikam"}})
	fabrikam := leaf("carol", pkix.Name{Organization: []string{"Fabrikam"}})
	revoked := leaf("mallory", pkix.Name{Organization: []string{"Contoso"}})
	stranger := pkitest.NewRoot(t, "Other Root").Client(t, "alice", pki.WithSubject(pkix.Name{CommonName: "alice", Organization: []string{"Contoso"}}))
	crls["/root.crl"] = root.CRL(t, pki.CRLOptions{})
	crls["/issuing.crl"] = issuing.CRL(t, pki.CRLOptions{}, revoked.Cert)

	appHost := bytes.ReplaceAll(readTestdata(t, "iis/e2e-applicationHost.config"), []byte("@JDOE_CERT@"), []byte(base64.StdEncoding.EncodeToString(jdoe.Cert.Raw)))
	res, err := IIS(appHost, IISOptions{Name: "applicationHost.config", Netsh: readTestdata(t, "iis/e2e-netsh-sslcert.txt"),
		Upstream: "echo", Output: filepath.Join(t.TempDir(), "certgate.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := res.Config
	s := &cfg.Sites[0]
	// Write the files the report says to export, where the config says.
	serverCA := pkitest.NewRoot(t, "Server CA")
	writeServerCert(t, s, serverCA.Server(t, "intranet.e2e.test", []string{"intranet.e2e.test"}))
	writePEM(t, s.ClientAuth.Trust.Roots[0], root.Cert)
	addr := serveImported(t, cfg)

	const host = "intranet.e2e.test"
	for _, tc := range []struct {
		name, path string
		client     *pki.Leaf
		status     int
		sub, user  string
	}{
		{"public path, no certificate", "/public/x", nil, 200, "", ""},
		{"SslRequireCert, no certificate", "/Payroll/report", nil, 403, "403.7", ""},
		{"SslRequireCert in another case, no certificate", "/PAYROLL/report", nil, 403, "403.7", ""},
		{"SslNegotiateCert, no certificate", "/home", nil, 200, "", ""},
		{"SslRequireCert, untrusted certificate", "/Payroll/", stranger, 403, "403.16", ""},
		{"SslNegotiateCert, untrusted certificate (stricter: refused)", "/home", stranger, 403, "403.16", ""},
		{"revoked certificate", "/Payroll/", revoked, 403, "403.13", ""},
		{"many-to-one Allow", "/home", alice, 200, "", `E2E\employee`},
		{"many-to-one Deny", "/Payroll/", contractor, 403, "403.12", ""},
		{"one-to-one, allowed by <authorization>", "/Payroll/", jdoe, 200, "", `E2E\jdoe`},
		{"mapped but not allowed by <authorization>", "/Payroll/", alice, 403, "403.100", ""},
		{"unmapped with anonymous authentication off", "/home", fabrikam, 403, "403.12", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, addr, host, tc.path, serverCA.Pool(), tc.client)
			if a.status != tc.status || a.substatus != tc.sub {
				t.Fatalf("%s: %d %s, want %d %s", tc.path, a.status, a.substatus, tc.status, tc.sub)
			}
			if a.echo.Client.User != tc.user {
				t.Errorf("user %q, want %q", a.echo.Client.User, tc.user)
			}
		})
	}
}
