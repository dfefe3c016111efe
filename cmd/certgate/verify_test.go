package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestVerifyExitCodes checks the documented exit codes of certgate verify
// (docs/doctor.md): 0 accepted, 1 rejected, 2 usage or unreadable input;
// and that the first line of the text output is the verdict alone.
func TestVerifyExitCodes(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := "2030-06-01T00:00:00Z"
	valid := pki.WithValidity(t0, t0.AddDate(5, 0, 0))
	root := pkitest.NewRoot(t, "CLI Verify Root", valid)
	rootPEM := pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
	good := root.Client(t, "CLI Good", valid)
	revoked := root.Client(t, "CLI Revoked", valid)
	goodPEM := pkitest.WriteCerts(t, dir, "good.pem", good.Cert)
	revokedPEM := pkitest.WriteCerts(t, dir, "revoked.pem", revoked.Cert)
	expiredPEM := pkitest.WriteCerts(t, dir, "expired.pem", root.Client(t, "CLI Expired", pki.WithValidity(t0, t0.AddDate(0, 1, 0))).Cert)
	// The same client as a PFX, named like a Windows export and like a
	// plain DER file (detected by content).
	pfx, err := pki.EncodePKCS12(good, "pfx pw", true)
	if err != nil {
		t.Fatal(err)
	}
	goodPFX := pkitest.WriteFile(t, dir, "good.pfx", pfx)
	goodPFXBin := pkitest.WriteFile(t, dir, "good.bin", pfx)
	crlOpts := pki.CRLOptions{ThisUpdate: t0.AddDate(0, 5, 0), NextUpdate: t0.AddDate(0, 6, 15)}
	crl := pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, crlOpts, revoked.Cert))

	// An underscore in a dNSName: an RFC 5280 profile nit, a warning by
	// default and a 403.16 under --profile strict.
	sloppyPEM := pkitest.WriteCerts(t, dir, "sloppy.pem", root.Client(t, "CLI Sloppy", valid, pki.WithDNS("host_1.corp.example")).Cert)

	base := func(cert string, extra ...string) []string {
		return append([]string{"verify", cert, "--roots", rootPEM, "--at", at}, extra...)
	}
	tests := []struct {
		name    string
		args    []string
		want    int
		verdict string
	}{
		{"accepted", base(goodPEM, "--crl", crl), 0, "200"},
		{"accepted json", base(goodPEM, "--crl", crl, "--json"), 0, ""},
		{"revocation off", base(goodPEM, "--revocation", "off"), 0, "200"},
		{"pfx", base(goodPFX, "--password", "pfx pw", "--crl", crl), 0, "200"},
		{"pfx without extension", base(goodPFXBin, "--password", "pfx pw", "--crl", crl), 0, "200"},
		{"pfx wrong password", base(goodPFX, "--password", "nope", "--crl", crl), 2, ""},
		{"revoked", base(revokedPEM, "--crl", crl), 1, "403.13"},
		{"revoked via --crls", base(revokedPEM, "--crls", crl), 1, "403.13"},
		{"no revocation source", base(goodPEM), 1, "403.13"},
		{"expired", base(expiredPEM, "--crl", crl), 1, "403.17"},
		{"wrong purpose", base(goodPEM, "--purpose", "server", "--revocation", "off"), 1, "403.16"},
		{"profile nit, standard", base(sloppyPEM, "--revocation", "off"), 0, "200"},
		{"profile nit, strict", base(sloppyPEM, "--revocation", "off", "--profile", "strict"), 1, "403.16"},
		{"explicit policy the chain lacks", base(goodPEM, "--revocation", "off", "--policy", "1.3.6.1.4.1.99999.1", "--require-explicit-policy"), 1, "403.16"},
		{"policy inputs without explicit policy", base(goodPEM, "--revocation", "off", "--policy", "1.3.6.1.4.1.99999.1", "--inhibit-policy-mapping", "--inhibit-any-policy"), 0, "200"},
		{"max depth", base(goodPEM, "--revocation", "off", "--max-depth", "1"), 0, "200"},
		{"bad policy", base(goodPEM, "--policy", "not-an-oid"), 2, ""},
		{"bad profile", base(goodPEM, "--profile", "lax"), 2, ""},
		{"bad max depth", base(goodPEM, "--max-depth", "33"), 2, ""},
		{"no argument", []string{"verify", "--roots", rootPEM}, 2, ""},
		{"no roots", []string{"verify", goodPEM}, 2, ""},
		{"missing file", base(dir + "/missing.pem"), 2, ""},
		{"unreadable crl", base(goodPEM, "--crl", dir+"/missing.crl"), 2, ""},
		{"bad time", base(goodPEM, "--at", "yesterday"), 2, ""},
		{"bad purpose", base(goodPEM, "--purpose", "email"), 2, ""},
		{"bad mode", base(goodPEM, "--revocation", "maybe"), 2, ""},
		{"site without config", base(goodPEM, "--site", "app"), 2, ""},
		{"missing config", []string{"verify", goodPEM, "-c", dir + "/certgate.yaml"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := exitCode(t, tt.args...)
			if got != tt.want {
				t.Fatalf("certgate %s: exit %d, want %d\n%s", strings.Join(tt.args, " "), got, tt.want, out)
			}
			if tt.verdict != "" {
				if first, _, _ := strings.Cut(out, "\n"); first != tt.verdict {
					t.Errorf("first line %q, want %q", first, tt.verdict)
				}
			}
			for _, a := range tt.args {
				if a == "--json" && !json.Valid([]byte(out)) {
					t.Errorf("--json output is not JSON:\n%s", out)
				}
			}
			if got != 2 && out == "" {
				t.Errorf("certgate %s printed nothing", strings.Join(tt.args, " "))
			}
			if strings.HasPrefix(tt.name, "profile nit") && !strings.Contains(out, "dns-name-syntax") {
				t.Errorf("output does not name the profile rule dns-name-syntax:\n%s", out)
			}
		})
	}
}

