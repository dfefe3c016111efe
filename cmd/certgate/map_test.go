package main

import (
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestMapCLI(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Corp Root")
	inter := root.Intermediate(t, "Corp Issuing CA")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	pkitest.WriteCerts(t, dir, "inter.pem", inter.Cert)
	write := func(name string, l *pki.Leaf) string {
		return pkitest.WriteCerts(t, dir, name, l.Chain()...)
	}
	alice := write("alice.pem", inter.Client(t, "alice", pki.WithUPN("alice@corp.example")))
	bob := write("bob.pem", inter.Client(t, "bob", pki.WithSubject(pkix.Name{CommonName: "bob", Organization: []string{"Contractors"}})))
	carol := write("carol.pem", inter.Client(t, "carol"))
	// map test checks revocation with the site's engine, from local CRLs
	// and the cache only.
	pkitest.WriteFile(t, dir, "inter.crl", inter.CRL(t, pki.CRLOptions{}))
	pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, pki.CRLOptions{}))
	cfg := filepath.Join(dir, "certgate.yaml")
	if err := os.WriteFile(cfg, []byte(`sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth: {trust: {roots: roots.pem}, revocation: {crls: [inter.crl, root.crl]}}
    locations: [{path: /, client_cert: require}]
    mapping:
      required: true
      many_to_one:
        - {name: contractors, match: {subject: {O: Contractors}}, deny: true}
      upn: {enabled: true, issuers: [inter.pem]}
`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int // 0 = no error
		wantOut  string
	}{
		{"mapped", []string{"map", "test", "-c", cfg, alice}, 0, `user "alice@corp.example"`},
		{"mapped json", []string{"map", "test", "-c", cfg, "--site", "app", "--json", alice}, 0, `"user": "alice@corp.example"`},
		{"denied", []string{"map", "test", "-c", cfg, bob}, 1, "many_to_one[0] (contractors)"},
		{"unmapped", []string{"map", "test", "-c", cfg, carol}, 1, "no rule matched"},
		{"missing file", []string{"map", "test", "-c", cfg, filepath.Join(dir, "nope.pem")}, 2, ""},
		{"unknown site", []string{"map", "test", "-c", cfg, "--site", "nope", alice}, 2, ""},
		{"no config", []string{"map", "test", alice}, 2, ""},
		{"list", []string{"map", "list", "-c", cfg}, 0, "deny (403.12)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, tt.args...)
			code := 0
			if err != nil {
				code = 2
				var ee *exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
			}
			if code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d; output:\n%s", code, err, tt.wantCode, out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if strings.Contains(strings.Join(tt.args, " "), "--json") {
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("--json output is not JSON: %v", err)
				}
			}
		})
	}
}
