package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/doctor"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestProbeGateway runs `certgate probe` (doctor.Probe) against the real
// gateway on 127.0.0.1: the CA names it sends are the configured issuer
// list, and the sub-status of each refusal is read back from its
// problem+json. The gateway's clock is fixed so that the fixed-validity
// client certificates verify. (It lives here, not in internal/doctor, so
// that only cmd/certgate and the gateway's own tests import the gateway.)
func TestProbeGateway(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	caValid, leafValid := pki.WithValidity(t0, t0.AddDate(10, 0, 0)), pki.WithValidity(t0, t0.AddDate(2, 0, 0))
	now := time.Now()
	serverValid := pki.WithValidity(now.Add(-time.Hour), now.AddDate(1, 0, 0))
	rootA, rootB, rootC := pkitest.NewRoot(t, "Test Root A", caValid), pkitest.NewRoot(t, "Test Root B", caValid), pkitest.NewRoot(t, "Test Root C", caValid)
	serverCA := pkitest.NewRoot(t, "Test Server CA", serverValid)

	dir := t.TempDir()
	pkitest.WriteLeaf(t, dir, "server", serverCA.Localhost(t, serverValid))
	pkitest.WriteCerts(t, dir, "roots.pem", rootA.Cert)
	pkitest.WriteCerts(t, dir, "ctl.pem", rootA.Cert, rootB.Cert)
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
	snap, err := Build(cfg, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(snap, nil, Options{Now: func() time.Time { return at }})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "https://" + ln.Addr().String() + "/hello"

	expired := rootA.Client(t, "Expired Client", pki.WithValidity(t0.AddDate(-1, 0, 0), t0)).TLSCertificate()
	clientA := rootA.Client(t, "Client A", leafValid).TLSCertificate()
	clientC := rootC.Client(t, "Client C", leafValid).TLSCertificate()
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
			r, err := doctor.Probe(context.Background(), doctor.ProbeOptions{
				URL: url, ServerName: "localhost", RootCAs: serverCA.Pool(), ClientCert: tt.cert, Get: true,
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
				var b bytes.Buffer
				if err := r.WriteText(&b); err != nil {
					t.Fatal(err)
				}
				probeGolden(t, "probe-untrusted.txt", normalizeProbe(b.Bytes()))
			}
		})
	}
}

var (
	probeSHA256RE = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	probePortRE   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	probeCipherRE = regexp.MustCompile(`TLS_[A-Z0-9_]+`)
)

// normalizeProbe replaces what changes between runs (fingerprints, the
// port, the cipher suite).
func normalizeProbe(b []byte) []byte {
	s := probeSHA256RE.ReplaceAllString(string(b), "<sha256>")
	s = probePortRE.ReplaceAllString(s, "127.0.0.1:PORT")
	s = probeCipherRE.ReplaceAllString(s, "<cipher>")
	return []byte(s)
}

// probeGolden compares got with testdata/name, or rewrites it with -update.
func probeGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestProbeNonDefaultSite probes a site that is not the default, reached by
// IP address with --servername and by name with --connect-to: the request's
// Host is the server name, so the gateway answers for that site rather
// than 421; and whatever status probe prints, explain understands it.
func TestProbeNonDefaultSite(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, `
listen: 127.0.0.1:0
sites:
  - {name: a, hosts: [a.example.test], default: true, certificate: {cert: server.pem, key: server.key}, upstream: echo}
  - {name: b, hosts: [b.example.test], certificate: {cert: server.pem, key: server.key}, upstream: echo}
`)
	_, port, _ := net.SplitHostPort(g.addr)
	for _, tc := range []struct {
		name string
		o    doctor.ProbeOptions
	}{
		{"--servername", doctor.ProbeOptions{URL: "https://" + g.addr + "/", ServerName: "b.example.test"}},
		{"--connect-to", doctor.ProbeOptions{URL: "https://b.example.test:" + port + "/", ConnectTo: g.addr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.RootCAs, tc.o.Get = p.serverRoot.Pool(), true
			r, err := doctor.Probe(context.Background(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Response == nil || r.Response.Status != http.StatusOK || r.ServerName != "b.example.test" {
				t.Fatalf("response %+v server name %q, want 200 from site b", r.Response, r.ServerName)
			}
		})
	}
	// A real 421 (SNI a, Host b): its problem JSON says "421", which
	// explain knows (TestParseAnswerStatusOnly reads it).
	res := g.do(t, request{sni: "a.example.test", host: "b.example.test", accept: "application/problem+json"})
	if pj := res.problem(t); pj.Substatus != "421" {
		t.Fatalf("421 problem substatus = %q", pj.Substatus)
	}
	if _, err := doctor.Explain("421", doctor.ExplainOptions{}); err != nil {
		t.Errorf("explain 421: %v", err)
	}
	if _, err := doctor.Probe(context.Background(), doctor.ProbeOptions{URL: "https://b.example.test/", ConnectTo: "nonsense"}); err == nil {
		t.Error("--connect-to without a port accepted")
	}
}
