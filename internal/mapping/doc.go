// Package mapping turns a verified client certificate into a user and groups,
// the way IIS client-certificate mapping and Active Directory do, and decides
// the mapping-related refusals: 403.12 (mapper denied) and 403.100 (mapped
// user not allowed for a location).
//
// Compile builds an immutable Mapper from Options, the package's own rule
// types: mapping does not read config (the site build converts a
// certgate.yaml mapping block), so a doctor command can build Options from
// flags. The only I/O is reading the certificate files of one_to_one Cert
// entries, at compile time, so a reload that fails keeps the previous
// Mapper. Map, Decide and Authorize are
// pure functions of their inputs and safe for concurrent use.
//
// Evaluation order (documented in docs/config.md and Options):
// one_to_one by exact SHA-256 fingerprint, then many_to_one rules in file
// order (first match wins; a deny rule stops evaluation), then UPN mapping.
// A deny rule refuses the certificate with 403.12 whether or not mapping is
// required; required only decides what happens when nothing maps.
//
// UPNs are read from the subjectAltName otherName 1.3.6.1.4.1.311.20.2.3
// (szOID_NT_PRINCIPAL_NAME, a UTF8String explicitly tagged [0]) with
// cryptobyte, because crypto/x509 skips otherName entries.
package mapping