// TestVerifySiteWithoutServerKey: `certgate verify -c cfg --site s` builds
// only the site's trust (internal/site), never the server certificate, so
// it answers when the server's private key is missing or unreadable, and
// when another site of the config is broken.
func TestVerifySiteWithoutServerKey(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := pki.WithValidity(t0, t0.AddDate(5, 0, 0))
	root := pkitest.NewRoot(t, "CLI Site Root", valid)
	pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
	pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, pki.CRLOptions{ThisUpdate: t0.AddDate(0, 5, 0), NextUpdate: t0.AddDate(0, 6, 15)}))
	_, keyPath := pkitest.WriteLeaf(t, dir, "server", root.Localhost(t, valid))
	goodPEM := pkitest.WriteCerts(t, dir, "good.pem", root.Client(t, "CLI Site Good", valid).Cert)
	cfg := pkitest.WriteFile(t, dir, "certgate.yaml", []byte(`
sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: root.pem}
      revocation: {crls: [root.crl]}
    locations: [{path: /, client_cert: require}]
  - name: broken
    hosts: [broken.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: missing-roots.pem}
    locations: [{path: /, client_cert: require}]
`))
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "-c", cfg, "--site", "app", "--at", "2030-06-01T00:00:00Z", goodPEM}
	if got, out := exitCode(t, args...); got != 0 || !strings.HasPrefix(out, "200\n") {
		t.Fatalf("certgate %s: exit %d, want 0 and 200\n%s", strings.Join(args, " "), got, out)
	}
	// The gateway itself still needs the key: check says so.
	if got, out := exitCode(t, "check", "-c", cfg, "--no-lint"); got != 2 {
		t.Errorf("certgate check without the server key: exit %d, want 2\n%s", got, out)
	}
}
