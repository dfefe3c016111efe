package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestServerCertificateFromPFX: a site whose certificate comes from a PFX
// with password_file completes real TLS handshakes with its chain, and a
// wrong or missing password stops the build naming the field and the
// password file.
func TestServerCertificateFromPFX(t *testing.T) {
	p := newTestPKI(t)
	pfx, err := pki.EncodePKCS12(p.server, "pfx secret", true)
	if err != nil {
		t.Fatal(err)
	}
	site := func(cert string) string {
		return `sites:
  - name: a
    hosts: [a.example.test]
    certificate: ` + cert + `
    upstream: echo
`
	}
	writePFX := func(password string) func(string) {
		return func(dir string) {
			pkitest.WriteFile(t, dir, "server.pfx", pfx)
			pkitest.WriteFile(t, dir, "pfx.pass", []byte(password))
		}
	}
	g := startGateway(t, p, site("{pfx: server.pfx, password_file: pfx.pass}"), writePFX("pfx secret\n"))
	if r := g.do(t, request{sni: "a.example.test"}); r.status != 200 {
		t.Fatalf("status %d over TLS with the PFX certificate: %s", r.status, r.body)
	}
	if got := g.snap.Sites[0].cert.Certificate; len(got) != 1 {
		// The server root in the PFX is not sent; the leaf is.
		t.Errorf("served chain has %d certificates, want the leaf only", len(got))
	}

	for _, tc := range []struct {
		name, cert, password, want string
	}{
		{"wrong password", "{pfx: server.pfx, password_file: pfx.pass}", "not it", "password from "},
		{"no password file", "{pfx: server.pfx}", "", "no password_file is set"},
		{"pfx and cert", "{pfx: server.pfx, cert: server.pem, key: server.key}", "", "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p.writeFiles(t, dir)
			writePFX(tc.password)(dir)
			path := pkitest.WriteFile(t, dir, "certgate.yaml", []byte(site(tc.cert)))
			cfg, err := config.Load(path)
			if err == nil {
				_, err = Build(cfg, nil)
			}
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if !strings.Contains(err.Error(), "sites[0].certificate") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name sites[0].certificate and %q", err, tc.want)
			}
			if tc.password != "" && !errors.Is(err, certfile.ErrWrongPassword) {
				t.Errorf("error %q is not ErrWrongPassword", err)
			}
		})
	}
}
