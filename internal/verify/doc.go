// Package verify is certgate's one verification engine: it builds chains
// from a presented client certificate to the configured trust anchors,
// checks signatures, CA constraints, validity, key usage and revocation,
// and returns a typed Outcome (IIS sub-status, Win32-style code, failing
// chain element, actionable reason). The gateway, `certgate verify`, the
// demo and the tests all call it.
package verify
