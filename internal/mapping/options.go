package mapping

import (
	"crypto/x509"

	"github.com/certgate/certgate/internal/directory"
)

// Options are the rules a Mapper is compiled from: the engine's own types,
// free of any file format, so that a doctor command can build them from
// flags. The site build converts a certgate.yaml mapping block into them
// (internal/site CompileMapping).
//
// Rule kinds run in a fixed order, the way IIS consults its one-to-one
// mappings before many-to-one rules and Active Directory mapping comes
// last: OneToOne (the exact certificate), ManyToOne (in order, first match
// wins, a deny rule stops evaluation), then UPN. A deny rule always refuses
// the certificate (403.12), whatever Required says; Required decides what
// happens to a certificate no rule maps: refused with 403.12 when true, let
// through without a user when false.
type Options struct {
	Required  bool
	OneToOne  []OneToOne
	ManyToOne []ManyToOne
	UPN       UPN
	// Directory, when set, looks the certificate's account up after the
	// many_to_one rules and before UPN mapping (internal/directory; the
	// site build creates it from mapping.directory). Its answer is cached
	// per certificate by the directory itself.
	Directory Directory
}

// Directory is what mapping needs of an account directory:
// *directory.Directory is one.
type Directory interface {
	Lookup(chain []*x509.Certificate, in directory.Input, trace bool) (directory.Result, error)
	Methods() []directory.Method
	URL() string
}

// OneToOne maps exactly one certificate to a user. As in IIS, a renewed
// certificate has a new fingerprint and no longer matches. Exactly one of
// Fingerprint and Cert is set.
type OneToOne struct {
	// Fingerprint is the SHA-256 of the certificate's DER in hex, in any
	// form ParseFingerprint accepts.
	Fingerprint string
	// Cert is a PEM or DER file holding the certificate (exactly one).
	Cert   string
	User   string
	Groups []string
}

// ManyToOne maps every certificate matching its criteria to one user, or
// denies it (Deny, with no User). All given criteria must hold; a rule with
// none matches every certificate that reaches it.
type ManyToOne struct {
	// Name identifies the rule in logs and 403.12 reasons; optional.
	Name  string
	Match Match
	// IssuerFingerprint pins the rule to one CA: the SHA-256 of any CA
	// certificate above the leaf in the verified chain.
	IssuerFingerprint string
	// User is a user name, or a template with subject attributes of the
	// client certificate ("svc-{CN}", see pattern.ParseTemplate).
	User   string
	Groups []string
	Deny   bool
}

// Match holds the criteria of a ManyToOne rule. Every value is a glob
// (internal/mapping/pattern); a field with several values in the
// certificate matches when any of them does.
type Match struct {
	// Subject and Issuer map DN attribute names (DNAttributes, any case)
	// to patterns matched case-insensitively, as Windows compares names.
	Subject map[string]string
	Issuer  map[string]string
	SAN     SANMatch
}

// SANMatch matches subjectAltName entries. Email, DNS and UPN match
// case-insensitively; URI case-sensitively, because URI paths are case
// sensitive (RFC 3986 section 6.2.2.1) and a folded "/Admin" must not match
// "/admin".
type SANMatch struct {
	Email string
	DNS   string
	URI   string
	UPN   string
}

// UPN uses the certificate's User Principal Name (SAN otherName
// 1.3.6.1.4.1.311.20.2.3), like Active Directory certificate mapping, as
// the user name.
//
// Only certificates issued directly by one of Issuers may map by UPN (or
// email), the way Windows accepts a UPN for logon only from a CA in the
// enterprise NTAuth store: any other CA the site trusts (a partner's
// sub-CA, say) can write anyone's UPN into a certificate. Issuers is
// required when Enabled.
type UPN struct {
	Enabled bool
	// FallbackEmail uses the first email SAN when the certificate has no UPN.
	FallbackEmail bool
	Groups        []string
	// Issuers are the CAs allowed to issue UPN-mapped certificates, each a
	// certificate file (PEM or DER, every certificate in it counts) or the
	// SHA-256 fingerprint of a CA certificate. A file entry matches the
	// leaf's issuing CA by subject and public key, so a re-issued CA
	// certificate with the same name and key still matches; a fingerprint
	// matches exactly that certificate.
	Issuers []string
}
