package gateway

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestBuildErrors: a file that cannot be loaded is reported with the
// config file, line and field path.
func TestBuildErrors(t *testing.T) {
	p := newTestPKI(t)
	const base = `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      issuer_list: {source: ctl.pem}
    locations: [{path: /, client_cert: require}]
`
	tests := []struct {
		name   string
		setup  func(dir string)
		field  string
		is     error
		detail string
	}{
		{"missing server cert", func(dir string) { os.Remove(filepath.Join(dir, "server.pem")) }, "sites[0].certificate", fs.ErrNotExist, "server.pem"},
		{"key does not match", func(dir string) { pkitest.WriteKey(t, dir, "server.key", pkitest.Key(t, "")) }, "sites[0].certificate", nil, ""},
		{"bad PEM roots", func(dir string) {
			pkitest.WriteFile(t, dir, "roots.pem", []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
		}, "sites[0].client_auth.trust.roots", nil, "roots.pem"},
		{"missing issuer list source", func(dir string) { os.Remove(filepath.Join(dir, "ctl.pem")) }, "sites[0].client_auth.issuer_list.source", fs.ErrNotExist, "ctl.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p.writeFiles(t, dir)
			pkitest.WriteCerts(t, dir, "ctl.pem", p.root.Cert)
			tt.setup(dir)
			cfg := loadConfig(t, dir, base)
			_, err := Build(cfg, nil)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			var fe *config.FieldError
			if !errors.As(err, &fe) || fe.Path != tt.field || fe.Line == 0 || !strings.HasSuffix(fe.File, "certgate.yaml") {
				t.Fatalf("error %q: want a FieldError for %s with file and line", err, tt.field)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not name %s and %q", err, tt.field, tt.detail)
			}
		})
	}
}

// TestBuildWarnsNonSelfSignedAnchor: an intermediate configured as a root
// is accepted as an anchor with a load-time warning naming it, and a
// client chaining to it is let in (the KB 2802568 situation made visible).
func TestBuildWarnsNonSelfSignedAnchor(t *testing.T) {
	p := newTestPKI(t)
	yaml := `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: sub-as-root.pem}
      revocation: {mode: "off"}
    locations: [{path: /, client_cert: require}]
`
	g := startGateway(t, p, yaml, func(dir string) { pkitest.WriteCerts(t, dir, "sub-as-root.pem", p.sub.Cert) })
	if len(g.snap.Warnings) == 0 || !strings.Contains(strings.Join(g.snap.Warnings, "\n"), "Client Issuing CA") {
		t.Errorf("no warning naming the non-self-signed anchor: %q", g.snap.Warnings)
	}
	if !strings.Contains(g.logs.String(), `"level":"WARN"`) {
		t.Errorf("warning not logged:\n%s", g.logs)
	}
	res := g.do(t, request{sni: "a.example.test", cert: p.alice})
	if res.status != 200 || !res.echo(t).Client.Verified {
		t.Errorf("client under the intermediate anchor: status %d\n%s", res.status, res.body)
	}
	// The CA list sent is that anchor: the issuing CA's name.
	if res.cri == nil || !equalNames(res.cri.AcceptableCAs, rawSubjects(p.sub.Cert)) {
		t.Errorf("AcceptableCAs = %v", res.cri)
	}
}
