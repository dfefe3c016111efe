package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/metrics"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// limitsYAML: %s is extra top-level settings, %s the upstream.
const limitsYAML = `
listen: 127.0.0.1:0
admin: {listen: "off"}
%s
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    locations:
      - {path: /, client_cert: ignore}
`

// appUpstream behaves like an application server: it reads the whole
// request body before answering, and /big answers size bytes.
type appUpstream struct {
	*httptest.Server
	complete atomic.Int64 // requests whose body arrived whole
}

func newAppUpstream(t testing.TB, size int) *appUpstream {
	u := &appUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		u.complete.Add(1)
		if r.URL.Path == "/big" {
			chunk := make([]byte, 64<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(u.Close)
	return u
}

// dripReader sends n bytes, one every interval: the slow-loris body.
type dripReader struct {
	n        int
	interval time.Duration
}

func (d *dripReader) Read(p []byte) (int, error) {
	if d.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(d.interval)
	d.n--
	p[0] = 'x'
	return 1, nil
}

// client returns an HTTP client for the gateway speaking h2 or HTTP/1.1.
func (g *gatewayUnderTest) client(h2 bool) *http.Client {
	tc := &tls.Config{ServerName: "a.example.test", RootCAs: pkitest.Pool(g.pki.serverRoot.Cert)}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, g.addr)
		}}
	if !h2 {
		tc.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// TestSlowClientsCutOff plays the slow-loris client: a body sent a byte at
// a time gets 408 once timeouts.read_body has passed, never reaches the
// upstream whole, and is counted; a client that stops reading its
// response is disconnected after timeouts.write.
func TestSlowClientsCutOff(t *testing.T) {
	p := newTestPKI(t)
	const big = 64 << 20
	up := newAppUpstream(t, big)
	m := metrics.New(metrics.Options{NoRuntime: true})
	g := startGatewayWith(t, p, fmt.Sprintf(limitsYAML, "timeouts: {read_body: 1s, write: 1s}", up.URL), Options{Hooks: NewObserver(m, nil, nil).Hooks()})

	for _, h2 := range []bool{false, true} {
		name := map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2]
		t.Run(name+" slow body", func(t *testing.T) {
			before := up.complete.Load()
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPost, "https://a.example.test/upload", &dripReader{n: 40, interval: 100 * time.Millisecond})
			req.ContentLength = 40
			c := g.client(h2)
			defer c.CloseIdleConnections()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("status %d, want 408", resp.StatusCode)
			}
			if d := time.Since(start); d > 3500*time.Millisecond {
				t.Errorf("answered after %v, want about timeouts.read_body (1s)", d)
			}
			if up.complete.Load() != before {
				t.Error("the upstream received the slow body whole")
			}
		})
		t.Run(name+" body in time", func(t *testing.T) {
			c := g.client(h2)
			defer c.CloseIdleConnections()
			resp, err := c.Post("https://a.example.test/upload", "text/plain", strings.NewReader("quick"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
		})
	}
	if n := counterValue(t, m, "certgate_client_timeouts_total", KindReadBody); n != 2 {
		t.Errorf("client_timeouts_total{kind=read_body} = %v, want 2", n)
	}

	t.Run("slow reader", func(t *testing.T) {
		// A small receive window so that the gateway's writes block soon.
		raw, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.(*net.TCPConn).SetReadBuffer(4096)
		conn := tls.Client(raw, &tls.Config{ServerName: "a.example.test", RootCAs: pkitest.Pool(p.serverRoot.Cert), NextProtos: []string{"http/1.1"}})
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: a.example.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // not reading
		// The gateway gave up on the connection: the write timed out and
		// the connection is no longer counted as open.
		for deadline := time.Now().Add(5 * time.Second); counterValue(t, m, "certgate_client_timeouts_total", KindWrite) < 1 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if n := counterValue(t, m, "certgate_client_timeouts_total", KindWrite); n != 1 {
			t.Errorf("client_timeouts_total{kind=write} = %v, want 1", n)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			g.srv.limits.mu.Lock()
			open := g.srv.limits.total
			g.srv.limits.mu.Unlock()
			if open == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d connections still open after the write timeout", open)
			}
		}
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, _ := io.Copy(io.Discard, bufio.NewReader(conn)); n >= big {
			t.Fatalf("read %d bytes: the gateway waited for the slow reader", n)
		}
	})
}

