package importer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/echo"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
)

// serveImported starts the gateway, as `certgate serve` wires it, on the
// translated config, listening on a free 127.0.0.1 port, and returns its
// address. The admin listener is off so parallel tests do not collide.
func serveImported(t *testing.T, cfg *config.Config) string {
	t.Helper()
	cfg.Admin.Listen = config.AdminOff
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := gateway.NewService(cfg, gateway.ServiceOptions{Logger: slog.New(slog.DiscardHandler), Listener: ln})
	if err != nil {
		t.Fatalf("the translated config does not serve: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = svc.Shutdown(sctx)
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// writePEM writes certs to path (as the config names it, resolved), making
// its directory.
func writePEM(t *testing.T, path string, certs ...*x509.Certificate) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteCertsPEM(path, certs...); err != nil {
		t.Fatal(err)
	}
}

func writeServerCert(t *testing.T, s *config.Site, l *pki.Leaf) {
	t.Helper()
	writePEM(t, s.Certificate.Cert, l.Chain()...)
	if err := pki.WriteKeyPEM(s.Certificate.Key, l.Key); err != nil {
		t.Fatal(err)
	}
}

type answer struct {
	status    int
	substatus string
	echo      echo.Response
}

// get requests https://sni/path from the gateway at addr over real TLS,
// presenting client (nil: no certificate) with its chain.
func get(t *testing.T, addr, sni, path string, serverRoots *x509.CertPool, client *pki.Leaf) answer {
	t.Helper()
	tc := &tls.Config{ServerName: sni, RootCAs: serverRoots}
	if client != nil {
		c := tls.Certificate{PrivateKey: client.Key, Leaf: client.Cert}
		for _, x := range client.Chain() {
			c.Certificate = append(c.Certificate, x.Raw)
		}
		// Present it whatever CA names the server sends, as a client
		// configured with one certificate does (Go's own selection would
		// send nothing for an unlisted issuer).
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	tr := &http.Transport{TLSClientConfig: tc, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	resp, err := cl.Get("https://" + sni + path)
	if err != nil {
		t.Fatalf("GET https://%s%s: %v", sni, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, substatus: resp.Header.Get(substatus.HeaderSubstatus)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &a.echo); err != nil {
			t.Fatalf("GET %s: echo body: %v\n%s", path, err, body)
		}
	}
	return a
}
