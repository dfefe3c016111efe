package directory

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/dname"
	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/singleflight"
)

// Account state names (Result.State), as the 403.12 reason says them.
const (
	StateDisabled = "disabled"
	StateLocked   = "locked out"
	StateExpired  = "expired"
)

// userAccountControl bits (MS-ADTS 2.2.16).
const (
	uacAccountDisable = 0x2
	uacLockout        = 0x10
)

// oidMatchingRuleInChain is LDAP_MATCHING_RULE_IN_CHAIN: AD resolves
// nested group membership in one search. oidCapActiveDirectory in the
// root DSE's supportedCapabilities says the server is AD.
const (
	oidMatchingRuleInChain = "1.2.840.113556.1.4.1941"
	oidCapActiveDirectory  = "1.2.840.113556.1.4.800"
)

var accountAttrs = []string{"userPrincipalName", "sAMAccountName", "objectSid", "userAccountControl", "lockoutTime", "accountExpires", "memberOf"}

// Try is one search a lookup made (or skipped), for `certgate map test`.
type Try struct {
	Method Method `json:"method"`
	Strong bool   `json:"strong"`
	// Filter is the LDAP filter sent; empty when the method did not apply.
	Filter string `json:"filter,omitempty"`
	// Found is the entry DN the filter matched.
	Found  string `json:"found,omitempty"`
	Detail string `json:"detail"`
}

