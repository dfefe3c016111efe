package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// keyUsageNames maps RFC 5280 bit names (lowercased) to crypto/x509 bits.
// OpenSSL's spellings are accepted as aliases.
var keyUsageNames = map[string]x509.KeyUsage{
	"digitalsignature":  x509.KeyUsageDigitalSignature,
	"contentcommitment": x509.KeyUsageContentCommitment,
	"nonrepudiation":    x509.KeyUsageContentCommitment,
	"keyencipherment":   x509.KeyUsageKeyEncipherment,
	"dataencipherment":  x509.KeyUsageDataEncipherment,
	"keyagreement":      x509.KeyUsageKeyAgreement,
	"keycertsign":       x509.KeyUsageCertSign,
	"certsign":          x509.KeyUsageCertSign,
	"crlsign":           x509.KeyUsageCRLSign,
	"encipheronly":      x509.KeyUsageEncipherOnly,
	"decipheronly":      x509.KeyUsageDecipherOnly,
}

// ParseKeyUsage parses a comma-separated list of Key Usage names
// ("digitalSignature,keyEncipherment"); "none" yields 0, which WithKeyUsage
// turns into "no Key Usage extension".
func ParseKeyUsage(s string) (x509.KeyUsage, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return 0, nil
	}
	var ku x509.KeyUsage
	for _, part := range strings.Split(s, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		bit, ok := keyUsageNames[name]
		if !ok {
			return 0, fmt.Errorf("parse key usage %q: %w: unknown name %q (want digitalSignature, keyEncipherment, dataEncipherment, keyAgreement, contentCommitment, keyCertSign, cRLSign, encipherOnly, decipherOnly or none)", s, ErrInvalidOption, part)
		}
		ku |= bit
	}
	return ku, nil
}

var extKeyUsageNames = map[string]x509.ExtKeyUsage{
	"any":                        x509.ExtKeyUsageAny,
	"anyextendedkeyusage":        x509.ExtKeyUsageAny,
	"serverauth":                 x509.ExtKeyUsageServerAuth,
	"clientauth":                 x509.ExtKeyUsageClientAuth,
	"codesigning":                x509.ExtKeyUsageCodeSigning,
	"emailprotection":            x509.ExtKeyUsageEmailProtection,
	"ipsecendsystem":             x509.ExtKeyUsageIPSECEndSystem,
	"ipsectunnel":                x509.ExtKeyUsageIPSECTunnel,
	"ipsecuser":                  x509.ExtKeyUsageIPSECUser,
	"timestamping":               x509.ExtKeyUsageTimeStamping,
	"ocspsigning":                x509.ExtKeyUsageOCSPSigning,
	"microsoftservergatedcrypto": x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscapeservergatedcrypto":  x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// OIDSmartcardLogon is the Microsoft smart-card logon EKU, which crypto/x509
// has no constant for.
var OIDSmartcardLogon = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}

// ParseExtKeyUsage parses a comma-separated list of EKU names ("clientAuth,
// serverAuth", "any", "smartcardLogon") or dotted OIDs; "none" yields empty
// lists, which WithExtKeyUsage turns into "no EKU extension".
func ParseExtKeyUsage(s string) ([]x509.ExtKeyUsage, []asn1.ObjectIdentifier, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return nil, nil, nil
	}
	var ekus []x509.ExtKeyUsage
	var unknown []asn1.ObjectIdentifier
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if eku, ok := extKeyUsageNames[strings.ToLower(name)]; ok {
			ekus = append(ekus, eku)
			continue
		}
		if strings.EqualFold(name, "smartcardLogon") {
			unknown = append(unknown, OIDSmartcardLogon)
			continue
		}
		oid, err := parseOID(name)
		if err != nil {
			return nil, nil, fmt.Errorf("parse extended key usage %q: %w: %q is neither a known name (clientAuth, serverAuth, any, smartcardLogon...) nor a dotted OID", s, ErrInvalidOption, part)
		}
		unknown = append(unknown, oid)
	}
	return ekus, unknown, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("not a dotted OID: %q", s)
	}
	oid := make(asn1.ObjectIdentifier, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("not a dotted OID: %q", s)
		}
		oid = append(oid, n)
	}
	return oid, nil
}

