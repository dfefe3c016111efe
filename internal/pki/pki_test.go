package pki_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

var (
	oidKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSmartcard   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}
)

func findExt(c *x509.Certificate, id asn1.ObjectIdentifier) *pkix.Extension {
	for i := range c.Extensions {
		if c.Extensions[i].Id.Equal(id) {
			return &c.Extensions[i]
		}
	}
	return nil
}

func TestPKIClientOptions(t *testing.T) {
	root := pkitest.NewRoot(t, "Options Root")
	rsaRoot := pkitest.NewRoot(t, "RSA Root", pki.WithKeyType(pki.KeyRSA2048))
	nb := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	na := nb.Add(48 * time.Hour)
	otherKey := pkitest.Key(t, "")

	tests := []struct {
		name  string
		ca    *pkitest.CA
		opts  []pki.Option
		check func(t *testing.T, c *x509.Certificate)
	}{
		{"defaults", root, nil, func(t *testing.T, c *x509.Certificate) {
			if c.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %v, want digitalSignature", c.KeyUsage)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
				t.Errorf("ExtKeyUsage = %v, want [clientAuth]", c.ExtKeyUsage)
			}
			if c.IsCA || !c.BasicConstraintsValid {
				t.Errorf("IsCA=%v BasicConstraintsValid=%v, want CA:FALSE present", c.IsCA, c.BasicConstraintsValid)
			}
			if c.Subject.CommonName != "alice" || len(c.Subject.Organization) != 0 {
				t.Errorf("Subject = %v, want CN=alice only", c.Subject)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 129 {
				t.Errorf("serial %v not positive 128-bit", c.SerialNumber)
			}
			if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok {
				t.Errorf("key %T, want ECDSA", c.PublicKey)
			}
			now := time.Now()
			if !c.NotBefore.Before(now) || c.NotBefore.Before(now.Add(-2*time.Hour)) {
				t.Errorf("NotBefore %v, want about now-1h", c.NotBefore)
			}
			if d := c.NotAfter.Sub(now); d < 364*24*time.Hour || d > 367*24*time.Hour {
				t.Errorf("NotAfter %v, want about now+1y", c.NotAfter)
			}
			if err := c.CheckSignatureFrom(root.Cert); err != nil {
				t.Errorf("signature: %v", err)
			}
			if !slices.Equal(c.AuthorityKeyId, root.Cert.SubjectKeyId) {
				t.Errorf("AKI %x, want root SKI %x", c.AuthorityKeyId, root.Cert.SubjectKeyId)
			}
		}},
		{"key usage omitted", root, []pki.Option{pki.WithKeyUsage(0)}, func(t *testing.T, c *x509.Certificate) {
			if findExt(c, oidKeyUsage) != nil || c.KeyUsage != 0 {
				t.Errorf("KU extension present (%v), want omitted", c.KeyUsage)
			}
		}},
		{"key usage keyEncipherment only", root, []pki.Option{pki.WithKeyUsage(x509.KeyUsageKeyEncipherment)}, func(t *testing.T, c *x509.Certificate) {
			if c.KeyUsage != x509.KeyUsageKeyEncipherment {
				t.Errorf("KeyUsage = %v, want keyEncipherment", c.KeyUsage)
			}
		}},
		{"eku omitted", root, []pki.Option{pki.WithExtKeyUsage()}, func(t *testing.T, c *x509.Certificate) {
			if findExt(c, oidExtKeyUsage) != nil {
				t.Errorf("EKU extension present (%v), want omitted", c.ExtKeyUsage)
			}
		}},
		{"eku serverAuth only", root, []pki.Option{pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth)}, func(t *testing.T, c *x509.Certificate) {
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("ExtKeyUsage = %v, want [serverAuth]", c.ExtKeyUsage)
			}
		}},
		{"eku unknown oid replaces default", root, []pki.Option{pki.WithUnknownExtKeyUsage(oidSmartcard)}, func(t *testing.T, c *x509.Certificate) {
			if len(c.ExtKeyUsage) != 0 || len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(oidSmartcard) {
				t.Errorf("EKU = %v + %v, want only %v", c.ExtKeyUsage, c.UnknownExtKeyUsage, oidSmartcard)
			}
		}},
		{"subject", root, []pki.Option{pki.WithSubject(pkix.Name{CommonName: "bob", Organization: []string{"Example"}, OrganizationalUnit: []string{"Ops"}})}, func(t *testing.T, c *x509.Certificate) {
			if c.Subject.String() != "CN=bob,OU=Ops,O=Example" {
				t.Errorf("Subject = %q", c.Subject.String())
			}
		}},
		{"serial", root, []pki.Option{pki.WithSerial(big.NewInt(4242))}, func(t *testing.T, c *x509.Certificate) {
			if c.SerialNumber.Int64() != 4242 {
				t.Errorf("serial = %v, want 4242", c.SerialNumber)
			}
		}},
		{"validity", root, []pki.Option{pki.WithValidity(nb, na)}, func(t *testing.T, c *x509.Certificate) {
			if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
				t.Errorf("validity %v..%v, want %v..%v", c.NotBefore, c.NotAfter, nb, na)
			}
		}},
		{"sans without upn", root, []pki.Option{
			pki.WithDNS("alice.example.test"), pki.WithIP(net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")),
			pki.WithEmail("alice@example.test"), pki.WithURI("spiffe://example.test/alice"),
		}, func(t *testing.T, c *x509.Certificate) {
			if !slices.Equal(c.DNSNames, []string{"alice.example.test"}) || !slices.Equal(c.EmailAddresses, []string{"alice@example.test"}) {
				t.Errorf("DNS %v email %v", c.DNSNames, c.EmailAddresses)
			}
			if len(c.IPAddresses) != 2 || !c.IPAddresses[1].Equal(net.ParseIP("2001:db8::1")) {
				t.Errorf("IPs %v", c.IPAddresses)
			}
			if len(c.URIs) != 1 || c.URIs[0].String() != "spiffe://example.test/alice" {
				t.Errorf("URIs %v", c.URIs)
			}
		}},
		{"upn with other sans", root, []pki.Option{
			pki.WithUPN("alice@corp.example.test"), pki.WithEmail("alice@example.test"),
			pki.WithDNS("alice.example.test"), pki.WithIP(net.ParseIP("192.0.2.7")), pki.WithURI("urn:example:alice"),
		}, func(t *testing.T, c *x509.Certificate) {
			upns, err := pki.UPNs(c)
			if err != nil || !slices.Equal(upns, []string{"alice@corp.example.test"}) {
				t.Errorf("UPNs = %v, %v", upns, err)
			}
			if !slices.Equal(c.EmailAddresses, []string{"alice@example.test"}) || !slices.Equal(c.DNSNames, []string{"alice.example.test"}) ||
				len(c.IPAddresses) != 1 || len(c.URIs) != 1 || c.URIs[0].String() != "urn:example:alice" {
				t.Errorf("SANs lost: email %v dns %v ip %v uri %v", c.EmailAddresses, c.DNSNames, c.IPAddresses, c.URIs)
			}
			n := 0
			for _, e := range c.Extensions {
				if e.Id.Equal(pki.OIDSubjectAltName) {
					n++
					if e.Critical {
						t.Error("SAN critical with a non-empty subject")
					}
				}
			}
			if n != 1 {
				t.Errorf("%d SAN extensions, want 1", n)
			}
		}},
		{"upn with empty subject is critical", root, []pki.Option{pki.WithSubject(pkix.Name{}), pki.WithUPN("bob@corp.example.test")}, func(t *testing.T, c *x509.Certificate) {
			if e := findExt(c, pki.OIDSubjectAltName); e == nil || !e.Critical {
				t.Errorf("SAN extension %+v, want critical", e)
			}
			if upns, _ := pki.UPNs(c); !slices.Equal(upns, []string{"bob@corp.example.test"}) {
				t.Errorf("UPNs = %v", upns)
			}
		}},
		{"crl dp ocsp aia", root, []pki.Option{
			pki.WithCRLDistributionPoints("http://127.0.0.1:1/root.crl"), pki.WithOCSPServer("http://127.0.0.1:1/ocsp"),
			pki.WithIssuingCertificateURL("http://127.0.0.1:1/root.cer"),
		}, func(t *testing.T, c *x509.Certificate) {
			if !slices.Equal(c.CRLDistributionPoints, []string{"http://127.0.0.1:1/root.crl"}) ||
				!slices.Equal(c.OCSPServer, []string{"http://127.0.0.1:1/ocsp"}) ||
				!slices.Equal(c.IssuingCertificateURL, []string{"http://127.0.0.1:1/root.cer"}) {
				t.Errorf("CDP %v OCSP %v AIA %v", c.CRLDistributionPoints, c.OCSPServer, c.IssuingCertificateURL)
			}
		}},
		{"freshest crl", root, []pki.Option{pki.WithFreshestCRL("http://127.0.0.1:1/delta.crl", "ldap://x/delta")}, func(t *testing.T, c *x509.Certificate) {
			urls, err := pki.FreshestCRLURLs(c)
			if err != nil || !slices.Equal(urls, []string{"http://127.0.0.1:1/delta.crl", "ldap://x/delta"}) {
				t.Errorf("FreshestCRLURLs = %v, %v", urls, err)
			}
			if e := findExt(c, pki.OIDFreshestCRL); e == nil || e.Critical {
				t.Errorf("freshest CRL extension %+v, want non-critical", e)
			}
		}},
		{"sha1 with rsa", rsaRoot, []pki.Option{pki.WithSignatureAlgorithm(x509.SHA1WithRSA)}, func(t *testing.T, c *x509.Certificate) {
			if c.SignatureAlgorithm != x509.SHA1WithRSA {
				t.Errorf("SignatureAlgorithm = %v, want SHA1-RSA", c.SignatureAlgorithm)
			}
		}},
		{"extra extension", root, []pki.Option{pki.WithExtraExtensions(pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})}, func(t *testing.T, c *x509.Certificate) {
			if e := findExt(c, asn1.ObjectIdentifier{1, 2, 3, 4}); e == nil || !e.Critical {
				t.Errorf("extra extension %+v, want critical 1.2.3.4", e)
			}
		}},
		{"reused key", root, []pki.Option{pki.WithKey(otherKey)}, func(t *testing.T, c *x509.Certificate) {
			if !otherKey.Public().(*ecdsa.PublicKey).Equal(c.PublicKey) {
				t.Error("certificate does not carry the given key")
			}
		}},
		{"signed by wrong key", root, []pki.Option{pki.WithSignedBy(otherKey)}, func(t *testing.T, c *x509.Certificate) {
			if err := c.CheckSignatureFrom(root.Cert); err == nil {
				t.Error("signature verifies against the issuer, want failure")
			}
			if c.Issuer.String() != root.Cert.Subject.String() {
				t.Errorf("issuer %q, want %q", c.Issuer, root.Cert.Subject)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.ca.Client(t, "alice", tt.opts...)
			tt.check(t, l.Cert)
		})
	}
}

