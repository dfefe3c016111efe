// Package metrics holds certgate's Prometheus collectors in one Metrics
// value with its own registry (no package globals, so tests and reloads can
// build as many as they like), and serves them on the admin listener.
//
// Every metric name and help text lives in names.go. Label values are kept
// to bounded sets: sites come from the config, statuses from the
// internal/substatus catalogue, handshake failure reasons from
// HandshakeReason. Certificate subjects appear only on the expiry gauge,
// which has one series per configured server certificate and trusted CA.
//
// Gauges that count down to a deadline (a CRL's nextUpdate, a certificate's
// notAfter) store the deadline and compute the remaining seconds at scrape
// time, so they are never stale between reloads.
//
// All methods are safe on a nil *Metrics and do nothing, so the CLI and
// tests can run the gateway code without a registry.
package metrics
