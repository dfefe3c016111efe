package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/proxyproto"
)

// handshakeListener accepts TCP connections and completes the TLS handshake
// of each in its own goroutine, under the handshake timeout, before handing
// the *tls.Conn to http.Server. Doing the handshake here rather than in
// http.Server gives it its own deadline (http.Server would bound it by
// ReadHeaderTimeout), ties each connection to the snapshot current at
// accept time, and lets a garbage or stalled client fail alone: the accept
// loop never waits for a handshake.
//
// Close is graceful: it stops accepting, then lets the handshakes in
// progress finish (for up to closeGrace) and hands their connections to
// http.Server, which serves the request under way and closes them. A
// client whose connection the kernel had already queued is therefore
// served, not reset, when the process shuts down; with a socket passed by
// systemd the next process takes the connections queued after the close.
type handshakeListener struct {
	net.Listener
	srv   *Server
	ready chan *tls.Conn
	ctx   context.Context // canceled to abort handshakes in progress
	stop  context.CancelFunc

	inflight  sync.WaitGroup // handshakes started and not yet handed over
	pending   atomic.Int64   // the same count, readable (Server.Shutdown)
	loopDone  chan struct{}  // closed when the accept loop has returned
	stopOnce  sync.Once
	stopErr   error
	closeOnce sync.Once
	drained   chan struct{} // closed once Close has run and inflight is zero

	mu  sync.Mutex
	err error // the accept loop's terminal error
}

// closeGrace bounds how long Close lets handshakes in progress finish
// (a legitimate one takes milliseconds) before aborting the rest.
const closeGrace = 2 * time.Second

func newHandshakeListener(ln net.Listener, srv *Server) *handshakeListener {
	ctx, stop := context.WithCancel(context.Background())
	l := &handshakeListener{Listener: ln, srv: srv, ready: make(chan *tls.Conn), ctx: ctx, stop: stop,
		drained: make(chan struct{}), loopDone: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	// Close waits for this before waiting for the handshakes: every
	// inflight.Add happens in this goroutine.
	defer close(l.loopDone)
	var backoff time.Duration
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				// Closed (Close drains the handshakes in progress) or
				// aborted.
				return
			}
			// Out of file descriptors and the like: back off and retry,
			// as http.Server does, rather than stop serving.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				events.Log(l.srv.logger, slog.LevelError, events.EventAcceptFailed, "accept connection: retrying",
					slog.String("err", err.Error()), slog.Duration("retry_in", backoff))
				select {
				case <-time.After(backoff):
				case <-l.ctx.Done():
				}
				continue
			}
			l.fail(err)
			return
		}
		backoff = 0
		l.inflight.Add(1)
		l.pending.Add(1)
		go func() {
			defer l.inflight.Done()
			defer l.pending.Add(-1)
			l.handshake(raw)
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (l *handshakeListener) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	l.stop()
}

