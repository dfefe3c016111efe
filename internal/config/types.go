package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole certgate.yaml. Field names are stable once documented
// in docs/config.md.
type Config struct {
	// Listen is the HTTPS listen address, default 127.0.0.1:8443.
	Listen   string   `yaml:"listen"`
	Timeouts Timeouts `yaml:"timeouts"`
	// TrustedProxies are the TCP proxies (CIDRs or addresses) allowed in
	// front of the listener. A connection from one is never "local" for
	// detailed errors unless a PROXY header names a local client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	Limits         Limits   `yaml:"limits"`
	// ProxyProtocol makes connections from TrustedProxies start with a
	// PROXY protocol v1 or v2 header naming the real client; other
	// connections are never read for one.
	ProxyProtocol bool  `yaml:"proxy_protocol"`
	Admin         Admin `yaml:"admin"`
	Log           Log   `yaml:"log"`
	// AccessLog is the shared W3C access log; a site may override it.
	AccessLog *AccessLog `yaml:"access_log"`
	// SessionTickets shares TLS session-ticket keys between instances
	// (nginx ssl_session_ticket_key).
	SessionTickets SessionTickets `yaml:"session_tickets"`
	// ReusePort opens listen and admin.listen with SO_REUSEPORT, so that
	// a new process can bind them while the old one drains.
	ReusePort bool `yaml:"reuse_port"`
	// Reload configures reloading on file changes.
	Reload Reload `yaml:"reload"`
	Sites  []Site `yaml:"sites"`

	// Path is the file the config was read from; relative paths inside the
	// config are resolved against its directory.
	Path string `yaml:"-"`
	// lines maps a field path ("sites[1].client_auth.trust.roots") to its
	// line in Path, so that Validate errors can name it.
	lines map[string]int
	// failed are the paths whose values did not decode (ParsePartial).
	failed []string
	// defaulted makes ApplyDefaults run once, so that paths are never
	// resolved twice.
	defaulted bool
}

// Timeouts bound every phase of a client connection.
type Timeouts struct {
	Handshake  time.Duration `yaml:"handshake"`   // default 10s
	ReadHeader time.Duration `yaml:"read_header"` // default 10s
	Idle       time.Duration `yaml:"idle"`        // default 120s
	Shutdown   time.Duration `yaml:"shutdown"`    // default 30s, graceful drain on SIGTERM
	Upstream   time.Duration `yaml:"upstream"`    // default 60s, response header timeout
	// ReadBody bounds the time to receive a request body, from the end
	// of its headers (408 past it); default 60s.
	ReadBody time.Duration `yaml:"read_body"`
	// Write bounds each write of a response to the client: a client that
	// reads slower is disconnected; default 60s.
	Write time.Duration `yaml:"write"`
	// MaxConnectionAge closes a connection gracefully (Connection: close,
	// GOAWAY on HTTP/2) with its first response past this age; default 1h.
	MaxConnectionAge time.Duration `yaml:"max_connection_age"`
}

// Limits bound the connections the listener keeps open.
type Limits struct {
	// MaxConnections: past it a new connection is closed at once;
	// default 4096.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP: past it a client's new connection is answered
	// 503.2 and closed; default 256.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
}

// SessionTickets names the key files that seal TLS session tickets, so
// that several instances behind one load balancer resume each other's
// sessions. Each file holds 48 or 80 random bytes (nginx's
// ssl_session_ticket_key format; `certgate pki ticket-key` writes one).
// The first key seals new tickets; every key opens them, so a rotation
// puts the new key first and keeps the previous one second. Empty: each
// process seals with its own keys, rotated automatically.
type SessionTickets struct {
	Keys Paths `yaml:"keys"`
}

