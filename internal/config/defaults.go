package config

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/forward"
)

// Every default of certgate.yaml is here, and docs/config.md lists the same
// values. Nothing else in certgate fills in a missing setting.
const (
	DefaultListen      = "127.0.0.1:8443"
	DefaultAdminListen = "127.0.0.1:9443"
	// DefaultReloadDebounce is reload.debounce: long enough for a tool
	// that rewrites a certificate and its key one after the other.
	DefaultReloadDebounce = time.Second

	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultUpstreamTimeout   = 60 * time.Second
	// nginx: client_body_timeout and send_timeout, 60s each.
	DefaultReadBodyTimeout = 60 * time.Second
	DefaultWriteTimeout    = 60 * time.Second
	// DefaultMaxConnectionAge: how long a connection may go on using the
	// outcome, TLS settings and site of its handshake (nginx:
	// keepalive_time 1h).
	DefaultMaxConnectionAge = time.Hour

	// DefaultMaxConnections: an idle TLS connection costs about 35 KB, so
	// 4096 of them about 150 MB.
	DefaultMaxConnections      = 4096
	DefaultMaxConnectionsPerIP = 256

	DefaultLogFormat = LogText
	DefaultLogLevel  = "info"

	// DefaultIssuerListWarnBytes is where certgate starts warning about the
	// size of the CA name list: above roughly 12-16 KB some clients and
	// middleboxes fail the handshake, which is why Schannel truncates there.
	DefaultIssuerListWarnBytes = 16384

	// Hostile-input bounds of client chains: verify's defaults, restated
	// here because every default of certgate.yaml lives in this file.
	DefaultMaxRSABits     = 4096
	DefaultMaxChainLength = 10

	DefaultRevocationMode          = RevocationOnline
	DefaultRevocationPrefer        = PreferCRL
	DefaultRevocationOnUnavailable = OnUnavailableDeny
	DefaultRevocationTimeout       = 5 * time.Second
	DefaultRevocationMaxBytes      = 64 << 20
	DefaultRevocationMaxConcurrent = 8

	// The default identity headers are forward's, which strips them from
	// every client request whatever a site configures.
	DefaultUserHeader   = forward.DefaultUserHeader
	DefaultGroupsHeader = forward.DefaultGroupsHeader

	DefaultAccessLogRollover = RolloverDaily
	DefaultAccessLogBuffer   = 8192
	// DefaultAccessLogMaxSize is IIS's default truncateSize (20 MiB), used
	// with rollover: size.
	DefaultAccessLogMaxSize = 20 << 20
)

// MaxIssuerListBytes is the largest CA name list, counted as the encoded
// size sum(2 + len(DER subject)) over the names sent, that fits in the
// CertificateRequest of both TLS versions certgate speaks and that Go
// clients accept.
//
// The protocol: TLS 1.2 (RFC 5246 section 7.4.4) sends the names as
// certificate_authorities<0..2^16-1>, a vector of DistinguishedName
// <1..2^16-1>, so each name costs 2 length bytes plus its DER and the sum
// is at most 65535. TLS 1.3 (RFC 8446 sections 4.3.2 and 4.2.4) sends them
// in the certificate_authorities extension, authorities<3..2^16-1>, and the
// whole extensions block of the CertificateRequest is itself a vector
// <2..2^16-1>.
//
// The implementations: Go's TLS client refuses any handshake message longer
// than 65536 bytes (crypto/tls maxHandshake), so the whole CertificateRequest
// body must stay within that. In TLS 1.3 that body is the request context
// (1 byte), the extensions length (2) and the extensions Go's server sends:
// status_request (4 bytes), signed_certificate_timestamp (4),
// signature_algorithms and signature_algorithms_cert (4 + 2 + 2 per scheme
// each; 12 schemes in Go 1.26) and certificate_authorities' header (4) and
// vector length (2). TLS 1.2 needs less (1 + certificate types + 2 + 2 per
// scheme + 2). Leaving room for 32 schemes per list, so that a Go release
// adding schemes cannot push a full list over:
//
//	65536 - 1 - 2 - (4 + 4 + 2*(4+2+2*32) + 4 + 2) = 65536 - 157 = 65379
//
// The naive 65535 breaks handshakes in both versions: Go's TLS 1.3 server
// cannot encode the request, and Go's TLS 1.2 client rejects it
// (TestMaxIssuerListBytesFitsCertificateRequest).
const MaxIssuerListBytes = maxHandshakeMessage - 1 - 2 - issuerListFraming

// maxHandshakeMessage is the largest handshake message Go's TLS client
// accepts (crypto/tls maxHandshake).
const maxHandshakeMessage = 65536

// issuerListFraming is what the TLS 1.3 extensions block holds besides the
// names themselves.
const issuerListFraming = 4 + 4 + 2*(4+2+2*maxSignatureSchemes) + 4 + 2

