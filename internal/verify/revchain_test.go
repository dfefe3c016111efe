package verify_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// TestPresentedCRLSigner: the client sends its CA's separate CRL-signing
// certificate with its chain (RFC 5280 6.3.3 allows any path to the CRL
// issuer; PKITS 4.4.19 with the intermediates in the client's chain). The
// real revocation engine finds it among the presented certificates, and
// the verifier holds it to the rules a configured one meets: a path to
// the same anchor and cRLSign. The attacker presents a CRL signer with the
// CA's name from a root of its own, to vouch for a revoked certificate
// with a CRL that does not list it.
func TestPresentedCRLSigner(t *testing.T) {
	f := newFixture(t)
	ca := must(f.root.NewIntermediate("Separate Keys CA", valid(), pki.WithKeyUsage(x509.KeyUsageCertSign)))
	signer := func(parent *pki.CA, ku x509.KeyUsage) *pki.CA {
		l := must(parent.Issue(&x509.Certificate{Subject: ca.Cert.Subject}, valid(), pki.WithKeyUsage(ku), pki.WithExtKeyUsage()))
		// crypto/x509 wants a subject key identifier on a CRL issuer.
		c := *l.Cert
		c.SubjectKeyId = []byte{1, 2, 3, 4}
		return &pki.CA{Cert: &c, Key: l.Key}
	}
	good := signer(f.root, x509.KeyUsageCRLSign)
	noCRLSign := signer(f.root, x509.KeyUsageDigitalSignature)
	foreign := signer(f.otherRoot, x509.KeyUsageCRLSign)
	leaf := must(ca.IssueClient("henry", valid()))

	crlOpts := pki.CRLOptions{Number: 1, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}
	cases := []struct {
		name   string
		signer *pki.CA
		ok     bool
		reason string
	}{
		{"presented signer under the same root", good, true, ""},
		{"presented signer without cRLSign", noCRLSign, false, "cRLSign"},
		{"presented signer under another root", foreign, false, "validate crl signer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			crl := must(c.signer.CRL(nil, crlOpts))
			// Each root's CRL covers the certificates it issued, the CA's
			// and the signer's included: nothing is revoked.
			files := map[string][]byte{"ca.crl": crl, "root.crl": must(f.root.CRL(nil, crlOpts)), "other.crl": must(f.otherRoot.CRL(nil, crlOpts))}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// The site knows only its roots: the CA and the signer come
			// from the client.
			eng, err := revocation.New(revocation.Options{Mode: revocation.CacheOnly, LocalCRLs: []string{dir},
				Issuers: []*x509.Certificate{f.root.Cert, f.otherRoot.Cert}, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert, f.otherRoot.Cert}, Revocation: eng, ChainCacheSize: -1}))
			presented := []*x509.Certificate{leaf.Cert, ca.Cert, c.signer.Cert}
			if c.signer == foreign {
				presented = append(presented, f.otherRoot.Cert)
			}
			o := v.Verify(context.Background(), presented, now)
			if c.ok {
				if !o.OK() {
					t.Fatalf("rejected: %v", o.Error())
				}
				return
			}
			if o.Sub != substatus.CertRevoked || o.Code != substatus.CryptERevocationOffline || !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("got %v, want 403.13 CRYPT_E_REVOCATION_OFFLINE", o.Error())
			}
		})
	}
}
