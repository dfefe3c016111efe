package directory

import (
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

var (
	oidDC = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// dcName is a name in certificate order, most significant first, as an
// AD CS enterprise CA's: DC=com, DC=contoso, CN=CONTOSO-DC-CA.
func dcName(cn string, dcs ...string) pki.Option {
	var n pkix.Name
	for _, dc := range dcs {
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidDC, Value: dc})
	}
	n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidCN, Value: cn})
	return pki.WithSubject(n)
}

func serial(t *testing.T, h string) pki.Option {
	t.Helper()
	v, ok := new(big.Int).SetString(h, 16)
	if !ok {
		t.Fatalf("bad serial %s", h)
	}
	return pki.WithSerial(v)
}

// TestAltSecIDKBExamples builds the altSecurityIdentities strings of
// KB5014754's examples: a certificate with serial 2B0000000011AC0000000012
// from CONTOSO-DC-CA maps with
// X509:<I>DC=com,DC=contoso,CN=CONTOSO-DC-CA<SR>1200000000AC11000000002B.
func TestAltSecIDKBExamples(t *testing.T) {
	contoso := pkitest.NewRoot(t, "CONTOSO-DC-CA", dcName("CONTOSO-DC-CA", "com", "contoso"))
	dod := pkitest.NewRoot(t, "SpatDoD Root CA", dcName("SpatDoD Root CA", "local", "dod"))
	leaf := contoso.Client(t, "user", serial(t, "2B0000000011AC0000000012"),
		pki.WithSubject(pkix.Name{CommonName: "user", OrganizationalUnit: []string{"Users"}, Organization: []string{"Contoso, Ltd"}}), pki.WithEmail("user@contoso.com"),
		pki.WithExtraExtensions(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: []byte{0x04, 0x04, 0xde, 0xad, 0xbe, 0xef}}))
	gman := dod.Client(t, "gman", serial(t, "10e8bd03000000000032"), pki.WithSubject(pkix.Name{CommonName: "gman"}))
	highBit := contoso.Client(t, "hb", serial(t, "8001"))
	thumb := sha1.Sum(leaf.Cert.Raw)

	tests := []struct {
		name   string
		m      Method
		leaf   *pki.Leaf
		want   string
		strong bool
	}{
		{"KB issuer and serial", MethodIssuerSerial, leaf, "X509:<I>DC=com,DC=contoso,CN=CONTOSO-DC-CA<SR>1200000000AC11000000002B", true},
		// AD compares altSecurityIdentities case-insensitively; the
		// example was written with lower-case hex.
		{"issuer and serial, second example", MethodIssuerSerial, gman, "X509:<I>DC=local,DC=dod,CN=SpatDoD Root CA<SR>32000000000003BDE810", true},
		{"serial with a sign byte keeps it", MethodIssuerSerial, highBit, "X509:<I>DC=com,DC=contoso,CN=CONTOSO-DC-CA<SR>018000", true},
		{"SKI", MethodSKI, leaf, "X509:<SKI>DEADBEEF", true},
		{"SHA1-PUKEY is the certificate thumbprint", MethodSHA1PublicKey, leaf, "X509:<SHA1-PUKEY>" + strings.ToUpper(hex.EncodeToString(thumb[:])), true},
		{"issuer and subject (weak)", MethodIssuerSubject, gman, "X509:<I>DC=local,DC=dod,CN=SpatDoD Root CA<S>CN=gman", false},
		{"subject in certificate order, quoted comma (weak)", MethodSubject, leaf, `X509:<S>O="Contoso, Ltd",OU=Users,CN=user`, false},
		{"RFC822 (weak)", MethodRFC822, leaf, "X509:<RFC822>user@contoso.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AltSecID(tt.m, tt.leaf.Cert)
			if !ok || got != tt.want {
				t.Errorf("AltSecID(%s) = %q, %v; want %q", tt.m, got, ok, tt.want)
			}
			if tt.m.Strong() != tt.strong {
				t.Errorf("%s.Strong() = %v", tt.m, tt.m.Strong())
			}
		})
	}
	if len(leaf.Cert.SubjectKeyId) == 0 {
		t.Fatal("fixture: leaf has no SKI")
	}
	if _, ok := AltSecID(MethodRFC822, gman.Cert); ok {
		t.Error("RFC822 for a certificate without email")
	}
	if _, ok := AltSecID(MethodSID, leaf.Cert); ok {
		t.Error("SID is not an altSecurityIdentities method")
	}
	if ReversedSerialHex([]byte{0x2b, 0, 0, 0, 0, 0x11, 0xac, 0, 0, 0, 0, 0x12}) != "1200000000AC11000000002B" {
		t.Error("ReversedSerialHex")
	}
}

func TestCertificateSID(t *testing.T) {
	ca := pkitest.NewRoot(t, "CONTOSO-DC-CA")
	const sid = "S-1-5-21-1004336348-1177238915-682003330-1104"
	with := ca.Client(t, "a", pki.WithSID(sid))
	got, err := CertificateSID(with.Cert)
	if err != nil || got != sid {
		t.Fatalf("CertificateSID = %q, %v; want %q", got, err, sid)
	}
	if got, err := CertificateSID(ca.Client(t, "b").Cert); got != "" || err != nil {
		t.Errorf("no extension: %q, %v", got, err)
	}
	bad := ca.Client(t, "c", pki.WithExtraExtensions(pkix.Extension{Id: oidNTDSCASecurityExt, Value: []byte{0x30, 0x03, 0x04, 0x01, 0x41}}))
	if _, err := CertificateSID(bad.Cert); err == nil {
		t.Error("malformed SID extension accepted")
	}
	if _, err := CertificateSID(ca.Client(t, "d", pki.WithSID("S-1-x")).Cert); err == nil {
		t.Error("SID extension with a malformed SID accepted")
	}
}

func TestSIDBinary(t *testing.T) {
	const s = "S-1-5-21-1004336348-1177238915-682003330-1104"
	b, err := ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	// MS-DTYP 2.4.2.2: revision 1, 5 sub-authorities, authority 5 (NT), little-endian RIDs.
	if hex.EncodeToString(b[:12]) != "010500000000000515000000" || len(b) != 28 {
		t.Errorf("binary SID = %x", b)
	}
	if FormatSID(b) != s {
		t.Errorf("FormatSID = %q", FormatSID(b))
	}
	for _, bad := range []string{"", "S-1", "S-2-5-21", "S-1-5-x", "X-1-5-21", "S-1-5-" + strings.Repeat("1-", 15) + "1"} {
		if _, err := ParseSID(bad); err == nil {
			t.Errorf("ParseSID(%q) accepted", bad)
		}
	}
	if FormatSID([]byte{1, 2, 0}) != "" {
		t.Error("FormatSID of a truncated SID")
	}
}

func FuzzCertificateSIDExtension(f *testing.F) {
	v, err := pki.MarshalSIDExtension("S-1-5-21-1-2-3-1104")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		sid, err := parseSIDExtension(data)
		if err == nil {
			if _, perr := ParseSID(sid); perr != nil {
				t.Errorf("accepted SID %q that ParseSID refuses", sid)
			}
		}
	})
}
