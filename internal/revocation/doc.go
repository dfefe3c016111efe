// Package revocation finds the revocation status of a certificate from CRLs
// (local files, CRL distribution points, delta CRLs) and OCSP, with an
// in-memory and on-disk cache. It reports a Status; the verification policy
// (internal/verify) decides what an Unknown status means for a request.
package revocation
