// Package revocation finds the revocation status of a certificate from CRLs
// (local files, CRL distribution points, delta CRLs) and OCSP, with an
// in-memory and on-disk cache. It reports a Status; the verification policy
// (internal/verify) decides what an Unknown status means for a request.
//
// The Engine (New, Check, Start, Close) implements Checker. It takes its own
// Options and knows nothing of the config schema: internal/site converts a
// site's revocation block (site.RevocationOptions), and a doctor command
// can fill Options from its flags. Its modes match
// IIS's CertCheckMode: Online (0; the network, the caches and local files),
// CacheOnly (2; local files and the on-disk cache, never the network), Off
// (1; no check), and Options.MaxAge adds CertCheckMode 4 (refetch a CRL
// older than this even before its nextUpdate).
//
// Safety. The URLs come from client certificates, so Check must only be
// called for chains that already verified to a trusted anchor, and every
// fetch is bounded: http/https only (ldap: and others are reported as
// "unsupported scheme", never fetched), an optional host allow list, no
// redirect to another scheme, a per-fetch timeout, a response size limit
// and a cap on concurrent fetches. A slow, huge or garbage distribution
// point yields Unknown with a reason, never a hang or an out-of-memory.
//
// CRL validation follows RFC 5280 section 6.3.3: issuer name (compared as
// section 7.1 says, with internal/dname), signature, thisUpdate <= time <=
// nextUpdate, critical extensions understood (an unknown critical CRL or
// entry extension makes the CRL unusable), issuing distribution point scope
// (distribution point name, only user / only CA / only attribute
// certificates, reasons, several CRLs partitioned by reason), delta CRLs
// (Delta CRL Indicator and Freshest CRL, removeFromCRL) and indirect CRLs
// (cRLIssuer, certificateIssuer entries). An invalid CRL is ignored and
// logged with its URL or file; when nothing valid remains the result is
// Unknown, naming every URL and what failed.
//
// Check verifies a CRL with the certificate issuer's key. CheckChain (used
// by internal/verify when present) also accepts a CRL signed by another
// certificate with the CRL issuer's name, on the path or in
// Options.Issuers, once the verifier has validated that certificate (RFC
// 5280 6.3.3 (f)): key rollover, separate CRL-signing keys, the cRLIssuer
// of an indirect CRL.
//
// Speed. A CRL is never materialised as x509.RevocationList entries: the
// DER is walked once, serials go into a compact pointer-free hash index,
// and the signature is checked over the raw TBS bytes on another core while
// the entries are walked (see ParseCRL and docs/benchmarks.md). A lookup
// does not allocate. Concurrent requests for the same URL share one fetch,
// and the background refresher (Start) replaces CRLs before they expire, so
// that in steady state no request waits on the network.
package revocation
