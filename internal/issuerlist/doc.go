// Package issuerlist computes the list of acceptable CA names a TLS server
// sends in its CertificateRequest (the certificate_authorities of RFC 8446
// §4.2.4 and RFC 5246 §7.4.4; the "CTL" or trusted issuer list of IIS), its
// encoded size and what a size limit drops.
//
// It is pure: the gateway uses it to build and truncate the list it sends,
// and `certgate lint`, `check` and `probe` use it to predict what Schannel
// or certgate would drop, so that the numbers the doctor prints are the
// numbers the gateway applies.
package issuerlist
