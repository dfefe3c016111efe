package events

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/issuerlist"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Event names, the value of the "event" attribute. Stable: log queries and
// alerts match on them.
const (
	EventClientCertRejected  = "client_cert_rejected"
	EventAnonymousDowngrade  = "anonymous_downgrade"
	EventVerifyWarning       = "verify_warning"
	EventIssuerListTruncated = "issuer_list_truncated"
	EventIssuerListLarge     = "issuer_list_large"
	EventNonSelfSignedRoot   = "non_self_signed_root"
	EventCRLFetchFailed      = "crl_fetch_failed"
	EventCRLNearNextUpdate   = "crl_near_next_update"
	EventCertNearExpiry      = "cert_near_expiry"
	// EventMappingDenied: certificate mapping refused a verified
	// certificate (403.12: a deny rule, or no rule with mapping required).
	EventMappingDenied = "mapping_denied"
	// EventUserNotAllowed: the mapped user is outside a location's
	// allow_users / allow_groups (403.100).
	EventUserNotAllowed = "user_not_allowed"
)

// Key is the attribute that names the event.
const Key = "event"

// Cert returns a group attribute describing c by subject, issuer, serial
// (uppercase hex, as Windows and openssl print it), SHA-256 fingerprint
// (lowercase hex, the form mapping rules accept) and notAfter.
func Cert(key string, c *x509.Certificate) slog.Attr {
	if c == nil {
		return slog.Attr{Key: key, Value: slog.StringValue("none")}
	}
	serial := "?"
	if c.SerialNumber != nil {
		serial = fmt.Sprintf("%X", c.SerialNumber)
	}
	return slog.Group(key,
		slog.String("subject", c.Subject.String()),
		slog.String("issuer", c.Issuer.String()),
		slog.String("serial", serial),
		slog.String("sha256", verify.Fingerprint(c)),
		slog.Time("not_after", c.NotAfter.UTC()),
	)
}

// Outcome returns the attributes of a verification result: sub-status,
// code (name, hex and decimal as in sc-win32-status), the failing chain
// element, the reason, the internal cause, the leaf and any warnings.
func Outcome(o *verify.Outcome) []slog.Attr {
	if o == nil {
		return nil
	}
	a := []slog.Attr{
		slog.String("substatus", o.Sub.String()),
		slog.String("code", o.Code.Name()),
		slog.String("code_hex", o.Code.Hex()),
		slog.String("win32", o.Code.Decimal()),
		slog.String("reason", o.Reason),
	}
	if e := o.Element; e != nil {
		a = append(a, slog.Group("element",
			slog.Int("index", e.Index),
			slog.String("role", e.Role.String()),
			slog.String("name", e.String()),
		))
		if e.Cert != nil && e.Index != 0 {
			a = append(a, Cert("element_cert", e.Cert))
		}
	}
	if leaf := o.Leaf(); leaf != nil {
		a = append(a, Cert("cert", leaf))
	}
	if o.Err != nil {
		a = append(a, slog.String("err", o.Err.Error()))
	}
	if len(o.Warnings) > 0 {
		a = append(a, slog.Any("warnings", o.Warnings))
	}
	return a
}

// revocationUnavailable are the codes an operator fixes (a CRL
// distribution point or OCSP responder unreachable, no CRL in cache-only
// mode), unlike a revoked or untrusted certificate.
func revocationUnavailable(c substatus.Code) bool {
	switch c {
	case substatus.CryptERevocationOffline, substatus.CertERevocationFailure, substatus.CryptENoRevocationCheck:
		return true
	}
	return false
}

func emit(l *slog.Logger, level slog.Level, event, msg string, attrs []slog.Attr, extra []slog.Attr) {
	if l == nil || !l.Enabled(context.Background(), level) {
		return
	}
	all := make([]slog.Attr, 0, 1+len(attrs)+len(extra))
	all = append(all, slog.String(Key, event))
	all = append(all, attrs...)
	all = append(all, extra...)
	l.LogAttrs(context.Background(), level, msg, all...)
}

// ClientCertRejected logs a request refused because of its client
// certificate (403.7, .13, .16, .17...). extra carries request context
// (request_id, client address, path). Info for the client's mistakes,
// Warn when revocation could not be checked, which the operator fixes.
func ClientCertRejected(l *slog.Logger, site string, o *verify.Outcome, extra ...slog.Attr) {
	level := slog.LevelInfo
	if o != nil && revocationUnavailable(o.Code) {
		level = slog.LevelWarn
	}
	emit(l, level, EventClientCertRejected, "client certificate rejected",
		append([]slog.Attr{slog.String("site", site)}, Outcome(o)...), extra)
}

// AnonymousDowngrade logs an invalid certificate ignored on a location with
// client_cert: accept and reject_invalid false: the request continues
// without an identity, the way IIS SslNegotiateCert does.
func AnonymousDowngrade(l *slog.Logger, site string, o *verify.Outcome, extra ...slog.Attr) {
	emit(l, slog.LevelInfo, EventAnonymousDowngrade, "client certificate not accepted, continuing anonymously",
		append([]slog.Attr{slog.String("site", site)}, Outcome(o)...), extra)
}

