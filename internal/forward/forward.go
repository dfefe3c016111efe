package forward

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// RFC 9440 header names.
const (
	HeaderClientCert      = "Client-Cert"
	HeaderClientCertChain = "Client-Cert-Chain"
)

// Default user and groups header names (config's defaults for
// forward.user_header and groups_header). They are stripped from every
// client request even when a site names other headers.
const (
	DefaultUserHeader   = "X-Remote-User"
	DefaultGroupsHeader = "X-Remote-Groups"
)

// Options say what the upstream is told about the client. They are the
// package's own type: forward does not read config (the site build
// converts a site's forward block, internal/site ForwardOptions).
type Options struct {
	// UserHeader and GroupsHeader name the headers that carry the mapped
	// user and the groups (comma-separated); an empty name sends nothing.
	UserHeader   string
	GroupsHeader string
	// ClientCert sends RFC 9440 Client-Cert and Client-Cert-Chain for a
	// verified certificate.
	ClientCert bool
	// SSL, when set, sends nginx/Apache-style X-SSL-Client-* headers.
	SSL *SSLHeaders
	// XFCC sends Envoy's X-Forwarded-Client-Cert for a verified
	// certificate.
	XFCC bool
	// Strip is what the gateway removes from every client request besides
	// the always-stripped headers: the names certgate sets (Names) and the
	// site's forward.strip, where a name ending in '*' is a prefix.
	Strip []string
}

// alwaysStripped are removed from every client request whatever the
// configuration: the RFC 9440 headers and the X-Forwarded-* family certgate
// sets itself, Forwarded (RFC 7239), which certgate does not set and an
// upstream must not believe from a client, Envoy's X-Forwarded-Client-Cert
// that upstreams used to Envoy trust, and the default user and groups
// headers, so that changing user_header cannot leave the old name open.
var alwaysStripped = []string{
	HeaderClientCert,
	HeaderClientCertChain,
	"Forwarded",
	"X-Forwarded-For",
	"X-Forwarded-Host",
	"X-Forwarded-Proto",
	"X-Forwarded-Client-Cert",
	DefaultUserHeader,
	DefaultGroupsHeader,
	// Upstreams set up behind nginx trust these, configured or not.
	"X-SSL-Client-Verify",
	"X-SSL-Client-S-DN",
	"X-SSL-Client-I-DN",
	"X-SSL-Client-Serial",
	"X-SSL-Client-SHA256",
	"X-SSL-Client-Cert",
	"X-SSL-Client-Fingerprint",
	// IIS ARR backends trust X-ARR-ClientCert as the client's certificate;
	// Apache and others use these spellings.
	"X-ARR-ClientCert",
	"X-Client-Cert",
	"Ssl-Client-Cert",
	// IIS URL Rewrite, ASP.NET, Symfony and Laravel route by these instead
	// of the request line: a client naming /admin here while requesting
	// /public would be routed past the /admin location.
	"X-Original-URL",
	"X-Rewrite-URL",
	"X-Original-Uri",
	"X-Forwarded-Uri",
	"X-Forwarded-Prefix",
	// nginx's realip convention: logged and trusted as the client address.
	"X-Real-IP",
}

// alwaysStrippedPrefixes are header families removed whatever follows
// the prefix: every X-Forwarded-* (certgate sets For, Host and Proto
// itself; Port, Server, Ssl, Uri... would be believed from the client) and
// every X-SSL-Client-* (nginx-style certificate variables).
var alwaysStrippedPrefixes = []string{"X-Forwarded-", "X-SSL-Client-"}