func (l *handshakeListener) handshake(raw net.Conn) {
	snap := l.srv.snap.Load()
	start := time.Now()
	ctx := l.ctx
	if d := snap.Config.Timeouts.Handshake; d > 0 {
		// Both a deadline (for a client that stops sending) and a context
		// (so that Close aborts the handshake at once).
		_ = raw.SetDeadline(start.Add(d))
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// A trusted proxy's connection starts with a PROXY header naming the
	// real client (proxy_protocol); it is read under the handshake
	// deadline, and only from trusted_proxies: from anyone else such a
	// header is just bytes that are not TLS.
	conn := net.Conn(raw)
	peer := addrPort(raw.RemoteAddr()).Addr()
	fromProxy := snap.trustedProxy(peer)
	clientKnown := !fromProxy
	if fromProxy && snap.Config.ProxyProtocol {
		pc, err := readProxyHeader(raw)
		if err != nil {
			l.proxyHeaderFailed(raw, &HandshakeEvent{Time: start, Duration: time.Since(start), Remote: raw.RemoteAddr(), Local: raw.LocalAddr(), Err: err})
			return
		}
		conn, clientKnown = pc, pc.client
	}
	// Count the connection against limits.* by its client: the PROXY
	// header's, or none (only the total applies) for a trusted proxy's
	// own address.
	lim := snap.Config.Limits
	refused, release := l.srv.limits.acquire(addrPort(conn.RemoteAddr()).Addr().Unmap(), clientKnown, lim.MaxConnections, lim.MaxConnectionsPerIP)
	if h := l.srv.hooks.Conn; h != nil {
		h(&ConnEvent{Open: true, Refused: refused})
		uncount := release
		release = func() { uncount(); h(&ConnEvent{}) }
	}
	conn = &countedConn{Conn: conn, release: release}
	if refused == LimitMaxConnections {
		// The hard cap on memory and descriptors: no TLS, no answer.
		l.srv.logger.Debug("connection refused: limits.max_connections reached", "client", conn.RemoteAddr().String(), "max_connections", lim.MaxConnections)
		_ = conn.Close()
		return
	}
	tc := tls.Server(conn, snap.tls)
	err := tc.HandshakeContext(ctx)
	ev := &HandshakeEvent{Time: start, Duration: time.Since(start), Remote: conn.RemoteAddr(), Local: conn.LocalAddr(), Err: err}
	if err != nil {
		l.handshakeFailed(raw, tc, ev)
		return
	}
	_ = raw.SetDeadline(time.Time{})

	st := tc.ConnectionState()
	cs := &connState{id: l.srv.connSeq.Add(1), snap: snap, site: snap.SiteFor(st.ServerName), proxyPeer: !clientKnown, limited: refused,
		sni: st.ServerName, start: start}
	ev.SNI, ev.Site, ev.Version, ev.CipherSuite, ev.Resumed = st.ServerName, cs.site.Name, st.Version, st.CipherSuite, st.DidResume
	ev.ClientCert = len(st.PeerCertificates) > 0
	if h := l.srv.hooks.Handshake; h != nil {
		h(ev)
	}
	l.srv.pending.Store(tc, cs)
	select {
	case l.ready <- tc:
	case <-l.ctx.Done():
		l.srv.pending.Delete(tc)
		_ = tc.Close()
	}
}

// handshakeFailed logs a failed handshake at Info (a client problem, or a
// scanner) and, for a plain-HTTP request on the TLS port, answers 400 the
// way http.Server does.
func (l *handshakeListener) handshakeFailed(raw net.Conn, tc *tls.Conn, ev *HandshakeEvent) {
	defer tc.Close()
	var rhe tls.RecordHeaderError
	if errors.As(ev.Err, &rhe) && rhe.Conn != nil && looksLikeHTTP(rhe.RecordHeader) {
		_ = raw.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(rhe.Conn, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nThis is an HTTPS port: use https://.\n")
	}
	if h := l.srv.hooks.Handshake; h != nil {
		h(ev)
	}
	if l.ctx.Err() != nil {
		return // shutting down: not the client's fault
	}
	level := slog.LevelInfo
	if errors.Is(ev.Err, io.EOF) {
		level = slog.LevelDebug // connected and left: health checks, port scans
	}
	events.Log(l.srv.logger, level, events.EventTLSHandshakeFailed, "tls handshake failed",
		slog.String("client", ev.Remote.String()), slog.String("err", ev.Err.Error()), slog.Duration("duration", ev.Duration))
}

// proxyHeaderFailed closes a trusted proxy's connection whose PROXY header
// is missing or malformed: a misconfigured proxy (or one forwarding a
// client's own header), which an operator must fix, so Warn.
func (l *handshakeListener) proxyHeaderFailed(raw net.Conn, ev *HandshakeEvent) {
	_ = raw.Close()
	if h := l.srv.hooks.Handshake; h != nil {
		h(ev)
	}
	if l.ctx.Err() != nil {
		return
	}
	level := slog.LevelWarn
	if errors.Is(ev.Err, io.EOF) || errors.Is(ev.Err, os.ErrDeadlineExceeded) {
		level = slog.LevelDebug // connected and left, or said nothing: health checks
	}
	events.Log(l.srv.logger, level, events.EventProxyProtocolFailed, "proxy protocol header refused",
		slog.String("proxy", ev.Remote.String()), slog.String("err", ev.Err.Error()), slog.Duration("duration", ev.Duration))
}

// proxyConn is a connection whose first bytes were a PROXY header: reads
// continue from the buffer that read it, and RemoteAddr is the client the
// header names (so logs, detailed errors and X-Forwarded-For see the
// client, not the proxy).
type proxyConn struct {
	net.Conn
	r      *bufio.Reader
	remote net.Addr
	// client is false for a header without a client address (v2 LOCAL,
	// v1 UNKNOWN): the proxy's own connection, such as a health check.
	client bool
}

func (c *proxyConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *proxyConn) RemoteAddr() net.Addr       { return c.remote }

// readProxyHeader reads the PROXY header at the start of raw.
func readProxyHeader(raw net.Conn) (*proxyConn, error) {
	br := bufio.NewReaderSize(raw, proxyproto.MaxHeaderLen+16)
	h, err := proxyproto.Read(br)
	if err != nil {
		return nil, fmt.Errorf("read proxy protocol header from %s: %w", raw.RemoteAddr(), err)
	}
	pc := &proxyConn{Conn: raw, r: br, remote: raw.RemoteAddr()}
	if !h.Local {
		pc.remote, pc.client = net.TCPAddrFromAddrPort(h.Source), true
	}
	return pc, nil
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

// stopAccepting closes the TCP listener: no new connection is accepted
// (with an inherited socket the kernel queues them for the next process),
// while Accept still returns the connections whose handshakes are under
// way.
func (l *handshakeListener) stopAccepting() error {
	l.stopOnce.Do(func() { l.stopErr = l.Listener.Close() })
	return l.stopErr
}

// quiet reports whether the accept loop has stopped and every handshake
// it started has been handed over or has failed.
func (l *handshakeListener) quiet() bool {
	select {
	case <-l.loopDone:
		return l.pending.Load() == 0
	default:
		return false
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case tc := <-l.ready:
		return tc, nil
	case <-l.drained:
		return nil, net.ErrClosed
	case <-l.ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes in progress finish within closeGrace
// and their connections are still returned by Accept, which then reports
// net.ErrClosed.
func (l *handshakeListener) Close() error {
	err := l.stopAccepting()
	l.closeOnce.Do(func() {
		go func() {
			done := make(chan struct{})
			go func() {
				<-l.loopDone
				l.inflight.Wait()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(closeGrace):
				l.stop() // abort what is left; those goroutines end at once
				<-done
			}
			close(l.drained)
			l.stop() // releases the context; nothing is left to abort
		}()
	})
	return err
}