// TestConnectionLimits plays a client holding many connections open: past
// limits.max_connections_per_ip its new connections get 503.2 and are
// closed, past limits.max_connections they are closed before TLS, and
// both are counted; once it closes some, it is served again.
func TestConnectionLimits(t *testing.T) {
	p := newTestPKI(t)
	m := metrics.New(metrics.Options{NoRuntime: true})
	g := startGatewayWith(t, p, fmt.Sprintf(limitsYAML, "limits: {max_connections: 4, max_connections_per_ip: 2}", "echo"),
		Options{Hooks: NewObserver(m, nil, nil).Hooks()})
	settle := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			g.srv.limits.mu.Lock()
			n := g.srv.limits.total
			g.srv.limits.mu.Unlock()
			if n == want {
				return
			}
		}
		t.Fatalf("open connections did not settle at %d", want)
	}
	get := func(conn *tls.Conn) *http.Response {
		t.Helper()
		resp, _ := rawExchange(t, conn, bufio.NewReader(conn), "GET / HTTP/1.1\nHost: a.example.test\n\n")
		return resp
	}
	held := []*tls.Conn{rawTLS(t, g, "a.example.test", nil), rawTLS(t, g, "a.example.test", nil)}
	for _, c := range held {
		if resp := get(c); resp.StatusCode != http.StatusOK {
			t.Fatalf("within the limit: status %d", resp.StatusCode)
		}
	}
	settle(2)
	third := rawTLS(t, g, "a.example.test", nil)
	resp := get(third)
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Fatalf("third connection from one address: status %d close %v, want 503 and Connection: close", resp.StatusCode, resp.Close)
	}
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Error("the refused connection stayed open")
	}
	// HTTP/2: the 503.2 comes with a GOAWAY.
	h2c := g.client(true)
	if resp, err := h2c.Get("https://a.example.test/"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusServiceUnavailable || resp.ProtoMajor != 2 {
		t.Errorf("HTTP/2 over the limit: %s %d, want HTTP/2 503", resp.Proto, resp.StatusCode)
	}
	h2c.CloseIdleConnections()
	settle(2)
	// The global cap: four connections (two more than held would be
	// refused per address, so this counts connections from any address
	// the same way: total first).
	g.srv.limits.mu.Lock()
	g.srv.limits.total += 2 // two connections from other addresses
	g.srv.limits.mu.Unlock()
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.addr,
		&tls.Config{ServerName: "a.example.test", RootCAs: pkitest.Pool(p.serverRoot.Cert)}); err == nil {
		t.Error("a connection past limits.max_connections completed TLS")
	}
	g.srv.limits.mu.Lock()
	g.srv.limits.total -= 2
	g.srv.limits.mu.Unlock()
	// Served again once the client closes one.
	held[0].Close()
	settle(1)
	if resp := get(rawTLS(t, g, "a.example.test", nil)); resp.StatusCode != http.StatusOK {
		t.Errorf("after closing one: status %d", resp.StatusCode)
	}
	if n := counterValue(t, m, "certgate_connections_refused_total", LimitMaxConnectionsPerIP); n != 2 {
		t.Errorf("connections_refused_total{max_connections_per_ip} = %v, want 2", n)
	}
	if n := counterValue(t, m, "certgate_connections_refused_total", LimitMaxConnections); n != 1 {
		t.Errorf("connections_refused_total{max_connections} = %v, want 1", n)
	}
}
