package gateway

import (
	"bufio"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

const upgradeYAML = `
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    mapping:
      many_to_one:
        - {name: staff, match: {subject: {O: Corp}}, user: "{CN}"}
    locations:
      - {path: /, client_cert: require}
      - {path: /public, client_cert: ignore}
      - {path: /ws, client_cert: require, upgrade: [websocket], allow_users: [alice]}
      - {path: /ws-open, client_cert: ignore, upgrade: [WebSocket]}
`

// TestUpgradeTunnelAttacks plays a client that uses a protocol upgrade to
// get past the location rules: after a 101 every byte is tunnelled, so an
// upgrade allowed on an ignore path would carry requests for any path,
// with forged identity headers, to an upstream that reads HTTP from the
// tunnel (the hostile upstream does). Over real TLS, HTTP/1.1 and HTTP/2.
func TestUpgradeTunnelAttacks(t *testing.T) {
	p := newTestPKI(t)
	corp := func(cn string) *pki.Leaf {
		return p.sub.Client(t, cn, pki.WithSubject(pkix.Name{CommonName: cn, Organization: []string{"Corp"}}))
	}
	alice, bob := corp("alice"), corp("bob")
	up := newHostileUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(upgradeYAML, up.URL))

	const forged = "X-Remote-User: admin\nClient-Cert: :AAAA:\n"
	tunnelled := "GET /admin HTTP/1.1\nHost: a.example.test\n" + forged + "\n"
	refused := []struct {
		name   string
		cert   *pki.Leaf
		req    string
		status int
		sub    substatus.Sub
	}{
		{name: "h2c on an ignore path without a certificate", req: "GET /public HTTP/1.1\nHost: a.example.test\nConnection: Upgrade, HTTP2-Settings\nUpgrade: h2c\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\n" + forged + "\n", status: 400},
		{name: "h2c with a valid certificate on a require path", cert: alice, req: "GET /x HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: h2c\n\n", status: 400},
		{name: "h2c on a location allowing websocket", req: "GET /ws-open HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: H2C\n\n", status: 400},
		{name: "h2c hidden behind websocket in the list", req: "GET /ws-open HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket, h2c\n\n", status: 400},
		{name: "h2c without Connection: upgrade", req: "GET /public HTTP/1.1\nHost: a.example.test\nUpgrade: h2c\n\n", status: 400},
		{name: "websocket on a location without upgrade", req: "GET /public/chat HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\n", status: 400},
		{name: "unknown protocol on a websocket location", req: "GET /ws-open HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: tls/1.3\n\n", status: 400},
		{name: "two Upgrade lines", req: "GET /ws-open HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket\nUpgrade: h2c\n\n", status: 400},
		{name: "Connection: upgrade without a protocol", req: "GET /public HTTP/1.1\nHost: a.example.test\nConnection: upgrade\n\n", status: 400},
		{name: "CONNECT", req: "CONNECT a.example.test:443 HTTP/1.1\nHost: a.example.test:443\n\n", status: 400},
		{name: "websocket on a require location without a certificate", req: "GET /ws HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket\n\n", status: 403, sub: substatus.CertRequired},
		{name: "websocket by a user the location does not allow", cert: bob, req: "GET /ws HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket\n\n", status: 403, sub: substatus.UserNotAllowedHere},
		{name: "upstream switches to another protocol", req: "GET /ws-open HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket\nX-Answer-Upgrade: h2c\n\n", status: 502},
		{name: "upstream switches protocols unasked", req: "GET /public/always101 HTTP/1.1\nHost: a.example.test\n\n", status: 502},
	}
	for _, tt := range refused {
		t.Run("h1/"+tt.name, func(t *testing.T) {
			conn := rawTLS(t, g, "a.example.test", tt.cert)
			br := bufio.NewReader(conn)
			resp, body := rawExchange(t, conn, br, tt.req)
			if resp.StatusCode == http.StatusSwitchingProtocols {
				// The attack worked: show what the tunnel lets through.
				_, tb := rawExchange(t, conn, br, tunnelled)
				t.Fatalf("gateway forwarded a 101; inside the tunnel: %s", tb)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if tt.sub != (substatus.Sub{}) && resp.Header.Get(HeaderSubstatus) != tt.sub.String() {
				t.Errorf("substatus %q, want %s", resp.Header.Get(HeaderSubstatus), tt.sub)
			}
			if tt.status == 502 {
				up.take() // the upstream was asked and misbehaved; nothing came back
				return
			}
			noUpstreamHit(t, up)
		})
	}

	t.Run("h1/websocket allowed: policy, mapping and identity headers apply to the upgrade request", func(t *testing.T) {
		conn := rawTLS(t, g, "a.example.test", alice)
		br := bufio.NewReader(conn)
		resp, body := rawExchange(t, conn, br, "GET /ws HTTP/1.1\nHost: a.example.test\nConnection: Upgrade\nUpgrade: websocket\n"+forged+"\n")
		if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
			t.Fatalf("status %d Upgrade %q, want 101 websocket\n%s", resp.StatusCode, resp.Header.Get("Upgrade"), body)
		}
		seen := up.take()
		if len(seen) != 1 {
			t.Fatalf("upstream saw %d requests, want the upgrade request", len(seen))
		}
		h := seen[0].header
		if h.Get("X-Remote-User") != "alice" || h.Get("Client-Cert") == ":AAAA:" || h.Get("Client-Cert") == "" {
			t.Errorf("upgrade request reached the upstream with X-Remote-User %q Client-Cert %.20q, want the mapped user and the verified certificate",
				h.Values("X-Remote-User"), h.Values("Client-Cert"))
		}
		// The tunnel carries bytes both ways.
		if _, err := io.WriteString(conn, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		tr, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read through the tunnel: %v", err)
		}
		tr.Body.Close()
		up.take()
	})

	// HTTP/2 has no Upgrade (RFC 9113 section 8.2.2: connection-specific
	// fields are malformed) and CONNECT opens a tunnel: both are refused
	// before any upstream sees them.
	h2 := []struct {
		name   string
		cert   *pki.Leaf
		fields []string
	}{
		{"h2c upgrade fields on an ignore path", nil, []string{":method", "GET", ":scheme", "https", ":authority", "a.example.test", ":path", "/public",
			"connection", "Upgrade", "upgrade", "h2c", "x-remote-user", "admin"}},
		{"websocket upgrade field on a websocket location", alice, []string{":method", "GET", ":scheme", "https", ":authority", "a.example.test", ":path", "/ws",
			"upgrade", "websocket"}},
		{"CONNECT", alice, []string{":method", "CONNECT", ":authority", "a.example.test:443"}},
	}
	for _, tt := range h2 {
		t.Run("h2/"+tt.name, func(t *testing.T) {
			status := dialH2Raw(t, g, "a.example.test", tt.cert).request(t, tt.fields...)
			if status >= 200 && status < 300 || status == 101 {
				t.Errorf("status %d, want a refusal", status)
			}
			noUpstreamHit(t, up)
		})
	}

	// Go's own HTTP/2 client sends CONNECT too.
	t.Run("h2/CONNECT from net/http", func(t *testing.T) {
		c := newClient(p, g.addr, "a.example.test", nil)
		tr := c.Transport.(*http.Transport)
		tr.ForceAttemptHTTP2 = true
		tr.TLSClientConfig.RootCAs = pkitest.Pool(p.serverRoot.Cert)
		req, err := http.NewRequest(http.MethodConnect, "https://a.example.test", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = "a.example.test:443"
		req.Host = "a.example.test:443"
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.ProtoMajor != 2 {
				t.Errorf("status %d proto %d, want 400 over h2", resp.StatusCode, resp.ProtoMajor)
			}
		}
		noUpstreamHit(t, up)
	})
}