// Result is what a lookup found.
type Result struct {
	// Found: exactly one account matched a method.
	Found bool   `json:"found"`
	DN    string `json:"dn,omitempty"`
	// User is the account's userPrincipalName, or else its sAMAccountName.
	User   string   `json:"user,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Method Method   `json:"method,omitempty"`
	Strong bool     `json:"strong"`
	// State is "" for a usable account, or StateDisabled, StateLocked,
	// StateExpired: the account was found and must be refused.
	State string `json:"state,omitempty"`
	// Refused says why a found (or ambiguous) mapping must not be used:
	// two accounts match, or the certificate's SID names another account.
	Refused string `json:"refused,omitempty"`
	// Reason is one sentence for the log and the detailed error.
	Reason string `json:"reason"`
	Tries  []Try  `json:"tries,omitempty"`
	// Cached: served from the cache; Stale: past its TTL, served because
	// the directory is unavailable (stale_if_error).
	Cached bool `json:"cached,omitempty"`
	Stale  bool `json:"stale,omitempty"`
}

// Stats are the directory's counters since New. Lookups (uncached) is
// Found + NotFound + Errors.
type Stats struct {
	Lookups, Found, NotFound, CacheHits, StaleServed, Errors, WeakUsed uint64
	// LatencyNanos is the total time of uncached lookups.
	LatencyNanos uint64
}

// Directory looks certificates up in one LDAP directory. It is safe for
// concurrent use; Close releases its connections.
type Directory struct {
	o        Options
	u        *url.URL
	tls      *tls.Config
	pool     chan *pconn
	inChain  atomic.Int32 // 0 unknown, 1 AD (in-chain rule), 2 walk
	mu       sync.Mutex
	cache    map[[32]byte]cacheEntry
	lookups  atomic.Uint64
	found    atomic.Uint64
	notFound atomic.Uint64
	hits     atomic.Uint64
	stale    atomic.Uint64
	errs     atomic.Uint64
	weak     atomic.Uint64
	latency  atomic.Uint64
	closed   atomic.Bool
	flight   singleflight.Group
}

type cacheEntry struct {
	res      Result
	expires  time.Time
	negative bool
}

// New checks o and returns a Directory. It does not connect: the first
// lookup does, so that a directory down at startup does not stop the
// gateway (its lookups fail closed until it answers).
func New(o Options) (*Directory, error) {
	c := o.withDefaults()
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("%w: url %q: want ldaps://host[:port] or ldap://host[:port] (StartTLS)", ErrOptions, o.URL)
	}
	if c.BaseDN == "" {
		return nil, fmt.Errorf("%w: base_dn is required", ErrOptions)
	}
	if (c.BindDN == "") != (c.Password == "") {
		return nil, fmt.Errorf("%w: bind_dn and its password go together", ErrOptions)
	}
	for _, m := range c.Methods {
		if !m.Known() {
			return nil, fmt.Errorf("%w: unknown method %q (want one of %s)", ErrOptions, m, joinMethods(Methods))
		}
		if !m.Strong() && !c.AllowWeak {
			return nil, fmt.Errorf("%w: method %q is a weak mapping (KB5014754); set allow_weak: true to use it", ErrOptions, m)
		}
	}
	host := u.Hostname()
	if c.ServerName != "" {
		host = c.ServerName
	}
	return &Directory{
		o:     c,
		u:     u,
		tls:   &tls.Config{RootCAs: c.RootCAs, ServerName: host, MinVersion: tls.VersionTLS12},
		pool:  make(chan *pconn, c.PoolSize),
		cache: map[[32]byte]cacheEntry{},
	}, nil
}

func joinMethods(ms []Method) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// Methods returns the configured lookup order.
func (d *Directory) Methods() []Method { return d.o.Methods }

// URL returns the directory URL, for messages.
func (d *Directory) URL() string { return d.o.URL }

// Stats returns the counters.
func (d *Directory) Stats() Stats {
	return Stats{Lookups: d.lookups.Load(), Found: d.found.Load(), NotFound: d.notFound.Load(), CacheHits: d.hits.Load(), StaleServed: d.stale.Load(),
		Errors: d.errs.Load(), WeakUsed: d.weak.Load(), LatencyNanos: d.latency.Load()}
}

// Close closes the idle connections and stops pooling: a reload retires
// the old site's Directory this way, and a request still finishing on the
// old configuration can look up on a connection of its own.
func (d *Directory) Close() error {
	d.closed.Store(true)
	for {
		select {
		case c := <-d.pool:
			c.Close()
		default:
			return nil
		}
	}
}

// Input is what the caller knows about the certificate beyond its chain.
type Input struct {
	// NTAuth: the leaf was issued directly by a CA trusted to write
	// account names (mapping.upn.issuers). The SID and UPN methods read
	// names the CA wrote, so they apply only then.
	NTAuth bool
}

// Lookup finds the account of a verified chain's leaf. A directory that
// cannot be asked gives an error wrapping ErrUnavailable, unless a
// positive cached result within StaleIfError can be served (Stale set).
// Otherwise the Result says what was found; it is cached (shorter when
// nothing was found). trace keeps the searches made in Result.Tries and
// skips the cache, for `certgate map test`.
func (d *Directory) Lookup(chain []*x509.Certificate, in Input, trace bool) (Result, error) {
	if len(chain) == 0 || chain[0] == nil {
		return Result{Reason: "no certificate"}, nil
	}
	leaf := chain[0]
	key := cacheKey(leaf, in)
	now := d.o.Now()
	if !trace {
		if e, ok := d.cached(key); ok && now.Before(e.expires) {
			d.hits.Add(1)
			r := e.res
			r.Cached = true
			return r, nil
		}
	}
	if trace {
		return d.ask(key, leaf, in, now, true)
	}
	// Concurrent requests for one certificate share one directory round
	// trip: a burst of new connections after a restart or a cache expiry
	// must not become a burst of searches (or of dials to a slow server).
	v, err, _ := d.flight.Do(string(key[:]), func() (any, error) {
		r, err := d.ask(key, leaf, in, now, false)
		return r, err
	})
	return v.(Result), err
}

// ask makes one uncached lookup and caches its answer, or serves a stale
// one when the directory is unavailable.
func (d *Directory) ask(key [32]byte, leaf *x509.Certificate, in Input, now time.Time, trace bool) (Result, error) {
	d.lookups.Add(1)
	start := time.Now()
	r, err := d.lookup(leaf, in, now, trace)
	d.latency.Add(uint64(time.Since(start)))
	if err != nil {
		d.errs.Add(1)
		if e, ok := d.cached(key); ok && !e.negative && d.o.StaleIfError > 0 && now.Before(e.expires.Add(d.o.StaleIfError)) {
			d.stale.Add(1)
			s := e.res
			s.Cached, s.Stale = true, true
			s.Reason += fmt.Sprintf(" (cached result served: the directory is unavailable: %v)", err)
			return s, nil
		}
		return r, err
	}
	if r.Found {
		d.found.Add(1)
		if !r.Strong {
			d.weak.Add(1)
		}
	} else {
		d.notFound.Add(1)
	}
	ttl, neg := d.o.CacheTTL, !r.Found
	if neg {
		ttl = d.o.NegativeTTL
	}
	d.store(key, cacheEntry{res: withoutTries(r), expires: now.Add(ttl), negative: neg})
	return r, nil
}

// cacheKey is the certificate's SHA-256 with the NTAuth bit folded in: the
// same certificate may be asked with it by a site that lists its CA and
// without by another.
func cacheKey(leaf *x509.Certificate, in Input) [32]byte {
	key := sha256.Sum256(leaf.Raw)
	if in.NTAuth {
		key[0] ^= 0x80
	}
	return key
}

func withoutTries(r Result) Result {
	r.Tries = nil
	return r
}

func (d *Directory) cached(k [32]byte) (cacheEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.cache[k]
	return e, ok
}

func (d *Directory) store(k [32]byte, e cacheEntry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cache) >= d.o.CacheSize {
		// Evict expired entries first, then arbitrary ones: the cache is a
		// latency aid, never the source of truth.
		now := d.o.Now()
		for k2, e2 := range d.cache {
			if now.After(e2.expires.Add(d.o.StaleIfError)) || len(d.cache) >= d.o.CacheSize {
				delete(d.cache, k2)
			}
			if len(d.cache) < d.o.CacheSize*9/10 {
				break
			}
		}
	}
	d.cache[k] = e
}

// lookup runs the methods in order on one pooled connection.
func (d *Directory) lookup(leaf *x509.Certificate, in Input, now time.Time, trace bool) (Result, error) {
	var r Result
	sid, sidErr := CertificateSID(leaf)
	if sidErr != nil {
		// A SID we cannot read might name another account than the one a
		// weaker method would find: refuse, as a DC would.
		r.Refused = sidErr.Error()
		r.Reason = "the certificate's SID extension cannot be read: " + sidErr.Error()
		return r, nil
	}
	deadline := time.Now().Add(d.o.Timeout)
	conn, err := d.get(deadline)
	if err != nil {
		return Result{Reason: err.Error()}, err
	}
	ok := false
	defer func() { d.put(conn, ok) }()

	var entry *ldap.Entry
	for _, m := range d.o.Methods {
		t := Try{Method: m, Strong: m.Strong()}
		filter, why := d.filter(m, leaf, sid, in)
		if filter == "" {
			t.Detail = why
			r.Tries = append(r.Tries, t)
			continue
		}
		t.Filter = filter
		res, err := d.search(conn, deadline, d.o.BaseDN, ldap.ScopeWholeSubtree, filter, accountAttrs, 2)
		if err != nil {
			t.Detail = err.Error()
			r.Tries = append(r.Tries, t)
			return Result{Tries: r.Tries, Reason: err.Error()}, err
		}
		switch len(res.Entries) {
		case 0:
			t.Detail = "no entry"
			r.Tries = append(r.Tries, t)
			continue
		case 1:
		default:
			t.Detail = fmt.Sprintf("%d entries match", len(res.Entries))
			r.Tries = append(r.Tries, t)
			r.Refused = fmt.Sprintf("method %s matches more than one account (%s, %s); a certificate must name one account", m, res.Entries[0].DN, res.Entries[1].DN)
			r.Reason = r.Refused
			ok = true
			return r, nil
		}
		entry = res.Entries[0]
		t.Found, t.Detail = entry.DN, "found "+entry.DN
		r.Tries = append(r.Tries, t)
		r.Method, r.Strong = m, m.Strong()
		break
	}
	if entry == nil {
		ok = true
		r.Reason = "no account in " + d.o.BaseDN + " matches the certificate by " + joinMethods(d.o.Methods)
		return r, nil
	}
	r.Found, r.DN = true, entry.DN
	r.User = entry.GetAttributeValue("userPrincipalName")
	if r.User == "" {
		r.User = entry.GetAttributeValue("sAMAccountName")
	}
	if r.User == "" {
		r.User = entry.DN
	}
	how := "strong"
	if !r.Strong {
		how = "weak"
	}
	r.Reason = fmt.Sprintf("account %s (%s) found by %s (%s mapping)", r.User, r.DN, r.Method, how)

	// KB5014754: a certificate that carries a SID maps only to that SID's
	// account, whichever method found it.
	if sid != "" {
		if got := FormatSID(entry.GetRawAttributeValue("objectSid")); !strings.EqualFold(got, sid) {
			r.Refused = fmt.Sprintf("the certificate's SID %s is not the objectSid of %s (%s)", sid, r.DN, orNone(got))
			r.Reason = r.Refused
			ok = true
			return r, nil
		}
	}
	r.State = accountState(entry, now)
	groups, err := d.groups(conn, deadline, entry)
	if err != nil {
		return Result{Tries: r.Tries, Reason: err.Error()}, err
	}
	r.Groups = groups
	ok = true
	return r, nil
}

func orNone(s string) string {
	if s == "" {
		return "it has none"
	}
	return "it has " + s
}

// filter builds the LDAP filter of method m, or says why m does not apply.
func (d *Directory) filter(m Method, leaf *x509.Certificate, sid string, in Input) (string, string) {
	switch m {
	case MethodSID:
		if sid == "" {
			return "", "the certificate has no SID extension"
		}
		if !in.NTAuth {
			return "", "the issuing CA is not in upn.issuers, so the SID it wrote is not trusted"
		}
		b, _ := ParseSID(sid)
		return "(objectSid=" + escapeBinary(b) + ")", ""
	case MethodUPN:
		if !in.NTAuth {
			return "", "the issuing CA is not in upn.issuers, so the UPN it wrote is not trusted"
		}
		upns, err := dname.UPNs(leaf)
		if err != nil {
			return "", "the certificate's UPN cannot be read: " + err.Error()
		}
		if len(upns) == 0 {
			return "", "the certificate has no UPN"
		}
		return "(userPrincipalName=" + ldap.EscapeFilter(upns[0]) + ")", ""
	}
	v, ok := AltSecID(m, leaf)
	if !ok {
		return "", "the certificate has no value for this method"
	}
	return "(altSecurityIdentities=" + ldap.EscapeFilter(v) + ")", ""
}

// accountState reads the account flags AD keeps: userAccountControl
// ACCOUNTDISABLE and LOCKOUT, lockoutTime, accountExpires (FILETIME; 0 or
// the largest int64 mean never).
func accountState(e *ldap.Entry, now time.Time) string {
	uac, _ := strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
	if uac&uacAccountDisable != 0 {
		return StateDisabled
	}
	if lt, _ := strconv.ParseInt(e.GetAttributeValue("lockoutTime"), 10, 64); uac&uacLockout != 0 || lt > 0 {
		return StateLocked
	}
	if ae, err := strconv.ParseInt(e.GetAttributeValue("accountExpires"), 10, 64); err == nil && ae > 0 && ae != 1<<63-1 {
		if fileTime(ae).Before(now) {
			return StateExpired
		}
	}
	return ""
}

// fileTime converts a Windows FILETIME (100 ns since 1601-01-01 UTC).
func fileTime(ft int64) time.Time {
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	return time.Unix(0, (ft-epochDiff)*100).UTC()
}

// groups returns the names (first RDN value) of the account's groups,
// nested ones included: with AD's LDAP_MATCHING_RULE_IN_CHAIN in one
// search, elsewhere by walking memberOf, at most MaxGroupDepth levels and
// MaxGroups groups (a cycle or a huge tree must not stall a request).
func (d *Directory) groups(conn *pconn, deadline time.Time, e *ldap.Entry) ([]string, error) {
	if d.inChain.Load() == 0 {
		mode := int32(2)
		res, err := d.search(conn, deadline, "", ldap.ScopeBaseObject, "(objectClass=*)", []string{"supportedCapabilities"}, 1)
		if err != nil {
			return nil, err
		}
		if len(res.Entries) == 1 {
			for _, c := range res.Entries[0].GetAttributeValues("supportedCapabilities") {
				if c == oidCapActiveDirectory {
					mode = 1
				}
			}
		}
		d.inChain.Store(mode)
	}
	var dns []string
	if d.inChain.Load() == 1 {
		res, err := d.search(conn, deadline, d.o.BaseDN, ldap.ScopeWholeSubtree,
			"(member:"+oidMatchingRuleInChain+":="+ldap.EscapeFilter(e.DN)+")", []string{"1.1"}, d.o.MaxGroups)
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return nil, err
		}
		if res != nil {
			for _, g := range res.Entries {
				dns = append(dns, g.DN)
			}
		}
	} else {
		seen := map[string]bool{}
		level := e.GetAttributeValues("memberOf")
		for depth := 0; len(level) > 0 && depth < d.o.MaxGroupDepth && len(dns) < d.o.MaxGroups; depth++ {
			var next []string
			for _, g := range level {
				k := strings.ToLower(g)
				if seen[k] || len(dns) >= d.o.MaxGroups {
					continue
				}
				seen[k] = true
				dns = append(dns, g)
				res, err := d.search(conn, deadline, g, ldap.ScopeBaseObject, "(objectClass=*)", []string{"memberOf"}, 1)
				if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
					continue // a dangling memberOf value
				}
				if err != nil {
					return nil, err
				}
				if len(res.Entries) == 1 {
					next = append(next, res.Entries[0].GetAttributeValues("memberOf")...)
				}
			}
			level = next
		}
	}
	names := make([]string, 0, len(dns))
	for _, g := range dns {
		names = append(names, groupName(g))
	}
	return names, nil
}

// groupName is the value of a group DN's first RDN ("CN=Admins,OU=..." ->
// "Admins"), the name allow_groups lists.
func groupName(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return dn
	}
	return p.RDNs[0].Attributes[0].Value
}

// search runs one search within the lookup's deadline. Every failure is
// ErrUnavailable but "no such object" on a base search, which the caller
// handles.
func (d *Directory) search(conn *pconn, deadline time.Time, base string, scope int, filter string, attrs []string, limit int) (*ldap.SearchResult, error) {
	left := time.Until(deadline)
	if left <= 0 {
		return nil, fmt.Errorf("%w: %s: no answer within %v", ErrUnavailable, d.o.URL, d.o.Timeout)
	}
	conn.SetTimeout(left)
	secs := int(left / time.Second)
	if secs < 1 {
		secs = 1
	}
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, limit, secs, false, filter, attrs, nil)
	res, err := conn.Search(req)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) && scope == ldap.ScopeBaseObject {
			return nil, err
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			return res, nil
		}
		return nil, fmt.Errorf("%w: %s: search %s under %q: %v", ErrUnavailable, d.o.URL, filter, base, err)
	}
	return res, nil
}

// pconn is a pooled connection and the TCP connection under it, whose
// deadline bounds everything the lookup does on it: go-ldap's request
// timeout does not cover the TLS handshake after StartTLS, and a server
// that answers StartTLS and then stalls must not hold a request.
type pconn struct {
	*ldap.Conn
	raw net.Conn
}

// get returns a pooled connection or dials, StartTLS and binds a new one,
// with the TCP deadline set to the lookup's deadline.
func (d *Directory) get(deadline time.Time) (*pconn, error) {
	for {
		select {
		case c := <-d.pool:
			if c.IsClosing() {
				c.Close()
				continue
			}
			if err := c.raw.SetDeadline(deadline); err != nil {
				c.Close()
				continue
			}
			return c, nil
		default:
		}
		break
	}
	dialDeadline := time.Now().Add(d.o.DialTimeout)
	if deadline.Before(dialDeadline) {
		dialDeadline = deadline
	}
	dialer := &net.Dialer{Deadline: dialDeadline}
	host := d.u.Host
	if d.u.Port() == "" {
		port := "389"
		if d.u.Scheme == "ldaps" {
			port = "636"
		}
		host = net.JoinHostPort(d.u.Hostname(), port)
	}
	raw, err := dialer.Dial("tcp", host)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: connect: %v", ErrUnavailable, d.o.URL, err)
	}
	// The whole setup (TLS, StartTLS, bind) within the dial deadline, the
	// rest of the lookup within its own.
	_ = raw.SetDeadline(dialDeadline)
	var conn net.Conn = raw
	if d.u.Scheme == "ldaps" {
		tc := tls.Client(raw, d.tls)
		if err := tc.Handshake(); err != nil {
			raw.Close()
			return nil, fmt.Errorf("%w: %s: TLS: %v", ErrUnavailable, d.o.URL, err)
		}
		conn = tc
	}
	l := ldap.NewConn(conn, d.u.Scheme == "ldaps")
	l.Start()
	c := &pconn{Conn: l, raw: raw}
	c.SetTimeout(time.Until(dialDeadline))
	if d.u.Scheme == "ldap" {
		if err := c.StartTLS(d.tls); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: %s: StartTLS: %v", ErrUnavailable, d.o.URL, err)
		}
	}
	if d.o.BindDN != "" {
		if err := c.Bind(d.o.BindDN, d.o.Password); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: %s: bind as %q: %v", ErrUnavailable, d.o.URL, d.o.BindDN, err)
		}
	}
	if err := raw.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, d.o.URL, err)
	}
	return c, nil
}

// put returns a healthy connection to the pool; a connection that failed
// (or timed out, leaving a reply in flight) is closed.
func (d *Directory) put(c *pconn, ok bool) {
	if !ok || d.closed.Load() || c.IsClosing() {
		c.Close()
		return
	}
	// No deadline while idle: the next lookup sets its own.
	if c.raw.SetDeadline(time.Time{}) != nil {
		c.Close()
		return
	}
	select {
	case d.pool <- c:
	default:
		c.Close()
	}
}

// IsUnavailable reports whether err means the directory could not be asked.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