// Reload configures automatic reloads. SIGHUP and POST /reload always
// reload.
type Reload struct {
	// Watch reloads when the config file or any file it names changes
	// (certificates, keys, trust roots, CRL files, mapping certificates,
	// ticket keys), including the symlink swaps Kubernetes uses to update
	// mounted Secrets and ConfigMaps.
	Watch bool `yaml:"watch"`
	// Debounce waits this long after the last change before reloading, so
	// that a tool rewriting several files triggers one reload; default 1s.
	Debounce time.Duration `yaml:"debounce"`
}

// Admin is the separate listener for metrics, health and reload (issue 6).
type Admin struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:9443; "off" disables
	// Pprof mounts net/http/pprof under /debug/pprof/ on the admin
	// listener. Off by default: a profile exposes memory contents.
	Pprof bool `yaml:"pprof"`
	// TokenFile holds a bearer token every admin request but /healthz
	// and /readyz must carry (Authorization: Bearer ...). Read at start.
	TokenFile string `yaml:"token_file"`
}

// Log configures the structured event log.
type Log struct {
	Format string `yaml:"format"` // text (default) | json
	Level  string `yaml:"level"`  // debug | info (default) | warn | error
	File   string `yaml:"file"`   // default stderr
}

// AccessLog configures a W3C extended access log.
type AccessLog struct {
	Dir      string `yaml:"dir"`
	Rollover string `yaml:"rollover"` // daily (default) | size | none
	MaxSize  int64  `yaml:"max_size"` // bytes, with rollover: size
	Buffer   int    `yaml:"buffer"`   // lines buffered before writers drop, default 8192
	// Fields are the W3C fields written, in order (IIS logFile
	// logExtFileFlags); empty is the default layout.
	Fields []string `yaml:"fields"`
	// Format is w3c (default) or json (JSON lines).
	Format string `yaml:"format"`
}

// Site is one virtual host, chosen by SNI.
type Site struct {
	Name  string   `yaml:"name"`
	Hosts []string `yaml:"hosts"`
	// Default marks the site used for no or unknown SNI; without it the first site is.
	Default     bool        `yaml:"default"`
	Certificate Certificate `yaml:"certificate"`
	// Upstream is an http(s) URL, or "echo" for the built-in echo handler.
	Upstream string `yaml:"upstream"`
	// DetailedErrors shows the detailed reason to remote clients too
	// (IIS errorMode Detailed); otherwise only loopback clients see it
	// (IIS DetailedLocalOnly).
	DetailedErrors bool       `yaml:"detailed_errors"`
	ClientAuth     ClientAuth `yaml:"client_auth"`
	Mapping        *Mapping   `yaml:"mapping"`
	Forward        Forward    `yaml:"forward"`
	// TLS is the site's handshake settings (versions, suites, groups,
	// ALPN, OCSP stapling); the defaults are the safe ones.
	TLS       TLS        `yaml:"tls"`
	Locations []Location `yaml:"locations"`
	// Paths says how request paths are read before locations are matched.
	Paths     RequestPaths `yaml:"paths"`
	AccessLog *AccessLog   `yaml:"access_log"`
	// Diagnostics is the self-service page that tells the person at the
	// browser why a certificate was or was not accepted.
	Diagnostics Diagnostics `yaml:"diagnostics"`
}

// DefaultDiagnosticsPath is where the self-service page is served: a
// well-known path (RFC 8615) no application is likely to use.
const DefaultDiagnosticsPath = "/.well-known/certgate"

// Diagnostics configures a site's self-service page. It has no IIS
// equivalent: IIS shows the sub-status page and nothing more.
type Diagnostics struct {
	// Page turns the page on (default off).
	Page bool `yaml:"page"`
	// Path is served by certgate itself, whatever the location policy;
	// default DefaultDiagnosticsPath.
	Path string `yaml:"path"`
}

// RequestPaths configures the reading of request paths (internal/reqpath).
type RequestPaths struct {
	// CaseInsensitive matches location paths ignoring case, for backends
	// that do (IIS, ASP.NET, Windows file systems): /SECRET then falls under
	// the /secret location.
	CaseInsensitive bool `yaml:"case_insensitive"`
	// Allow names the canonical-path rules the site opts out of, such as
	// [semicolon] for a backend that uses ;jsessionid. Empty: every rule
	// applies.
	Allow []string `yaml:"allow"`
}

