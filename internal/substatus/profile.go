package substatus

// ProfileRule is an RFC 5280 profile rule that certgate checks on every
// certificate of a chain but that cannot, by itself, let anyone in: a
// certificate that breaks it is sloppy, not forged. The verifier rejects
// it (403.16 CERT_E_MALFORMED) under `profile: strict` and otherwise
// accepts it with a warning that names the rule, so that a PKI is told
// about its problem instead of being locked out by an upgrade. Rules
// whose violation can change who gets in (name constraints, critical
// extensions, basicConstraints, CRL numbers, CRL issuers and scope) are
// not profile rules: they are always enforced.
type ProfileRule struct {
	// Name is what warnings, `certgate explain` and docs call the rule.
	Name string
	// Section is where RFC 5280 states it.
	Section string
	// Rule says what the certificate must do.
	Rule string
	// Fix says what the CA operator does about it.
	Fix string
}

var profileRules = []ProfileRule{
	{"serial-not-positive", "RFC 5280 4.1.2.2", "the serial number MUST be a positive integer (zero is not)",
		"reissue the certificate with a random positive serial number (at least 64 bits of randomness, at most 20 octets)"},
	{"serial-too-long", "RFC 5280 4.1.2.2", "the serial number MUST NOT be longer than 20 octets",
		"reissue the certificate with a serial number of at most 20 octets"},
	{"ca-empty-subject", "RFC 5280 4.1.2.6", "a CA certificate MUST have a non-empty subject distinguished name",
		"reissue the CA certificate with a subject name"},
	{"keycertsign-without-ca", "RFC 5280 4.2.1.3, 4.2.1.9", "a certificate whose Key Usage asserts keyCertSign MUST have basicConstraints with cA true",
		"reissue the end-entity certificate without keyCertSign"},
	{"bc-not-critical", "RFC 5280 4.2.1.9", "basicConstraints MUST be critical in a CA certificate",
		"reissue the CA certificate with basicConstraints marked critical"},
	{"empty-eku", "RFC 5280 4.2.1.12", "an Extended Key Usage extension MUST list at least one purpose; an empty one is not the same as none",
		"reissue the certificate with the purposes it is for (clientAuth), or without the extension"},
	{"aki-missing", "RFC 5280 4.2.1.1", "every certificate but a self-signed one MUST carry an authority key identifier",
		"configure the CA to add the authorityKeyIdentifier extension (keyIdentifier) to what it issues"},
	{"aki-critical", "RFC 5280 4.2.1.1", "the authority key identifier MUST be non-critical",
		"reissue the certificate with authorityKeyIdentifier non-critical"},
	{"ski-missing", "RFC 5280 4.2.1.2", "every CA certificate MUST carry a subject key identifier",
		"reissue the CA certificate with a subjectKeyIdentifier extension"},
	{"ski-critical", "RFC 5280 4.2.1.2", "the subject key identifier MUST be non-critical",
		"reissue the certificate with subjectKeyIdentifier non-critical"},
	{"aia-critical", "RFC 5280 4.2.2.1", "authorityInfoAccess MUST be non-critical",
		"reissue the certificate with authorityInfoAccess non-critical"},
	{"san-critical-with-subject", "RFC 5280 4.2.1.6", "with a non-empty subject, subjectAltName SHOULD be non-critical",
		"reissue the certificate with subjectAltName non-critical"},
	{"san-not-critical-empty-subject", "RFC 5280 4.2.1.6", "with an empty subject, subjectAltName MUST be critical",
		"reissue the certificate with subjectAltName critical, or with a subject name"},
	{"dns-name-syntax", "RFC 5280 4.2.1.6", "a dNSName MUST be in the preferred name syntax of RFC 1034 (letters, digits, hyphens; no underscore), '*' allowed only as the whole left-most label",
		"reissue the certificate with host names that are valid DNS names"},
	{"policy-constraints-not-critical", "RFC 5280 4.2.1.11, 4.2.1.14", "policyConstraints and inhibitAnyPolicy MUST be critical",
		"reissue the CA certificate with the extension marked critical"},
	{"nc-not-critical", "RFC 5280 4.2.1.10", "nameConstraints MUST be critical (certgate enforces it either way)",
		"reissue the CA certificate with nameConstraints critical"},
	{"nc-on-end-entity", "RFC 5280 4.2.1.10", "nameConstraints MUST be used only in a CA certificate",
		"reissue the end-entity certificate without nameConstraints"},
	{"nc-dns-leading-period", "RFC 5280 4.2.1.10", "a dNSName constraint is a DNS name; a leading period is the rfc822Name and URI form (certgate reads it as subdomains only)",
		"reissue the CA certificate with the constraint written as a DNS name (example.com covers its subdomains)"},
}

// ProfileRules returns the catalogue of profile rules, in a fixed order.
func ProfileRules() []ProfileRule { return append([]ProfileRule(nil), profileRules...) }

// LookupProfileRule finds a profile rule by name.
func LookupProfileRule(name string) (ProfileRule, bool) {
	for _, r := range profileRules {
		if r.Name == name {
			return r, true
		}
	}
	return ProfileRule{}, false
}
