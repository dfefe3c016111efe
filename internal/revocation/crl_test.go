package revocation

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// testTime is the fixed validation time of the parser tests.
var testTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// createCRL signs a CRL template directly with crypto/x509, for entries
// and extensions that pki.CRLOptions does not expose.
func createCRL(t *testing.T, ca *pkitest.CA, tmpl *x509.RevocationList) []byte {
	t.Helper()
	if tmpl.Number == nil {
		tmpl.Number = big.NewInt(1)
	}
	issuer := *ca.Cert
	issuer.KeyUsage |= x509.KeyUsageCRLSign
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, &issuer, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParseCRLMatchesStdlib checks the DER walk against
// x509.ParseRevocationList on the same CRLs: every entry's serial,
// revocation time and reason, and the header fields.
func TestParseCRLMatchesStdlib(t *testing.T) {
	ca := pkitest.NewRoot(t, "parser root")
	entries := []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(1), RevocationTime: testTime.Add(-time.Hour)},
		{SerialNumber: big.NewInt(127), RevocationTime: testTime.Add(-2 * time.Hour), ReasonCode: 1},
		{SerialNumber: big.NewInt(128), RevocationTime: testTime.Add(-3 * time.Hour), ReasonCode: 6},
		{SerialNumber: new(big.Int).Lsh(big.NewInt(1), 150), RevocationTime: testTime.Add(-4 * time.Hour), ReasonCode: 10},
		// After 2049: encoded as GeneralizedTime (RFC 5280 4.1.2.5).
		{SerialNumber: big.NewInt(0xabcdef), RevocationTime: time.Date(2051, 2, 3, 4, 5, 6, 0, time.UTC), ReasonCode: 4},
		// Informational entry extension (invalidity date): ignored.
		{SerialNumber: big.NewInt(99), RevocationTime: testTime.Add(-5 * time.Hour), ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 24}, Value: mustMarshal(t, testTime.Add(-6*time.Hour))}}},
	}
	tests := []struct {
		name    string
		entries []x509.RevocationListEntry
	}{
		{"empty", nil},
		{"mixed", entries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der := createCRL(t, ca, &x509.RevocationList{
				Number: big.NewInt(42), ThisUpdate: testTime.Add(-time.Hour), NextUpdate: testTime.Add(time.Hour),
				RevokedCertificateEntries: tc.entries,
			})
			want, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseCRL(der, ca.Cert)
			if err != nil {
				t.Fatalf("ParseCRL: %v", err)
			}
			if got.Len() != len(want.RevokedCertificateEntries) {
				t.Fatalf("Len = %d, want %d", got.Len(), len(want.RevokedCertificateEntries))
			}
			if got.Number.Cmp(want.Number) != 0 || !got.ThisUpdate.Equal(want.ThisUpdate) || !got.NextUpdate.Equal(want.NextUpdate) ||
				got.Issuer.String() != want.Issuer.String() || got.SignatureAlgorithm != want.SignatureAlgorithm {
				t.Errorf("header = #%v %v..%v %q %v, want #%v %v..%v %q %v", got.Number, got.ThisUpdate, got.NextUpdate, got.Issuer, got.SignatureAlgorithm,
					want.Number, want.ThisUpdate, want.NextUpdate, want.Issuer, want.SignatureAlgorithm)
			}
			for _, we := range want.RevokedCertificateEntries {
				e, ok := got.LookupSerial(we.SerialNumber)
				if !ok {
					t.Errorf("serial %X not found", we.SerialNumber)
					continue
				}
				if !e.RevokedAt.Equal(we.RevocationTime) || e.ReasonCode != we.ReasonCode {
					t.Errorf("serial %X = %v reason %d, want %v reason %d", we.SerialNumber, e.RevokedAt, e.ReasonCode, we.RevocationTime, we.ReasonCode)
				}
			}
			for _, absent := range []int64{2, 126, 129, 0xabcdee} {
				if _, ok := got.LookupSerial(big.NewInt(absent)); ok {
					t.Errorf("serial %X found, it is not on the CRL", absent)
				}
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseCRLSerialEncodings: a serial with a padding zero byte (some CAs
// emit them) matches the certificate's minimal encoding.
func TestParseCRLSerialEncodings(t *testing.T) {
	tests := []struct {
		name      string
		crl, cert []byte
		want      bool
	}{
		{"same", []byte{0x7f}, []byte{0x7f}, true},
		{"padded zero", []byte{0x00, 0x7f}, []byte{0x7f}, true},
		{"needed zero", []byte{0x00, 0x80}, []byte{0x00, 0x80}, true},
		{"negative vs positive", []byte{0x80}, []byte{0x00, 0x80}, false},
		{"padded ff", []byte{0xff, 0x80}, []byte{0x80}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(normalizeSerial(tc.crl)) == string(normalizeSerial(tc.cert)); got != tc.want {
				t.Errorf("normalized equal = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestParseCRLRejects: CRLs that must not be used.
func TestParseCRLRejects(t *testing.T) {
	ca := pkitest.NewRoot(t, "reject root")
	other := pkitest.NewRoot(t, "other root")
	unknownCritical := pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}
	good := ca.CRL(t, pki.CRLOptions{})
	tests := []struct {
		name    string
		der     []byte
		issuer  *x509.Certificate
		wantErr error
	}{
		{"garbage", []byte("this is not a CRL"), ca.Cert, ErrMalformedCRL},
		{"empty", nil, ca.Cert, ErrMalformedCRL},
		{"truncated", good[:len(good)-10], ca.Cert, ErrMalformedCRL},
		{"trailing data", append(append([]byte(nil), good...), 0, 0), ca.Cert, ErrMalformedCRL},
		{"PEM without CRL", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), ca.Cert, ErrMalformedCRL},
		{"unknown critical CRL extension", ca.CRL(t, pki.CRLOptions{ExtraExtensions: []pkix.Extension{unknownCritical}}), ca.Cert, ErrCriticalExtension},
		{"unknown critical entry extension", createCRL(t, ca, &x509.RevocationList{
			ThisUpdate: testTime, NextUpdate: testTime.Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(5), RevocationTime: testTime,
				ExtraExtensions: []pkix.Extension{unknownCritical}}},
		}), ca.Cert, ErrCriticalExtension},
		{"certificateIssuer on a direct CRL", createCRL(t, ca, &x509.RevocationList{
			ThisUpdate: testTime, NextUpdate: testTime.Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(5), RevocationTime: testTime,
				ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 29}, Critical: true, Value: []byte{0x30, 0}}}}},
		}), ca.Cert, ErrCriticalExtension},
		{"signed by another CA's key", ca.CRL(t, pki.CRLOptions{SignWith: other.Key}), ca.Cert, ErrCRLSignature},
		{"issuer is not a CA", good, pkitest.NewRoot(t, "x").Client(t, "leaf").Cert, ErrCRLSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCRL(tc.der, tc.issuer)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseCRL = %v, %v; want error %v", c, err, tc.wantErr)
			}
		})
	}
}

