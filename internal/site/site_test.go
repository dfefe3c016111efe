package site

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/revocation"
)

func loadConfig(t *testing.T, dir, yaml string) *config.Config {
	t.Helper()
	p := filepath.Join(dir, "certgate.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

// TestBuild: a site is built without its server certificate or key (the
// files do not exist), with its revocation engine unless the mode is off,
// and the Revocation option adjusts the engine's options.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Site Root")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	pkitest.WriteFile(t, dir, "root.crl", root.CRL(t, pki.CRLOptions{}))
	cfg := loadConfig(t, dir, `sites:
  - name: online
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {crls: [root.crl]}
    locations:
      - {path: /, client_cert: ignore}
      - {path: /app, client_cert: require}
  - name: "off"
    hosts: [b.example.test, "*.w.example.test"]
    default: true
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: "off"}
    locations: [{path: /, client_cert: accept}]
  - name: open
    hosts: [c.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`)
	var seen []revocation.Mode
	set, err := BuildAll(cfg, Options{Revocation: func(o *revocation.Options) {
		seen = append(seen, o.Mode)
		if o.Mode == revocation.Online {
			o.Mode = revocation.CacheOnly
		}
	}})
	if err != nil {
		t.Fatalf("BuildAll without server key files: %v", err)
	}
	defer set.Close()
	online, off, open := set.Sites[0], set.Sites[1], set.Sites[2]
	if online.Verifier == nil || online.Revocation == nil || !online.RequestsCert || len(online.Roots) != 1 {
		t.Errorf("online site: verifier %v revocation %v", online.Verifier, online.Revocation)
	}
	if off.Verifier == nil || off.Revocation != nil {
		t.Errorf("mode off: revocation engine %v, want none", off.Revocation)
	}
	if open.Verifier != nil || open.RequestsCert || open.Issuers == nil {
		t.Errorf("site without certificate locations: verifier %v", open.Verifier)
	}
	if len(seen) != 2 || seen[0] != revocation.Online || seen[1] != revocation.Off {
		t.Errorf("Revocation option saw modes %v", seen)
	}
	if l := online.Locate("/app/x"); l.Path != "/app" || online.Location(1) != l {
		t.Errorf("Locate(/app/x) = %+v", l)
	}
	for name, want := range map[string]*Site{"A.example.test": online, "x.w.example.test": off, "": off, "nope.test": off} {
		if got := set.SiteFor(name); got != want {
			t.Errorf("SiteFor(%q) = %s, want %s", name, got.Name, want.Name)
		}
	}
}

// TestBuildErrors: every file that fails, in every site, is reported with
// its field path.
func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Site Root")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	cfg := loadConfig(t, dir, `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: missing.pem}
      issuer_list: {source: missing-ctl.pem}
    locations: [{path: /, client_cert: require}]
  - name: b
    hosts: [b.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: missing-roots.pem}
    locations: [{path: /, client_cert: require}]
`)
	_, err := BuildAll(cfg, Options{})
	if err == nil {
		t.Fatal("BuildAll succeeded")
	}
	for _, field := range []string{"sites[0].client_auth.trust.intermediates", "sites[0].client_auth.issuer_list.source", "sites[1].client_auth.trust.roots"} {
		var found bool
		for _, e := range flatten(err) {
			var fe *config.FieldError
			if errors.As(e, &fe) && fe.Path == field {
				found = true
			}
		}
		if !found {
			t.Errorf("error %q: no FieldError for %s", err, field)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q: want fs.ErrNotExist", err)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// TestIssuerListTruncationNumbersFromOne: the warning numbers the dropped
// CA as check, lint and probe do (roots.pem#3 is the third), not from 0.
func TestIssuerListTruncationNumbersFromOne(t *testing.T) {
	var certs []*x509.Certificate
	for _, n := range []string{"Root One", "Root Two", "Root Three"} {
		certs = append(certs, pkitest.NewRoot(t, n).Cert)
	}
	max := 2 + len(certs[0].RawSubject) + 2 + len(certs[1].RawSubject)
	l := NewIssuerList(certs, config.IssuerList{MaxBytes: &max})
	msgs := l.log(slog.New(slog.DiscardHandler), "sites[0].client_auth.issuer_list")
	if len(msgs) != 1 || !strings.Contains(msgs[0], `CA #3 of 3 "CN=Root Three"`) {
		t.Errorf("warnings %q, want the dropped CA numbered #3 of 3", msgs)
	}
}

// TestBuildDirectoryErrors: the directory's CA and password files are read
// at build time (a reload that breaks them keeps the old site), and their
// errors name the field.
func TestBuildDirectoryErrors(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Site Root")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	pkitest.WriteCerts(t, dir, "dc-ca.pem", root.Cert)
	pkitest.WriteFile(t, dir, "empty.pw", []byte("\n"))
	for _, tt := range []struct{ dirBlock, field string }{
		{`{url: "ldaps://dc.corp.test", base_dn: "dc=corp,dc=test", ca: missing-ca.pem}`, "sites[0].mapping.directory.ca"},
		{`{url: "ldaps://dc.corp.test", base_dn: "dc=corp,dc=test", ca: dc-ca.pem, bind_dn: "cn=gw", password_file: missing.pw}`, "sites[0].mapping.directory.password_file"},
		{`{url: "ldaps://dc.corp.test", base_dn: "dc=corp,dc=test", bind_dn: "cn=gw", password_file: empty.pw}`, "sites[0].mapping.directory.password_file"},
	} {
		cfg := loadConfig(t, dir, `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth: {trust: {roots: roots.pem}}
    mapping: {directory: `+tt.dirBlock+`}
    locations: [{path: /, client_cert: require}]
`)
		_, err := BuildAll(cfg, Options{})
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Path != tt.field {
			t.Errorf("BuildAll = %v, want a FieldError at %s", err, tt.field)
		}
	}
	cfg := loadConfig(t, dir, `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth: {trust: {roots: roots.pem}}
    mapping: {directory: {url: "ldaps://dc.corp.test", base_dn: "dc=corp,dc=test", ca: dc-ca.pem}}
    locations: [{path: /, client_cert: require}]
`)
	set, err := BuildAll(cfg, Options{})
	if err != nil {
		t.Fatalf("a directory that is not running does not stop the build: %v", err)
	}
	set.Close()
}
