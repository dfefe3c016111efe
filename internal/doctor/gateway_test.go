package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestProbeGateway probes the real gateway on 127.0.0.1: the CA names it
// sends are the configured issuer list, and the sub-status of each refusal
// is read back from its problem+json. The gateway's clock is fixed at the
// tests' "at" so that the fixed-validity client certificates verify.
func TestProbeGateway(t *testing.T) {
	p := newProbePKI(t)
	dir := t.TempDir()
	pkitest.WriteLeaf(t, dir, "server", p.serverCA.Localhost(t, serverValid))
	pkitest.WriteCerts(t, dir, "roots.pem", p.rootA.Cert)
	pkitest.WriteCerts(t, dir, "ctl.pem", p.rootA.Cert, p.rootB.Cert)
	cfgPath := pkitest.WriteFile(t, dir, "certgate.yaml", []byte(`
listen: 127.0.0.1:0
admin: {listen: "off"}
sites:
  - name: app
    hosts: [localhost]
    default: true
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      issuer_list: {source: ctl.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
`))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	snap, err := gateway.Build(cfg, nil)
	if err != nil {
		t.Fatalf("gateway.Build: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewServer(snap, nil, gateway.Options{Now: func() time.Time { return at }})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "https://" + ln.Addr().String() + "/hello"

	expired := p.rootA.Client(t, "Expired Client", pki.WithValidity(t0.AddDate(-1, 0, 0), t0)).TLSCertificate()
	clientA, clientC := p.clientA.TLSCertificate(), p.clientC.TLSCertificate()
	tests := []struct {
		name   string
		cert   *tls.Certificate
		status int
		sub    string
		code   string
	}{
		{"no certificate", nil, 403, "403.7", "SEC_E_NO_CREDENTIALS"},
		{"valid", &clientA, 200, "", ""},
		{"untrusted root", &clientC, 403, "403.16", "CERT_E_CHAINING"}, // root C was not sent: its issuer is unknown
		{"expired", &expired, 403, "403.17", "CERT_E_EXPIRED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Probe(context.Background(), ProbeOptions{
				URL: url, ServerName: "localhost", RootCAs: p.serverCA.Pool(), ClientCert: tt.cert, Get: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !r.CertificateRequested || r.CACount != 2 || r.CANames[0].DN != "CN=Test Root A" || r.CANames[1].DN != "CN=Test Root B" {
				t.Errorf("CA names = %+v, want the issuer_list source (Root A, Root B)", r.CANames)
			}
			if r.Response == nil || r.Response.Status != tt.status || r.Response.SubStatus != tt.sub || r.Response.Code != tt.code {
				t.Fatalf("response = %+v, want %d %q %q", r.Response, tt.status, tt.sub, tt.code)
			}
			if tt.sub != "" && (r.Response.From != "problem+json" || r.Response.Reason == "") {
				t.Errorf("refusal read from %q with reason %q; want problem+json with the loopback detailed reason", r.Response.From, r.Response.Reason)
			}
			if tt.name == "untrusted root" {
				if !strings.Contains(r.ClientCertNote, "would not offer") {
					t.Errorf("note = %q, want the browser-filter warning for a certificate outside the list", r.ClientCertNote)
				}
				golden(t, "probe-gateway-untrusted.txt", normalize(text(t, r), ""))
			}
		})
	}
}
