package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

const multiSiteYAML = `
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"} # chain checks only; revocation has its own tests
    locations: [{path: /, client_cert: require}]
  - name: b
    hosts: [b.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"} # chain checks only; revocation has its own tests
    locations: [{path: /, client_cert: accept}]
  - name: wild
    hosts: ["*.wild.example.test"]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
  - name: open
    default: true
    hosts: [open.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
`

// TestSNISiteSelection: exact host, wildcard, unknown name and no SNI
// (default site).
func TestSNISiteSelection(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, fmt.Sprintf(multiSiteYAML, "echo"))
	tests := []struct{ sni, site string }{
		{"a.example.test", "a"},
		{"b.example.test", "b"},
		{"x.wild.example.test", "wild"},
		{"unknown.example.test", "open"},
		{"", "open"},
	}
	for _, tt := range tests {
		t.Run("sni "+tt.sni, func(t *testing.T) {
			host := tt.sni
			if host == "" {
				host = "localhost"
			}
			res := g.do(t, request{sni: tt.sni, host: host, cert: p.alice})
			if res.status != http.StatusOK {
				t.Fatalf("status %d\n%s", res.status, res.body)
			}
			if e := res.echo(t); e.Site != tt.site || e.TLS.SNI != tt.sni {
				t.Errorf("site %q sni %q, want %q %q", e.Site, e.TLS.SNI, tt.site, tt.sni)
			}
		})
	}
}

// TestMisdirectedRequest: a Host naming another site than the SNI is
// refused with 421 before any policy or upstream, so the SNI of an open
// site cannot be used to reach a site that requires a certificate.
func TestMisdirectedRequest(t *testing.T) {
	p := newTestPKI(t)
	up := newCountingUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(multiSiteYAML, up.URL))
	tests := []struct {
		name, sni, host string
		status          int
	}{
		{"open SNI, Host of require site", "open.example.test", "a.example.test", 421},
		{"no SNI, Host of require site", "", "a.example.test", 421},
		{"require SNI, Host of other site", "a.example.test", "b.example.test", 421},
		{"require SNI, unknown Host (default site)", "a.example.test", "elsewhere.test", 421},
		{"wildcard SNI, Host of another wildcard name", "x.wild.example.test", "y.wild.example.test:8443", 200},
		{"same host with port and case", "a.example.test", "A.Example.Test:8443", 200},
		{"open SNI, unknown Host", "open.example.test", "elsewhere.test", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.hits.Load()
			res := g.do(t, request{sni: tt.sni, host: tt.host, cert: p.alice, accept: "application/json"})
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", res.status, tt.status, res.body)
			}
			if tt.status == 200 {
				return
			}
			if up.hits.Load() != before {
				t.Error("a misdirected request reached the upstream")
			}
			pj := res.problem(t)
			if pj.Substatus != "421" || pj.Title != "Misdirected Request" || !strings.Contains(pj.Reason, "SNI") {
				t.Errorf("problem = %+v", pj)
			}
		})
	}
}

// TestNonCanonicalPath: dot and empty segments are refused (400), since the
// upstream may resolve them to a path another location governs.
func TestNonCanonicalPath(t *testing.T) {
	p := newTestPKI(t)
	up := newCountingUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))
	for _, path := range []string{"/public/../secret", "/public/%2e%2e/secret", "/public%2F..%2Fsecret", "//public", "/public/./x", "/public/.."} {
		t.Run(path, func(t *testing.T) {
			res := g.do(t, request{sni: "a.example.test", path: path, accept: "application/json"})
			if res.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400\n%s", res.status, res.body)
			}
			if up.hits.Load() != 0 {
				t.Error("request reached the upstream")
			}
		})
	}
	if res := g.do(t, request{sni: "a.example.test", path: "/public/x/"}); res.status != http.StatusOK {
		t.Errorf("canonical path with trailing slash: status %d", res.status)
	}
}

