package directory

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Method is one way of finding a certificate's account.
type Method string

// The lookup methods, named after KB5014754's mapping types.
const (
	// MethodSID: the SID extension (szOID_NTDS_CA_SECURITY_EXT) of the
	// certificate equals the account's objectSid. Strong.
	MethodSID Method = "sid"
	// MethodIssuerSerial: altSecurityIdentities X509:<I>issuer<SR>serial. Strong.
	MethodIssuerSerial Method = "issuer_serial"
	// MethodSKI: altSecurityIdentities X509:<SKI>subject key identifier. Strong.
	MethodSKI Method = "ski"
	// MethodSHA1PublicKey: altSecurityIdentities X509:<SHA1-PUKEY>. Strong.
	MethodSHA1PublicKey Method = "sha1_pukey"
	// MethodIssuerSubject: altSecurityIdentities X509:<I>issuer<S>subject. Weak.
	MethodIssuerSubject Method = "issuer_subject"
	// MethodSubject: altSecurityIdentities X509:<S>subject. Weak.
	MethodSubject Method = "subject"
	// MethodRFC822: altSecurityIdentities X509:<RFC822>email. Weak.
	MethodRFC822 Method = "rfc822"
	// MethodUPN: the certificate's UPN equals userPrincipalName. Weak.
	MethodUPN Method = "upn"
)

// Methods lists every method, strong first, in the default order.
var Methods = []Method{MethodSID, MethodIssuerSerial, MethodSKI, MethodSHA1PublicKey, MethodUPN, MethodIssuerSubject, MethodSubject, MethodRFC822}

// DefaultMethods is the order used when none is configured: the strong
// methods only, as a domain controller in KB5014754 full enforcement.
var DefaultMethods = []Method{MethodSID, MethodIssuerSerial, MethodSKI, MethodSHA1PublicKey}

// Strong reports whether KB5014754 counts m as a strong mapping: bound to
// one certificate (issuer and serial, its key) or to an account SID the CA
// wrote from the directory, rather than to names any CA can write.
func (m Method) Strong() bool {
	switch m {
	case MethodSID, MethodIssuerSerial, MethodSKI, MethodSHA1PublicKey:
		return true
	}
	return false
}

// Known reports whether m is a method this package implements.
func (m Method) Known() bool {
	for _, k := range Methods {
		if k == m {
			return true
		}
	}
	return false
}

// AltSecID returns the altSecurityIdentities value of method m for leaf
// (issued by issuer, unused but for MethodIssuerSerial and
// MethodIssuerSubject, where the leaf's own issuer name is used), or ok
// false when the certificate has nothing for that method (no SKI, no
// email). MethodSID and MethodUPN are not altSecurityIdentities methods.
//
// The strings follow KB5014754 and the altSecurityIdentities syntax
// Windows reads:
//   - the issuer and subject are written with their RDNs in certificate
//     (X.500) order, most significant first: "DC=com,DC=contoso,CN=CONTOSO-DC-CA";
//   - the serial number of <SR> is the certificate's serial bytes in
//     reverse order (CryptoAPI keeps serials little-endian): a certificate
//     with serial 2B0000000011AC0000000012 is mapped by
//     <SR>1200000000AC11000000002B;
//   - <SKI> is the subject key identifier extension, in hex;
//   - <SHA1-PUKEY> is, despite its name, the SHA-1 thumbprint of the whole
//     certificate, which is what Windows compares.
func AltSecID(m Method, leaf *x509.Certificate) (string, bool) {
	switch m {
	case MethodIssuerSerial:
		serial, ok := rawSerial(leaf)
		if !ok {
			return "", false
		}
		return "X509:<I>" + WindowsDN(leaf.RawIssuer) + "<SR>" + ReversedSerialHex(serial), true
	case MethodSKI:
		if len(leaf.SubjectKeyId) == 0 {
			return "", false
		}
		return "X509:<SKI>" + strings.ToUpper(hex.EncodeToString(leaf.SubjectKeyId)), true
	case MethodSHA1PublicKey:
		sum := sha1.Sum(leaf.Raw)
		return "X509:<SHA1-PUKEY>" + strings.ToUpper(hex.EncodeToString(sum[:])), true
	case MethodIssuerSubject:
		if len(leaf.Subject.Names) == 0 {
			return "", false
		}
		return "X509:<I>" + WindowsDN(leaf.RawIssuer) + "<S>" + WindowsDN(leaf.RawSubject), true
	case MethodSubject:
		if len(leaf.Subject.Names) == 0 {
			return "", false
		}
		return "X509:<S>" + WindowsDN(leaf.RawSubject), true
	case MethodRFC822:
		if len(leaf.EmailAddresses) == 0 {
			return "", false
		}
		return "X509:<RFC822>" + leaf.EmailAddresses[0], true
	}
	return "", false
}

// ReversedSerialHex renders serial (the content octets of the DER
// INTEGER, as the certificate carries them) byte-reversed in upper-case
// hex, the <SR> form of KB5014754.
func ReversedSerialHex(serial []byte) string {
	r := make([]byte, len(serial))
	for i, b := range serial {
		r[len(serial)-1-i] = b
	}
	return strings.ToUpper(hex.EncodeToString(r))
}

// rawSerial returns the content octets of the certificate's serialNumber
// INTEGER exactly as encoded (a leading 00 included), which is what
// CryptoAPI stores, byte-reversed; big.Int would drop the leading zero.
func rawSerial(c *x509.Certificate) ([]byte, bool) {
	in := cryptobyte.String(c.RawTBSCertificate)
	var tbs cryptobyte.String
	if !in.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, false
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, false
	}
	var serial cryptobyte.String
	if !tbs.ReadASN1(&serial, cbasn1.INTEGER) || len(serial) == 0 {
		return nil, false
	}
	return serial, true
}

// windowsAttr names DN attributes the way CryptoAPI's CertNameToStr
// (CERT_X500_NAME_STR) writes them in altSecurityIdentities.
var windowsAttr = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "S",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "T",
	"2.5.4.42":                   "G",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "SERIALNUMBER",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "E",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// WindowsDN renders a DER Name in CryptoAPI's X.500 string form, RDNs in
// certificate order (most significant first), "," between RDNs and "+"
// inside a multi-valued one. A value with a special character, or leading
// or trailing space, is quoted with embedded quotes doubled, as
// CertNameToStr does. An unknown attribute is written "OID.1.2.3".
// A name that cannot be parsed renders as its hex, which matches nothing.
func WindowsDN(der []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return "#" + hex.EncodeToString(der)
	}
	var b strings.Builder
	for i, rdn := range rdns {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, atv := range rdn {
			if j > 0 {
				b.WriteByte('+')
			}
			name, ok := windowsAttr[atv.Type.String()]
			if !ok {
				name = "OID." + atv.Type.String()
			}
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(quoteValue(attrString(atv.Value)))
		}
	}
	return b.String()
}

// attrString is the text of a decoded attribute value; crypto/x509's
// decoder gives strings for the string types (BMPString included).
func attrString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprintf("%v", v)
}

func quoteValue(s string) string {
	if s == "" || !(strings.ContainsAny(s, ",+=\"\n<>#;") || s[0] == ' ' || s[len(s)-1] == ' ') {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
