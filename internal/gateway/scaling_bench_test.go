package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
)

// These benchmarks measure how certgate scales with cores (run with
// -cpu 1,2 and compare ops/s; docs/benchmarks.md "Scaling on one
// machine"): each parallel goroutine is its own client connection, so
// what they share is exactly what connections share in production (the
// verified-chain cache, revocation state, the access-log queue, metrics).

// BenchmarkParallelServeHTTP is BenchmarkServeHTTP with one keep-alive
// connection per goroutine.
func BenchmarkParallelServeHTTP(b *testing.B) {
	g := newBenchGateway(b)
	snap := g.srv.Snapshot()
	var conns atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := conns.Add(1)
		cs := &connState{id: n, snap: snap, site: snap.SiteFor("localhost")}
		client := netip.MustParseAddrPort("127.0.0.1:" + strconv.Itoa(40000+int(n)))
		cs.setAddrs(client, netip.MustParseAddrPort("127.0.0.1:28460"))
		ctx := context.WithValue(context.Background(), connKey{}, cs)
		ctx = context.WithValue(ctx, http.LocalAddrContextKey, net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:28460")))
		req := g.req.Clone(ctx)
		req.RemoteAddr = client.String()
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			g.srv.ServeHTTP(w, req)
		}
	})
}

// BenchmarkParallelHandshake is a full TLS 1.3 mTLS handshake with
// chain verification and revocation (local CRLs), then one request, per
// operation, from parallel clients over loopback, client and server in
// this process.
func BenchmarkParallelHandshake(b *testing.B) {
	p := newTestPKI(b)
	g := startGateway(b, p, `
listen: 127.0.0.1:0
sites:
  - name: bench
    hosts: [localhost]
    default: true
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: cache-only, crls: crls}
    locations:
      - {path: /, client_cert: require}
`, func(dir string) { writeCRLs(b, dir, p) })
	rq := request{sni: "localhost", path: "/", cert: p.alice, tlsMax: tls.VersionTLS13}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := g.try(rq)
			if err != nil || res.status != http.StatusOK {
				b.Errorf("status %d: %v", res.status, err)
				return
			}
		}
	})
}