// Certificate is the server certificate and key: PEM/DER files (Cert may
// hold the chain) or one PKCS#12 file (PFX), as IIS admins export them.
type Certificate struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// PFX is a PKCS#12 file with the certificate, its chain and the key;
	// it replaces Cert and Key.
	PFX string `yaml:"pfx"`
	// PasswordFile holds the password of PFX or of an encrypted Key (one
	// line); empty means no password.
	PasswordFile string `yaml:"password_file"`
}

// ClientAuth is how a site authenticates client certificates.
type ClientAuth struct {
	Trust      Trust      `yaml:"trust"`
	IssuerList IssuerList `yaml:"issuer_list"`
	// RejectInvalid is the site default for locations with client_cert: accept.
	RejectInvalid bool `yaml:"reject_invalid"`
	// ClientCert is the policy of paths no location covers: require by
	// default on a site with trust roots (fail closed: a location list cut
	// short must not leave the rest of the site anonymous), ignore on a
	// site without.
	ClientCert string     `yaml:"client_cert"`
	Revocation Revocation `yaml:"revocation"`
	// MaxRSABits is the largest RSA key a client-presented certificate
	// may carry (the site's own trust is exempt); default 4096.
	MaxRSABits int `yaml:"max_rsa_bits"`
	// MaxChainLength is how many certificates a client may present;
	// default 10.
	MaxChainLength int `yaml:"max_chain_length"`
	// Profile is what a certificate breaking an RFC 5280 profile rule
	// gets: "standard" (default: accepted, with a warning) or "strict"
	// (403.16).
	Profile string `yaml:"profile"`
	// MaxDepth bounds the certificates of a chain below the trust anchor
	// (leaf included); 0 means the verifier's default, 10.
	MaxDepth int `yaml:"max_depth"`
	// Policies is the RFC 5280 6.1.1 user-initial-policy-set: dotted OIDs
	// or "anyPolicy"; empty means {anyPolicy}. The three flags are the
	// other policy inputs of 6.1.1 (initial-explicit-policy,
	// initial-policy-mapping-inhibit, initial-any-policy-inhibit).
	Policies              []string `yaml:"policies"`
	RequireExplicitPolicy bool     `yaml:"require_explicit_policy"`
	InhibitPolicyMapping  bool     `yaml:"inhibit_policy_mapping"`
	InhibitAnyPolicy      bool     `yaml:"inhibit_any_policy"`
}

// Trust lists the certificates used to VALIDATE client chains.
type Trust struct {
	Roots         Paths `yaml:"roots"`
	Intermediates Paths `yaml:"intermediates"`
}

// IssuerList is the CTL: the CA names SENT in the CertificateRequest. It is
// independent of Trust: a configured source replaces the default, it is never
// appended to the roots (the IIS behaviour this avoids).
type IssuerList struct {
	Send *bool `yaml:"send"` // default true (IIS SendTrustedIssuerList)
	// Source defaults to Trust.Roots.
	Source    Paths `yaml:"source"`
	WarnBytes *int  `yaml:"warn_bytes"` // default 16384
	MaxBytes  *int  `yaml:"max_bytes"`  // default MaxIssuerListBytes
}

