package revocation

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Mode is where revocation information may come from.
type Mode int

const (
	// Online (the default, IIS CertCheckMode 0): local CRL files, the
	// in-memory and on-disk cache, and the network (CRL distribution
	// points, delta CRLs, OCSP).
	Online Mode = iota
	// CacheOnly (IIS CertCheckMode 2): local CRL files and the on-disk
	// cache only; the network is never used.
	CacheOnly
	// Off (IIS CertCheckMode 1): no check. The usual way to express it is
	// to build no Engine; an Engine in this mode answers NotChecked.
	Off
)

// ParseMode parses the config spelling: "online" (or ""), "cache-only",
// "off".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "online":
		return Online, nil
	case "cache-only", "cacheonly", "cache_only":
		return CacheOnly, nil
	case "off":
		return Off, nil
	}
	return 0, fmt.Errorf("%w: mode %q: want online, cache-only or off", ErrConfig, s)
}

func (m Mode) String() string {
	switch m {
	case Online:
		return "online"
	case CacheOnly:
		return "cache-only"
	case Off:
		return "off"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// CertCheckMode is the IIS CertCheckMode value the mode corresponds to
// (MaxAge adds CertCheckMode 4 to Online).
func (m Mode) CertCheckMode() int {
	switch m {
	case CacheOnly:
		return 2
	case Off:
		return 1
	}
	return 0
}

// Defaults applied by New to zero Options fields.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultMaxBytes      = 64 << 20
	DefaultMaxConcurrent = 4
)

// Sources preferred first (Options.Prefer).
const (
	PreferCRL  = "crl"
	PreferOCSP = "ocsp"
)

// Options configures an Engine. Zero values take the defaults above.
type Options struct {
	Mode Mode
	// Prefer is "crl" (default) or "ocsp": the source tried first; the
	// other is the fallback when the first gives no answer.
	Prefer string
	// LocalCRLs are CRL files or directories (PEM or DER; in a directory,
	// the files ending .crl, .pem, .der). They are used in every mode and
	// before any URL. New fails on a file that cannot be read or is not a
	// CRL; a well-formed CRL that must not be used (unknown critical
	// extension) is logged and reported by Check instead.
	LocalCRLs []string
	// Issuers are CA certificates (the site's roots and intermediates)
	// against which local and cached CRLs are verified at New, so that the
	// first request does not pay for the signature of a big CRL and a CRL
	// no known CA signed is reported at start-up. CheckChain also takes
	// CRL signers from them (separate CRL keys, indirect CRL issuers).
	// Optional.
	Issuers []*x509.Certificate
	// MaxAge makes a CRL older than this (since it was fetched) unusable in
	// Online mode even before its nextUpdate: it is refetched (IIS
	// CertCheckMode 4 with CRLRefreshTime). 0: nextUpdate only.
	MaxAge time.Duration
	// Timeout bounds each fetch, including the wait for a fetch slot.
	Timeout time.Duration
	// MaxBytes bounds each response body.
	MaxBytes int64
	// CacheDir, when set, keeps fetched CRLs and OCSP responses on disk;
	// they are loaded at New so a restart (or CacheOnly mode) does not need
	// the network.
	CacheDir string
	// AllowHosts, when non-empty, restricts fetches to these hosts: exact
	// names ("pki.example.com"), "host:port", or "*.example.com" for any
	// subdomain. Redirects are checked too.
	AllowHosts []string
	// MaxConcurrent caps simultaneous fetches across the Engine.
	MaxConcurrent int
	// FetchProxy, when set, is the HTTP forward proxy every fetch goes
	// through (http://host:port), so that a fleet of instances shares one
	// caching proxy instead of each downloading every CRL. Empty: the
	// proxy of the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). Not
	// used with HTTPClient.
	FetchProxy string
	// HTTPClient is used for fetches (a copy whose CheckRedirect also
	// enforces the scheme and host rules). Default: a client whose dial,
	// TLS handshake and response header each time out after Timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock used for freshness and refresh decisions.
	Now func() time.Time
	// OnFetch, when set, is called after every network fetch, on the
	// request path or in the background (kind "crl", "delta-crl" or
	// "ocsp"), for metrics. It must not block.
	OnFetch func(kind, url string, ok bool, d time.Duration)
	// OnFetchStart, when set, is called before every network fetch (the
	// same kinds as OnFetch), for progress output: `certgate verify
	// --urlfetch` prints each URL as it starts. It must not block.
	OnFetchStart func(kind, url string)
}

// withDefaults returns o with defaults applied, or an error naming the
// invalid field.
func (o Options) withDefaults() (Options, error) {
	switch strings.ToLower(o.Prefer) {
	case "":
		o.Prefer = PreferCRL
	case PreferCRL, PreferOCSP:
		o.Prefer = strings.ToLower(o.Prefer)
	default:
		return o, fmt.Errorf("%w: prefer %q: want crl or ocsp", ErrConfig, o.Prefer)
	}
	if o.Mode < Online || o.Mode > Off {
		return o, fmt.Errorf("%w: mode %d", ErrConfig, int(o.Mode))
	}
	switch {
	case o.Timeout < 0:
		return o, fmt.Errorf("%w: timeout: must be > 0", ErrConfig)
	case o.MaxBytes < 0:
		return o, fmt.Errorf("%w: max_bytes: must be > 0", ErrConfig)
	case o.MaxAge < 0:
		return o, fmt.Errorf("%w: max_age: must be >= 0", ErrConfig)
	case o.MaxConcurrent < 0:
		return o, fmt.Errorf("%w: max_concurrent: must be > 0", ErrConfig)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FetchProxy != "" {
		u, err := url.Parse(o.FetchProxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("%w: fetch_proxy %q: want http://host:port", ErrConfig, o.FetchProxy)
		}
	}
	for i, h := range o.AllowHosts {
		if strings.TrimSpace(h) == "" || strings.Contains(h, "/") {
			return o, fmt.Errorf("%w: allow_hosts[%d] %q: want a host name, host:port or *.domain", ErrConfig, i, h)
		}
	}
	return o, nil
}

// Validate reports the first invalid field of o, as New would; it is for
// callers that check options before building anything (the site build
// and `certgate verify`, which fetches AIA URLs under the same limits).
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}
