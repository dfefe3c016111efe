package gateway

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
)

const headersYAML = `
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    forward: {strip: [X-Internal-*, X-Tenant]}
    locations:
      - {path: /, client_cert: require}
  - name: open
    default: true
    hosts: [open.example.test, "*.wild.example.test"]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
`

// TestSpoofedRoutingAndCertHeadersStripped: headers that backends trust as
// the client certificate (IIS ARR's X-ARR-ClientCert...), as the real URL
// (X-Original-URL, which IIS URL Rewrite and frameworks route by), as the
// client address, and a site's own forward.strip list never reach the
// upstream, over HTTP/1.1 and HTTP/2; on the default site X-Forwarded-Host
// is forwarded only for a host the site lists.
func TestSpoofedRoutingAndCertHeadersStripped(t *testing.T) {
	p := newTestPKI(t)
	up := newHostileUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(headersYAML, up.URL))
	spoof := map[string]string{
		"X-ARR-ClientCert": "MIIBadmin", "x-client-cert": "MIIB", "X-SSL-Client-Cert": "MIIB", "Ssl-Client-Cert": "MIIB",
		"X-SSL-Client-S-DN": "CN=admin", "X-SSL-Client-Anything": "1", "X-Original-URL": "/admin", "X-Rewrite-URL": "/admin",
		"X-Original-Uri": "/admin", "X-Forwarded-Uri": "/admin", "X-Forwarded-Prefix": "/admin", "X-Forwarded-Port": "1",
		"X-Real-IP": "10.0.0.1", "X_Real_IP": "10.0.0.2", "X-Internal-Role": "admin", "x-tenant": "other", "X-Keep-Me": "yes",
	}
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			c := newClient(p, g.addr, "a.example.test", nil)
			tr := c.Transport.(*http.Transport)
			if proto == "h2" {
				tr.ForceAttemptHTTP2 = true
			} else {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			req, _ := http.NewRequest(http.MethodGet, "https://a.example.test/public", nil)
			for k, v := range spoof {
				req.Header[k] = []string{v}
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != map[string]int{"h1": 1, "h2": 2}[proto] {
				t.Fatalf("status %d proto %d", resp.StatusCode, resp.ProtoMajor)
			}
			seen := up.take()
			if len(seen) != 1 {
				t.Fatalf("upstream saw %d requests", len(seen))
			}
			for k := range seen[0].header {
				n := normalizeHeaderName(k)
				for sk := range spoof {
					if normalizeHeaderName(sk) == n && n != "x-keep-me" {
						t.Errorf("upstream received %s: %q", k, seen[0].header[k])
					}
				}
			}
			if seen[0].header.Get("X-Keep-Me") != "yes" || seen[0].header.Get("X-Forwarded-Host") != "a.example.test" {
				t.Errorf("X-Keep-Me %q X-Forwarded-Host %q", seen[0].header.Get("X-Keep-Me"), seen[0].header.Get("X-Forwarded-Host"))
			}
		})
	}

	// The default site answers any Host; only listed ones are forwarded.
	for _, tt := range []struct{ sni, host, want string }{
		{"open.example.test", "evil.example", ""},
		{"", "evil.example", ""},
		{"open.example.test", "open.example.test", "open.example.test"},
		{"x.wild.example.test", "x.wild.example.test", "x.wild.example.test"},
	} {
		t.Run("default site Host "+tt.host+" SNI "+tt.sni, func(t *testing.T) {
			res := g.do(t, request{sni: tt.sni, host: tt.host, path: "/x", header: http.Header{"X-Forwarded-Host": {"evil.example"}}})
			if res.status != 200 {
				t.Fatalf("status %d %s", res.status, res.body)
			}
			seen := up.take()
			if len(seen) != 1 || seen[0].header.Get("X-Forwarded-Host") != tt.want || len(seen[0].header.Values("X-Forwarded-Host")) > 1 {
				t.Errorf("X-Forwarded-Host %q, want %q", seen[0].header.Values("X-Forwarded-Host"), tt.want)
			}
		})
	}
}
