package verify

import "errors"

// Sentinels for Outcome.Err; test with errors.Is.
var (
	ErrNoCertificate     = errors.New("no client certificate")
	ErrMalformed         = errors.New("malformed certificate")
	ErrUntrustedRoot     = errors.New("untrusted root")
	ErrChaining          = errors.New("issuer not found")
	ErrSignature         = errors.New("bad signature")
	ErrNotCA             = errors.New("issuer is not a CA")
	ErrPathLen           = errors.New("path length constraint violated")
	ErrCriticalExtension = errors.New("unhandled critical extension")
	ErrExpired           = errors.New("certificate expired")
	ErrNotYetValid       = errors.New("certificate not yet valid")
	ErrWrongUsage        = errors.New("certificate not valid for this usage")
	ErrNameConstraints   = errors.New("name constraints violated")
	ErrPolicy            = errors.New("certificate policy check failed")
	ErrRevoked           = errors.New("certificate revoked")
	ErrRevocationOffline = errors.New("revocation status unavailable")
	// Hostile-input bounds (hostile.go).
	ErrChainTooLong    = errors.New("presented chain too long")
	ErrKeyTooLarge     = errors.New("presented key too large")
	ErrSignatureBudget = errors.New("signature check budget exhausted")
	// ErrDSA: a certificate has a DSA key or signature. DSA is withdrawn
	// by FIPS 186-5 and crypto/x509 verifies no DSA signature, so no DSA
	// chain is accepted; the outcome says so instead of a parse or
	// signature error.
	ErrDSA = errors.New("DSA is not supported")
	// ErrProfile: a certificate breaks an RFC 5280 profile rule and the
	// verifier's profile is strict (profile.go).
	ErrProfile = errors.New("certificate breaks an RFC 5280 profile rule")
)
