package substatus

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Code is a Win32-style HRESULT, as IIS writes it to sc-win32-status
// (in decimal: CERT_E_UNTRUSTEDROOT 0x800B0109 is logged as 2148204809).
type Code uint32

// The codes certgate reports. Values are the CryptoAPI / Schannel HRESULTs
// so that an admin can search for them next to IIS documentation.
const (
	NoError           Code = 0
	SecENoCredentials Code = 0x8009030E // no client certificate was presented
	SecELogonDenied   Code = 0x8009030C // mapping refused the certificate
	// SecENoAuthenticatingAuthority: the directory that maps certificates
	// to accounts did not answer (Windows: no domain controller answered).
	SecENoAuthenticatingAuthority Code = 0x80090311
	ErrorAccessDenied             Code = 0x80070005 // authorization (allow_users/allow_groups)
	CertEExpired                  Code = 0x800B0101
	CertEValidityPeriodNest       Code = 0x800B0102
	CertERole                     Code = 0x800B0103 // a non-CA certificate used as a CA
	CertEPathLenConst             Code = 0x800B0104
	CertECritical                 Code = 0x800B0105 // unknown critical extension
	CertEPurpose                  Code = 0x800B0106
	CertEMalformed                Code = 0x800B0107
	CertEUntrustedRoot            Code = 0x800B0109
	CertEChaining                 Code = 0x800B010A
	CertERevoked                  Code = 0x800B010C
	CertERevocationFailure        Code = 0x800B010E
	CertEWrongUsage               Code = 0x800B0110
	CertEInvalidPolicy            Code = 0x800B0113
	CertEInvalidName              Code = 0x800B0114
	TrustECertSignature           Code = 0x80096004
	CryptERevoked                 Code = 0x80092010
	CryptENoRevocationCheck       Code = 0x80092012
	CryptERevocationOffline       Code = 0x80092013
	CryptEASN1BadTag              Code = 0x8009310B
	SecEIllegalMessage            Code = 0x80090326 // garbage TLS handshake
	SecECertUnknown               Code = 0x80090327
	SecEIncompleteCredential      Code = 0x80090320
)

// CodeInfo describes a Win32-style code.
type CodeInfo struct {
	Code    Code
	Name    string // CERT_E_UNTRUSTEDROOT
	Message string // the Windows message text
	// Sub is the sub-status certgate answers when this code is the reason.
	Sub Sub
}

var codes = map[Code]CodeInfo{
	NoError:                       {NoError, "ERROR_SUCCESS", "The operation completed successfully.", OK},
	SecENoCredentials:             {SecENoCredentials, "SEC_E_NO_CREDENTIALS", "No credentials are available in the security package: the client sent no certificate.", CertRequired},
	SecELogonDenied:               {SecELogonDenied, "SEC_E_LOGON_DENIED", "The logon attempt failed: the certificate mapper refused the certificate.", MapperDenied},
	SecENoAuthenticatingAuthority: {SecENoAuthenticatingAuthority, "SEC_E_NO_AUTHENTICATING_AUTHORITY", "No authority could be contacted for authentication: the directory that maps certificates to accounts did not answer.", MapperDenied},
	ErrorAccessDenied:             {ErrorAccessDenied, "E_ACCESSDENIED", "Access is denied: the mapped user is not allowed for this location.", UserNotAllowedHere},
	CertEExpired:                  {CertEExpired, "CERT_E_EXPIRED", "A required certificate is not within its validity period when verifying against the current system clock or the timestamp in the signed file.", CertTimeInvalid},
	CertEValidityPeriodNest:       {CertEValidityPeriodNest, "CERT_E_VALIDITYPERIODNESTING", "The validity periods of the certification chain do not nest correctly.", CertTimeInvalid},
	CertERole:                     {CertERole, "CERT_E_ROLE", "A certificate that can only be used as an end-entity is being used as a CA or vice versa.", CertUntrusted},
	CertEPathLenConst:             {CertEPathLenConst, "CERT_E_PATHLENCONST", "A path length constraint in the certification chain has been violated.", CertUntrusted},
	CertECritical:                 {CertECritical, "CERT_E_CRITICAL", "A certificate contains an unknown extension that is marked 'critical'.", CertUntrusted},
	CertEPurpose:                  {CertEPurpose, "CERT_E_PURPOSE", "A certificate is being used for a purpose other than the ones specified by its CA.", CertUntrusted},
	CertEMalformed:                {CertEMalformed, "CERT_E_MALFORMED", "A certificate is missing or has an empty value for an important field, such as a subject or issuer name.", CertUntrusted},
	CertEUntrustedRoot:            {CertEUntrustedRoot, "CERT_E_UNTRUSTEDROOT", "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider.", CertUntrusted},
	CertEChaining:                 {CertEChaining, "CERT_E_CHAINING", "A certificate chain could not be built to a trusted root authority.", CertUntrusted},
	CertERevoked:                  {CertERevoked, "CERT_E_REVOKED", "A certificate was explicitly revoked by its issuer.", CertRevoked},
	CertERevocationFailure:        {CertERevocationFailure, "CERT_E_REVOCATION_FAILURE", "The revocation process could not continue - the certificate(s) could not be checked.", CertRevoked},
	CertEWrongUsage:               {CertEWrongUsage, "CERT_E_WRONG_USAGE", "The certificate is not valid for the requested usage.", CertUntrusted},
	CertEInvalidPolicy:            {CertEInvalidPolicy, "CERT_E_INVALID_POLICY", "The certificate has invalid policy.", CertUntrusted},
	CertEInvalidName:              {CertEInvalidName, "CERT_E_INVALID_NAME", "The certificate has an invalid name. The name is not included in the permitted list or is explicitly excluded.", CertUntrusted},
	TrustECertSignature:           {TrustECertSignature, "TRUST_E_CERT_SIGNATURE", "The signature of the certificate cannot be verified.", CertUntrusted},
	CryptERevoked:                 {CryptERevoked, "CRYPT_E_REVOKED", "The certificate is revoked.", CertRevoked},
	CryptENoRevocationCheck:       {CryptENoRevocationCheck, "CRYPT_E_NO_REVOCATION_CHECK", "The revocation function was unable to check revocation for the certificate.", CertRevoked},
	CryptERevocationOffline:       {CryptERevocationOffline, "CRYPT_E_REVOCATION_OFFLINE", "The revocation function was unable to check revocation because the revocation server was offline.", CertRevoked},
	CryptEASN1BadTag:              {CryptEASN1BadTag, "CRYPT_E_ASN1_BADTAG", "ASN1 bad tag value met: the certificate could not be parsed.", CertUntrusted},
	SecEIllegalMessage:            {SecEIllegalMessage, "SEC_E_ILLEGAL_MESSAGE", "The message received was unexpected or badly formatted (TLS handshake failure).", BadRequest},
	SecECertUnknown:               {SecECertUnknown, "SEC_E_CERT_UNKNOWN", "An unknown error occurred while processing the certificate.", CertUntrusted},
	SecEIncompleteCredential:      {SecEIncompleteCredential, "SEC_E_INCOMPLETE_CREDENTIALS", "The credentials supplied were not complete and could not be verified.", CertRequired},
}