// TestSpoofedIdentityHeadersRemoved: identity headers sent by the client
// never reach the upstream, on any policy, in any case or spelling.
func TestSpoofedIdentityHeadersRemoved(t *testing.T) {
	p := newTestPKI(t)
	up := newCountingUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))
	spoof := http.Header{
		"X-Remote-User":     {"admin", "root"},
		"x-remote-groups":   {"Domain Admins"},
		"X_Remote_User":     {"admin"},
		"Client-Cert":       {":MIIB:"},
		"CLIENT-CERT-CHAIN": {":MIIB:"},
		"X-Forwarded-For":   {"10.0.0.1"},
		"X-Keep-Me":         {"yes"},
	}
	for _, path := range []string{"/public", "/"} {
		res := g.do(t, request{sni: "a.example.test", path: path, cert: p.alice, header: spoof})
		if res.status != 200 {
			t.Fatalf("%s: status %d", path, res.status)
		}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, h := range up.headers {
		for k := range h {
			n := normalizeHeaderName(k)
			if n == "x-remote-user" || n == "x-remote-groups" {
				t.Errorf("upstream received %s: %q", k, h[k])
			}
			// On "/" certgate itself forwards the verified certificate
			// and its intermediate (RFC 9440); the client's value must
			// never be what arrives.
			if (n == "client-cert" || n == "client-cert-chain") && (len(h[k]) != 1 || h[k][0] == ":MIIB:") {
				t.Errorf("upstream received %s: %q", k, h[k])
			}
		}
		if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Keep-Me") != "yes" || h.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("upstream headers: X-Forwarded-For %q X-Forwarded-Proto %q X-Keep-Me %q", h.Values("X-Forwarded-For"), h.Get("X-Forwarded-Proto"), h.Get("X-Keep-Me"))
		}
	}
	if len(up.headers) != 2 {
		t.Errorf("upstream saw %d requests, want 2", len(up.headers))
	}
}

// TestGarbageClients: malformed, stalled and plain-HTTP clients fail alone;
// requests on other connections go on while they hang.
func TestGarbageClients(t *testing.T) {
	p := newTestPKI(t)
	// The handshake timeout closes the stalled clients below; it must
	// still leave room for the good clients' handshakes when the race
	// detector and parallel test packages share two cores.
	g := startGateway(t, p, "timeouts: {handshake: 1500ms}\n"+fmt.Sprintf(siteYAML, "echo"))
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ok := func(t *testing.T) {
		t.Helper()
		if res := g.do(t, request{sni: "a.example.test", cert: p.alice}); res.status != 200 {
			t.Fatalf("good client: status %d", res.status)
		}
	}
	// closed reads until the server closes the connection; the deadline
	// only keeps a broken test from hanging.
	closed := func(t *testing.T, c net.Conn) []byte {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("server did not close the connection")
		}
		return b
	}

	// Connections that never complete a handshake, held open meanwhile.
	silent := dial(t)
	half := dial(t)
	hello := clientHelloBytes(t)
	if _, err := half.Write(hello[:len(hello)/2]); err != nil {
		t.Fatal(err)
	}
	ok(t)

	t.Run("random bytes", func(t *testing.T) {
		c := dial(t)
		_, _ = c.Write([]byte("\x16\x03\x01\x00\x20this is not a client hello at all!"))
		closed(t, c)
		ok(t)
	})
	t.Run("huge record length", func(t *testing.T) {
		c := dial(t)
		_, _ = c.Write([]byte{0x16, 0x03, 0x03, 0xff, 0xff, 1, 2, 3})
		closed(t, c)
		ok(t)
	})
	t.Run("plain HTTP", func(t *testing.T) {
		c := dial(t)
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(closed(t, c)))), nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP answer: %v %v", resp, err)
		}
		ok(t)
	})
	t.Run("concurrent garbage and good clients", func(t *testing.T) {
		var wg sync.WaitGroup
		var good atomic.Int64
		for i := range 8 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", g.addr)
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = c.Write(hello[:10+i])
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, _ = io.ReadAll(c)
			}()
			go func() {
				defer wg.Done()
				if res, err := g.try(request{sni: "a.example.test", cert: p.alice}); err == nil && res.status == 200 {
					good.Add(1)
				}
			}()
		}
		wg.Wait()
		if good.Load() != 8 {
			t.Errorf("%d of 8 good requests succeeded", good.Load())
		}
	})
	// The stalled connections are closed by the handshake timeout.
	closed(t, silent)
	closed(t, half)
	if !strings.Contains(g.logs.String(), "tls handshake failed") {
		t.Error("handshake failures were not logged")
	}
	ok(t)
}

