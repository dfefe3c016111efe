// Package gateway is certgate's HTTPS front end: it terminates TLS, chooses
// a site by SNI, asks for a client certificate when any location of the site
// may use one, verifies that certificate once per connection with
// internal/verify, applies the location's policy (ignore, accept, require)
// per request and either answers with an IIS-style 403.x page or passes the
// request to the site's upstream (a reverse proxy or the built-in echo,
// internal/echo, which ServeHTTP calls directly with the identity and the
// connection's memo).
//
// Everything derived from the config lives in an immutable Snapshot built by
// Build: the sites as internal/site builds them (trust, issuer list,
// verifier with revocation, mapper, locations: the same build `certgate
// verify -c` and `map test` use) plus what only serving needs, which is
// all this package adds: server certificates and keys, TLS configs,
// listeners, handlers, the reverse proxy and error pages. A Server holds
// the current Snapshot in an atomic.Pointer; each connection keeps the
// Snapshot it was accepted under, so a reload (Swap) changes new
// handshakes only and never a connection in flight. Only cmd/certgate
// imports this package: the doctor builds sites with internal/site.
//
// crypto/tls never verifies client certificates here (ClientAuth is at most
// RequestClientCert): the one verification engine is internal/verify, so the
// gateway, `certgate verify` and the demo agree on every decision.
//
// Request handling (Server.ServeHTTP), in order:
//  0. Every identity header a client could spoof (RFC 9440 Client-Cert,
//     Forwarded, X-Forwarded-*, the user and groups headers, in any case
//     or underscore spelling) is removed, on every request (mapping.go,
//     internal/forward).
//  1. Host must name the site the SNI chose, else 421 Misdirected Request:
//     otherwise the SNI of a site that never asks for a certificate could
//     carry a request for a site that requires one.
//  2. The decoded path must be canonical (no dot or empty segments), else
//     400: the upstream could resolve it under another location's prefix.
//  3. The longest location prefix on a segment boundary applies
//     (site.Site.Locate); a path no location covers is not asked for a
//     certificate, like a site without locations.
//  4. site.Decide, the one judge, applies ignore / accept / require to the
//     connection's verification outcome, maps a verified certificate
//     (403.12 when mapping refuses it) and applies the location's
//     allow_users / allow_groups (403.100). Its one site.Denial becomes a
//     403.x page (HTML, or RFC 9457 problem+json when Accept prefers JSON),
//     never sent upstream.
//
// Hooks for later layers:
//   - Identity (IdentityFrom) is what the upstream side knows about the
//     client: the decision's user and groups (Identity.User,
//     Identity.Groups); the proxy's Rewrite forwards them with RFC 9440
//     Client-Cert / Client-Cert-Chain (forwardIdentity, mapping.go).
//   - Options.Hooks receive one RequestEvent per request, one
//     HandshakeEvent per TLS handshake and one VerifyEvent per certificate
//     verification, for the W3C access log and metrics.
//   - Server.Swap installs a new Snapshot (hot reload); Build is the same
//     code `certgate check` runs, and Site.Issuers the list it prints.
//
// NewService wires a whole gateway from a config (event log, snapshot,
// access logs and metrics through an Observer, Server, Reloader, admin
// listener) and Service.Serve runs it until its context ends: `certgate
// serve`, `certgate demo` and the tests use that one wiring.
package gateway
