package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/verify"
)

// Options are the injected edges of a Server.
type Options struct {
	// Now is the clock used to verify certificates; default time.Now.
	Now func() time.Time
	// Hooks receive events for access logs and metrics.
	Hooks Hooks
}

// Server serves HTTPS for the current Snapshot.
//
// Listen address and the header-read and idle timeouts are read from the
// Snapshot given to NewServer; a Snapshot installed later with Swap changes
// sites, certificates, trust, issuer lists, locations, upstreams and the
// handshake timeout, for new connections only.
type Server struct {
	logger *slog.Logger
	now    func() time.Time
	hooks  Hooks

	snap atomic.Pointer[Snapshot]
	// pending hands the state of a freshly handshaken connection from the
	// handshake listener to http.Server.ConnContext.
	pending sync.Map // *tls.Conn -> *connState
	connSeq atomic.Uint64
	// limits counts open connections (limits.go).
	limits connLimiter
	// reqPrefix and reqSeq make request IDs (newRequestID).
	reqPrefix uint64
	reqSeq    atomic.Uint64
	http      *http.Server

	// hl is the handshake listener of Serve; fresh counts connections
	// handed to http.Server whose first request has not been read yet
	// (freshConns holds them): Shutdown waits for both to settle.
	hl         atomic.Pointer[handshakeListener]
	fresh      atomic.Int64
	freshConns sync.Map // net.Conn -> struct{}
}

// NewServer returns a Server serving snap. logger receives the event log.
func NewServer(snap *Snapshot, logger *slog.Logger, opts Options) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{logger: logger, now: opts.Now, hooks: opts.Hooks, reqPrefix: randomRequestPrefix()}
	if s.now == nil {
		s.now = time.Now
	}
	s.snap.Store(snap)
	t := snap.Config.Timeouts
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: t.ReadHeader,
		IdleTimeout:       t.Idle,
		ConnContext:       s.connContext,
		ConnState:         s.trackFresh,
		// net/http logs protocol errors from clients (bad requests, h2
		// framing); they are client mistakes, so Debug.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Snapshot returns the snapshot new connections are served with.
func (s *Server) Snapshot() *Snapshot { return s.snap.Load() }

// Swap installs next for new connections and returns the previous
// snapshot. Connections already accepted keep theirs until they close.
func (s *Server) Swap(next *Snapshot) (prev *Snapshot) { return s.snap.Swap(next) }

// Serve accepts TCP connections on ln, performs the TLS handshake (bounded
// by the handshake timeout) and serves HTTP/1.1 and HTTP/2 on them. It
// returns http.ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	hl := newHandshakeListener(ln, s)
	s.hl.Store(hl)
	return s.http.Serve(hl)
}

// trackFresh is http.Server.ConnState: it counts connections between
// their hand-over (StateNew) and their first request (or their end).
func (s *Server) trackFresh(c net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.freshConns.Store(c, struct{}{})
		s.fresh.Add(1)
		return
	}
	if _, ok := s.freshConns.LoadAndDelete(c); ok {
		s.fresh.Add(-1)
	}
}

// drainGrace bounds how long Shutdown waits, after it stopped accepting,
// for accepted connections to send their first request.
const drainGrace = 2 * time.Second

// Shutdown stops accepting, lets the handshakes in progress finish and
// the connections just accepted send their first request (for up to
// drainGrace), then waits for active requests to finish, or for ctx to
// end. The wait matters because net/http drops, unanswered, a request it
// reads once its own Shutdown has begun: without it a client whose
// connection was accepted just before the signal would see the
// connection closed instead of an answer.
func (s *Server) Shutdown(ctx context.Context) error {
	if hl := s.hl.Load(); hl != nil {
		_ = hl.stopAccepting()
		deadline := time.Now().Add(drainGrace)
		for !(hl.quiet() && s.fresh.Load() == 0) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return s.http.Shutdown(ctx)
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.http.Close() }

// connState is the per-connection state: the snapshot and site chosen at
// the handshake, and the verification outcome, computed at most once.
type connState struct {
	id   uint64
	snap *Snapshot
	site *Site

	// sni is the TLS server name; start the handshake's time.
	sni   string
	start time.Time

	// vmu guards the verification outcome and what it was computed with
	// (verification).
	vmu         sync.Mutex
	outcome     *verify.Outcome
	outVerifier *verify.Verifier
	outGen      uint64
	verified    time.Duration
	// echo memoises the echo upstream's per-connection texts (echo.Conn).
	echo echo.Conn
	// mapMemo memoises the certificate mapping (connmemo.go).
	mapMemo mappingMemo
	// fwdMemo memoises the identity headers sent upstream (connmemo.go).
	fwdMemo forwardMemo

	// client and local are the connection's addresses, parsed once for
	// every request's access log line; loopback decides detailed errors
	// (IIS errorMode DetailedLocalOnly).
	client   netip.Addr
	local    netip.AddrPort
	loopback bool
	// limited names the limit this connection exceeded
	// (LimitMaxConnectionsPerIP): every request on it is answered 503.2.
	limited string
	// proxyPeer: the connection came from one of trusted_proxies without
	// a PROXY header naming the client, so the client is unknown and
	// never local, whatever the proxy's own address.
	proxyPeer bool
}

func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return ctx
	}
	if v, ok := s.pending.LoadAndDelete(tc); ok {
		cs := v.(*connState)
		cs.setAddrs(addrPort(c.RemoteAddr()), addrPort(c.LocalAddr()))
		return context.WithValue(ctx, connKey{}, cs)
	}
	return ctx
}

