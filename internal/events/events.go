package events

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/substatus"
)

// Event names, the value of the "event" attribute. Stable: log queries and
// alerts match on them. docs/operations.md lists each with its level and
// attributes; every one is emitted somewhere in the product code.
const (
	// Requests (internal/gateway).
	EventClientCertRejected = "client_cert_rejected"
	EventAnonymousDowngrade = "anonymous_downgrade"
	EventVerifyWarning      = "verify_warning"
	// EventMappingDenied: certificate mapping refused a verified
	// certificate (403.12: a deny rule, or no rule with mapping required).
	EventMappingDenied = "mapping_denied"
	// EventUserNotAllowed: the mapped user is outside a location's
	// allow_users / allow_groups (403.100).
	EventUserNotAllowed = "user_not_allowed"
	// EventDirectoryUnavailable: the directory of mapping.directory could
	// not be asked, so a verified certificate was refused (403.12
	// SEC_E_NO_AUTHENTICATING_AUTHORITY): an outage, never "no account".
	EventDirectoryUnavailable = "directory_unavailable"
	// EventDirectoryWeakMapping: a certificate was mapped by a weak
	// (KB5014754) directory method that allow_weak permits; logged on
	// every use so that the migration to strong mappings can be tracked.
	EventDirectoryWeakMapping = "directory_weak_mapping"
	// EventDirectoryStale: a cached directory answer was served past its
	// TTL because the directory is unavailable (stale_if_error).
	EventDirectoryStale = "directory_stale"
	// EventRequestRefused: a request refused for another reason than its
	// certificate (no matching site or location, an internal error).
	EventRequestRefused = "request_refused"
	// EventUpstreamFailed: the upstream could not be reached or broke off
	// its response.
	EventUpstreamFailed = "upstream_failed"
	// EventTLSHandshakeFailed: a client's TLS handshake failed.
	EventTLSHandshakeFailed = "tls_handshake_failed"
	// EventProxyProtocolFailed: a connection from a trusted proxy did not
	// start with a valid PROXY protocol header and was closed.
	EventProxyProtocolFailed = "proxy_protocol_failed"
	// EventAcceptFailed: the listener could not accept a connection and
	// retries.
	EventAcceptFailed = "accept_failed"

	// Site build (start, reload, certgate check).
	EventIssuerListTruncated = "issuer_list_truncated"
	EventIssuerListLarge     = "issuer_list_large"
	EventNonSelfSignedRoot   = "non_self_signed_root"

	// Revocation (internal/revocation).
	EventCRLFetchFailed    = "crl_fetch_failed"
	EventCRLRefreshFailed  = "crl_refresh_failed"
	EventCRLUnusable       = "crl_unusable"
	EventOCSPFetchFailed   = "ocsp_fetch_failed"
	EventOCSPRefreshFailed = "ocsp_refresh_failed"
	EventRevocationCache   = "revocation_cache_failed"

	// Operations (reload, periodic checks, access log, admin).
	EventCRLNearNextUpdate = "crl_near_next_update"
	EventCertNearExpiry    = "cert_near_expiry"
	EventReloadFailed      = "reload_failed"
	// EventPolicyLowered: a reload removed a site or made a location's
	// certificate policy less demanding (a config cut short, a typo):
	// applied, but worth a look.
	EventPolicyLowered        = "policy_lowered"
	EventReloadWatchFailed    = "reload_watch_failed"
	EventRestartRequired      = "restart_required"
	EventAccessLogWriteFailed = "access_log_write_failed"
	EventAccessLogRecovered   = "access_log_recovered"
	EventAccessLogCloseFailed = "access_log_close_failed"
	EventAdminListenerFailed  = "admin_listener_failed"
	// EventOCSPStapleFailed: the OCSP response to staple to a site's
	// server certificate could not be fetched or was not a current "good".
	EventOCSPStapleFailed = "ocsp_staple_failed"
)

// Key is the attribute that names the event.
const Key = "event"

// Attr returns the attribute naming event, for log lines built by the
// caller (l.Warn(msg, events.Attr(events.EventReloadFailed), ...)) and for
// loggers handed to code that logs on its own (http.Server.ErrorLog).
func Attr(event string) slog.Attr { return slog.String(Key, event) }

// Cert returns a group attribute describing c by subject, issuer, serial
// (uppercase hex, as Windows and openssl print it), SHA-256 fingerprint
// (lowercase hex of the DER, the form mapping rules accept, equal to
// verify.Fingerprint) and notAfter.
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
		slog.String("sha256", fingerprint(c)),
		slog.Time("not_after", c.NotAfter.UTC()),
	)
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Outcome is what an event needs of a verification result;
// *verify.Outcome implements it. It is an interface so that this package
// imports no engine: verify and revocation, which log, import events.
type Outcome interface {
	// LogAttrs returns the documented attributes of the result:
	// substatus, code, code_hex, win32, reason, element, cert, err,
	// warnings. A nil outcome returns none.
	LogAttrs() []slog.Attr
	// ErrorCode is the Win32-style code of the result.
	ErrorCode() substatus.Code
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
	all = append(all, Attr(event))
	all = append(all, attrs...)
	all = append(all, extra...)
	l.LogAttrs(context.Background(), level, msg, all...)
}

// Log logs event at level with msg and attrs; a nil logger logs nothing.
// The helpers below are for events with a fixed shape; Log is for the
// rest, so that no log line goes out without its event name.
func Log(l *slog.Logger, level slog.Level, event, msg string, attrs ...slog.Attr) {
	emit(l, level, event, msg, nil, attrs)
}

