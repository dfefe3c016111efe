package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/events"
)

// handshakeListener accepts TCP connections and completes the TLS handshake
// of each in its own goroutine, under the handshake timeout, before handing
// the *tls.Conn to http.Server. Doing the handshake here rather than in
// http.Server gives it its own deadline (http.Server would bound it by
// ReadHeaderTimeout), ties each connection to the snapshot current at
// accept time, and lets a garbage or stalled client fail alone: the accept
// loop never waits for a handshake.
type handshakeListener struct {
	net.Listener
	srv   *Server
	ready chan *tls.Conn
	ctx   context.Context // canceled by Close: aborts handshakes in progress
	stop  context.CancelFunc

	mu  sync.Mutex
	err error // the accept loop's terminal error
}

func newHandshakeListener(ln net.Listener, srv *Server) *handshakeListener {
	ctx, stop := context.WithCancel(context.Background())
	l := &handshakeListener{Listener: ln, srv: srv, ready: make(chan *tls.Conn), ctx: ctx, stop: stop}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	var backoff time.Duration
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				l.fail(net.ErrClosed)
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
		go l.handshake(raw)
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
	tc := tls.Server(raw, snap.tls)
	err := tc.HandshakeContext(ctx)
	ev := &HandshakeEvent{Time: start, Duration: time.Since(start), Remote: raw.RemoteAddr(), Local: raw.LocalAddr(), Err: err}
	if err != nil {
		l.handshakeFailed(raw, tc, ev)
		return
	}
	_ = raw.SetDeadline(time.Time{})

	st := tc.ConnectionState()
	cs := &connState{id: l.srv.connSeq.Add(1), snap: snap, site: snap.SiteFor(st.ServerName)}
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

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

// Accept returns the next connection whose handshake succeeded.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case tc := <-l.ready:
		return tc, nil
	case <-l.ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting and aborts handshakes in progress.
func (l *handshakeListener) Close() error {
	l.stop()
	return l.Listener.Close()
}
