package revocation

import (
	"context"
	"crypto/x509"
	"time"
)

// Status is what revocation checking found for one certificate.
// Revocation reports; the verification policy decides what Unknown means.
type Status int

const (
	// NotChecked: checking is off (mode "off", IIS CertCheckMode 1) or the
	// certificate is a trust anchor.
	NotChecked Status = iota
	// Good: a current, validly signed CRL or OCSP answer says not revoked.
	Good
	// Revoked: listed on a valid CRL or reported revoked by OCSP.
	Revoked
	// Unknown: no valid, current source could be obtained (offline).
	Unknown
)

func (s Status) String() string {
	switch s {
	case NotChecked:
		return "not checked"
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	case Unknown:
		return "unknown"
	}
	return "invalid"
}

// Attempt records one source consulted for a certificate (a CRL URL, a
// local file, an OCSP responder, the cache), for logs and `certgate verify`.
type Attempt struct {
	Kind     string // "crl", "delta-crl", "ocsp", "file", "cache"
	Source   string // URL or file path
	OK       bool
	Detail   string // "verified base CRL, 3 entries, next update ..." or "failed: timeout after 5s"
	Duration time.Duration
}

// Result is the revocation status of one certificate.
type Result struct {
	Status Status
	// Source names the URL or file that decided (or, for Unknown, the one that failed first).
	Source string
	// Reason is one sentence for people.
	Reason string
	// RevokedAt and ReasonCode (RFC 5280 CRLReason) are set when Status is Revoked.
	RevokedAt  time.Time
	ReasonCode int
	// NextUpdate of the source that decided.
	NextUpdate time.Time
	Attempts   []Attempt
	Err        error
}

// Checker checks one certificate against its issuer at a given time.
// The verification engine calls it for every chain element except the trust
// anchor, and only for chains whose signatures already verify to a trusted
// anchor: the URLs it may fetch come from client-supplied certificates.
type Checker interface {
	Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) Result
}
