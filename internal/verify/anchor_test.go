package verify_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// TestTrustAnchorChecks plays an operator who configured a root that may
// not sign certificates: RFC 5280 4.2.1.9 (no basicConstraints cA in a
// version 3 certificate), 4.2.1.3 (Key Usage without keyCertSign) and 4.2
// (an unknown critical extension). crypto/x509 refuses all three through
// CheckSignatureFrom and isValid; so must certgate, at verification and
// as a load-time warning.
func TestTrustAnchorChecks(t *testing.T) {
	key := must(pki.GenerateKey(pki.KeyECDSAP256))
	root := func(name string, edit func(*x509.Certificate)) *pki.CA {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			BasicConstraintsValid: true, IsCA: true,
			KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			SubjectKeyId: []byte{1, 2, 3, 4},
		}
		edit(tmpl)
		raw := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key))
		return &pki.CA{Cert: must(x509.ParseCertificate(raw)), Key: key}
	}
	cases := []struct {
		name     string
		edit     func(*x509.Certificate)
		code     substatus.Code
		sentinel error
		reason   string
	}{
		{"valid root", func(*x509.Certificate) {}, substatus.NoError, nil, ""},
		{"root without basicConstraints", func(c *x509.Certificate) { c.BasicConstraintsValid, c.IsCA = false, false },
			substatus.CertERole, verify.ErrNotCA, "RFC 5280 4.2.1.9"},
		{"root with cA false", func(c *x509.Certificate) { c.IsCA = false },
			substatus.CertERole, verify.ErrNotCA, "is not a CA"},
		{"root without keyCertSign", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCRLSign },
			substatus.CertEWrongUsage, verify.ErrWrongUsage, "keyCertSign"},
		{"root with an unknown critical extension", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55738, 666, 1}, Critical: true, Value: []byte{5, 0}}}
		}, substatus.CertECritical, verify.ErrCriticalExtension, "1.3.6.1.4.1.55738.666.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := root("Anchor", c.edit)
			leaf := must(r.IssueClient("alice", valid()))
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{r.Cert}}))
			o := v.Verify(context.Background(), leaf.Chain(), now)
			if c.code == substatus.NoError {
				if !o.OK() {
					t.Fatalf("rejected: %v", o.Error())
				}
				if len(v.Warnings()) != 0 {
					t.Errorf("warnings for a valid root: %v", v.Warnings())
				}
				return
			}
			if o.Sub != substatus.CertUntrusted || o.Code != c.code || !errors.Is(o, c.sentinel) {
				t.Fatalf("got %v, want 403.16 %s", o.Error(), c.code)
			}
			if o.Element == nil || o.Element.Role != verify.RoleRoot {
				t.Errorf("element = %v, want the root", o.Element)
			}
			if !strings.Contains(o.Reason, c.reason) {
				t.Errorf("reason %q does not mention %q", o.Reason, c.reason)
			}
			if w := strings.Join(v.Warnings(), "\n"); !strings.Contains(w, "every chain through it is rejected") {
				t.Errorf("no load-time warning for the unusable root: %q", w)
			}
		})
	}
}
