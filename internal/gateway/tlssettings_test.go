package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// handshake connects to the gateway with cfg (ServerName a.example.test,
// the server root trusted) and returns the connection state.
func handshake(t *testing.T, g *gatewayUnderTest, roots *x509.CertPool, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	cfg.ServerName, cfg.RootCAs = "a.example.test", roots
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", g.addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

// TestSiteTLSSettings: min_version, cipher_suites, curves and alpn of a
// site are what real TLS handshakes get.
func TestSiteTLSSettings(t *testing.T) {
	p := newTestPKI(t)
	roots := x509.NewCertPool()
	roots.AddCert(p.serverRoot.Cert)
	const base = `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`
	t.Run("min_version 1.3 refuses TLS 1.2", func(t *testing.T) {
		g := startGateway(t, p, base+"    tls: {min_version: \"1.3\"}\n")
		if _, err := handshake(t, g, roots, &tls.Config{MaxVersion: tls.VersionTLS12}); err == nil {
			t.Error("a TLS 1.2 client completed the handshake")
		}
		if cs, err := handshake(t, g, roots, &tls.Config{}); err != nil || cs.Version != tls.VersionTLS13 {
			t.Errorf("TLS 1.3 client: version %x, %v", cs.Version, err)
		}
	})
	t.Run("cipher_suites limit TLS 1.2", func(t *testing.T) {
		g := startGateway(t, p, base+"    tls: {cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]}\n")
		if _, err := handshake(t, g, roots, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}); err == nil {
			t.Error("a suite outside cipher_suites was negotiated")
		}
		cs, err := handshake(t, g, roots, &tls.Config{MaxVersion: tls.VersionTLS12})
		if err != nil || cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
			t.Errorf("suite %s, %v", tls.CipherSuiteName(cs.CipherSuite), err)
		}
	})
	t.Run("curves", func(t *testing.T) {
		g := startGateway(t, p, base+"    tls: {curves: [P-384]}\n")
		if _, err := handshake(t, g, roots, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}}); err == nil {
			t.Error("X25519 was accepted with curves: [P-384]")
		}
		if cs, err := handshake(t, g, roots, &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP384}}); err != nil || cs.CurveID != tls.CurveP384 {
			t.Errorf("curve %v, %v", cs.CurveID, err)
		}
	})
	t.Run("alpn http/1.1 only", func(t *testing.T) {
		g := startGateway(t, p, base+"    tls: {alpn: [http/1.1]}\n")
		cs, err := handshake(t, g, roots, &tls.Config{NextProtos: []string{"h2", "http/1.1"}})
		if err != nil || cs.NegotiatedProtocol != "http/1.1" {
			t.Errorf("negotiated %q, %v", cs.NegotiatedProtocol, err)
		}
		if r := g.do(t, request{sni: "a.example.test"}); r.status != 200 {
			t.Errorf("request over http/1.1: status %d", r.status)
		}
	})
}

// TestOCSPStapling: a server certificate that names an OCSP responder is
// served with a current "good" response from it; when the responder says
// revoked, nothing is stapled and the failure is logged.
func TestOCSPStapling(t *testing.T) {
	p := newTestPKI(t)
	issuing := p.serverRoot.Intermediate(t, "Server Issuing CA")
	var revoked atomic.Bool
	var hits atomic.Int64
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour)}
		if revoked.Load() {
			tmpl.Status, tmpl.RevokedAt = ocsp.Revoked, time.Now().Add(-time.Hour)
		}
		der, err := ocsp.CreateResponse(issuing.Cert, issuing.Cert, tmpl, issuing.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(der)
	}))
	t.Cleanup(responder.Close)
	server := issuing.Server(t, "stapled", testHosts, pki.WithOCSPServer(responder.URL))
	roots := x509.NewCertPool()
	roots.AddCert(p.serverRoot.Cert)
	yaml := `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: stapled.pem, key: stapled.key}
    upstream: echo
`
	staple := func(g *gatewayUnderTest) []byte {
		deadline := time.Now().Add(10 * time.Second)
		for {
			cs, err := handshake(t, g, roots, &tls.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if cs.OCSPResponse != nil || time.Now().After(deadline) {
				return cs.OCSPResponse
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	g := startGateway(t, p, yaml, func(dir string) { pkitest.WriteLeaf(t, dir, "stapled", server) })
	raw := staple(g)
	if raw == nil {
		t.Fatalf("no OCSP staple after 10s (%d responder hits); log:\n%s", hits.Load(), g.logs.String())
	}
	resp, err := ocsp.ParseResponseForCert(raw, server.Cert, issuing.Cert)
	if err != nil || resp.Status != ocsp.Good || resp.SerialNumber.Cmp(server.Cert.SerialNumber) != 0 {
		t.Errorf("staple: %v, %+v", err, resp)
	}

	revoked.Store(true)
	g2 := startGateway(t, p, yaml, func(dir string) { pkitest.WriteLeaf(t, dir, "stapled", server) })
	deadline := time.Now().Add(10 * time.Second)
	for len(eventsNamed(t, g2.logs, "ocsp_staple_failed")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(eventsNamed(t, g2.logs, "ocsp_staple_failed")) == 0 {
		t.Fatalf("no ocsp_staple_failed event for a revoked server certificate; log:\n%s", g2.logs.String())
	}
	if cs, err := handshake(t, g2, roots, &tls.Config{}); err != nil || cs.OCSPResponse != nil {
		t.Errorf("a revoked status was stapled (%v)", err)
	}

	// ocsp_stapling: false turns it off.
	before := hits.Load()
	g3 := startGateway(t, p, yaml+"    tls: {ocsp_stapling: false}\n", func(dir string) { pkitest.WriteLeaf(t, dir, "stapled", server) })
	if cs, err := handshake(t, g3, roots, &tls.Config{}); err != nil || cs.OCSPResponse != nil || hits.Load() != before {
		t.Errorf("stapling off: staple %v, responder hits %d -> %d, %v", cs.OCSPResponse != nil, before, hits.Load(), err)
	}
}
