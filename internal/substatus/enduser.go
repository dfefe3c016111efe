package substatus

// Texts for the person at the browser: the self-service diagnostics page
// reads them. They never name server files, upstreams or CRL state, and are
// kept apart from the operator's causes and next steps.

// userAdvice is what to do next, per code, when the sub-status's
// ClientAdvice is too general (403.16 covers a dozen codes).
var userAdvice = map[Code]string{
	CertEExpired:            "Your certificate, or a certificate authority above it, has expired or is not valid yet. Check your computer's date and time; if they are right, ask for a renewed certificate.",
	CertEValidityPeriodNest: "A certificate authority in your certificate's chain is not valid for the whole period of your certificate. Ask the issuer of your certificate for a new one.",
	CertEUntrustedRoot:      "Your certificate was issued by a certificate authority this site does not trust. If you have several certificates, close every browser window, come back, and choose another one; otherwise ask the site's support which certificate to use.",
	CertEChaining:           "This site could not link your certificate to a certificate authority it trusts: most often the certificate comes from an organisation or authority this site does not trust at all, sometimes a link of the chain (an intermediate certificate) is missing. Choose another certificate if you have one, or send the block below to support.",
	CertEWrongUsage:         "Your certificate is not meant for signing in to web sites (its key usage does not allow client authentication). Ask for a certificate issued for client authentication.",
	CertEPurpose:            "Your certificate is not meant for signing in to web sites. Ask for a certificate issued for client authentication.",
	CertERole:               "The certificate your browser sent is a certificate authority, not a personal certificate. Choose your own certificate in the browser's list.",
	TrustECertSignature:     "A signature in your certificate's chain could not be verified: the certificate may be damaged or issued by an outdated authority. Ask for a new certificate.",
	CryptERevoked:           "Your certificate has been revoked by its issuer and can no longer be used. Ask for a new certificate.",
	CertERevoked:            "Your certificate has been revoked by its issuer and can no longer be used. Ask for a new certificate.",
	CryptERevocationOffline: "The site could not confirm that your certificate is still valid, because its issuer's revocation service could not be reached. This is not a problem with your computer: try again later, or send the block below to support.",
	CertERevocationFailure:  "The site could not confirm that your certificate is still valid. Try again later, or send the block below to support.",
	CryptENoRevocationCheck: "The site could not confirm that your certificate is still valid. Try again later, or send the block below to support.",
	SecELogonDenied:         "Your certificate is valid, but it is not linked to an account that may use this site. Send the block below to support and ask for your certificate to be registered.",
}

// UserAdvice returns what the person at the browser should do for an
// outcome: the code's own advice when it has one, else the sub-status's
// ClientAdvice.
func UserAdvice(s Sub, c Code) string {
	if a, ok := userAdvice[c]; ok {
		return a
	}
	return Must(s).ClientAdvice
}

// The reasons a browser does not offer a certificate in its picker, as
// `certgate select` checks them (its Reason codes are these).
const (
	OfferNoKey       = "no-private-key"
	OfferExpired     = "expired"
	OfferNotYetValid = "not-yet-valid"
	OfferKeyUsage    = "key-usage-without-digitalsignature"
	OfferEKU         = "eku-without-clientauth"
	OfferIssuer      = "issuer-not-acceptable"
	OfferSignature   = "no-common-signature-scheme"
)

// OfferRule is one reason a browser does not offer a certificate, in words
// for the person at the browser.
type OfferRule struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// OfferRules lists the selection rules of `certgate select`, most common
// first, for people who cannot run it: the diagnostics page shows them
// when the browser sent no certificate.
func OfferRules() []OfferRule {
	return []OfferRule{
		{OfferIssuer, "Your certificate was not issued under one of the certificate authorities listed on this page: browsers only offer certificates that chain to a listed name, and stay silent otherwise."},
		{OfferExpired, "Your certificate has expired: browsers hide expired certificates."},
		{OfferNotYetValid, "Your certificate is not valid yet (check your computer's date and time)."},
		{OfferEKU, "Your certificate is not meant for client authentication (its Extended Key Usage lacks \"Client Authentication\")."},
		{OfferKeyUsage, "Your certificate's Key Usage does not allow digital signatures, which signing in requires."},
		{OfferNoKey, "The certificate is installed without its private key (for example imported from a .cer file instead of the .p12/.pfx): browsers only offer certificates whose key they hold."},
		{OfferSignature, "The certificate's key type cannot sign with any algorithm this site accepts."},
	}
}
