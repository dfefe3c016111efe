// Package conformance runs public path-validation suites (NIST PKITS in the
// x509-limbo JSON shape) through certgate's one verification engine,
// internal/verify, with the real revocation checker in cache-only mode.
//
// The suite data is not part of the repository: the test reads
// ../shared/conformance/pkits.json relative to the repository root, which
// is where CI puts it. The package only loads cases and turns an Outcome
// into a verdict; every rule lives in internal/verify and
// internal/revocation.
package conformance