// clientHelloBytes captures the first flight of a real TLS client.
func clientHelloBytes(t *testing.T) []byte {
	a, b := net.Pipe()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: "a.example.test"})
		_ = c.Handshake()
	}()
	buf := make([]byte, 4096)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	a.Close()
	return buf[:n]
}

// TestVerifyOncePerConnection: several requests on one keep-alive
// connection verify once; a new connection verifies again, also when it
// resumes the TLS session (crypto/tls restores the peer certificates).
func TestVerifyOncePerConnection(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	cfg := loadConfig(t, dir, fmt.Sprintf(siteYAML, "echo"))
	snap, err := Build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var verifies, requests atomic.Int64
	srv := NewServer(snap, nil, Options{Hooks: Hooks{
		Verify:  func(*VerifyEvent) { verifies.Add(1) },
		Request: func(*RequestEvent) { requests.Add(1) },
	}})
	addr := serve(t, srv)

	cache := tls.NewLRUClientSessionCache(4)
	client := newClient(p, addr, "a.example.test", cache)
	for i := range 3 {
		res := get(t, client, "/app")
		if res.status != 200 || res.echo(t).TLS.Resumed {
			t.Fatalf("request %d: status %d", i, res.status)
		}
	}
	if verifies.Load() != 1 || requests.Load() != 3 {
		t.Fatalf("3 requests on one connection: %d verifications, %d request events; want 1, 3", verifies.Load(), requests.Load())
	}
	client.CloseIdleConnections()
	res := get(t, client, "/app")
	if res.status != 200 || !res.echo(t).TLS.Resumed || !res.echo(t).Client.Verified {
		t.Fatalf("resumed connection: status %d, echo %s", res.status, res.body)
	}
	if verifies.Load() != 2 {
		t.Errorf("resumed connection: %d verifications in all, want 2", verifies.Load())
	}
	// Ignore locations verify nothing.
	client.CloseIdleConnections()
	get(t, client, "/public")
	if verifies.Load() != 2 {
		t.Errorf("ignore location verified a certificate")
	}
}

// TestSessionNotResumedAcrossSites: a session from a site that never asks
// for a certificate must not resume on a site that requires one (the
// CertificateRequest would be skipped and the client could not present
// its certificate). Each site seals tickets with its own keys.
func TestSessionNotResumedAcrossSites(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, fmt.Sprintf(multiSiteYAML, "echo"))
	cache := &anyNameCache{}
	// Same-site resumption works: the test can see resumption.
	for i := range 2 {
		res := g.do(t, request{sni: "open.example.test", sessions: cache, tlsMax: tls.VersionTLS13})
		if res.status != 200 || res.echo(t).TLS.Resumed != (i == 1) {
			t.Fatalf("open site request %d: status %d resumed %v", i, res.status, res.echo(t).TLS.Resumed)
		}
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		g.do(t, request{sni: "open.example.test", sessions: cache, tlsMax: v})
		res := g.do(t, request{sni: "a.example.test", cert: p.alice, sessions: cache, tlsMax: v})
		if res.status != 200 {
			t.Fatalf("%s: require site after open-site session: status %d\n%s", tls.VersionName(v), res.status, res.body)
		}
		if e := res.echo(t); e.TLS.Resumed || !e.Client.Verified {
			t.Errorf("%s: resumed %v verified %v", tls.VersionName(v), e.TLS.Resumed, e.Client.Verified)
		}
	}
}

