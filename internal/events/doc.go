// Package events is certgate's event vocabulary for log/slog: the stable
// event names (the Event* constants, the value of the "event" attribute),
// the attribute that carries them (Key, Attr), the certificate attribute
// (Cert) and one helper per event with a fixed shape, so that every caller
// (gateway, site build, revocation engine, access log, serve) logs the same
// event with the same attribute names. Log covers the rest: no Warn or
// Error line goes out without an event name.
//
// It is a leaf: it imports only the standard library and substatus, so
// that every package that logs can import it, verify and revocation
// included. A verification result reaches it through the Outcome
// interface, which *verify.Outcome implements.
//
// A certificate is logged as subject, issuer, serial and SHA-256
// fingerprint, never as PEM or key material.
//
// Levels follow who can fix the problem: a client's mistake (an untrusted,
// expired or missing certificate) is Info; what the operator must act on
// (revocation sources offline, issuer list truncated, CRL or certificate
// about to expire) is Warn, and Error once it has already expired or when
// something is lost (a refused reload, access log lines, an upstream).
// docs/operations.md lists every event with its level and attributes.
package events
