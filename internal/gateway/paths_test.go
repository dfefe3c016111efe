package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

// pathsYAML: site a protects everything but /public; site i protects
// /secret in front of a case-insensitive (IIS-like) backend and opts out
// of no rule; site j opts out of semicolon by name.
const pathsYAML = `
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
      - {path: /public, client_cert: ignore}
  - name: i
    hosts: [b.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    paths: {case_insensitive: true}
    locations:
      - {path: /, client_cert: ignore}
      - {path: /secret, client_cert: require}
  - name: j
    hosts: [open.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    paths: {allow: [semicolon]}
    locations:
      - {path: /, client_cert: ignore}
`

// TestPathConfusionAttacks sends the paths that different backends read
// as another path than the one certgate matched, without a certificate,
// over HTTP/1.1 and HTTP/2: each is refused with 400 naming its rule,
// counted in metrics, and never reaches the upstream.
func TestPathConfusionAttacks(t *testing.T) {
	p := newTestPKI(t)
	up := newHostileUpstream(t)
	o := startObserved(t, p, fmt.Sprintf(pathsYAML, up.URL))
	attacks := []struct {
		sni, path, rule string
	}{
		// /public ignore, / require: reach a protected path from /public.
		{"a.example.test", "/public/..;/secret", "semicolon"},
		{"a.example.test", "/public/%2e%2e;/secret", "semicolon"},
		{"a.example.test", "/public/..%5csecret", "backslash"},
		{"a.example.test", `/public/..\secret`, "backslash"},
		{"a.example.test", "/public/..%252fsecret", "double_encoding"},
		{"a.example.test", "/public/%252e%252e/secret", "double_encoding"},
		{"a.example.test", "/public/..%c0%afsecret", "invalid_utf8"},
		{"a.example.test", "/public/..%00/secret", "control"},
		{"a.example.test", "/public/..%2fsecret", "encoded_slash"},
		{"a.example.test", "/public/../secret", "dot_segment"},
		{"a.example.test", "/public/%2e%2e/secret", "dot_segment"},
		{"a.example.test", "/public//../secret", "empty_segment"},
		{"a.example.test", "/public%3f/../secret", "encoded_delimiter"},
		// /secret require, / ignore: miss /secret by a form the backend
		// still reads as /secret.
		{"b.example.test", "/secret;x", "semicolon"},
		{"b.example.test", "/secret%3bx", "semicolon"},
		{"b.example.test", "/secret%00", "control"},
		{"b.example.test", "/secret.", "trailing_dot_space"},
		{"b.example.test", "/secret%20", "trailing_dot_space"},
		{"b.example.test", "/secret::$DATA", "ntfs_stream"},
		{"b.example.test", "/secret%09", "control"},
		{"b.example.test", "/secret#x", "invalid_character"},
		{"b.example.test", "/secret%23x", "encoded_delimiter"},
		// Opting out of one rule leaves the others.
		{"open.example.test", "/x;y/..%2f", "encoded_slash"},
	}
	answered := 0 // by the gateway's handler, which the metrics count
	for _, proto := range []string{"h1", "h2"} {
		for _, a := range attacks {
			t.Run(proto+" "+a.sni+a.path, func(t *testing.T) {
				status, sub, body := rawPathRequest(t, o.gatewayUnderTest, proto, a.sni, a.path, nil)
				if sub != "" {
					answered++
				}
				if status != http.StatusBadRequest || sub != substatus.BadRequest.String() {
					t.Fatalf("status %d substatus %q, want 400\n%s", status, sub, body)
				}
				if !strings.Contains(body, "rule "+a.rule) {
					t.Errorf("reason does not name rule %s:\n%s", a.rule, body)
				}
				noUpstreamHit(t, up)
			})
		}
	}
	wait(o.requests, answered)
	fams := o.scrape(t)
	if got := series(fams, "certgate_requests_refused_total", "site", "a", "reason", "path_semicolon"); got != 4 {
		t.Errorf("certgate_requests_refused_total{site=a,reason=path_semicolon} = %v, want 4", got)
	}
	if got := series(fams, "certgate_requests_refused_total", "site", "i", "reason", "path_ntfs_stream"); got != 2 {
		t.Errorf("certgate_requests_refused_total{site=i,reason=path_ntfs_stream} = %v, want 2", got)
	}

	// What a case-insensitive backend reads as /secret is governed by
	// /secret; canonical paths pass; an opted-out rule passes.
	allowed := []struct {
		sni, path string
		cert      *pki.Leaf
		status    int
		sub       substatus.Sub
	}{
		{"b.example.test", "/SECRET", nil, 403, substatus.CertRequired},
		{"b.example.test", "/Secret/x", nil, 403, substatus.CertRequired},
		{"b.example.test", "/%C5%BFecret", nil, 403, substatus.CertRequired}, // ſ (long s) is S to Windows
		{"b.example.test", "/SECRET/x", p.alice, 200, substatus.OK},
		{"b.example.test", "/secretary", nil, 200, substatus.OK},
		{"a.example.test", "/public/caf%C3%A9/x/", nil, 200, substatus.OK},
		{"a.example.test", "/public/a%20b/items:batchGet", nil, 200, substatus.OK},
		{"open.example.test", "/x;jsessionid=1", nil, 200, substatus.OK},
	}
	for _, proto := range []string{"h1", "h2"} {
		for _, a := range allowed {
			t.Run(proto+" allowed "+a.sni+a.path, func(t *testing.T) {
				status, sub, body := rawPathRequest(t, o.gatewayUnderTest, proto, a.sni, a.path, a.cert)
				if status != a.status || (a.status != 200 && sub != a.sub.String()) {
					t.Fatalf("status %d substatus %q, want %d %s\n%s", status, sub, a.status, a.sub, body)
				}
				seen := up.take()
				if a.status == 200 && (len(seen) != 1 || seen[0].uri != a.path) {
					t.Errorf("upstream saw %+v, want %s as sent", seen, a.path)
				}
			})
		}
	}
}

// rawPathRequest sends GET with the request target exactly as given
// (URL.Opaque), over HTTP/1.1 or HTTP/2, presenting cert (nil: none), and
// returns status, sub-status header and body.
func rawPathRequest(t *testing.T, g *gatewayUnderTest, proto, sni, raw string, cert *pki.Leaf) (int, string, string) {
	t.Helper()
	tc := &tls.Config{ServerName: sni, RootCAs: pkitest.Pool(g.pki.serverRoot.Cert),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			c := cert.TLSCertificate()
			return &c, nil
		}}
	tr := &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, g.addr)
		}}
	if proto == "h2" {
		tr.ForceAttemptHTTP2 = true
	} else {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "https://"+sni+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = raw
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s GET %q: %v", proto, raw, err)
	}
	defer resp.Body.Close()
	if want := map[string]int{"h1": 1, "h2": 2}[proto]; resp.ProtoMajor != want {
		t.Fatalf("spoke HTTP/%d, want %s", resp.ProtoMajor, proto)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get(HeaderSubstatus), string(body)
}
