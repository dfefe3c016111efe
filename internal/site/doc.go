// Package site is the runtime-free build of a config site and the one
// judge of a request on it.
//
// Build (one site) and BuildAll (every site, with the SNI/Host lookup of
// Set.SiteFor) derive from a validated *config.Config everything a decision
// needs: the trust pools (roots, intermediates), the issuer list sent in
// the CertificateRequest with its truncation report (IssuerList), the
// verifier (internal/verify) with the site's revocation engine
// (internal/revocation; none when revocation.mode is off), the certificate
// mapper (internal/mapping), the locations sorted for Locate, and the
// load-time warnings. It loads no server key and starts no listener, so a
// doctor command can build a site whose private key it cannot read.
//
// Decide is the decision, written once: location policy (ignore, accept,
// require), the connection's verification outcome, certificate mapping
// and the location's allow_users / allow_groups give either an allowed
// identity (verified or anonymous, user, groups, a downgraded outcome) or
// one *Denial carrying the sub-status, Win32-style code, failing chain
// element and reason. It is pure and allocates nothing on the allow path.
//
// Users: internal/gateway adds the server certificate, TLS config,
// listeners and handlers on top of a Set; `certgate verify -c`,
// `certgate map test` and the other doctor commands build the same sites
// and call the same Decide, so they answer what the gateway answers.
//
// Only this package reads config types on behalf of the engines:
// RevocationOptions, CompileMapping and ForwardOptions convert a site's
// blocks into revocation.Options, mapping.Options and forward.Options.
package site