// maxSignatureSchemes is the headroom for signature_algorithms(_cert).
const maxSignatureSchemes = 32

// Enumerated values. Validate rejects anything else.
const (
	UpstreamEcho = "echo"

	// UpgradeWebSocket is the upgrade protocol of RFC 6455; UpgradeH2C the
	// cleartext HTTP/2 upgrade RFC 9113 removed, which is always refused.
	UpgradeWebSocket = "websocket"
	UpgradeH2C       = "h2c"

	AdminOff = "off"

	LogText = "text"
	LogJSON = "json"

	RevocationOnline    = "online"     // IIS CertCheckMode 0
	RevocationOff       = "off"        // IIS CertCheckMode 1
	RevocationCacheOnly = "cache-only" // IIS CertCheckMode 2

	PreferCRL  = "crl"
	PreferOCSP = "ocsp"

	OnUnavailableDeny  = "deny"
	OnUnavailableAllow = "allow"

	RolloverDaily = "daily"
	RolloverSize  = "size"
	RolloverNone  = "none"
)

var (
	clientCertValues    = []string{ClientCertIgnore, ClientCertAccept, ClientCertRequire}
	logFormatValues     = []string{LogText, LogJSON}
	logLevelValues      = []string{"debug", "info", "warn", "error"}
	revocationModes     = []string{RevocationOnline, RevocationOff, RevocationCacheOnly}
	preferValues        = []string{PreferCRL, PreferOCSP}
	onUnavailableValues = []string{OnUnavailableDeny, OnUnavailableAllow}
	rolloverValues      = []string{RolloverDaily, RolloverSize, RolloverNone}
)

