package pki_test

import (
	"crypto/ecdsa"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestPKIFiles(t *testing.T) {
	root := pkitest.NewRoot(t, "File Root")
	sub := root.Intermediate(t, "File Sub")
	alice := sub.Client(t, "alice")
	dir := t.TempDir()

	t.Run("key mode 0600 even over an existing 0644 file", func(t *testing.T) {
		p := filepath.Join(dir, "alice.key")
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := pki.WriteKeyPEM(p, alice.Key); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, p); m != 0o600 {
			t.Errorf("mode %v, want 0600", m)
		}
		k, err := pki.ReadKeyPEM(p)
		if err != nil || !k.Public().(*ecdsa.PublicKey).Equal(alice.Cert.PublicKey) {
			t.Errorf("read back key: %v", err)
		}
	})
	t.Run("cert bundle round trip", func(t *testing.T) {
		p := filepath.Join(dir, "chain.pem")
		if err := pki.WriteCertsPEM(p, alice.Chain()...); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, p); m != 0o644 {
			t.Errorf("mode %v, want 0644", m)
		}
		certs, err := pki.ReadCertsPEM(p)
		if err != nil || len(certs) != 2 || !certs[0].Equal(alice.Cert) || !certs[1].Equal(sub.Cert) {
			t.Errorf("read back %d certs: %v", len(certs), err)
		}
	})
	t.Run("load ca with parents", func(t *testing.T) {
		certPath := pkitest.WriteCerts(t, dir, "sub-bundle.pem", sub.Chain()...)
		keyPath := pkitest.WriteKey(t, dir, "sub.key", sub.Key)
		ca, err := pki.LoadCA(certPath, keyPath)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ca.Chain()); len(got) != 2 || got[1] != "File Root" || ca.Parent.Key != nil {
			t.Errorf("loaded chain %v", got)
		}
		l, err := ca.IssueClient("bob")
		if err != nil || l.Cert.CheckSignatureFrom(sub.Cert) != nil || len(l.Chain()) != 2 {
			t.Errorf("issue from loaded CA: %v", err)
		}
	})
	t.Run("load errors", func(t *testing.T) {
		rootCert := pkitest.WriteCerts(t, dir, "root.pem", root.Cert)
		subKey := pkitest.WriteKey(t, dir, "sub2.key", sub.Key)
		leafCert, leafKey := pkitest.WriteLeaf(t, dir, "leaf", alice)
		garbage := pkitest.WriteFile(t, dir, "garbage.pem", []byte("not pem"))
		tests := []struct {
			name, cert, key string
			want            error
		}{
			{"key mismatch", rootCert, subKey, pki.ErrKeyMismatch},
			{"not a CA", leafCert, leafKey, pki.ErrNotCA},
			{"no pem", garbage, subKey, pki.ErrNoPEM},
			{"missing file", filepath.Join(dir, "nope.pem"), subKey, fs.ErrNotExist},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := pki.LoadCA(tt.cert, tt.key)
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			})
		}
	})
	t.Run("pkcs12", func(t *testing.T) {
		for _, includeRoot := range []bool{false, true} {
			p := filepath.Join(dir, "alice.p12")
			if err := pki.WritePKCS12(p, alice, "test", includeRoot); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, p); m != 0o600 {
				t.Errorf("mode %v, want 0600", m)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			key, cert, cas, err := pkcs12.DecodeChain(data, "test")
			if err != nil {
				t.Fatalf("DecodeChain: %v", err)
			}
			want := 1
			if includeRoot {
				want = 2
			}
			if !cert.Equal(alice.Cert) || len(cas) != want || !cas[0].Equal(sub.Cert) {
				t.Errorf("includeRoot=%v: cert %v, %d CA certs", includeRoot, cert.Subject, len(cas))
			}
			if k, ok := key.(*ecdsa.PrivateKey); !ok || !k.PublicKey.Equal(alice.Cert.PublicKey) {
				t.Errorf("decoded key %T does not match", key)
			}
			if _, _, _, err := pkcs12.DecodeChain(data, "wrong"); err == nil {
				t.Error("wrong password accepted")
			}
		}
	})
	t.Run("crl file", func(t *testing.T) {
		der := root.CRL(t, pki.CRLOptions{})
		p := filepath.Join(dir, "root.crl.pem")
		if err := pki.WriteCRL(p, der); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		if len(data) < 10 || string(data[:19]) != "-----BEGIN X509 CRL" {
			t.Errorf("PEM CRL starts %q", data[:min(len(data), 19)])
		}
	})
}
