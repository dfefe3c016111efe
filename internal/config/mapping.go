package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Mapping is a site's certificate-to-user mapping (issue 4), evaluated after
// the client certificate verified. Rule kinds run in a fixed order, the way
// IIS consults its one-to-one mappings before many-to-one rules and Active
// Directory mapping comes last:
//
//  1. one_to_one: the exact certificate (its SHA-256 fingerprint);
//  2. many_to_one: the rules in file order, first match wins, a deny rule
//     stops evaluation;
//  3. upn: the UPN in the certificate (or its email SAN) is the user name.
//
// A deny rule always refuses the certificate (403.12), whatever Required
// says: a deny rule that let the client through would be a trap. Required
// decides what happens to a certificate no rule maps: refused with 403.12
// when true, let through without a user (so no user header) when false.
type Mapping struct {
	Required  bool        `yaml:"required"`
	OneToOne  []OneToOne  `yaml:"one_to_one"`
	ManyToOne []ManyToOne `yaml:"many_to_one"`
	UPN       UPNMapping  `yaml:"upn"`
}

// OneToOne maps exactly one certificate to a user. As in IIS, a renewed
// certificate has a new fingerprint and no longer matches.
type OneToOne struct {
	// Fingerprint is the SHA-256 of the certificate's DER in hex; colons,
	// spaces and an openssl "sha256 Fingerprint=" prefix are accepted.
	Fingerprint string `yaml:"fingerprint"`
	// Cert is a PEM file holding the certificate (exactly one), as an
	// alternative to Fingerprint.
	Cert   string   `yaml:"cert"`
	User   string   `yaml:"user"`
	Groups []string `yaml:"groups"`
}

// ManyToOne maps every certificate matching its criteria to one user, or
// denies it. All given criteria must match (AND); a rule with no criteria
// matches every certificate that reached it, which is how a final catch-all
// rule is written.
type ManyToOne struct {
	// Name identifies the rule in logs and 403.12 reasons; optional, unique.
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// IssuerFingerprint pins the rule to one CA: the SHA-256 of any CA
	// certificate above the leaf in the verified chain (the issuing CA or
	// the root).
	IssuerFingerprint string `yaml:"issuer_fingerprint"`
	// User is a user name, or a template with subject attributes of the
	// client certificate: "svc-{CN}". A certificate lacking an attribute the
	// template needs does not match the rule.
	User   string   `yaml:"user"`
	Groups []string `yaml:"groups"`
	// Deny refuses matching certificates with 403.12.
	Deny bool `yaml:"deny"`
}

// Match holds the criteria of a many_to_one rule. Every value is a glob
// pattern (*, ?, [a-z], \ escapes; see internal/mapping/pattern); a field
// with several values in the certificate (two OUs, three DNS names)
// matches when any of them matches.
type Match struct {
	// Subject and Issuer map DN attribute names (DNAttributes, any case)
	// to patterns matched case-insensitively, as Windows compares names.
	Subject DNMatch  `yaml:"subject"`
	Issuer  DNMatch  `yaml:"issuer"`
	SAN     SANMatch `yaml:"san"`
}

// DNMatch maps a DN attribute name (CN, O, OU, C, L, ST, E, DC,
// serialNumber) to a glob pattern.
type DNMatch map[string]string

// SANMatch matches subjectAltName entries. Email, DNS and UPN match
// case-insensitively; URI case-sensitively, because URI paths are case
// sensitive (RFC 3986 section 6.2.2.1) and a folded "/Admin" must not match
// "/admin".
type SANMatch struct {
	Email string `yaml:"email"`
	DNS   string `yaml:"dns"`
	URI   string `yaml:"uri"`
	UPN   string `yaml:"upn"`
}

// IsZero reports whether no SAN criterion is set.
func (s SANMatch) IsZero() bool { return s == SANMatch{} }

// UPNMapping uses the certificate's User Principal Name (SAN otherName
// 1.3.6.1.4.1.311.20.2.3), like Active Directory certificate mapping, as the
// user name.
type UPNMapping struct {
	Enabled bool `yaml:"enabled"`
	// FallbackEmail uses the first email SAN when the certificate has no UPN.
	FallbackEmail bool     `yaml:"fallback_email"`
	Groups        []string `yaml:"groups"`
}

// DNAttributes are the attribute names a DNMatch accepts, in the order
// certgate lists them.
var DNAttributes = []string{"CN", "O", "OU", "C", "L", "ST", "E", "DC", "serialNumber"}

// CanonicalDNAttribute returns the canonical spelling of a DN attribute name
// given in any case ("ou" -> "OU"). "emailAddress" is accepted for E, as
// OpenSSL names it.
func CanonicalDNAttribute(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "emailAddress") {
		return "E", true
	}
	for _, a := range DNAttributes {
		if strings.EqualFold(a, name) {
			return a, true
		}
	}
	return "", false
}

// ParseFingerprint decodes a SHA-256 certificate fingerprint written as hex,
// optionally with colons or spaces between bytes and an openssl
// "sha256 Fingerprint=" prefix.
func ParseFingerprint(s string) ([32]byte, error) {
	var out [32]byte
	v := strings.TrimSpace(s)
	if i := strings.LastIndexByte(v, '='); i >= 0 {
		v = v[i+1:]
	}
	v = strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, v)
	b, err := hex.DecodeString(v)
	if err != nil {
		return out, fmt.Errorf("parse fingerprint %q: not hex", s)
	}
	switch len(b) {
	case 32:
	case 20:
		return out, fmt.Errorf("parse fingerprint %q: this is a SHA-1 fingerprint; give the SHA-256 one (openssl x509 -noout -fingerprint -sha256 -in CERT.pem)", s)
	default:
		return out, fmt.Errorf("parse fingerprint %q: want 32 bytes (64 hex digits) of SHA-256, got %d bytes", s, len(b))
	}
	copy(out[:], b)
	return out, nil
}

// maxIdentityName bounds user and group names: they travel in a request
// header to the upstream on every request.
const maxIdentityName = 256

// CheckUserName reports whether s can be forwarded as a user name:
// non-empty, at most 256 bytes of valid UTF-8, no leading or trailing white
// space and no control characters, which would let a certificate field
// split or forge headers.
func CheckUserName(s string) error { return checkName(s, false) }

// CheckGroupName is CheckUserName for group names, which additionally may
// not hold commas: the groups header is a comma-separated list.
func CheckGroupName(s string) error { return checkName(s, true) }

func checkName(s string, group bool) error {
	switch {
	case s == "":
		return errors.New("empty name")
	case len(s) > maxIdentityName:
		return fmt.Errorf("longer than %d bytes", maxIdentityName)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing white space")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("control character %U", r)
		}
		if group && r == ',' {
			return errors.New("comma (the groups header separates names with commas)")
		}
	}
	return nil
}
