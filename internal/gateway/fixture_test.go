package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// testPKI is the PKI most tests share: a client root with an issuing
// intermediate, and a separate server root.
type testPKI struct {
	root, sub  *pkitest.CA // client CAs
	serverRoot *pkitest.CA
	server     *pki.Leaf
	alice      *pki.Leaf // valid client under sub
}

// Server names the test server certificate covers.
var testHosts = []string{"a.example.test", "b.example.test", "open.example.test", "unknown.example.test", "*.wild.example.test", "localhost"}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{}
	p.root = pkitest.NewRoot(t, "Client Root")
	p.sub = p.root.Intermediate(t, "Client Issuing CA")
	p.serverRoot = pkitest.NewRoot(t, "Server Root")
	p.server = p.serverRoot.Server(t, "gateway", testHosts)
	p.alice = p.sub.Client(t, "alice")
	return p
}

// writeFiles writes the server key pair, client roots and intermediates
// into dir, under the names the test configs use.
func (p *testPKI) writeFiles(t testing.TB, dir string) {
	t.Helper()
	pkitest.WriteLeaf(t, dir, "server", p.server)
	pkitest.WriteCerts(t, dir, "roots.pem", p.root.Cert)
	pkitest.WriteCerts(t, dir, "intermediates.pem", p.sub.Cert)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records decodes the JSON log lines.
func (b *syncBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// countingUpstream is an HTTP upstream that counts what reaches it.
type countingUpstream struct {
	*httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	headers []http.Header
}

func newCountingUpstream(t testing.TB) *countingUpstream {
	u := &countingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "upstream saw %s %s\n", r.Method, r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

// gateway is a running Server on 127.0.0.1 with its config directory.
type gatewayUnderTest struct {
	pki  *testPKI
	dir  string
	srv  *Server
	snap *Snapshot
	addr string
	logs *syncBuffer
}

// loadConfig writes yaml as certgate.yaml in dir and loads it like
// `certgate serve` does.
func loadConfig(t testing.TB, dir, yaml string) *config.Config {
	t.Helper()
	path := filepath.Join(dir, "certgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load config: %v\n%s", err, yaml)
	}
	return cfg
}

func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startGateway builds the config and serves it on a loopback port. The
// PKI files are written to a fresh directory first; setup may add more.
func startGateway(t testing.TB, p *testPKI, yaml string, setup ...func(dir string)) *gatewayUnderTest {
	t.Helper()
	return startGatewayWith(t, p, yaml, Options{}, setup...)
}

// startGatewayWith is startGateway with the Server's options (hooks).
func startGatewayWith(t testing.TB, p *testPKI, yaml string, opts Options, setup ...func(dir string)) *gatewayUnderTest {
	t.Helper()
	dir := t.TempDir()
	p.writeFiles(t, dir)
	for _, f := range setup {
		f(dir)
	}
	g := &gatewayUnderTest{pki: p, dir: dir, logs: &syncBuffer{}}
	logger := jsonLogger(g.logs)
	cfg := loadConfig(t, dir, yaml)
	snap, err := Build(cfg, logger)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	g.snap = snap
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.srv = NewServer(snap, logger, opts)
	done := make(chan error, 1)
	go func() { done <- g.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return g
}

// request describes one client request over a fresh TLS connection.
type request struct {
	sni    string // TLS server name; "" sends none (an IP address is used)
	host   string // Host header; defaults to sni
	path   string
	cert   *pki.Leaf // nil presents no certificate
	chain  []*x509.Certificate
	accept string
	header http.Header
	tlsMax uint16
	// sessions, when set, lets the client resume TLS sessions.
	sessions tls.ClientSessionCache
	// proxyHeader is written on the TCP connection before the TLS
	// handshake, as a TCP proxy speaking the PROXY protocol does.
	proxyHeader []byte
}

// result is what the client saw.
type result struct {
	status int
	header http.Header
	body   []byte
	// cri is the CertificateRequest the server sent; nil if none.
	cri *tls.CertificateRequestInfo
}

func (r result) problem(t testing.TB) problemJSON {
	t.Helper()
	var p problemJSON
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body:\n%s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem: %v\n%s", err, r.body)
	}
	return p
}

func (r result) echo(t testing.TB) echo.Response {
	t.Helper()
	var e echo.Response
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d, decode echo: %v\n%s", r.status, err, r.body)
	}
	return e
}

func (g *gatewayUnderTest) do(t testing.TB, rq request) result {
	t.Helper()
	res, err := g.try(rq)
	if err != nil {
		t.Fatalf("request %+v: %v", rq, err)
	}
	return res
}

func (g *gatewayUnderTest) try(rq request) (result, error) {
	var res result
	var mu sync.Mutex
	roots := x509.NewCertPool()
	roots.AddCert(g.pki.serverRoot.Cert)
	tc := &tls.Config{
		RootCAs:            roots,
		ServerName:         rq.sni,
		MaxVersion:         rq.tlsMax,
		ClientSessionCache: rq.sessions,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			mu.Lock()
			res.cri = cri
			mu.Unlock()
			if rq.cert == nil {
				return &tls.Certificate{}, nil
			}
			c := rq.cert.TLSCertificate()
			if rq.chain != nil {
				c.Certificate = [][]byte{rq.cert.Cert.Raw}
				for _, x := range rq.chain {
					c.Certificate = append(c.Certificate, x.Raw)
				}
			}
			return &c, nil
		},
	}
	if rq.sni == "" {
		// No SNI: Go sends none for an IP address; verify the server
		// certificate by name ourselves.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"})
			return err
		}
	}
	tr := &http.Transport{
		TLSClientConfig:   tc,
		DisableKeepAlives: true,
		// Send only the headers the test names (no Accept-Encoding: gzip).
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, g.addr)
			if err == nil && rq.proxyHeader != nil {
				if _, err = c.Write(rq.proxyHeader); err != nil {
					c.Close()
				}
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	host := rq.host
	if host == "" {
		host = rq.sni
	}
	if host == "" {
		host = "127.0.0.1"
	}
	path := rq.path
	if path == "" {
		path = "/"
	}
	// The URL names an IP address, so that without an explicit ServerName
	// no SNI is sent; the Host header is set separately.
	req, err := http.NewRequest(http.MethodGet, "https://127.0.0.1"+path, nil)
	if err != nil {
		return res, err
	}
	req.Host = host
	for k, v := range rq.header {
		req.Header[k] = v
	}
	if rq.accept != "" {
		req.Header.Set("Accept", rq.accept)
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return res, err
	}
	mu.Lock()
	defer mu.Unlock()
	res.status, res.header, res.body = resp.StatusCode, resp.Header, body
	return res, nil
}
