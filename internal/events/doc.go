// Package events builds certgate's structured event log entries with
// log/slog: one helper per event an operator searches for, so that every
// caller (gateway, reload, revocation refresher, `certgate check`) logs the
// same event with the same attribute names.
//
// Every entry carries an "event" attribute with a stable name (the Event*
// constants) next to a human message. A certificate is logged as subject,
// issuer, serial and SHA-256 fingerprint, never as PEM or key material.
//
// Levels follow who can fix the problem: a client's mistake (an untrusted,
// expired or missing certificate) is Info; what the operator must act on
// (revocation sources offline, issuer list truncated, CRL or certificate
// about to expire) is Warn, and Error once it has already expired.
package events