// ApplyDefaults fills every unset field with its default and resolves
// relative file paths against the directory of c.Path. Parse and Load call
// it; call it yourself only for a Config built in Go. It runs once: later
// calls do nothing, so paths are never resolved twice.
func (c *Config) ApplyDefaults() {
	if c.defaulted {
		return
	}
	c.defaulted = true

	setString(&c.Listen, DefaultListen)
	setDuration(&c.Timeouts.Handshake, DefaultHandshakeTimeout)
	setDuration(&c.Timeouts.ReadHeader, DefaultReadHeaderTimeout)
	setDuration(&c.Timeouts.Idle, DefaultIdleTimeout)
	setDuration(&c.Timeouts.Shutdown, DefaultShutdownTimeout)
	setDuration(&c.Timeouts.Upstream, DefaultUpstreamTimeout)
	setDuration(&c.Timeouts.ReadBody, DefaultReadBodyTimeout)
	setDuration(&c.Timeouts.Write, DefaultWriteTimeout)
	setDuration(&c.Timeouts.MaxConnectionAge, DefaultMaxConnectionAge)
	if c.Limits.MaxConnections == 0 {
		c.Limits.MaxConnections = DefaultMaxConnections
	}
	if c.Limits.MaxConnectionsPerIP == 0 {
		c.Limits.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	setString(&c.Admin.Listen, DefaultAdminListen)
	c.Admin.TokenFile = c.resolve(c.Admin.TokenFile)
	setString(&c.Log.Format, DefaultLogFormat)
	setString(&c.Log.Level, DefaultLogLevel)
	c.Log.Format = strings.ToLower(c.Log.Format)
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.File = c.resolve(c.Log.File) // empty means stderr
	c.AccessLog.applyDefaults(c)
	c.resolvePaths(c.SessionTickets.Keys)
	setDuration(&c.Reload.Debounce, DefaultReloadDebounce)
	for i := range c.Sites {
		c.Sites[i].applyDefaults(c)
	}
}

func (s *Site) applyDefaults(c *Config) {
	// SNI names are case-insensitive and a trailing dot names the same host
	// (RFC 6066 section 3); normalising here lets the gateway compare bytes.
	for i, h := range s.Hosts {
		s.Hosts[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	}
	s.Certificate.Cert = c.resolve(s.Certificate.Cert)
	s.Certificate.Key = c.resolve(s.Certificate.Key)
	s.Certificate.PFX = c.resolve(s.Certificate.PFX)
	s.Certificate.PasswordFile = c.resolve(s.Certificate.PasswordFile)
	s.Upstream = strings.TrimSpace(s.Upstream)
	s.ClientAuth.applyDefaults(c)
	if s.Mapping != nil {
		s.Mapping.applyDefaults(c.resolve)
	}
	s.Forward.applyDefaults()
	if len(s.Locations) == 0 {
		// No location rule: serve everything without asking for a
		// certificate (IIS sslFlags None), never an implicit require.
		pol := s.ClientAuth.ClientCert
		if !slices.Contains(clientCertValues, pol) {
			// Invalid: reported at client_auth.client_cert, and a config
			// that fails validation is never served.
			pol = ClientCertIgnore
		}
		s.Locations = []Location{{Path: "/", ClientCert: pol}}
	}
	for i := range s.Locations {
		l := &s.Locations[i]
		l.ClientCert = strings.ToLower(strings.TrimSpace(l.ClientCert))
		if l.RejectInvalid == nil {
			v := s.ClientAuth.RejectInvalid
			l.RejectInvalid = &v
		}
		for j, u := range l.Upgrade {
			// Upgrade protocol names are case-insensitive tokens.
			l.Upgrade[j] = strings.ToLower(strings.TrimSpace(u))
		}
	}
	for i, name := range s.Paths.Allow {
		s.Paths.Allow[i] = strings.ToLower(strings.TrimSpace(name))
	}
	s.AccessLog.applyDefaults(c)
	if s.Diagnostics.Page && s.Diagnostics.Path == "" {
		s.Diagnostics.Path = DefaultDiagnosticsPath
	}
}

func (a *ClientAuth) applyDefaults(c *Config) {
	c.resolvePaths(a.Trust.Roots)
	c.resolvePaths(a.Trust.Intermediates)

	il := &a.IssuerList
	if il.Send == nil {
		v := true // IIS SendTrustedIssuerList defaults to sending
		il.Send = &v
	}
	c.resolvePaths(il.Source)
	if len(il.Source) == 0 && len(a.Trust.Roots) > 0 {
		// The list sent defaults to the trusted roots. An explicit source
		// replaces them; it is never appended (the IIS CTL pitfall).
		il.Source = append(Paths(nil), a.Trust.Roots...)
	}
	if il.WarnBytes == nil {
		v := DefaultIssuerListWarnBytes
		il.WarnBytes = &v
	}
	if il.MaxBytes == nil {
		v := MaxIssuerListBytes
		il.MaxBytes = &v
	}

	if a.MaxRSABits == 0 {
		a.MaxRSABits = DefaultMaxRSABits
	}
	if a.MaxChainLength == 0 {
		a.MaxChainLength = DefaultMaxChainLength
	}

	// Paths no location covers fail closed on a site that verifies
	// certificates; a site without trust roots cannot ask for one.
	a.ClientCert = strings.ToLower(strings.TrimSpace(a.ClientCert))
	if a.ClientCert == "" {
		a.ClientCert = ClientCertIgnore
		if len(a.Trust.Roots) > 0 {
			a.ClientCert = ClientCertRequire
		}
	}

	r := &a.Revocation
	setString(&r.Mode, DefaultRevocationMode)
	setString(&r.Prefer, DefaultRevocationPrefer)
	setString(&r.OnUnavailable, DefaultRevocationOnUnavailable)
	r.Mode = strings.ToLower(r.Mode)
	r.Prefer = strings.ToLower(r.Prefer)
	r.OnUnavailable = strings.ToLower(r.OnUnavailable)
	setDuration(&r.Timeout, DefaultRevocationTimeout)
	if r.MaxBytes == 0 {
		r.MaxBytes = DefaultRevocationMaxBytes
	}
	if r.MaxConcurrent == 0 {
		r.MaxConcurrent = DefaultRevocationMaxConcurrent
	}
	c.resolvePaths(r.CRLs)
	r.CacheDir = c.resolve(r.CacheDir)
	for i, h := range r.AllowHosts {
		r.AllowHosts[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	}
}

func (f *Forward) applyDefaults() {
	setString(&f.UserHeader, DefaultUserHeader)
	setString(&f.GroupsHeader, DefaultGroupsHeader)
	if f.ClientCert == nil {
		v := true
		f.ClientCert = &v
	}
	if h := f.SSLHeaders; h != nil {
		d := forward.DefaultSSLHeaders
		setString(&h.Verify, d.Verify)
		setString(&h.SubjectDN, d.SubjectDN)
		setString(&h.IssuerDN, d.IssuerDN)
		setString(&h.Serial, d.Serial)
		setString(&h.Fingerprint, d.SHA256)
		setString(&h.Cert, d.Cert)
	}
}

func (a *AccessLog) applyDefaults(c *Config) {
	if a == nil {
		return
	}
	setString(&a.Rollover, DefaultAccessLogRollover)
	a.Rollover = strings.ToLower(a.Rollover)
	if a.Rollover == RolloverSize && a.MaxSize == 0 {
		a.MaxSize = DefaultAccessLogMaxSize
	}
	if a.Buffer == 0 {
		a.Buffer = DefaultAccessLogBuffer
	}
	a.Dir = c.resolve(a.Dir)
}

// resolve makes a relative path relative to the config file's directory, so
// that a config works the same whatever the working directory. With a
// config in the working directory the result stays short ("ca.pem"), which
// keeps error messages readable.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

func (c *Config) resolvePaths(ps Paths) {
	for i, p := range ps {
		ps[i] = c.resolve(p)
	}
}

func setString(s *string, def string) {
	if strings.TrimSpace(*s) == "" {
		*s = def
	}
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}