// Names returns the header names certgate sets for a site with options f,
// beyond the always-stripped ones: its user and groups headers.
func Names(f Options) []string {
	var out []string
	for _, n := range append([]string{f.UserHeader, f.GroupsHeader}, f.SSL.names()...) {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// StripSpoofable deletes from h every header named in names or in the
// always-stripped list (RFC 9440 Client-Cert(-Chain), Forwarded,
// X-Forwarded-For/-Host/-Proto/-Client-Cert, X-Remote-User/-Groups), in any
// letter case, with "_" in place of "-", and however often repeated. It
// walks the map rather than calling h.Del because a key can sit in the map
// in non-canonical form (a Header built by hand, HTTP/2 or trailer
// handling), which Del would miss. It returns the keys removed, as they
// were in the map, for logging: a client sending them is probing.
func StripSpoofable(h http.Header, names []string) (removed []string) {
	if len(h) == 0 {
		return nil
	}
	for k := range h {
		if isStripped(k, names) {
			delete(h, k)
			removed = append(removed, k)
		}
	}
	return removed
}

// IsSpoofable reports whether StripSpoofable(h, names) would remove key.
// It does not allocate, so a hot path can check before copying a header.
func IsSpoofable(key string, names ...string) bool { return isStripped(key, names) }

// strippedLengths has bit n set when some always-stripped name is n bytes
// long: most headers of a request (User-Agent, Accept, Cookie...) are
// ruled out by their length alone, which keeps the check that runs on
// every header of every request cheap.
var strippedLengths = lengthMask(alwaysStripped)

func lengthMask(names []string) uint64 {
	var m uint64
	for _, n := range names {
		if len(n) < 64 {
			m |= 1 << len(n)
		}
	}
	return m
}

func isStripped(key string, names []string) bool {
	for _, n := range names {
		if n == "" {
			continue
		}
		if p, ok := strings.CutSuffix(n, "*"); ok {
			if len(key) >= len(p) && sameHeader(key[:len(p)], p) {
				return true
			}
		} else if sameHeader(key, n) {
			return true
		}
	}
	if key != "" && fold(key[0]) == 'x' {
		for _, p := range alwaysStrippedPrefixes {
			if len(key) > len(p) && sameHeader(key[:len(p)], p) {
				return true
			}
		}
	}
	if len(key) >= 64 || strippedLengths&(1<<len(key)) == 0 {
		return false
	}
	for _, n := range alwaysStripped {
		if sameHeader(key, n) {
			return true
		}
	}
	return false
}

// sameHeader compares header names ASCII-case-insensitively with '_' and
// '-' equal.
func sameHeader(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := fold(a[i]), fold(b[i])
		if x != y {
			return false
		}
	}
	return true
}

func fold(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	case c == '_':
		return '-'
	}
	return c
}

// ClientCertHeaders encodes chain (leaf first) as RFC 9440 section 2
// values: cert is the leaf's DER as a structured-field byte sequence
// (":BASE64:"), chainValue the remaining certificates, in chain order, as a
// comma-separated list of byte sequences (empty when chain has only the
// leaf). Pass the leaf and its intermediates, without the trust anchor, as
// a TLS client sends them. Both are empty for an empty chain.
func ClientCertHeaders(chain []*x509.Certificate) (cert string, chainValue string) {
	if len(chain) == 0 || chain[0] == nil {
		return "", ""
	}
	cert = byteSequence(chain[0].Raw)
	items := make([]string, 0, len(chain)-1)
	for _, c := range chain[1:] {
		if c != nil {
			items = append(items, byteSequence(c.Raw))
		}
	}
	// ", " is the RFC 8941 section 4.1.1 list serialisation.
	return cert, strings.Join(items, ", ")
}

func byteSequence(b []byte) string {
	return ":" + base64.StdEncoding.EncodeToString(b) + ":"
}

// ParseClientCert decodes a Client-Cert value (an RFC 8941 byte sequence,
// optionally with parameters, which are ignored) to the certificate DER. It
// does not parse the certificate: that is the caller's decision.
func ParseClientCert(value string) ([]byte, error) {
	v := strings.Trim(value, " \t")
	if v == "" {
		return nil, fmt.Errorf("parse %s: %w: empty value", HeaderClientCert, ErrBadByteSequence)
	}
	b, err := parseItem(v)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", HeaderClientCert, err)
	}
	return b, nil
}

