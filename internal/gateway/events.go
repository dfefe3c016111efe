package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/certgate/certgate/internal/reqpath"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Hooks receive the gateway's events, for the W3C access log and metrics
// (issue 6). Each is optional, is called synchronously on the connection's
// goroutine, and must not block: buffer, or drop and count.
type Hooks struct {
	// Request: once per request, after the response has been written.
	Request func(*RequestEvent)
	// Handshake: once per TLS handshake, successful or not.
	Handshake func(*HandshakeEvent)
	// Verify: once per client-certificate verification (once per
	// connection that presented a certificate to a location that uses it).
	Verify func(*VerifyEvent)
	// Conn: once when a TCP connection is counted against the limits
	// (Open true, Refused naming the limit it exceeded, if any) and once
	// when it closes (Open false).
	Conn func(*ConnEvent)
	// Timeout: a client was too slow: KindReadBody or KindWrite.
	Timeout func(kind string)
}

// ConnEvent is a connection opened or closed (Hooks.Conn).
type ConnEvent struct {
	Open bool
	// Refused is LimitMaxConnections or LimitMaxConnectionsPerIP when the
	// connection exceeded it, else "".
	Refused string
}

// Limits a connection can exceed, and slow-client timeouts: label values
// of certgate_connections_refused_total and certgate_client_timeouts_total.
const (
	LimitMaxConnections      = "max_connections"
	LimitMaxConnectionsPerIP = "max_connections_per_ip"
	KindReadBody             = "read_body"
	KindWrite                = "write"
)

// RequestEvent describes one request and its answer. The access log reads
// the request line, client and server addresses (http.LocalAddrContextKey),
// User-Agent and Referer from Request.
type RequestEvent struct {
	ID      string
	Start   time.Time
	Elapsed time.Duration
	Request *http.Request
	// ClientIP and Local are the connection's addresses (the client's
	// unmapped from ::ffff:); zero when the request came without a
	// gateway connection, and then taken from Request.
	ClientIP netip.Addr
	Local    netip.AddrPort
	// Site and Location that governed the request; Location is nil when
	// the request was refused before a location applied (421, 400).
	Site     string
	Location *Location
	// Status is the HTTP status sent (from the upstream when proxied).
	Status int
	// Sub and Code are the gateway's sub-status and Win32-style code: for
	// a refusal the reason (403.16, CERT_E_UNTRUSTEDROOT); for a request
	// let through, substatus.OK and NoError.
	Sub  substatus.Sub
	Code substatus.Code
	// Refusal is set when the request was refused before any location
	// decided it (a path rule, an upgrade), for metrics.
	Refusal Refusal
	// Identity is nil when the request was refused before a location applied.
	Identity *Identity
	// Outcome is the certificate failure that refused the request, or that
	// downgraded it to anonymous on an accept location; nil otherwise.
	Outcome *verify.Outcome
	// BytesWritten counts response body bytes.
	BytesWritten int64
}

// Refusal says why a request was refused before a location decided it:
// a canonical-path rule, or an upgrade the location does not allow. It is
// four bytes so that it fits in RequestEvent's padding after Code: the
// event is allocated per request and sits exactly on a size class.
type Refusal struct {
	// Path is the reqpath rule the request path broke.
	Path reqpath.Rule
	// Upgrade: a protocol upgrade or CONNECT the location does not allow.
	Upgrade bool
}

// Label is the refusal's metrics label: "upgrade", "path_<rule>", or ""
// for none.
func (r Refusal) Label() string {
	switch {
	case r.Upgrade:
		return "upgrade"
	case r.Path != 0:
		return "path_" + r.Path.String()
	}
	return ""
}

// HandshakeEvent describes one TLS handshake.
type HandshakeEvent struct {
	Time     time.Time
	Duration time.Duration
	Remote   net.Addr
	Local    net.Addr
	// Err is nil for a successful handshake. On failure the fields below
	// are zero.
	Err         error
	SNI         string
	Site        string
	Version     uint16
	CipherSuite uint16
	Resumed     bool
	ClientCert  bool // the client presented at least one certificate
}

// VerifyEvent reports one verification and how long it took.
type VerifyEvent struct {
	Site     string
	Outcome  *verify.Outcome
	Duration time.Duration
}
