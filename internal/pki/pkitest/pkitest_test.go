package pkitest_test

import (
	"crypto/x509"
	"path/filepath"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestPKITestFluent checks that the helpers compose into verifiable chains
// and that the written files load back: the contract other packages' tests
// rely on.
func TestPKITestFluent(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	sub := root.Intermediate(t, "Sub")
	alice := sub.Client(t, "alice")
	srv := sub.Localhost(t)

	for _, tc := range []struct {
		name string
		leaf *pki.Leaf
		eku  x509.ExtKeyUsage
	}{{"client", alice, x509.ExtKeyUsageClientAuth}, {"server", srv, x509.ExtKeyUsageServerAuth}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.leaf.Cert.Verify(x509.VerifyOptions{
				Roots: root.Pool(), Intermediates: pkitest.Pool(sub.Cert), KeyUsages: []x509.ExtKeyUsage{tc.eku},
			})
			if err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
	t.Run("files", func(t *testing.T) {
		dir := t.TempDir()
		certPath, keyPath := pkitest.WriteLeaf(t, dir, "alice", alice)
		certs, err := pki.ReadCertsPEM(certPath)
		if err != nil || len(certs) != 2 {
			t.Fatalf("%s: %d certs, %v", certPath, len(certs), err)
		}
		if _, err := pki.ReadKeyPEM(keyPath); err != nil {
			t.Error(err)
		}
		crlPath := pkitest.WriteFile(t, dir, "sub.crl", sub.CRL(t, pki.CRLOptions{}, alice.Cert))
		if filepath.Base(crlPath) != "sub.crl" {
			t.Errorf("WriteFile path %q", crlPath)
		}
	})
	t.Run("self-signed does not chain", func(t *testing.T) {
		m := pkitest.SelfSigned(t, "mallory")
		if _, err := m.Cert.Verify(x509.VerifyOptions{Roots: root.Pool()}); err == nil {
			t.Error("self-signed leaf verified against Root")
		}
	})
}
