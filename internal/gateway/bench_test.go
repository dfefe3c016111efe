package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/metrics"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

// benchYAML is the site of ../shared/bench's certgate row (bench/
// certgate.yaml.tmpl) on the test PKI: revocation online from local CRLs,
// mapping, allow_groups, W3C access log; the upstream is filled in (echo,
// or an http:// URL as bench/proxied.sh uses).
const benchYAML = `
listen: 127.0.0.1:0
admin: {listen: "off"}
access_log: {dir: w3c, rollover: none}
sites:
  - name: bench
    hosts: [localhost]
    default: true
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: online, crls: [sub.crl, root.crl]}
    mapping:
      required: true
      many_to_one:
        - name: clients
          match: {issuer: {CN: "Client Issuing CA"}}
          user: "{CN}"
          groups: [bench]
    locations:
      - {path: /, client_cert: require, allow_groups: [bench]}
`

// benchGateway is a Server built from benchYAML with the access log and
// metrics hooks of certgate serve, and a request as net/http hands it to
// ServeHTTP on a keep-alive connection whose certificate verified.
type benchGateway struct {
	srv  *Server
	req  *http.Request
	logs *AccessLogs
}

func newBenchGateway(b *testing.B) *benchGateway { return newBenchGatewayTo(b, "echo") }

// newBenchGatewayTo is newBenchGateway with another upstream.
func newBenchGatewayTo(b *testing.B, upstream string) *benchGateway {
	b.Helper()
	p := newTestPKI(b)
	dir := b.TempDir()
	p.writeFiles(b, dir)
	pkitest.WriteFile(b, dir, "sub.crl", p.sub.CRL(b, pki.CRLOptions{}))
	pkitest.WriteFile(b, dir, "root.crl", p.root.CRL(b, pki.CRLOptions{}))
	cfg := loadConfig(b, dir, fmt.Sprintf(benchYAML, upstream))
	snap, err := Build(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(snap.Close)
	m := metrics.New(metrics.Options{Version: "bench", NoRuntime: true})
	logs, err := OpenAccessLogs(cfg, nil, AccessLogOptions{Version: "bench", OnDrop: m.AccessLogDropped})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = logs.Close() })
	obs := NewObserver(m, logs, nil)
	srv := NewServer(snap, nil, Options{Hooks: obs.Hooks()})

	chain := p.alice.Chain()[:2] // leaf + intermediate, as the harness client sends
	cs := &connState{id: 1, snap: snap, site: snap.SiteFor("localhost")}
	cs.setAddrs(netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:28460"))
	ctx := context.WithValue(context.Background(), connKey{}, cs)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:28460")))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Host = "localhost"
	req.RequestURI = "/app/orders/12345" // as net/http sets it
	req.URL.Path = req.RequestURI
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("User-Agent", "bench-loadgen")
	req.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256,
		ServerName: "localhost", HandshakeComplete: true, PeerCertificates: chain}
	// Verify once, as the first request of the connection does.
	if o := cs.verification(ctx, srv, chain); !o.OK() {
		b.Fatalf("bench client does not verify: %v", o.Error())
	}
	return &benchGateway{srv: srv, req: req, logs: logs}
}

// discardWriter is a ResponseWriter that keeps nothing but the header map,
// so that the benchmark measures the gateway, not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkServeHTTP is one keep-alive request through the whole handler:
// site and location, the connection's cached verification outcome, policy,
// the echo upstream, metrics and the access log line queued to its writer.
// The per-request cost in ../shared/bench's keep-alive test is this plus
// net/http and TLS record work.
func BenchmarkServeHTTP(b *testing.B) {
	g := newBenchGateway(b)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		g.srv.ServeHTTP(w, g.req)
	}
	b.StopTimer()
	if d := g.logs.Dropped(); d > 0 {
		// Not a failure: the writer goroutine shares the CPU with the loop.
		b.Logf("%d access log lines dropped (queue full)", d)
	}
}

// BenchmarkServeHTTPProxied is one keep-alive request proxied to an
// http:// upstream answering 200 bytes (bench/proxied.sh's backend), over
// a pooled loopback connection: the handler, the identity headers, the
// reverse proxy, the transport's round trip and the upstream's own
// net/http work (in this process, so part of the time and allocations are
// the upstream's).
func BenchmarkServeHTTPProxied(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 200)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{"200"}
		w.Write(body)
	}))
	b.Cleanup(up.Close)
	g := newBenchGatewayTo(b, up.URL)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		g.srv.ServeHTTP(w, g.req)
	}
	b.StopTimer()
	if w.h.Get("Content-Length") != "200" {
		b.Fatalf("response headers %v", w.h)
	}
}

// BenchmarkRequestHotPath splits the per-request work that is not the
// upstream: the location policy decision, the identity-header scrub of
// the upstream request, and formatting the W3C line (done on the log
// writer's goroutine, off the request path, but paid per request).
func BenchmarkRequestHotPath(b *testing.B) {
	g := newBenchGateway(b)
	cs := connFrom(g.req.Context())
	site := cs.site
	loc := site.Locate("/")
	outcome := cs.outcome

	b.Run("decide", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d := cs.decide(loc, outcome); !d.Verified {
				b.Fatal("certificate not used")
			}
		}
	})
	b.Run("upstream_headers", func(b *testing.B) {
		h := http.Header{"User-Agent": {"bench-loadgen"}, "Accept": {"*/*"}, "Accept-Encoding": {"gzip"}}
		b.ReportAllocs()
		for b.Loop() {
			h["X_remote_user"] = []string{"mallory"} // a spoofing attempt, scrubbed every time
			upstreamHeaders(h, site)
			if len(h) != 3 {
				b.Fatalf("headers after scrub: %v", h)
			}
		}
	})
	b.Run("access_log_line", func(b *testing.B) {
		e := accesslog.Entry{
			Time: time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC), ServerIP: netip.MustParseAddr("127.0.0.1"),
			Method: "GET", URIStem: "/", ServerPort: 28460, Username: "alice",
			ClientIP: netip.MustParseAddr("127.0.0.1"), UserAgent: "bench-loadgen",
			Status: 200, Win32: substatus.NoError, TimeTaken: 150 * time.Microsecond,
		}
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		for b.Loop() {
			buf = accesslog.AppendLine(buf[:0], &e)
		}
		if len(buf) == 0 {
			b.Fatal("empty line")
		}
	})
}
