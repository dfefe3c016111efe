package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
)

// connLimiter counts the listener's open connections, in total and per
// client address, for limits.max_connections and
// limits.max_connections_per_ip. It belongs to the Server, so counts
// survive reloads; the limits are read from the snapshot of each new
// connection.
type connLimiter struct {
	mu    sync.Mutex
	total int
	perIP map[netip.Addr]int
}

// acquire counts a new connection from ip (perIP false: the client
// address is unknown, a trusted proxy's, so only the total applies) and
// returns the limit it exceeds ("" when within both) and the function
// that uncounts it, to call once when it closes. A refused connection is
// counted while it is open: it holds memory and a file descriptor too.
func (l *connLimiter) acquire(ip netip.Addr, perIP bool, maxTotal, maxPerIP int) (refused string, release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP == nil {
		l.perIP = map[netip.Addr]int{}
	}
	l.total++
	if maxTotal > 0 && l.total > maxTotal {
		refused = LimitMaxConnections
	}
	if perIP {
		l.perIP[ip]++
		if refused == "" && maxPerIP > 0 && l.perIP[ip] > maxPerIP {
			refused = LimitMaxConnectionsPerIP
		}
	}
	var once sync.Once
	return refused, func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if perIP {
				if l.perIP[ip]--; l.perIP[ip] <= 0 {
					delete(l.perIP, ip)
				}
			}
		})
	}
}

// countedConn uncounts its connection when closed, whoever closes it
// (http.Server, a failed handshake, shutdown).
type countedConn struct {
	net.Conn
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// bodyDeadline wraps a request body read under timeouts.read_body, so
// that the proxy's error handler can tell a client that sent its body too
// slowly (408) from an upstream failure (502).
type bodyDeadline struct {
	io.ReadCloser
	timedOut atomic.Bool
	srv      *Server
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && isTimeout(err) && b.timedOut.CompareAndSwap(false, true) {
		b.srv.timeoutHit(KindReadBody)
	}
	return n, err
}

// bodyKey carries a request's *bodyDeadline in its context: the proxy's
// error handler sees httputil's own wrapper as the body.
type bodyKey struct{}

// bodyTimedOut reports whether r's body hit timeouts.read_body.
func bodyTimedOut(r *http.Request) bool {
	b, ok := r.Context().Value(bodyKey{}).(*bodyDeadline)
	return ok && b.timedOut.Load()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// withBodyDeadline wraps r's body for bodyTimedOut.
func withBodyDeadline(r *http.Request, s *Server) *http.Request {
	b := &bodyDeadline{ReadCloser: r.Body, srv: s}
	r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, b))
	r.Body = b
	return r
}