func TestPKIKeyTypes(t *testing.T) {
	root := pkitest.NewRoot(t, "Key Root")
	tests := []struct {
		kt      pki.KeyType
		rsaBits int
		wantKU  x509.KeyUsage
	}{
		{"", 0, x509.KeyUsageDigitalSignature},
		{pki.KeyECDSAP256, 0, x509.KeyUsageDigitalSignature},
		{pki.KeyRSA2048, 2048, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{pki.KeyRSA3072, 3072, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{pki.KeyEd25519, 0, x509.KeyUsageDigitalSignature},
	}
	for _, tt := range tests {
		t.Run(string(tt.kt)+"/server", func(t *testing.T) {
			l := root.Server(t, "srv", []string{"localhost", "127.0.0.1"}, pki.WithKeyType(tt.kt))
			c := l.Cert
			switch pub := c.PublicKey.(type) {
			case *rsa.PublicKey:
				if pub.N.BitLen() != tt.rsaBits {
					t.Errorf("RSA %d bits, want %d", pub.N.BitLen(), tt.rsaBits)
				}
			case *ecdsa.PublicKey:
				if tt.rsaBits != 0 || pub.Curve.Params().BitSize != 256 {
					t.Errorf("ECDSA %d, want RSA %d", pub.Curve.Params().BitSize, tt.rsaBits)
				}
			case ed25519.PublicKey:
				if tt.kt != pki.KeyEd25519 {
					t.Errorf("Ed25519 key for %q", tt.kt)
				}
			}
			if c.KeyUsage != tt.wantKU {
				t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, tt.wantKU)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("ExtKeyUsage = %v, want [serverAuth]", c.ExtKeyUsage)
			}
			if !slices.Equal(c.DNSNames, []string{"localhost"}) || len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
				t.Errorf("SANs dns %v ip %v", c.DNSNames, c.IPAddresses)
			}
			if err := c.VerifyHostname("127.0.0.1"); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := pki.NewRoot("x", pki.WithKeyType("dsa-1024")); !errors.Is(err, pki.ErrUnknownKeyType) {
		t.Errorf("unknown key type: err = %v, want ErrUnknownKeyType", err)
	}
}

func TestPKIHierarchy(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	sub1 := root.Intermediate(t, "Sub 1", pki.WithMaxPathLen(1))
	sub2 := sub1.Intermediate(t, "Sub 2", pki.WithMaxPathLen(0))
	leaf := sub2.Client(t, "alice")

	t.Run("ca defaults", func(t *testing.T) {
		for _, ca := range []*pkitest.CA{root, sub1, sub2} {
			c := ca.Cert
			if !c.IsCA || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || len(c.SubjectKeyId) == 0 {
				t.Errorf("%s: IsCA=%v KU=%v SKI=%x", c.Subject.CommonName, c.IsCA, c.KeyUsage, c.SubjectKeyId)
			}
			if d := time.Until(c.NotAfter); d < 9*365*24*time.Hour {
				t.Errorf("%s: NotAfter %v, want about now+10y", c.Subject.CommonName, c.NotAfter)
			}
		}
		if root.Cert.MaxPathLen != -1 || sub1.Cert.MaxPathLen != 1 || sub2.Cert.MaxPathLen != 0 || !sub2.Cert.MaxPathLenZero {
			t.Errorf("path lengths %d %d %d(zero=%v)", root.Cert.MaxPathLen, sub1.Cert.MaxPathLen, sub2.Cert.MaxPathLen, sub2.Cert.MaxPathLenZero)
		}
		if !pki.IsSelfSigned(root.Cert) || pki.IsSelfSigned(sub1.Cert) {
			t.Error("IsSelfSigned wrong for root or sub1")
		}
	})
	t.Run("chains", func(t *testing.T) {
		if got := names(sub2.Chain()); !slices.Equal(got, []string{"Sub 2", "Sub 1", "Root"}) {
			t.Errorf("CA chain = %v", got)
		}
		if got := names(leaf.Chain()); !slices.Equal(got, []string{"alice", "Sub 2", "Sub 1"}) {
			t.Errorf("leaf chain = %v", got)
		}
		tc := leaf.TLSCertificate()
		if len(tc.Certificate) != 3 || tc.Leaf != leaf.Cert || tc.PrivateKey != leaf.Key {
			t.Errorf("TLSCertificate: %d certs", len(tc.Certificate))
		}
		inter := pkitest.Pool(leaf.Chain()[1:]...)
		if _, err := leaf.Cert.Verify(x509.VerifyOptions{
			Roots: root.Pool(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			t.Errorf("verify depth-3 chain: %v", err)
		}
	})
	t.Run("self-signed leaf", func(t *testing.T) {
		l := pkitest.SelfSigned(t, "mallory")
		if l.Cert.IsCA || !pki.IsSelfSigned(l.Cert) || len(l.Chain()) != 1 {
			t.Errorf("IsCA=%v selfSigned=%v chain=%d", l.Cert.IsCA, pki.IsSelfSigned(l.Cert), len(l.Chain()))
		}
	})
	t.Run("custom template", func(t *testing.T) {
		l := root.Issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "custom"}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign},
			pki.WithMaxPathLen(2))
		if !l.Cert.IsCA || l.Cert.MaxPathLen != 2 || l.Cert.KeyUsage != x509.KeyUsageCertSign || len(l.Cert.ExtKeyUsage) != 0 {
			t.Errorf("custom: IsCA=%v pathlen=%d KU=%v EKU=%v", l.Cert.IsCA, l.Cert.MaxPathLen, l.Cert.KeyUsage, l.Cert.ExtKeyUsage)
		}
	})
	t.Run("fingerprint", func(t *testing.T) {
		sum := sha256.Sum256(leaf.Cert.Raw)
		if got := pki.Fingerprint(leaf.Cert); got != hex.EncodeToString(sum[:]) || len(got) != 64 {
			t.Errorf("Fingerprint = %q", got)
		}
	})
}

func names(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestPKIErrors(t *testing.T) {
	root := pkitest.NewRoot(t, "Err Root")
	now := time.Now()
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"max path len on leaf", func() error { _, err := root.IssueClient("a", pki.WithMaxPathLen(0)); return err }, pki.ErrInvalidOption},
		{"max path len below -1", func() error { _, err := root.NewIntermediate("a", pki.WithMaxPathLen(-2)); return err }, pki.ErrInvalidOption},
		{"reversed validity", func() error { _, err := root.IssueClient("a", pki.WithValidity(now, now.Add(-time.Hour))); return err }, pki.ErrInvalidOption},
		{"bad uri", func() error { _, err := root.IssueClient("a", pki.WithURI("http://[::1")); return err }, pki.ErrInvalidOption},
		{"keyless issuer", func() error { _, err := (&pki.CA{Cert: root.Cert}).IssueClient("a"); return err }, pki.ErrNoKey},
		{"nil template", func() error { _, err := root.CA.Issue(nil); return err }, pki.ErrInvalidOption},
		{"keyless crl", func() error { _, err := (&pki.CA{Cert: root.Cert}).CRL(nil, pki.CRLOptions{}); return err }, pki.ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