// Revocation configures revocation checking (issue 3).
type Revocation struct {
	// Mode: online (default, IIS CertCheckMode 0) | off (1) | cache-only (2).
	Mode string `yaml:"mode"`
	// CRLs are local CRL files or directories (PEM or DER).
	CRLs   Paths  `yaml:"crls"`
	Prefer string `yaml:"prefer"` // crl (default) | ocsp
	// MaxAge refetches a CRL older than this even before nextUpdate
	// (IIS CertCheckMode 4 + CRLRefreshTime). 0 = only at nextUpdate.
	MaxAge        time.Duration `yaml:"max_age"`
	OnUnavailable string        `yaml:"on_unavailable"` // deny (default) | allow
	Timeout       time.Duration `yaml:"timeout"`        // per fetch, default 5s
	MaxBytes      int64         `yaml:"max_bytes"`      // per response, default 64 MiB
	CacheDir      string        `yaml:"cache_dir"`
	AllowHosts    []string      `yaml:"allow_hosts"` // empty = any host
	MaxConcurrent int           `yaml:"max_concurrent"`
	// FetchProxy sends CDP, delta CRL, AIA and OCSP fetches through this
	// HTTP forward proxy (a shared cache such as Squid), instead of the
	// proxy of the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
	FetchProxy string `yaml:"fetch_proxy"`
}

// Mapping maps verified certificates to users (issue 4). Its fields are
// defined in mapping.go.

// Forward configures what the upstream receives (issue 4).
type Forward struct {
	UserHeader   string `yaml:"user_header"`   // default X-Remote-User
	GroupsHeader string `yaml:"groups_header"` // default X-Remote-Groups
	// ClientCert sends RFC 9440 Client-Cert / Client-Cert-Chain; default true.
	ClientCert *bool `yaml:"client_cert"`
	// SSLHeaders, when present, sends nginx-style X-SSL-Client-* headers;
	// each name may be changed, "" keeps the default name.
	SSLHeaders *SSLHeaders `yaml:"ssl_headers"`
	// XFCC sends Envoy's X-Forwarded-Client-Cert; default false.
	XFCC bool `yaml:"xfcc"`
	// Strip lists more request headers removed from every client request
	// before the upstream sees it, on top of the built-in list; a name
	// ending in '*' removes a family (X-Internal-*).
	Strip []string `yaml:"strip"`
	// DefaultSiteAnyHost forwards X-Forwarded-Host on the default site for
	// any Host; otherwise only for a host the site lists (the default
	// site also answers names it does not list).
	DefaultSiteAnyHost bool `yaml:"default_site_any_host"`
}

// SSLHeaders names the X-SSL-Client-* headers (forward.ssl_headers).
type SSLHeaders struct {
	Verify      string `yaml:"verify"`
	SubjectDN   string `yaml:"s_dn"`
	IssuerDN    string `yaml:"i_dn"`
	Serial      string `yaml:"serial"`
	Fingerprint string `yaml:"sha256"`
	Cert        string `yaml:"cert"`
}

// Location is a path-prefix rule; the longest matching prefix wins.
type Location struct {
	Path string `yaml:"path"`
	// ClientCert: ignore | accept | require (IIS sslFlags None /
	// SslNegotiateCert / SslRequireCert).
	ClientCert string `yaml:"client_cert"`
	// RejectInvalid overrides the site's reject_invalid for accept.
	RejectInvalid *bool    `yaml:"reject_invalid"`
	AllowUsers    []string `yaml:"allow_users"`
	AllowGroups   []string `yaml:"allow_groups"`
	// Upgrade lists the HTTP/1.1 Upgrade protocols (RFC 9110 section 7.8)
	// the location passes to the upstream, such as [websocket]. Empty (the
	// default) refuses every upgrade: after a 101 the connection is a raw
	// tunnel the gateway no longer sees into. h2c is never allowed.
	Upgrade []string `yaml:"upgrade"`
}

// Client certificate policies of a location.
const (
	ClientCertIgnore  = "ignore"
	ClientCertAccept  = "accept"
	ClientCertRequire = "require"
)

// Paths is a list of file or directory paths; YAML may give one string or a list.
type Paths []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (p *Paths) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			*p = nil
			return nil
		}
		*p = Paths{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(Paths, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a list of paths, each a string (got a nested %s)", item.Line, kindName(item.Kind))
			}
			out = append(out, item.Value)
		}
		*p = out
		return nil
	}
	return fmt.Errorf("line %d: want a path or a list of paths (got a %s)", n.Line, kindName(n.Kind))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}
