package gateway

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"slices"
	"sync"

	"github.com/certgate/certgate/internal/verify"
)

var (
	echoContentType  = []string{"application/json"}
	echoCacheControl = []string{"no-store"}
	// echoBuffers recycles response bodies: a keep-alive request otherwise
	// allocates its 1 KB body, most of the garbage the echo path makes.
	echoBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
)

// echoConn memoises, per connection, what the echo handler renders from
// the TLS state and the client certificates: subjects (pkix.Name.String
// re-encodes the name each time), the leaf's fingerprint and serial, and
// the TLS version and cipher names, and the encoded end of the response
// (appendTail). They are the same for every request of a connection and
// cost more than the rest of the echo response together (docs/benchmarks.md,
// keep-alive requests).
type echoConn struct {
	once sync.Once
	tls  EchoTLS

	mu    sync.Mutex
	names map[*x509.Certificate]string
	leaf  *x509.Certificate
	// Of leaf:
	issuer, serial, sha256 string
	// The encoded end of the last response and what it was for
	// (appendTail).
	tailKey    echoTailKey
	tailGroups []string
	tail       []byte
}

// echoCache returns the connection's echo memo, or nil outside a gateway
// connection (the handler then computes everything per request).
func echoCache(cs *connState, st *tls.ConnectionState) *echoConn {
	if cs == nil {
		return nil
	}
	ec := &cs.echo
	ec.once.Do(func() {
		if st != nil {
			ec.tls = echoTLS(st)
		}
	})
	return ec
}

func echoTLS(st *tls.ConnectionState) EchoTLS {
	return EchoTLS{
		Version: tls.VersionName(st.Version),
		Cipher:  tls.CipherSuiteName(st.CipherSuite),
		SNI:     st.ServerName,
		ALPN:    st.NegotiatedProtocol,
		Resumed: st.DidResume,
	}
}

// subject is c.Subject.String(), remembered for the connection.
func (ec *echoConn) subject(c *x509.Certificate) string {
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
func (ec *echoConn) leafText(leaf *x509.Certificate) (issuer, serial, sha string) {
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

func (ec *echoConn) subjects(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = ec.subject(c)
	}
	return out
}

// echoTailKey is what the "tls", "client" and "location" members of an
// echo response depend on, besides the connection itself (its TLS state
// and presented chain) and Identity.Groups (compared separately).
type echoTailKey struct {
	loc       *Location
	leaf      *x509.Certificate // nil when nothing was presented (or ignore)
	presented int
	verified  bool
	outcome   *verify.Outcome // the connection's; its Chain is the verified chain
	user      string
}

// tlsOf returns the connection's TLS description.
func (ec *echoConn) tlsOf(st *tls.ConnectionState) EchoTLS {
	switch {
	case ec != nil:
		return ec.tls
	case st != nil:
		return echoTLS(st)
	}
	return EchoTLS{}
}

func echoLocation(l *Location) EchoLocation { return EchoLocation{Path: l.Path, Policy: l.Policy} }

// appendTail appends the "tls", "client" and "location" members for id
// and the closing brace: from the connection's memo when the location and
// identity are those of its previous request (the usual keep-alive case),
// else encoded and remembered. ok is false when the response cannot be
// encoded (see EchoResponse.appendJSON); b is then returned unchanged.
func (ec *echoConn) appendTail(b []byte, id *Identity, st *tls.ConnectionState) (_ []byte, ok bool) {
	key := echoTailKey{loc: id.Location, presented: len(id.Presented), verified: id.Verified, outcome: id.Outcome, user: id.User}
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
	r := EchoResponse{TLS: ec.tlsOf(st), Client: echoClient(id, ec), Location: echoLocation(id.Location)}
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