// ClientCertRejected logs a request refused because of its client
// certificate (403.7, .13, .16, .17...). extra carries request context
// (request_id, client address, path). Info for the client's mistakes,
// Warn when revocation could not be checked, which the operator fixes.
func ClientCertRejected(l *slog.Logger, site string, o Outcome, extra ...slog.Attr) {
	level := slog.LevelInfo
	if o != nil && revocationUnavailable(o.ErrorCode()) {
		level = slog.LevelWarn
	}
	emit(l, level, EventClientCertRejected, "client certificate rejected",
		append([]slog.Attr{slog.String("site", site)}, outcomeAttrs(o)...), extra)
}

// AnonymousDowngrade logs an invalid certificate ignored on a location with
// client_cert: accept and reject_invalid false: the request continues
// without an identity, the way IIS SslNegotiateCert does.
func AnonymousDowngrade(l *slog.Logger, site string, o Outcome, extra ...slog.Attr) {
	emit(l, slog.LevelInfo, EventAnonymousDowngrade, "client certificate not accepted, continuing anonymously",
		append([]slog.Attr{slog.String("site", site)}, outcomeAttrs(o)...), extra)
}

func outcomeAttrs(o Outcome) []slog.Attr {
	if o == nil {
		return nil
	}
	return o.LogAttrs()
}

// VerifyWarnings logs each non-fatal finding of a verification (revocation
// allowed while unavailable, anchor not self-signed...) at Warn: the
// request went through, but the operator should know. leaf may be nil.
func VerifyWarnings(l *slog.Logger, site string, warnings []string, leaf *x509.Certificate, extra ...slog.Attr) {
	for _, w := range warnings {
		attrs := []slog.Attr{slog.String("site", site), slog.String("warning", w)}
		if leaf != nil {
			attrs = append(attrs, Cert("cert", leaf))
		}
		emit(l, slog.LevelWarn, EventVerifyWarning, "client certificate verified with a warning", attrs, extra)
	}
}

// IssuerListTruncated logs the CAs left out of a site's issuer list to fit
// maxBytes, naming each: browsers do not offer certificates that chain only
// to them, and those users get 403.7 (Schannel's event 36885). bytes is
// the size of the list sent, totalBytes the size it would have had, kept
// the number of CAs sent. l is the site build's logger, which carries the
// site. Nothing is logged when nothing was dropped.
func IssuerListTruncated(l *slog.Logger, maxBytes, bytes, totalBytes, kept int, dropped []*x509.Certificate, extra ...slog.Attr) {
	if len(dropped) == 0 {
		return
	}
	subjects := make([]string, len(dropped))
	sums := make([]string, len(dropped))
	for i, c := range dropped {
		subjects[i] = c.Subject.String()
		sums[i] = fingerprint(c)
	}
	emit(l, slog.LevelWarn, EventIssuerListTruncated,
		fmt.Sprintf("issuer list truncated: %d of %d CAs not sent (max_bytes %d); browsers will not offer certificates that chain only to them",
			len(dropped), kept+len(dropped), maxBytes),
		[]slog.Attr{
			slog.Int("max_bytes", maxBytes),
			slog.Int("bytes", bytes),
			slog.Int("total_bytes", totalBytes),
			slog.Int("kept", kept),
			slog.Int("dropped", len(dropped)),
			slog.Any("dropped_subjects", subjects),
			slog.Any("dropped_sha256", sums),
		}, extra)
}

// IssuerListLarge logs a list over warn_bytes that is still sent whole:
// some clients and middleboxes fail on a CertificateRequest that large.
// l is the site build's logger, which carries the site.
func IssuerListLarge(l *slog.Logger, bytes, warnBytes, cas int, extra ...slog.Attr) {
	emit(l, slog.LevelWarn, EventIssuerListLarge,
		fmt.Sprintf("issuer list is %d bytes, more than warn_bytes %d: some clients and middleboxes fail on a CertificateRequest this large", bytes, warnBytes),
		[]slog.Attr{slog.Int("bytes", bytes), slog.Int("warn_bytes", warnBytes), slog.Int("cas", cas)}, extra)
}

// NonSelfSignedRoot logs a trust anchor that is not self-signed: usually an
// intermediate installed among the roots, which puts the intermediate's
// name in the issuer list instead of the root's (KB 2802568). l is the
// site build's logger, which carries the site.
func NonSelfSignedRoot(l *slog.Logger, c *x509.Certificate, extra ...slog.Attr) {
	emit(l, slog.LevelWarn, EventNonSelfSignedRoot,
		"trusted root is not self-signed: an intermediate among the roots changes the CA names sent to clients",
		[]slog.Attr{Cert("cert", c)}, extra)
}

// CRLFetchFailed logs a CRL that could not be fetched from its
// distribution point (source is the URL). Clients whose chain needs it
// get 403.13 unless on_unavailable is allow.
func CRLFetchFailed(l *slog.Logger, source string, err error, extra ...slog.Attr) {
	emit(l, slog.LevelWarn, EventCRLFetchFailed, "fetch crl failed", sourceErr(source, err), extra)
}

func sourceErr(source string, err error) []slog.Attr {
	attrs := []slog.Attr{slog.String("source", source)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	return attrs
}

// SourceFailed logs a Warn event about a revocation source (a CRL or OCSP
// URL, a CRL file, a cache file) with its error: crl_refresh_failed,
// crl_unusable, ocsp_fetch_failed, ocsp_refresh_failed,
// revocation_cache_failed.
func SourceFailed(l *slog.Logger, event, msg, source string, err error, extra ...slog.Attr) {
	emit(l, slog.LevelWarn, event, msg, sourceErr(source, err), extra)
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

// JSONDurations is the slog.HandlerOptions.ReplaceAttr of the JSON event
// log: durations are written as the text format writes them ("1.5s",
// "240h0m0s") instead of slog's integer nanoseconds, which read as absurd
// numbers in a log viewer and carry no unit.
func JSONDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
