// Package dname compares X.509 distinguished names as RFC 5280 section 7.1
// requires, not byte for byte as crypto/x509 does: attribute values encoded as
// PrintableString or UTF8String (and BMPString or UniversalString, which
// hold the same repertoire) are compared after the LDAP StringPrep steps of
// RFC 4518 that matter for names: case folding and insignificant space
// handling (leading and trailing spaces removed, inner runs collapsed).
// PKITS 4.3.3-4.3.11 chain names that differ only in case, spacing or
// string type. Unicode NFKC normalisation is not applied (it needs tables
// outside the standard library); such names still compare equal when
// their bytes are.
//
// Other value types (IA5String is compared case-insensitively, as the
// caseIgnoreIA5Match rule of emailAddress and domainComponent says) and
// malformed names fall back to exact comparison, so a name certgate cannot
// read never matches more than its bytes do.
//
// Both internal/verify (chaining, self-issued detection, directoryName
// name constraints) and internal/revocation (CRL issuer matching) use it,
// so that a certificate and its CRL agree on who their issuer is.
package dname
