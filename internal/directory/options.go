package directory

import (
	"crypto/x509"
	"time"
)

// Options configure a Directory. The site build converts a certgate.yaml
// mapping.directory block into them; a doctor command or a test can build
// them directly.
type Options struct {
	// URL is ldaps://host:port, or ldap://host:port, on which StartTLS is
	// always required: a bind password and account data never cross the
	// network in clear.
	URL string
	// RootCAs verify the directory's certificate; nil means the system
	// roots.
	RootCAs *x509.CertPool
	// ServerName overrides the name the directory's certificate must carry
	// (default: the URL's host).
	ServerName string
	// BindDN and Password bind each connection; both empty binds
	// anonymously.
	BindDN, Password string
	// BaseDN is where accounts and groups are searched (subtree).
	BaseDN string
	// DialTimeout bounds connecting, TLS and the bind; Timeout bounds one
	// whole lookup (every search it makes). Defaults 2s and 3s.
	DialTimeout, Timeout time.Duration
	// PoolSize is the number of idle connections kept (default 4).
	PoolSize int
	// CacheTTL is how long a found account is reused; NegativeTTL how long
	// "no account" is (shorter: a new mapping should take effect soon).
	// StaleIfError serves an expired positive entry for that long past
	// its TTL when the directory is unavailable. Defaults 5m, 1m, 0.
	CacheTTL, NegativeTTL, StaleIfError time.Duration
	// CacheSize bounds the number of cached certificates (default 10000).
	CacheSize int
	// Methods is the lookup order (default DefaultMethods: strong only).
	Methods []Method
	// AllowWeak allows the weak methods in Methods; without it a weak
	// method is a configuration error.
	AllowWeak bool
	// MaxGroupDepth bounds the nested-group walk when the server has no
	// LDAP_MATCHING_RULE_IN_CHAIN (default 8 levels); MaxGroups bounds the
	// groups of one account (default 256).
	MaxGroupDepth, MaxGroups int
	// Now is the clock (account expiry, cache); nil means time.Now.
	Now func() time.Time
}

func (o *Options) withDefaults() Options {
	c := *o
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DialTimeout, 2*time.Second)
	def(&c.Timeout, 3*time.Second)
	def(&c.CacheTTL, 5*time.Minute)
	def(&c.NegativeTTL, time.Minute)
	if c.PoolSize == 0 {
		c.PoolSize = 4
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10000
	}
	if len(c.Methods) == 0 {
		c.Methods = DefaultMethods
	}
	if c.MaxGroupDepth == 0 {
		c.MaxGroupDepth = 8
	}
	if c.MaxGroups == 0 {
		c.MaxGroups = 256
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