// ParseClientCertChain decodes a Client-Cert-Chain value (a list of byte
// sequences) to the DER of each certificate, in order. Several header
// lines are one list: join them with "," before calling. An empty value is
// an empty chain.
func ParseClientCertChain(value string) ([][]byte, error) {
	if strings.Trim(value, " \t") == "" {
		return nil, nil
	}
	var out [][]byte
	// Base64 has no ',' and parameters hold none in what certgate or any
	// RFC 9440 sender writes, so splitting on ',' finds the members.
	for i, item := range strings.Split(value, ",") {
		item = strings.Trim(item, " \t")
		if item == "" {
			return nil, fmt.Errorf("parse %s: %w: empty list member %d", HeaderClientCertChain, ErrBadByteSequence, i)
		}
		b, err := parseItem(item)
		if err != nil {
			return nil, fmt.Errorf("parse %s member %d: %w", HeaderClientCertChain, i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// parseItem parses ":base64:" followed by optional ";param" text.
func parseItem(v string) ([]byte, error) {
	if v[0] != ':' {
		return nil, fmt.Errorf("%w: want ':' at the start, got %q", ErrBadByteSequence, v[:1])
	}
	end := strings.IndexByte(v[1:], ':')
	if end < 0 {
		return nil, fmt.Errorf("%w: no closing ':'", ErrBadByteSequence)
	}
	body, rest := v[1:1+end], v[2+end:]
	if rest != "" && rest[0] != ';' {
		return nil, fmt.Errorf("%w: unexpected %q after the closing ':'", ErrBadByteSequence, rest)
	}
	if body == "" {
		return nil, fmt.Errorf("%w: empty byte sequence", ErrBadByteSequence)
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(body, "=") && len(body)%4 != 0 {
		// RFC 8941 section 4.2.7 lets senders omit padding.
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %w", ErrBadByteSequence, err)
	}
	return b, nil
}

// Identity is what the upstream is told about the client of one request.
type Identity struct {
	User   string
	Groups []string
	// Chain is the verified chain, leaf first, trust anchor last (as
	// verify.Outcome.Chain); nil when no certificate was verified.
	Chain []*x509.Certificate
}

// Apply sets the identity headers of an outgoing request according to f:
// the user header, the groups header (comma-separated) and, when
// f.ClientCert is set, RFC 9440 Client-Cert and Client-Cert-Chain. The
// trust anchor is left out of Client-Cert-Chain: the upstream knows its
// roots, and a TLS client may omit it too (RFC 8446 section 4.4.2). Headers
// with nothing to say are deleted, so Apply is correct even on a header set
// that was not stripped. User and group names must have passed
// mapping.CheckUserName / CheckGroupName (mapping guarantees it).
func Apply(h http.Header, f Options, id Identity) { Encode(f, id).Apply(h) }

// Headers are an identity's forwarded header values, encoded once. A
// keep-alive connection keeps one client certificate and one mapping for
// all its requests, so the gateway encodes them per connection rather than
// per request: base64 of a certificate chain was the largest cost of
// forwarding (docs/benchmarks.md).
type Headers struct {
	// del are the canonical names Apply deletes first; set the ones it
	// then sets, each with a one-element value slice (len == cap, so an
	// append by a later handler copies instead of writing into it).
	del []string
	set []headerValue
}

type headerValue struct {
	name  string
	value []string
}

// Encode returns what Apply(h, f, id) sets, ready to set on many header
// sets. The result is read-only and safe for concurrent use.
func Encode(f Options, id Identity) *Headers {
	e := &Headers{}
	for _, n := range append(Names(f), HeaderClientCert, HeaderClientCertChain, HeaderXFCC) {
		e.del = append(e.del, http.CanonicalHeaderKey(n))
	}
	add := func(name, v string) {
		e.set = append(e.set, headerValue{http.CanonicalHeaderKey(name), []string{v}})
	}
	if id.User != "" && f.UserHeader != "" {
		add(f.UserHeader, id.User)
	}
	if len(id.Groups) > 0 && f.GroupsHeader != "" {
		add(f.GroupsHeader, strings.Join(id.Groups, ", "))
	}
	if f.SSL != nil {
		// Only a verified certificate is described: an unverified one
		// would hand the upstream a name nobody checked.
		var leaf *x509.Certificate
		if len(id.Chain) > 0 {
			leaf = id.Chain[0]
		}
		addSSLHeaders(add, f.SSL, leaf)
	}
	if len(id.Chain) == 0 {
		return e
	}
	sent := id.Chain
	if len(sent) > 1 {
		sent = sent[:len(sent)-1]
	}
	if f.XFCC {
		add(HeaderXFCC, xfccValue(sent))
	}
	if !f.ClientCert {
		return e
	}
	cert, chain := ClientCertHeaders(sent)
	add(HeaderClientCert, cert)
	if chain != "" {
		add(HeaderClientCertChain, chain)
	}
	return e
}

// Apply deletes the identity headers from h and sets the encoded ones,
// without allocating.
func (e *Headers) Apply(h http.Header) {
	for _, n := range e.del {
		delete(h, n)
	}
	for _, v := range e.set {
		h[v.name] = v.value[:1:1]
	}
}
