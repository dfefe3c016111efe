package pki_test

import (
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestPKICRL(t *testing.T) {
	root := pkitest.NewRoot(t, "CRL Root")
	noCRLSign := pkitest.NewRoot(t, "No cRLSign", pki.WithKeyUsage(x509.KeyUsageCertSign))
	alice := root.Client(t, "alice")
	bob := root.Client(t, "bob")
	this := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
	next := this.Add(7 * 24 * time.Hour)
	revokedAt := this.Add(-time.Hour)

	tests := []struct {
		name      string
		ca        *pkitest.CA
		entries   []pki.Revoked
		o         pki.CRLOptions
		sigOK     bool
		check     func(t *testing.T, crl *x509.RevocationList)
		wantDelta int64 // -1: no delta indicator
	}{
		{"defaults", root, nil, pki.CRLOptions{}, true, func(t *testing.T, crl *x509.RevocationList) {
			if crl.Number.Int64() != 1 || len(crl.RevokedCertificateEntries) != 0 {
				t.Errorf("number %v entries %d", crl.Number, len(crl.RevokedCertificateEntries))
			}
			if d := time.Until(crl.NextUpdate); d < 23*time.Hour || d > 25*time.Hour {
				t.Errorf("NextUpdate %v, want about now+24h", crl.NextUpdate)
			}
			if !crl.ThisUpdate.Before(time.Now()) {
				t.Errorf("ThisUpdate %v not in the past", crl.ThisUpdate)
			}
		}, -1},
		{"entries and times", root, []pki.Revoked{
			pki.RevokedCert(alice.Cert, revokedAt, pki.ReasonKeyCompromise), {Serial: bob.Cert.SerialNumber},
		}, pki.CRLOptions{Number: 7, ThisUpdate: this, NextUpdate: next}, true, func(t *testing.T, crl *x509.RevocationList) {
			if crl.Number.Int64() != 7 || !crl.ThisUpdate.Equal(this) || !crl.NextUpdate.Equal(next) {
				t.Errorf("number %v this %v next %v", crl.Number, crl.ThisUpdate, crl.NextUpdate)
			}
			e := crl.RevokedCertificateEntries
			if len(e) != 2 || e[0].SerialNumber.Cmp(alice.Cert.SerialNumber) != 0 || e[0].ReasonCode != pki.ReasonKeyCompromise ||
				!e[0].RevocationTime.Equal(revokedAt) || e[1].SerialNumber.Cmp(bob.Cert.SerialNumber) != 0 || !e[1].RevocationTime.Equal(this) {
				t.Errorf("entries %+v", e)
			}
			if !slices.Equal(crl.AuthorityKeyId, root.Cert.SubjectKeyId) {
				t.Errorf("AKI %x, want %x", crl.AuthorityKeyId, root.Cert.SubjectKeyId)
			}
		}, -1},
		{"delta", root, []pki.Revoked{{Serial: alice.Cert.SerialNumber}}, pki.CRLOptions{Number: 3, Delta: true, BaseNumber: 2}, true, func(t *testing.T, crl *x509.RevocationList) {
			for _, e := range crl.Extensions {
				if e.Id.Equal(pki.OIDDeltaCRLIndicator) && !e.Critical {
					t.Error("delta CRL indicator not critical")
				}
			}
		}, 2},
		{"issuing distribution point", root, nil, pki.CRLOptions{IssuingDistributionPoint: &pki.IssuingDistributionPoint{
			URLs: []string{"http://127.0.0.1:1/root.crl"}, OnlyContainsUserCerts: true,
		}}, true, func(t *testing.T, crl *x509.RevocationList) {
			for _, e := range crl.Extensions {
				if !e.Id.Equal(pki.OIDIssuingDistributionPoint) {
					continue
				}
				idp, err := pki.ParseIssuingDistributionPoint(e.Value)
				if err != nil || !e.Critical || !idp.OnlyContainsUserCerts || idp.OnlyContainsCACerts ||
					!slices.Equal(idp.URLs, []string{"http://127.0.0.1:1/root.crl"}) {
					t.Errorf("IDP %+v critical=%v err=%v", idp, e.Critical, err)
				}
				return
			}
			t.Error("no IDP extension")
		}, -1},
		{"signed by wrong key", root, nil, pki.CRLOptions{SignWith: pkitest.Key(t, "")}, false, nil, -1},
		// crypto/x509 rejects the issuer for lacking cRLSign, yet the bytes
		// are signed by its key: the verifier's "wrong usage" case.
		{"issuer without crlSign", noCRLSign, nil, pki.CRLOptions{}, false, func(t *testing.T, crl *x509.RevocationList) {
			if err := noCRLSign.Cert.CheckSignature(crl.SignatureAlgorithm, crl.RawTBSRevocationList, crl.Signature); err != nil {
				t.Errorf("raw signature: %v", err)
			}
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := tt.ca.CRLEntries(t, tt.o, tt.entries...)
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatalf("ParseRevocationList: %v", err)
			}
			if err := crl.CheckSignatureFrom(tt.ca.Cert); (err == nil) != tt.sigOK {
				t.Errorf("CheckSignatureFrom err = %v, want ok=%v", err, tt.sigOK)
			}
			if crl.Issuer.String() != tt.ca.Cert.Subject.String() {
				t.Errorf("issuer %q, want %q", crl.Issuer, tt.ca.Cert.Subject)
			}
			base, isDelta, err := pki.DeltaCRLBase(crl)
			switch {
			case err != nil:
				t.Errorf("DeltaCRLBase: %v", err)
			case tt.wantDelta < 0 && isDelta:
				t.Errorf("unexpected delta CRL indicator (base %v)", base)
			case tt.wantDelta >= 0 && (!isDelta || base.Int64() != tt.wantDelta):
				t.Errorf("delta=%v base=%v, want base %d", isDelta, base, tt.wantDelta)
			}
			if tt.check != nil {
				tt.check(t, crl)
			}
		})
	}
	t.Run("pkitest CRL revokes certificates", func(t *testing.T) {
		crl, err := x509.ParseRevocationList(root.CRL(t, pki.CRLOptions{}, alice.Cert, bob.Cert))
		if err != nil || len(crl.RevokedCertificateEntries) != 2 {
			t.Fatalf("crl %v err %v", crl, err)
		}
	})
}