// ParseSerial parses a certificate serial number: "0x" followed by hex,
// colon-separated hex bytes (as openssl and Windows print them), plain hex
// containing a-f, or decimal digits.
func ParseSerial(s string) (*big.Int, error) {
	t := strings.TrimSpace(s)
	hexDigits := ""
	switch {
	case strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X"):
		hexDigits = t[2:]
	case strings.Contains(t, ":"):
		hexDigits = strings.ReplaceAll(t, ":", "")
	case strings.ContainsAny(t, "abcdefABCDEF"):
		hexDigits = t
	default:
		n, ok := new(big.Int).SetString(t, 10)
		if !ok || n.Sign() <= 0 {
			return nil, fmt.Errorf("parse serial %q: %w: want decimal, 0x-prefixed hex or colon-separated hex", s, ErrInvalidOption)
		}
		return n, nil
	}
	if len(hexDigits)%2 == 1 {
		hexDigits = "0" + hexDigits
	}
	b, err := hex.DecodeString(hexDigits)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("parse serial %q: %w: bad hex", s, ErrInvalidOption)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, fmt.Errorf("parse serial %q: %w: serial must be positive", s, ErrInvalidOption)
	}
	return n, nil
}

// FormatSerial prints a serial as 0x-prefixed lowercase hex, a form
// ParseSerial reads back.
func FormatSerial(n *big.Int) string { return "0x" + n.Text(16) }

// ValidityFlags are the command-line ways to state a validity window.
type ValidityFlags struct {
	NotBefore string // RFC 3339; empty: now-1h
	NotAfter  string // RFC 3339; empty: from Days, else NotBefore+1 year
	Days      int    // > 0: NotAfter = NotBefore+Days if NotBefore is given, else now+Days
}

// Option turns the flags into a WithValidity option, or nil when none is set
// (so the certificate kind's default applies). now is injected for tests.
func (v ValidityFlags) Option(now time.Time) (Option, error) {
	if v.NotBefore == "" && v.NotAfter == "" && v.Days == 0 {
		return nil, nil
	}
	if v.Days < 0 {
		return nil, fmt.Errorf("flag --days: %w: %d is negative", ErrInvalidOption, v.Days)
	}
	if v.Days > 0 && v.NotAfter != "" {
		return nil, fmt.Errorf("flags --days and --not-after: %w: give one or the other", ErrInvalidOption)
	}
	nb := now.Add(-time.Hour).Truncate(time.Second)
	if v.NotBefore != "" {
		t, err := time.Parse(time.RFC3339, v.NotBefore)
		if err != nil {
			return nil, fmt.Errorf("flag --not-before: %w: %v", ErrInvalidOption, err)
		}
		nb = t
	}
	var na time.Time
	switch {
	case v.NotAfter != "":
		t, err := time.Parse(time.RFC3339, v.NotAfter)
		if err != nil {
			return nil, fmt.Errorf("flag --not-after: %w: %v", ErrInvalidOption, err)
		}
		na = t
	case v.Days > 0 && v.NotBefore != "":
		na = nb.AddDate(0, 0, v.Days)
	case v.Days > 0:
		na = now.AddDate(0, 0, v.Days).Truncate(time.Second)
	default:
		na = nb.AddDate(1, 0, 0)
	}
	if na.Before(nb) {
		return nil, fmt.Errorf("flags --not-before/--not-after: %w: not-after %s is before not-before %s",
			ErrInvalidOption, na.Format(time.RFC3339), nb.Format(time.RFC3339))
	}
	return WithValidity(nb, na), nil
}

var reasonNames = map[string]int{
	"unspecified":          ReasonUnspecified,
	"keycompromise":        ReasonKeyCompromise,
	"cacompromise":         ReasonCACompromise,
	"affiliationchanged":   ReasonAffiliationChanged,
	"superseded":           ReasonSuperseded,
	"cessationofoperation": ReasonCessationOfOperation,
	"certificatehold":      ReasonCertificateHold,
	"removefromcrl":        ReasonRemoveFromCRL,
}

// ParseReason parses a CRL reason code name (RFC 5280 section 5.3.1,
// "keyCompromise") or its number.
func ParseReason(s string) (int, error) {
	if r, ok := reasonNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return r, nil
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && n <= 10 && n != 7 {
		return n, nil
	}
	return 0, fmt.Errorf("parse crl reason %q: %w: want keyCompromise, caCompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, unspecified or a number 0-10 except 7", s, ErrInvalidOption)
}

// ParseKeyType validates a key type name; "" means the default.
func ParseKeyType(s string) (KeyType, error) {
	if s == "" {
		return KeyECDSAP256, nil
	}
	for _, k := range KeyTypes {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("parse key type: %w %q (want one of %v)", ErrUnknownKeyType, s, KeyTypes)
}
