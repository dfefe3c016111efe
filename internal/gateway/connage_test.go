package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// keepAliveClient keeps one connection per protocol and presents cert.
func (g *gatewayUnderTest) keepAliveClient(h2 bool, cert *pki.Leaf) *http.Client {
	tc := &tls.Config{ServerName: "a.example.test", RootCAs: pkitest.Pool(g.pki.serverRoot.Cert),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := cert.TLSCertificate()
			return &c, nil
		}}
	if !h2 {
		tc.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: h2, MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, g.addr)
		}}}
}

// getReused does one GET and reports its status and whether it went over
// an already open connection.
func getReused(t *testing.T, c *http.Client, path string) (status int, reused, closing bool) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://a.example.test"+path, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // read to the end, or HTTP/1.1 cannot reuse the connection
	resp.Body.Close()
	return resp.StatusCode, reused, resp.Close
}

// TestOpenConnectionsFollowReloads plays a client whose authorisation is
// withdrawn while it holds a keep-alive (HTTP/1.1) or multiplexed (HTTP/2)
// connection: after a reload that removes its root, the next request on
// the same connection is refused, and the connection is closed gracefully
// so that the client reconnects under the new configuration.
func TestOpenConnectionsFollowReloads(t *testing.T) {
	p := newTestPKI(t)
	other := pkitest.NewRoot(t, "Other Client Root")
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"), func(dir string) {
				pkitest.WriteCerts(t, dir, "other.pem", other.Cert)
			})
			c := g.keepAliveClient(h2, p.alice)
			defer c.CloseIdleConnections()
			if st, _, closing := getReused(t, c, "/"); st != http.StatusOK || closing {
				t.Fatalf("before the reload: status %d, closing %v", st, closing)
			}
			if st, reused, _ := getReused(t, c, "/"); st != http.StatusOK || !reused {
				t.Fatalf("keep-alive before the reload: status %d reused %v", st, reused)
			}
			// The reload: the client root is no longer trusted.
			cfg := loadConfig(t, g.dir, fmt.Sprintf(siteYAML, "echo"))
			cfg.Sites[0].ClientAuth.Trust.Roots = []string{g.dir + "/other.pem"}
			cfg.Sites[0].ClientAuth.IssuerList.Source = nil
			next, err := Build(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(next.Close)
			g.srv.Swap(next)
			st, reused, closing := getReused(t, c, "/")
			if !reused {
				t.Fatal("the client opened a new connection; the test needs the old one")
			}
			if st != http.StatusForbidden {
				t.Fatalf("after the reload, same connection: status %d, want 403.16", st)
			}
			if !h2 && !closing {
				t.Error("HTTP/1.1 response after the reload does not close the connection")
			}
			// The next request goes over a new connection (HTTP/2: after
			// the GOAWAY), decided by the new configuration.
			time.Sleep(50 * time.Millisecond)
			st, reused, _ = getReused(t, c, "/")
			if reused || st != http.StatusForbidden {
				t.Errorf("after the reload, next request: status %d reused %v, want 403 on a new connection", st, reused)
			}
		})
	}
}

// TestMaxConnectionAge: past timeouts.max_connection_age a connection's
// next response closes it gracefully (Connection: close on HTTP/1.1,
// GOAWAY on HTTP/2) and the client carries on over a new one.
func TestMaxConnectionAge(t *testing.T) {
	p := newTestPKI(t)
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			g := startGateway(t, p, "timeouts: {max_connection_age: 300ms}\n"+fmt.Sprintf(siteYAML, "echo"))
			c := g.keepAliveClient(h2, p.alice)
			defer c.CloseIdleConnections()
			if st, _, closing := getReused(t, c, "/"); st != http.StatusOK || closing {
				t.Fatalf("young connection: status %d closing %v", st, closing)
			}
			time.Sleep(400 * time.Millisecond)
			st, reused, closing := getReused(t, c, "/")
			if st != http.StatusOK || !reused {
				t.Fatalf("old connection: status %d reused %v, want its request served", st, reused)
			}
			if !h2 && !closing {
				t.Error("HTTP/1.1: no Connection: close past max_connection_age")
			}
			time.Sleep(50 * time.Millisecond)
			if st, reused, _ := getReused(t, c, "/"); st != http.StatusOK || reused {
				t.Errorf("after the graceful close: status %d reused %v, want 200 on a new connection", st, reused)
			}
		})
	}
}

// TestRevocationReachesOpenConnections plays a client whose certificate is
// revoked while it holds a connection: once the gateway has the new CRL
// (fetched here because another client's verification needed it), the
// revoked client's next request on its old connection is refused.
func TestRevocationReachesOpenConnections(t *testing.T) {
	p := newTestPKI(t)
	var revoked atomic.Bool
	var carol *pki.Leaf
	cdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if revoked.Load() {
			w.Write(p.sub.CRL(t, pki.CRLOptions{Number: 2, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, carol.Cert))
			return
		}
		// Valid for a moment only: the next verification fetches again.
		w.Write(p.sub.CRL(t, pki.CRLOptions{Number: 1, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Second)}))
	}))
	defer cdp.Close()
	carol = p.sub.Client(t, "carol", pki.WithCRLDistributionPoints(cdp.URL+"/sub.crl"))
	dave := p.sub.Client(t, "dave", pki.WithCRLDistributionPoints(cdp.URL+"/sub.crl"))
	yaml := strings.Replace(fmt.Sprintf(siteYAML, "echo"), `revocation: {mode: "off"}`, `revocation: {mode: online, crls: root.crl}`, 1)
	g := startGateway(t, p, yaml, func(dir string) {
		// The issuing CA's status comes from a local CRL of the root.
		pkitest.WriteFile(t, dir, "root.crl", p.root.CRL(t, pki.CRLOptions{}))
	})
	c := g.keepAliveClient(true, carol)
	defer c.CloseIdleConnections()
	if st, _, _ := getReused(t, c, "/"); st != http.StatusOK {
		t.Fatalf("before the revocation: status %d", st)
	}
	revoked.Store(true)
	time.Sleep(1200 * time.Millisecond) // the first CRL is past its nextUpdate
	// Another client's verification fetches the new CRL.
	if st, _, _ := getReused(t, g.keepAliveClient(true, dave), "/"); st != http.StatusOK {
		t.Fatalf("dave: status %d", st)
	}
	st, reused, _ := getReused(t, c, "/")
	if !reused {
		t.Fatal("carol's request went over a new connection; the test needs the old one")
	}
	if st != http.StatusForbidden {
		t.Fatalf("carol after her revocation, same connection: status %d, want 403.13", st)
	}
}
