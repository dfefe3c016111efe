package pkitest

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

// CA wraps a pki.CA with test helpers. The embedded *pki.CA is what the
// code under test receives (ca.CA, ca.Cert, ca.Chain()).
type CA struct {
	*pki.CA
}

// NewRoot creates a self-signed root CA.
func NewRoot(tb testing.TB, cn string, opts ...pki.Option) *CA {
	tb.Helper()
	ca, err := pki.NewRoot(cn, opts...)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return &CA{ca}
}

// Wrap adapts an existing pki.CA.
func Wrap(ca *pki.CA) *CA { return &CA{ca} }

// Intermediate creates a CA issued by c.
func (c *CA) Intermediate(tb testing.TB, cn string, opts ...pki.Option) *CA {
	tb.Helper()
	sub, err := c.NewIntermediate(cn, opts...)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return &CA{sub}
}

// Client issues a client certificate (digitalSignature, clientAuth).
func (c *CA) Client(tb testing.TB, cn string, opts ...pki.Option) *pki.Leaf {
	tb.Helper()
	l, err := c.IssueClient(cn, opts...)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return l
}

// Server issues a server certificate for hosts (DNS names or IPs).
func (c *CA) Server(tb testing.TB, cn string, hosts []string, opts ...pki.Option) *pki.Leaf {
	tb.Helper()
	l, err := c.IssueServer(cn, hosts, opts...)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return l
}

// Localhost issues a server certificate for localhost, 127.0.0.1 and ::1.
func (c *CA) Localhost(tb testing.TB, opts ...pki.Option) *pki.Leaf {
	tb.Helper()
	return c.Server(tb, "localhost", []string{"localhost", "127.0.0.1", "::1"}, opts...)
}

// Issue issues a certificate from a custom template.
func (c *CA) Issue(tb testing.TB, tmpl *x509.Certificate, opts ...pki.Option) *pki.Leaf {
	tb.Helper()
	l, err := c.CA.Issue(tmpl, opts...)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return l
}

// CRL returns a DER CRL issued by c revoking certs (reason unspecified,
// revoked at ThisUpdate).
func (c *CA) CRL(tb testing.TB, o pki.CRLOptions, revoked ...*x509.Certificate) []byte {
	tb.Helper()
	entries := make([]pki.Revoked, 0, len(revoked))
	for _, r := range revoked {
		entries = append(entries, pki.Revoked{Serial: r.SerialNumber})
	}
	return c.CRLEntries(tb, o, entries...)
}

// CRLEntries returns a DER CRL issued by c with explicit entries.
func (c *CA) CRLEntries(tb testing.TB, o pki.CRLOptions, entries ...pki.Revoked) []byte {
	tb.Helper()
	der, err := c.CA.CRL(entries, o)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return der
}

// Pool returns a CertPool holding c's certificate.
func (c *CA) Pool() *x509.CertPool { return Pool(c.Cert) }

// SelfSigned creates a self-signed client certificate chaining to nothing.
func SelfSigned(tb testing.TB, cn string, opts ...pki.Option) *pki.Leaf {
	tb.Helper()
	l, err := pki.NewSelfSignedLeaf(cn, opts...)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return l
}

// Key generates a key of the given type ("" = ECDSA P-256), for WithKey,
// WithSignedBy and CRLOptions.SignWith.
func Key(tb testing.TB, kt pki.KeyType) crypto.Signer {
	tb.Helper()
	k, err := pki.GenerateKey(kt)
	if err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return k
}

// Pool returns a CertPool holding certs.
func Pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// WriteCerts writes certs as PEM to dir/name and returns the path.
func WriteCerts(tb testing.TB, dir, name string, certs ...*x509.Certificate) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := pki.WriteCertsPEM(p, certs...); err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return p
}

// WriteKey writes key as PKCS#8 PEM to dir/name and returns the path.
func WriteKey(tb testing.TB, dir, name string, key crypto.Signer) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := pki.WriteKeyPEM(p, key); err != nil {
		tb.Fatalf("pkitest: %v", err)
	}
	return p
}

// WriteLeaf writes dir/name.pem (leaf and intermediates) and dir/name.key
// and returns both paths: the shape of a gateway's certificate/key config.
func WriteLeaf(tb testing.TB, dir, name string, l *pki.Leaf) (certPath, keyPath string) {
	tb.Helper()
	return WriteCerts(tb, dir, name+".pem", l.Chain()...), WriteKey(tb, dir, name+".key", l.Key)
}

// WriteFile writes raw bytes (a CRL, garbage for negative tests) to
// dir/name and returns the path.
func WriteFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatalf("pkitest: write %s: %v", p, err)
	}
	return p
}
