package echo

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"slices"
	"sync"

	"github.com/certgate/certgate/internal/verify"
)

// Conn memoises, per connection, what the echo renders from
// the TLS state and the client certificates: subjects (pkix.Name.String
// re-encodes the name each time), the leaf's fingerprint and serial, and
// the TLS version and cipher names, and the encoded end of the response
// (appendTail). They are the same for every request of a connection and
// cost more than the rest of the echo response together (docs/benchmarks.md,
// keep-alive requests). The gateway keeps one in its connection state and
// passes it to every Serve of the connection. The zero value is ready to
// use; a Conn must not be copied after first use.
type Conn struct {
	once sync.Once
	tls  TLS

	mu    sync.Mutex
	names map[*x509.Certificate]string
	leaf  *x509.Certificate
	// Of leaf:
	issuer, serial, sha256 string
	// The encoded end of the last response and what it was for
	// (appendTail).
	tailKey    tailKey
	tailGroups []string
	tail       []byte
	// The encoded request members of the last response and the request
	// they describe (appendHead).
	headKey     headKey
	headHeaders []header
	head        []byte
}

// headKey is what the request members of an echo response ("site" to
// "headers") depend on, besides the header values (compared separately).
type headKey struct {
	site, method, path, query, host string
	headersNil                      bool
}

// header is one request header as appendHead last encoded it.
type header struct {
	key    string
	values []string
}

// appendHead appends the response's opening brace, its request ID and
// its request members: the latter from the connection's memo when the
// request is the same as the connection's previous one (a client on a
// keep-alive connection usually sends the same headers each time), else
// encoded and remembered. Comparing a few headers costs a fraction of
// encoding them sorted and escaped.
func (ec *Conn) appendHead(b []byte, r *Response) []byte {
	b = r.appendRequestID(b)
	if ec == nil {
		return r.appendRequest(b)
	}
	key := headKey{site: r.Site, method: r.Method, path: r.Path, query: r.Query, host: r.Host,
		headersNil: r.Headers == nil}
	ec.mu.Lock()
	if ec.head != nil && ec.headKey == key && sameHeaders(ec.headHeaders, r.Headers) {
		b = append(b, ec.head...)
		ec.mu.Unlock()
		return b
	}
	ec.mu.Unlock()
	start := len(b)
	b = r.appendRequest(b)
	headers := make([]header, 0, len(r.Headers))
	for k, v := range r.Headers {
		headers = append(headers, header{key: k, values: slices.Clone(v)})
	}
	ec.mu.Lock()
	ec.headKey, ec.headHeaders, ec.head = key, headers, bytes.Clone(b[start:])
	ec.mu.Unlock()
	return b
}

// sameHeaders reports whether h holds exactly the remembered headers,
// telling a nil value list (encoded null) from an empty one ([]).
func sameHeaders(memo []header, h map[string][]string) bool {
	if len(memo) != len(h) {
		return false
	}
	for _, e := range memo {
		v, ok := h[e.key]
		if !ok || (v == nil) != (e.values == nil) || !slices.Equal(v, e.values) {
			return false
		}
	}
	return true
}

// init computes the connection's TLS description on first use and
// returns c; nil stays nil (outside a gateway connection the echo then
// computes everything per request).
func (c *Conn) init(st *tls.ConnectionState) *Conn {
	if c == nil {
		return nil
	}
	c.once.Do(func() {
		if st != nil {
			c.tls = tlsOf(st)
		}
	})
	return c
}

func tlsOf(st *tls.ConnectionState) TLS {
	return TLS{
		Version: tls.VersionName(st.Version),
		Cipher:  tls.CipherSuiteName(st.CipherSuite),
		SNI:     st.ServerName,
		ALPN:    st.NegotiatedProtocol,
		Resumed: st.DidResume,
	}
}

// subject is c.Subject.String(), remembered for the connection.
func (ec *Conn) subject(c *x509.Certificate) string {
	if ec == nil {
		return c.Subject.String()
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if s, ok := ec.names[c]; ok {
		return s
	}
	if ec.names == nil {
		ec.names = make(map[*x509.Certificate]string, 4)
	}
	s := c.Subject.String()
	ec.names[c] = s
	return s
}

// leafText returns the issuer, serial and SHA-256 of the leaf.
func (ec *Conn) leafText(leaf *x509.Certificate) (issuer, serial, sha string) {
	if ec == nil {
		return leaf.Issuer.String(), serialHex(leaf), verify.Fingerprint(leaf)
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if ec.leaf != leaf {
		ec.leaf = leaf
		ec.issuer, ec.serial, ec.sha256 = leaf.Issuer.String(), serialHex(leaf), verify.Fingerprint(leaf)
	}
	return ec.issuer, ec.serial, ec.sha256
}

func (ec *Conn) subjects(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = ec.subject(c)
	}
	return out
}

// tailKey is what the "tls", "client" and "location" members of an
// echo response depend on, besides the connection itself (its TLS state
// and presented chain) and Identity.Groups (compared separately).
type tailKey struct {
	loc       Location
	leaf      *x509.Certificate // nil when nothing was presented (or ignore)
	presented int
	verified  bool
	downgr    bool
	outcome   *verify.Outcome // the connection's; its Chain is the verified chain
	user      string
}

// tlsOf returns the connection's TLS description.
func (ec *Conn) tlsOf(st *tls.ConnectionState) TLS {
	switch {
	case ec != nil:
		return ec.tls
	case st != nil:
		return tlsOf(st)
	}
	return TLS{}
}

// appendTail appends the "tls", "client" and "location" members for id
// and the closing brace: from the connection's memo when the location and
// identity are those of its previous request (the usual keep-alive case),
// else encoded and remembered. ok is false when the response cannot be
// encoded (see Response.appendJSON); b is then returned unchanged.
func (ec *Conn) appendTail(b []byte, id *Identity, st *tls.ConnectionState) (_ []byte, ok bool) {
	key := tailKey{loc: id.Location, presented: len(id.Presented), verified: id.Verified, downgr: id.Downgraded, outcome: id.Outcome, user: id.User}
	if len(id.Presented) > 0 {
		key.leaf = id.Presented[0]
	}
	if ec != nil {
		ec.mu.Lock()
		if ec.tail != nil && ec.tailKey == key && slices.Equal(ec.tailGroups, id.Groups) {
			b = append(b, ec.tail...)
			ec.mu.Unlock()
			return b, true
		}
		ec.mu.Unlock()
	}
	r := Response{TLS: ec.tlsOf(st), Client: client(id, ec), Location: id.Location}
	start := len(b)
	out, ok := r.appendTail(b)
	if !ok {
		return b[:start], false
	}
	if ec != nil {
		ec.mu.Lock()
		ec.tailKey, ec.tailGroups, ec.tail = key, slices.Clone(id.Groups), bytes.Clone(out[start:])
		ec.mu.Unlock()
	}
	return out, true
}
