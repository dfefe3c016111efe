package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSSLHeadersAndXFCC: with forward.ssl_headers and forward.xfcc, a real
// upstream behind real TLS receives nginx-style X-SSL-Client-* headers and
// Envoy's X-Forwarded-Client-Cert describing the verified certificate;
// the same headers sent by a client (an attacker claiming SUCCESS) never
// reach it, and a request without a verified certificate is "NONE".
func TestSSLHeadersAndXFCC(t *testing.T) {
	p := newTestPKI(t)
	up := newCountingUpstream(t)
	g := startGateway(t, p, `sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: `+up.URL+`
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    forward:
      ssl_headers: {s_dn: X-Client-DN}
      xfcc: true
    locations:
      - {path: /public, client_cert: ignore}
      - {path: /, client_cert: require}
`)
	spoof := http.Header{
		"X-Ssl-Client-Verify":     {"SUCCESS"},
		"X-Ssl-Client-S-Dn":       {"CN=admin"},
		"X-Client-Dn":             {"CN=admin"},
		"X-Forwarded-Client-Cert": {"Hash=00;Subject=\"CN=admin\""},
	}
	if r := g.do(t, request{sni: "a.example.test", path: "/public", header: spoof}); r.status != 200 {
		t.Fatalf("/public: status %d", r.status)
	}
	if r := g.do(t, request{sni: "a.example.test", path: "/", cert: p.alice, header: spoof}); r.status != 200 {
		t.Fatalf("/ with alice: status %d", r.status)
	}
	up.mu.Lock()
	anon, alice := up.headers[0], up.headers[1]
	up.mu.Unlock()

	if got := anon.Get("X-SSL-Client-Verify"); got != "NONE" {
		t.Errorf("anonymous: X-SSL-Client-Verify %q, want NONE", got)
	}
	for _, h := range []string{"X-SSL-Client-S-DN", "X-Client-DN", "X-Forwarded-Client-Cert", "X-SSL-Client-Cert"} {
		if v := anon.Values(h); len(v) != 0 {
			t.Errorf("anonymous: %s reached the upstream: %q", h, v)
		}
	}

	leaf := p.alice.Cert
	sum := sha256.Sum256(leaf.Raw)
	want := map[string]string{
		"X-SSL-Client-Verify": "SUCCESS",
		"X-Client-DN":         leaf.Subject.String(),
		"X-SSL-Client-I-DN":   leaf.Issuer.String(),
		"X-SSL-Client-Serial": strings.ToUpper(leaf.SerialNumber.Text(16)),
		"X-SSL-Client-SHA256": hex.EncodeToString(sum[:]),
	}
	for h, v := range want {
		if got := alice.Values(h); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", h, got, v)
		}
	}
	if v := alice.Values("X-SSL-Client-S-DN"); len(v) != 0 {
		t.Errorf("the renamed s_dn header still went out under its default name: %q", v)
	}
	certPEM, err := url.QueryUnescape(alice.Get("X-SSL-Client-Cert"))
	if b, _ := pem.Decode([]byte(certPEM)); err != nil || b == nil || string(b.Bytes) != string(leaf.Raw) {
		t.Errorf("X-SSL-Client-Cert does not decode to alice's certificate (%v)", err)
	}
	xfcc := alice.Values("X-Forwarded-Client-Cert")
	if len(xfcc) != 1 || !strings.HasPrefix(xfcc[0], "Hash="+hex.EncodeToString(sum[:])+";Cert=\"") || !strings.Contains(xfcc[0], `;Subject="CN=alice"`) || strings.Contains(xfcc[0], "admin") {
		t.Errorf("X-Forwarded-Client-Cert = %q", xfcc)
	}
}
