package metrics

// Metric names and help texts: the one place they are spelled. Dashboards
// and alerts depend on them; rename only with a changelog entry.
const (
	namespace = "certgate"

	nameRequests      = "requests_total"
	helpRequests      = "HTTP requests answered, by site, HTTP status and IIS-style sub-status (403.16 is status=\"403\", substatus=\"16\")."
	nameRefused       = "requests_refused_total"
	helpRefused       = "Requests refused before any location decided them, by site and reason: upgrade (a protocol upgrade or CONNECT the location does not allow) or path_<rule> (a request path that breaks a canonical-path rule, such as path_semicolon)."
	nameHandshakes    = "handshakes_total"
	helpHandshakes    = "TLS handshakes completed, by site (chosen by SNI)."
	nameHandshakeFail = "handshake_failures_total"
	helpHandshakeFail = "TLS handshakes that failed, by reason (timeout, client_closed, not_tls, client_alert, protocol, client_cert, proxy_protocol, other)."
	nameVerify        = "verify_duration_seconds"
	helpVerify        = "Time to verify a presented client certificate chain, including revocation checks."
	nameRevFetches    = "revocation_fetches_total"
	helpRevFetches    = "CRL and OCSP fetches, by kind (crl, delta-crl, ocsp) and outcome (ok, error)."
	nameRevFetchDur   = "revocation_fetch_duration_seconds"
	helpRevFetchDur   = "Duration of CRL and OCSP fetches, by kind."
	nameCRLNext       = "crl_next_update_seconds"
	helpCRLNext       = "Seconds until the nextUpdate of each loaded CRL, by source URL or file; negative once it has passed."
	nameCertExpiry    = "cert_expiry_seconds"
	helpCertExpiry    = "Seconds until notAfter of each server certificate (kind=server) and trusted CA (kind=ca); negative once expired."
	nameLogDropped    = "access_log_dropped_total"
	helpLogDropped    = "W3C access log lines dropped because the write buffer was full."
	nameReloads       = "reloads_total"
	helpReloads       = "Configuration reloads, by outcome (ok, error). A failed reload keeps the previous configuration."
	nameChainRefused  = "chain_refusals_total"
	helpChainRefused  = "Presented client chains refused before or during chain building because they exceed a hostile-input bound, by reason (chain_too_long, key_too_large, signature_budget)."
	nameDirLookups    = "directory_lookups_total"
	helpDirLookups    = "Directory (mapping.directory) lookups by site and outcome: found, not_found, unavailable (the directory could not be asked: 403.12 SEC_E_NO_AUTHENTICATING_AUTHORITY), cache_hit, stale (a cached answer served during an outage). Counts restart when a reload rebuilds the site."
	nameDirSeconds    = "directory_lookup_seconds_total"
	helpDirSeconds    = "Total time of uncached directory lookups, by site; divided by the found+not_found+unavailable lookups it is the mean latency."
	nameDirWeak       = "directory_weak_mappings_total"
	helpDirWeak       = "Directory lookups that found the account by a weak (KB5014754) method, by site."
	nameConnsOpen     = "connections_open"
	helpConnsOpen     = "TCP connections open on the HTTPS listener, refused ones included until they close."
	nameConnsRefused  = "connections_refused_total"
	helpConnsRefused  = "Connections over a limit, by limit: max_connections (closed at once) and max_connections_per_ip (answered 503.2, then closed)."
	nameTimeouts      = "client_timeouts_total"
	helpTimeouts      = "Slow clients cut off, by kind: read_body (request body not received within timeouts.read_body, 408) and write (a response write blocked longer than timeouts.write)."
	nameBuildInfo     = "build_info"
	helpBuildInfo     = "Always 1; the version label names the running build."
)

// Label names.
const (
	labelSite      = "site"
	labelStatus    = "status"
	labelSubstatus = "substatus"
	labelReason    = "reason"
	labelKind      = "kind"
	labelOutcome   = "outcome"
	labelSource    = "source"
	labelSubject   = "subject"
	labelVersion   = "version"
)