// Info returns the description of c.
func (c Code) Info() (CodeInfo, bool) {
	i, ok := codes[c]
	return i, ok
}

// Name returns the symbolic name (CERT_E_UNTRUSTEDROOT, or a plain Win32
// error such as ERROR_ACCESS_DENIED), or the hex value if unknown.
func (c Code) Name() string {
	if i, ok := codes[c]; ok {
		return i.Name
	}
	if w, ok := win32Names[c]; ok {
		return w.name
	}
	return c.Hex()
}

// Hex renders 0x800B0109.
func (c Code) Hex() string { return fmt.Sprintf("0x%08X", uint32(c)) }

// Decimal renders the value as IIS logs it in sc-win32-status.
func (c Code) Decimal() string { return strconv.FormatUint(uint64(c), 10) }

// String renders "CERT_E_UNTRUSTEDROOT (0x800B0109)".
func (c Code) String() string {
	if c == NoError {
		return "0"
	}
	return fmt.Sprintf("%s (%s)", c.Name(), c.Hex())
}

// ParseCode accepts a decimal (2148204809), hex (0x800b0109, 800B0109) or
// symbolic (CERT_E_UNTRUSTEDROOT) code, and signed decimals as some tools
// print HRESULTs (-2146762487).
func ParseCode(text string) (Code, error) {
	t := strings.TrimSpace(text)
	for c, i := range codes {
		if strings.EqualFold(i.Name, t) {
			return c, nil
		}
	}
	for c, w := range win32Names {
		if strings.EqualFold(w.name, t) {
			return c, nil
		}
	}
	if h, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return 0, fmt.Errorf("parse code %q: not a 32-bit hex value", text)
		}
		return Code(v), nil
	}
	if v, err := strconv.ParseUint(t, 10, 32); err == nil {
		return Code(v), nil
	}
	if v, err := strconv.ParseInt(t, 10, 32); err == nil {
		return Code(uint32(int32(v))), nil
	}
	if len(t) == 8 {
		if v, err := strconv.ParseUint(t, 16, 32); err == nil {
			return Code(v), nil
		}
	}
	return 0, fmt.Errorf("parse code %q: want a decimal, 0x-hex or symbolic Win32 code such as 2148204809, 0x800B0109 or CERT_E_UNTRUSTEDROOT", text)
}

// Codes lists every catalogued code in numeric order.
func Codes() []CodeInfo {
	out := make([]CodeInfo, 0, len(codes))
	for _, i := range codes {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Code < out[b].Code })
	return out
}
