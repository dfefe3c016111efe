package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"sync"

	"github.com/certgate/certgate/internal/verify"
)

// echoConn memoises, per connection, what the echo handler renders from
// the TLS state and the client certificates: subjects (pkix.Name.String
// re-encodes the name each time), the leaf's fingerprint and serial, and
// the TLS version and cipher names. They are the same for every request of
// a connection and cost more than the rest of the echo response together
// (docs/benchmarks.md, keep-alive requests).
type echoConn struct {
	once sync.Once
	tls  EchoTLS

	mu    sync.Mutex
	names map[*x509.Certificate]string
	leaf  *x509.Certificate
	// Of leaf:
	issuer, serial, sha256 string
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
