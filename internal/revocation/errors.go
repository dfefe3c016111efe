package revocation

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them
// (with %w) and names the URL or file it is about, so callers can branch with
// errors.Is and people can act on the message.
var (
	// ErrOffline is wrapped by Result.Err when no valid, current source
	// could be obtained (Status Unknown). The verifier maps it to 403.13
	// CRYPT_E_REVOCATION_OFFLINE unless on_unavailable is allow.
	ErrOffline = errors.New("revocation status unavailable")
	// ErrRevoked is wrapped by Result.Err when Status is Revoked.
	ErrRevoked = errors.New("certificate revoked")

	// ErrMalformedCRL: the bytes are not a DER (or PEM) X.509 v1/v2 CRL.
	ErrMalformedCRL = errors.New("malformed crl")
	// ErrCriticalExtension: the CRL or one of its entries carries a
	// critical extension this package does not process, so the CRL must
	// not be used (RFC 5280 section 5.2 and 5.3).
	ErrCriticalExtension = errors.New("unhandled critical crl extension")
	// ErrCRLSignature: the CRL is not signed by the issuer's key, or the
	// issuer may not sign CRLs.
	ErrCRLSignature = errors.New("crl signature invalid")
	// ErrCRLIssuer: the CRL issuer name is not the certificate issuer name.
	ErrCRLIssuer = errors.New("crl issuer does not match")
	// ErrCRLNumber: the CRL has no CRL number, or a critical one (RFC 5280
	// 5.2.3); it is not used.
	ErrCRLNumber = errors.New("crl number missing or critical")
	// ErrCRLExpired: the validation time is after the CRL's nextUpdate.
	ErrCRLExpired = errors.New("crl expired")
	// ErrCRLNotYetValid: the validation time is before the CRL's thisUpdate.
	ErrCRLNotYetValid = errors.New("crl not yet valid")
	// ErrCRLTooOld: the CRL is older than Options.MaxAge.
	ErrCRLTooOld = errors.New("crl older than max age")
	// ErrCRLScope: the CRL is valid but does not cover the certificate
	// (issuing distribution point, reasons, CA/user scope).
	ErrCRLScope = errors.New("crl does not cover the certificate")
	// ErrDeltaCRL: a delta CRL is missing, invalid or does not fit its base.
	ErrDeltaCRL = errors.New("delta crl unusable")
	// ErrIndirectCRL: indirect CRLs (a CRL issued by another authority than
	// the certificate issuer) are not supported.
	ErrIndirectCRL = errors.New("indirect crl not supported")

	// ErrUnsupportedScheme: a CDP or OCSP URL that is not http or https
	// (ldap:, file:...). It is never fetched.
	ErrUnsupportedScheme = errors.New("unsupported url scheme")
	// ErrHostNotAllowed: the URL's host is not in Options.AllowHosts.
	ErrHostNotAllowed = errors.New("host not in allow list")
	// ErrTooLarge: the response is larger than Options.MaxBytes.
	ErrTooLarge = errors.New("response too large")
	// ErrTimeout: the fetch did not complete within Options.Timeout.
	ErrTimeout = errors.New("timeout")
	// ErrHTTPStatus: the server answered with a status other than 200.
	ErrHTTPStatus = errors.New("unexpected http status")
	// ErrNotCached: cache-only mode and the URL is not in the cache.
	ErrNotCached = errors.New("not in cache (cache-only mode, network not used)")
	// ErrNoSource: the certificate names no CRL distribution point or OCSP
	// responder and no local CRL covers it.
	ErrNoSource = errors.New("no revocation source")

	// ErrOCSP: the OCSP response is malformed, not for this certificate, not
	// signed by the issuer or an authorized responder, or not current.
	ErrOCSP = errors.New("ocsp response invalid")
	// ErrOCSPUnknown: the responder answered "unknown" for the certificate.
	ErrOCSPUnknown = errors.New("ocsp responder does not know the certificate")

	// ErrConfig: invalid Options.
	ErrConfig = errors.New("invalid revocation options")
)