// VerifyWarnings logs each non-fatal finding of a verification (revocation
// allowed while unavailable, anchor not self-signed...) at Warn: the
// request went through, but the operator should know.
func VerifyWarnings(l *slog.Logger, site string, o *verify.Outcome, extra ...slog.Attr) {
	if o == nil {
		return
	}
	for _, w := range o.Warnings {
		attrs := []slog.Attr{slog.String("site", site), slog.String("warning", w)}
		if leaf := o.Leaf(); leaf != nil {
			attrs = append(attrs, Cert("cert", leaf))
		}
		emit(l, slog.LevelWarn, EventVerifyWarning, "client certificate verified with a warning", attrs, extra)
	}
}

// IssuerListTruncated logs the CAs left out of a site's issuer list to fit
// maxBytes, naming each: browsers do not offer certificates that chain only
// to them, and those users get 403.7 (Schannel's event 36885).
func IssuerListTruncated(l *slog.Logger, site string, maxBytes int, r issuerlist.Result, extra ...slog.Attr) {
	if len(r.Dropped) == 0 {
		return
	}
	subjects := make([]string, len(r.Dropped))
	sums := make([]string, len(r.Dropped))
	for i, c := range r.Dropped {
		subjects[i] = c.Subject.String()
		sums[i] = verify.Fingerprint(c)
	}
	emit(l, slog.LevelWarn, EventIssuerListTruncated,
		fmt.Sprintf("issuer list truncated: %d of %d CAs not sent (max_bytes %d); browsers will not offer certificates that chain only to them",
			len(r.Dropped), len(r.Kept)+len(r.Dropped), maxBytes),
		[]slog.Attr{
			slog.String("site", site),
			slog.Int("max_bytes", maxBytes),
			slog.Int("bytes", r.Bytes),
			slog.Int("total_bytes", r.TotalBytes),
			slog.Int("kept", len(r.Kept)),
			slog.Int("dropped", len(r.Dropped)),
			slog.Any("dropped_subjects", subjects),
			slog.Any("dropped_sha256", sums),
		}, extra)
}

// IssuerListLarge logs a list over warn_bytes that is still sent whole:
// some clients and middleboxes fail on a CertificateRequest that large.
func IssuerListLarge(l *slog.Logger, site string, bytes, warnBytes, cas int, extra ...slog.Attr) {
	emit(l, slog.LevelWarn, EventIssuerListLarge,
		fmt.Sprintf("issuer list is %d bytes, more than warn_bytes %d", bytes, warnBytes),
		[]slog.Attr{slog.String("site", site), slog.Int("bytes", bytes), slog.Int("warn_bytes", warnBytes), slog.Int("cas", cas)}, extra)
}

// NonSelfSignedRoot logs a trust anchor that is not self-signed: usually an
// intermediate installed among the roots, which puts the intermediate's
// name in the issuer list instead of the root's (KB 2802568).
func NonSelfSignedRoot(l *slog.Logger, site string, c *x509.Certificate, extra ...slog.Attr) {
	emit(l, slog.LevelWarn, EventNonSelfSignedRoot,
		"trusted root is not self-signed: an intermediate among the roots changes the CA names sent to clients",
		[]slog.Attr{slog.String("site", site), Cert("cert", c)}, extra)
}

// CRLFetchFailed logs a CRL that could not be fetched or loaded from source
// (URL or file). Clients whose chain needs it get 403.13 unless
// on_unavailable is allow.
func CRLFetchFailed(l *slog.Logger, source string, err error, extra ...slog.Attr) {
	attrs := []slog.Attr{slog.String("source", source)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	emit(l, slog.LevelWarn, EventCRLFetchFailed, "fetch crl failed", attrs, extra)
}

// CRLNearNextUpdate logs a CRL whose nextUpdate is close (Warn) or past
// (Error): past it the CRL is no longer valid and revocation checks fail.
func CRLNearNextUpdate(l *slog.Logger, source string, nextUpdate, now time.Time, extra ...slog.Attr) {
	left := nextUpdate.Sub(now)
	level, msg := slog.LevelWarn, "crl near its next update"
	if left <= 0 {
		level, msg = slog.LevelError, "crl past its next update"
	}
	emit(l, level, EventCRLNearNextUpdate, msg, []slog.Attr{
		slog.String("source", source),
		slog.Time("next_update", nextUpdate.UTC()),
		slog.Duration("remaining", left.Truncate(time.Second)),
	}, extra)
}

// CertNearExpiry logs a server certificate (kind "server") or trusted CA
// (kind "ca") close to notAfter (Warn), or past it (Error).
func CertNearExpiry(l *slog.Logger, kind, site string, c *x509.Certificate, now time.Time, extra ...slog.Attr) {
	if c == nil {
		return
	}
	left := c.NotAfter.Sub(now)
	level, msg := slog.LevelWarn, kind+" certificate near expiry"
	if left <= 0 {
		level, msg = slog.LevelError, kind+" certificate expired"
	}
	emit(l, level, EventCertNearExpiry, msg, []slog.Attr{
		slog.String("kind", kind),
		slog.String("site", site),
		Cert("cert", c),
		slog.Duration("remaining", left.Truncate(time.Second)),
	}, extra)
}
