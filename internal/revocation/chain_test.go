package revocation

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// accept and refuse are validSigner callbacks standing in for the
// verifier's validation of a CRL signer's own path.
func accept(context.Context, *x509.Certificate) error { return nil }

func refuse(_ context.Context, s *x509.Certificate) error {
	return errors.New("the CRL signer's certificate is revoked")
}

// TestCheckChainSeparateCRLKey: the CA signs certificates with one key and
// CRLs with another, certified by a separate non-CA certificate with the
// CA's name and only cRLSign (RFC 5280 6.3.3 (f), PKITS 4.4.19-4.4.21).
func TestCheckChainSeparateCRLKey(t *testing.T) {
	f := newFixture(t)
	ca := f.root.Intermediate(t, "Separate Keys CA", pki.WithKeyUsage(x509.KeyUsageCertSign))
	signer := f.root.Issue(t, &x509.Certificate{Subject: ca.Cert.Subject},
		pki.WithKeyUsage(x509.KeyUsageCRLSign), pki.WithExtKeyUsage())
	// crypto/x509 wants a subject key identifier on a CRL issuer; pki only
	// gives CAs one.
	signerCopy := *signer.Cert
	signerCopy.SubjectKeyId = []byte{1, 2, 3, 4}
	signerCA := pkitest.Wrap(&pki.CA{Cert: &signerCopy, Key: signer.Key})
	leaf := ca.Client(t, "henry").Cert
	revokedLeaf := ca.Client(t, "ivy").Cert
	crl := signerCA.CRLEntries(t, crlAt(f.at, 1), pki.RevokedCert(revokedLeaf, f.at, pki.ReasonKeyCompromise))

	o := f.opts()
	o.Mode = CacheOnly
	o.LocalCRLs = []string{pkitest.WriteFile(t, t.TempDir(), "ca.crl", crl)}
	o.Issuers = []*x509.Certificate{f.root.Cert, ca.Cert, signer.Cert}
	e, _ := newEngine(t, o)

	tests := []struct {
		name    string
		check   func() Result
		want    Status
		wantErr error
		wantMsg string
	}{
		{"chain check, signer accepted", func() Result {
			return e.CheckChain(context.Background(), []*x509.Certificate{leaf, ca.Cert, f.root.Cert}, nil, 0, f.at, accept)
		}, Good, nil, ""},
		{"chain check, revoked leaf", func() Result {
			return e.CheckChain(context.Background(), []*x509.Certificate{revokedLeaf, ca.Cert, f.root.Cert}, nil, 0, f.at, accept)
		}, Revoked, ErrRevoked, ""},
		{"chain check, signer refused", func() Result {
			return e.CheckChain(context.Background(), []*x509.Certificate{leaf, ca.Cert, f.root.Cert}, nil, 0, f.at, refuse)
		}, Unknown, ErrCRLSignature, "is revoked"},
		{"pair check cannot validate another signer", func() Result {
			return e.Check(context.Background(), leaf, ca.Cert, f.at)
		}, Unknown, ErrCRLSignature, "cRLSign"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.check()
			t.Logf("%v: %s%s", res.Status, res.Reason, attemptsString(res.Attempts))
			if res.Status != tc.want {
				t.Fatalf("Status = %v, want %v", res.Status, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(res.Err, tc.wantErr) {
				t.Errorf("Err = %v, want %v", res.Err, tc.wantErr)
			}
			if !strings.Contains(res.Reason, tc.wantMsg) {
				t.Errorf("Reason = %q, want it to contain %q", res.Reason, tc.wantMsg)
			}
		})
	}
}

// TestCheckChainKeyRollover: after a key rollover the CA still signs its
// CRL with the old key; the old key's certificate is on the path (PKITS
// 4.5, 4.6.15).
func TestCheckChainKeyRollover(t *testing.T) {
	f := newFixture(t)
	oldCA := f.root.Intermediate(t, "Rollover CA")
	newCA := oldCA.Intermediate(t, "Rollover CA", pki.WithSubject(oldCA.Cert.Subject)) // self-issued, new key
	leaf := newCA.Client(t, "jack").Cert
	o := f.opts()
	o.Mode = CacheOnly
	o.LocalCRLs = []string{pkitest.WriteFile(t, t.TempDir(), "ca.crl", oldCA.CRL(t, crlAt(f.at, 1)))}
	e, _ := newEngine(t, o)
	path := []*x509.Certificate{leaf, newCA.Cert, oldCA.Cert, f.root.Cert}
	if res := e.CheckChain(context.Background(), path, nil, 0, f.at, accept); res.Status != Good {
		t.Errorf("CheckChain = %v (%s), want good: the old key on the path signed the CRL", res.Status, res.Reason)
	}
	if res := e.Check(context.Background(), leaf, newCA.Cert, f.at); res.Status != Unknown || !errors.Is(res.Err, ErrCRLSignature) {
		t.Errorf("Check = %v (%v), want unknown: bad signature for the new key alone", res.Status, res.Err)
	}
}

// TestNameMatching: the CRL issuer name matches the certificate issuer as
// RFC 5280 7.1 compares names (case, spaces), not byte for byte.
func TestNameMatching(t *testing.T) {
	f := newFixture(t)
	leaf := f.sub.Client(t, "kate").Cert
	// The same name as the CA's, in lower case with extra spaces.
	odd := mustMarshal(t, pkix.RDNSequence{{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "test  sub ca"}}})
	renamed := *f.sub.Cert
	renamed.RawSubject = odd
	crl := pkitest.Wrap(&pki.CA{Cert: &renamed, Key: f.sub.Key}).CRLEntries(t, crlAt(f.at, 1), pki.RevokedCert(leaf, f.at, pki.ReasonKeyCompromise))
	o := f.opts()
	o.Mode = CacheOnly
	o.LocalCRLs = []string{pkitest.WriteFile(t, t.TempDir(), "sub.crl", crl)}
	e, _ := newEngine(t, o)
	res := e.Check(context.Background(), leaf, f.sub.Cert, f.at)
	if res.Status != Revoked {
		t.Fatalf("Status = %v (%s), want revoked by the CRL whose issuer is spelled differently", res.Status, res.Reason)
	}
}

// TestUnusableLocalCRL: a well-formed local CRL with an unknown critical
// extension does not stop New; it is logged and the certificates it would
// cover get Unknown with the reason (RFC 5280 5.2: not used, not fatal).
func TestUnusableLocalCRL(t *testing.T) {
	f := newFixture(t)
	co := crlAt(f.at, 1)
	co.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, Critical: true, Value: []byte{5, 0}}}
	o := f.opts()
	o.Mode = CacheOnly
	o.LocalCRLs = []string{pkitest.WriteFile(t, t.TempDir(), "new-extension.crl", f.sub.CRL(t, co))}
	e, log := newEngine(t, o)
	if !strings.Contains(log.String(), "new-extension.crl") {
		t.Errorf("New did not log the unusable CRL:\n%s", log)
	}
	res := e.Check(context.Background(), f.sub.Client(t, "liam").Cert, f.sub.Cert, f.at)
	if res.Status != Unknown || !errors.Is(res.Err, ErrCriticalExtension) || !strings.Contains(res.Reason, "1.3.6.1.4.1.99999.7") {
		t.Errorf("Check = %v %v (%s), want unknown naming the extension", res.Status, res.Err, res.Reason)
	}
}