// TestCheckSignatureFromMemo: lazy verification (local files) remembers
// the verifying key and frees the signed bytes.
func TestCheckSignatureFromMemo(t *testing.T) {
	ca := pkitest.NewRoot(t, "memo root")
	other := pkitest.NewRoot(t, "memo root", pki.WithSubject(ca.Cert.Subject))
	c, err := ParseCRL(ca.CRL(t, pki.CRLOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSignatureFrom(other.Cert); !errors.Is(err, ErrCRLSignature) {
		t.Fatalf("other key: %v, want ErrCRLSignature", err)
	}
	if err := c.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("issuer: %v", err)
	}
	if c.tbs != nil {
		t.Error("signed bytes kept after verification")
	}
	if err := c.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("issuer again: %v", err)
	}
	if err := c.CheckSignatureFrom(other.Cert); !errors.Is(err, ErrCRLSignature) {
		t.Fatalf("other key after verification: %v, want ErrCRLSignature", err)
	}
}

// TestParseCRLExtensions: IDP, delta indicator and Freshest CRL are read.
func TestParseCRLExtensions(t *testing.T) {
	ca := pkitest.NewRoot(t, "ext root")
	freshest, err := asn1.Marshal([]struct {
		DP struct {
			Full []asn1.RawValue `asn1:"optional,tag:0"`
		} `asn1:"optional,tag:0"`
	}{{DP: struct {
		Full []asn1.RawValue `asn1:"optional,tag:0"`
	}{Full: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte("http://127.0.0.1/delta+.crl")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	der := ca.CRL(t, pki.CRLOptions{
		Number: 7, Delta: true, BaseNumber: 5,
		IssuingDistributionPoint: &pki.IssuingDistributionPoint{URLs: []string{"http://127.0.0.1/x.crl"}, OnlyContainsCACerts: true},
		ExtraExtensions:          []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 46}, Value: freshest}},
	})
	c, err := ParseCRL(der, ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsDelta() || c.BaseNumber.Int64() != 5 || c.Number.Int64() != 7 {
		t.Errorf("delta = %v base %v number %v, want delta base 5 number 7", c.IsDelta(), c.BaseNumber, c.Number)
	}
	if c.IDP == nil || !c.IDP.OnlyCACerts || c.IDP.OnlyUserCerts || len(c.IDP.URIs) != 1 || c.IDP.URIs[0] != "http://127.0.0.1/x.crl" {
		t.Errorf("IDP = %+v", c.IDP)
	}
	if len(c.FreshestURIs) != 1 || c.FreshestURIs[0] != "http://127.0.0.1/delta+.crl" {
		t.Errorf("FreshestURIs = %q", c.FreshestURIs)
	}
}

// FuzzParseCRL: arbitrary bytes never panic, and what parses can be looked
// up.
func FuzzParseCRL(f *testing.F) {
	ca, err := pki.NewRoot("fuzz root")
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []int{0, 3} {
		var entries []pki.Revoked
		for i := 0; i < n; i++ {
			entries = append(entries, pki.Revoked{Serial: big.NewInt(int64(i + 1)), Reason: i})
		}
		der, err := ca.CRL(entries, pki.CRLOptions{Delta: n > 0, BaseNumber: 1,
			IssuingDistributionPoint: &pki.IssuingDistributionPoint{URLs: []string{"http://a/b"}}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCRL(data, nil)
		if err != nil {
			return
		}
		c.Lookup([]byte{1})
		_ = c.describe()
	})
}