// anyNameCache offers the last session to every server name, as a hostile
// or buggy client could.
type anyNameCache struct {
	mu sync.Mutex
	cs *tls.ClientSessionState
}

func (c *anyNameCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cs, c.cs != nil
}

func (c *anyNameCache) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.cs = cs
	}
}

// TestSwapKeepsConnectionsOnTheirSnapshot: after Swap, a connection
// accepted before keeps the old config; new connections get the new one.
func TestSwapKeepsConnectionsOnTheirSnapshot(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	old, err := Build(loadConfig(t, dir, fmt.Sprintf(siteYAML, "echo")), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(old, nil, Options{})
	addr := serve(t, srv)
	oldClient := newClient(p, addr, "a.example.test", nil)
	if res := get(t, oldClient, "/x"); res.echo(t).Location.Policy != "require" {
		t.Fatalf("before swap: %s", res.body)
	}

	// The new config makes / ignore and sends no CA list.
	yaml := strings.Replace(fmt.Sprintf(siteYAML, "echo"), "{path: /, client_cert: require}", "{path: /, client_cert: ignore}", 1)
	if err := os.WriteFile(filepath.Join(dir, "certgate.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	next, err := Build(loadConfig(t, dir, yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if prev := srv.Swap(next); prev != old {
		t.Fatal("Swap did not return the previous snapshot")
	}
	if res := get(t, oldClient, "/x"); res.echo(t).Location.Policy != "require" {
		t.Errorf("connection from before the swap switched config: %s", res.body)
	}
	newClient := newClient(p, addr, "a.example.test", nil)
	if res := get(t, newClient, "/x"); res.echo(t).Location.Policy != "ignore" {
		t.Errorf("new connection after swap uses the old config: %s", res.body)
	}
}

// TestHTTP2: h2 is negotiated and policies apply per stream.
func TestHTTP2(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
	c := newClient(p, g.addr, "a.example.test", nil)
	c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	for _, path := range []string{"/app", "/public"} {
		res := get(t, c, path)
		if res.status != 200 || res.proto != 2 || res.echo(t).TLS.ALPN != "h2" {
			t.Errorf("%s: status %d proto %d", path, res.status, res.proto)
		}
	}
	// A certificate-less client on the same protocol still gets 403.7.
	anon := newClient(nil, g.addr, "a.example.test", nil)
	anon.Transport.(*http.Transport).TLSClientConfig.RootCAs = pkitest.Pool(p.serverRoot.Cert)
	anon.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	if res := get(t, anon, "/app"); res.status != 403 || res.header.Get(HeaderSubstatus) != substatus.CertRequired.String() {
		t.Errorf("anonymous h2: status %d substatus %q", res.status, res.header.Get(HeaderSubstatus))
	}
}

// serve runs srv on a loopback port until the test ends.
func serve(t *testing.T, srv *Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// newClient returns a keep-alive client for one server name presenting
// alice (p nil: no certificate).
func newClient(p *testPKI, addr, sni string, cache tls.ClientSessionCache) *http.Client {
	tc := &tls.Config{ServerName: sni, ClientSessionCache: cache}
	if p != nil {
		tc.RootCAs = pkitest.Pool(p.serverRoot.Cert)
		alice := p.alice.TLSCertificate()
		tc.Certificates = []tls.Certificate{alice}
		// Offer alice whatever CA names the server sends.
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &alice, nil }
	}
	tr := &http.Transport{
		TLSClientConfig: tc,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type getResult struct {
	result
	proto int
}

func get(t *testing.T, c *http.Client, path string) getResult {
	t.Helper()
	host := c.Transport.(*http.Transport).TLSClientConfig.ServerName
	resp, err := c.Get("https://" + host + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return getResult{result{status: resp.StatusCode, header: resp.Header, body: body}, resp.ProtoMajor}
}