type connKey struct{}

// setAddrs records the connection's addresses; the client's is unmapped
// (::ffff:127.0.0.1 is 127.0.0.1) as IIS logs it and for the loopback
// check.
func (cs *connState) setAddrs(remote, local netip.AddrPort) {
	cs.client, cs.local = remote.Addr().Unmap(), local
	cs.loopback = cs.client.IsLoopback() && !cs.proxyPeer
}

// fromLoopback reports whether the client connected from a loopback
// address: such a client sees detailed errors (IIS errorMode
// DetailedLocalOnly). False outside a gateway connection (cs nil).
func (cs *connState) fromLoopback() bool { return cs != nil && cs.loopback }

// addrPort returns a TCP address as a netip.AddrPort (zero for other
// kinds of address).
func addrPort(a net.Addr) netip.AddrPort {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

func connFrom(ctx context.Context) *connState {
	cs, _ := ctx.Value(connKey{}).(*connState)
	return cs
}

// verification returns the connection's outcome, verifying on first use
// and again whenever what decided it has changed: a reload installed
// another snapshot (the verifier of the connection's server name in the
// current snapshot decides, so a root removed by the reload no longer
// authorises a keep-alive or HTTP/2 connection), or the site's revocation
// engine installed new CRL or OCSP data since (Engine.Generation). Both
// are cheap: the verified-chain cache skips chain building and signatures,
// revocation answers from memory. Resumed sessions are verified on their
// new connection (crypto/tls restores PeerCertificates).
func (cs *connState) verification(ctx context.Context, s *Server, peers []*x509.Certificate) *verify.Outcome {
	gs := cs.site
	if cur := s.snap.Load(); cur != cs.snap {
		gs = cur.SiteFor(cs.sni)
	}
	var gen uint64
	if gs.Revocation != nil {
		gen = gs.Revocation.Generation()
	}
	cs.vmu.Lock()
	defer cs.vmu.Unlock()
	if cs.outcome != nil && cs.outVerifier == gs.Verifier && cs.outGen == gen {
		return cs.outcome
	}
	cs.outVerifier, cs.outGen = gs.Verifier, gen
	if len(peers) == 0 || gs.Verifier == nil {
		// No certificate, or the current config no longer asks this
		// site for one: nothing verified, fail closed.
		cs.outcome = verify.NoCertificate()
		return cs.outcome
	}
	start := time.Now()
	// The first request's cancellation must not turn into a cached
	// "revocation offline" for later requests on this connection; the
	// revocation checker bounds its own fetches.
	cs.outcome = gs.Verifier.Verify(context.WithoutCancel(ctx), peers, s.now())
	cs.verified = time.Since(start)
	if s.hooks.Verify != nil {
		s.hooks.Verify(&VerifyEvent{Site: gs.Name, Outcome: cs.outcome, Duration: cs.verified})
	}
	return cs.outcome
}

// closeAfter reports whether the connection should close after this
// response: it is older than timeouts.max_connection_age, or a reload
// installed another snapshot since its handshake (its TLS settings, CA
// names and site are the old config's; a new connection gets the new
// ones). The response then carries Connection: close, which HTTP/2 turns
// into a graceful GOAWAY: requests in flight finish, new ones go to a new
// connection.
func (cs *connState) closeAfter(s *Server, now time.Time) bool {
	if s.snap.Load() != cs.snap {
		return true
	}
	age := cs.snap.Config.Timeouts.MaxConnectionAge
	return age > 0 && !cs.start.IsZero() && now.Sub(cs.start) > age
}
