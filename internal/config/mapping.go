package config

import "time"

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
//
// This is the YAML schema only: the site build (internal/site
// CompileMapping) converts it to mapping.Options, so the mapping engine
// never reads config.
type Mapping struct {
	Required  bool        `yaml:"required"`
	OneToOne  []OneToOne  `yaml:"one_to_one"`
	ManyToOne []ManyToOne `yaml:"many_to_one"`
	UPN       UPNMapping  `yaml:"upn"`
	// Directory looks the certificate's account up in Active Directory (or
	// any LDAP directory) the way a domain controller does since
	// KB5014754. Evaluated after many_to_one and before upn.
	Directory *Directory `yaml:"directory"`
}

// Directory is the mapping.directory block: where the directory is, how to
// bind, which lookup methods to use, and how long to trust an answer.
type Directory struct {
	// URL is ldaps://host[:port], or ldap://host[:port] with StartTLS
	// (always required: certgate never binds in clear).
	URL string `yaml:"url"`
	// CA is a PEM file of the CA certificates the directory's certificate
	// must chain to; empty means the system roots.
	CA string `yaml:"ca"`
	// ServerName is the name the directory's certificate must carry when
	// it is not the URL's host.
	ServerName   string `yaml:"server_name"`
	BindDN       string `yaml:"bind_dn"`
	PasswordFile string `yaml:"password_file"`
	BaseDN       string `yaml:"base_dn"`
	// Timeout bounds one whole lookup; DialTimeout connecting, TLS and
	// bind. Defaults 3s and 2s.
	Timeout     time.Duration `yaml:"timeout"`
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Pool is the number of idle connections kept (default 4).
	Pool  int            `yaml:"pool"`
	Cache DirectoryCache `yaml:"cache"`
	// Methods is the lookup order: sid, issuer_serial, ski, sha1_pukey
	// (strong), upn, issuer_subject, subject, rfc822 (weak). Default: the
	// strong ones.
	Methods []string `yaml:"methods"`
	// AllowWeak permits the weak methods (KB5014754 refuses them).
	AllowWeak bool `yaml:"allow_weak"`
	// GroupDepth bounds the nested-group walk on servers without
	// LDAP_MATCHING_RULE_IN_CHAIN (default 8).
	GroupDepth int `yaml:"group_depth"`
}

// DirectoryCache is the per-certificate result cache of mapping.directory.
type DirectoryCache struct {
	TTL          time.Duration `yaml:"ttl"`            // default 5m
	NegativeTTL  time.Duration `yaml:"negative_ttl"`   // default 1m
	StaleIfError time.Duration `yaml:"stale_if_error"` // default 0: off
	Size         int           `yaml:"size"`           // default 10000
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
	// Subject and Issuer map DN attribute names (mapping.DNAttributes, any
	// case)
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
	// Issuers are the CAs whose certificates may map by UPN (or email), the
	// equivalent of Active Directory's NTAuth store: each a CA certificate
	// file (PEM or DER) or a SHA-256 fingerprint. Only a leaf issued
	// directly by one of them maps. Required when Enabled.
	Issuers []string `yaml:"issuers"`
}
