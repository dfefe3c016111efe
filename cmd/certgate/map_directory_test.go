package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/directory"
	"github.com/certgate/certgate/internal/directory/slapdtest"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestMapTestDirectory: `certgate map test` against a real directory shows
// the LDAP filters tried, the entry found, strong or weak, and the groups;
// with the directory down it says so (exit 1, the unavailable code).
func TestMapTestDirectory(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Corp Root")
	inter := root.Intermediate(t, "Corp Issuing CA")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	pkitest.WriteFile(t, dir, "inter.crl", inter.CRL(t, pki.CRLOptions{}))
	pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, pki.CRLOptions{}))
	bob := inter.Client(t, "bob")
	bobFile := pkitest.WriteCerts(t, dir, "bob.pem", bob.Chain()...)
	v, _ := directory.AltSecID(directory.MethodIssuerSerial, bob.Cert)
	ds := slapdtest.Start(t, slapdtest.GroupLDIF("Staff", "Employees")+slapdtest.GroupLDIF("Employees")+
		slapdtest.User{CN: "bob", UPN: "bob@corp.test", AltSec: []string{v}, MemberOf: []string{"Staff"}}.LDIF(t))
	if err := os.WriteFile(filepath.Join(dir, "ldap.pw"), []byte(slapdtest.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "certgate.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth: {trust: {roots: roots.pem}, revocation: {crls: [inter.crl, root.crl]}}
    locations: [{path: /, client_cert: require}]
    mapping:
      required: true
      directory: {url: %q, ca: %q, bind_dn: %q, password_file: ldap.pw, base_dn: %q, timeout: 1s, dial_timeout: 1s}
`, ds.LDAPS, ds.CAFile, slapdtest.BindDN, slapdtest.Base)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "map", "test", "-c", cfg, bobFile)
	if err != nil {
		t.Fatalf("map test: %v\n%s", err, out)
	}
	for _, want := range []string{"(altSecurityIdentities=X509:<I>CN=Corp Issuing CA<SR>", "issuer_serial (strong)", "cn=bob,ou=people,dc=corp,dc=test", "Staff", "Employees", `"bob@corp.test"`} {
		if !strings.Contains(out, want) {
			t.Errorf("map test output lacks %q:\n%s", want, out)
		}
	}
	ds.Stop()
	out, err = runCLI(t, "map", "test", "-c", cfg, bobFile)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "SEC_E_NO_AUTHENTICATING_AUTHORITY") {
		t.Errorf("map test with the directory down: %v\n%s", err, out)
	}
}
