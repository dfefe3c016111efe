package gateway

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/metrics"
)

// proxyYAML: a site behind a TCP proxy; %s are the trusted_proxies and
// proxy_protocol settings, %s the upstream.
const proxyYAML = `
listen: 127.0.0.1:0
admin: {listen: "off"}
%s
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
`

// proxyV2TCP4 is a binary PROXY header for a TCP4 client.
func proxyV2TCP4(src [4]byte, sport uint16) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	b = append(b, src[:]...)
	b = append(b, 127, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, 8443)
}

// TestProxyProtocolTrustBoundary plays both sides of a same-host TCP
// proxy: the real client behind it must not get the detailed errors meant
// for local clients, and must be the address in logs and X-Forwarded-For;
// a client that is not a trusted proxy must not be able to choose its
// address with a PROXY header of its own.
func TestProxyProtocolTrustBoundary(t *testing.T) {
	p := newTestPKI(t)
	const remote = "203.0.113.9"
	v1 := []byte("PROXY TCP4 " + remote + " 127.0.0.1 40001 8443\r\n")
	v2 := proxyV2TCP4([4]byte{203, 0, 113, 9}, 40002)
	cases := []struct {
		name     string
		settings string
		header   []byte
		// fails: the connection is refused before TLS completes.
		fails    bool
		detailed bool   // the 403 shows the detailed reason
		client   string // address in X-Forwarded-For and the event log
	}{
		{name: "no proxy configured: loopback client is local", settings: "", detailed: true, client: "127.0.0.1"},
		{name: "trusted proxy with PROXY v1: the real client is remote", settings: "trusted_proxies: [127.0.0.1]\nproxy_protocol: true",
			header: v1, client: remote},
		{name: "trusted proxy with PROXY v2", settings: "trusted_proxies: [127.0.0.0/8]\nproxy_protocol: true",
			header: v2, client: remote},
		{name: "trusted proxy naming a loopback client", settings: "trusted_proxies: [127.0.0.1]\nproxy_protocol: true",
			header: []byte("PROXY TCP4 127.0.0.5 127.0.0.1 40003 8443\r\n"), detailed: true, client: "127.0.0.5"},
		{name: "trusted proxy without PROXY header is refused", settings: "trusted_proxies: [127.0.0.1]\nproxy_protocol: true", fails: true},
		{name: "trusted proxy with a malformed header is refused", settings: "trusted_proxies: [127.0.0.1]\nproxy_protocol: true",
			header: []byte("PROXY TCP4 " + remote + " 127.0.0.1 40001\r\n"), fails: true},
		{name: "trusted proxy, PROXY LOCAL: client unknown, not local", settings: "trusted_proxies: [127.0.0.1]\nproxy_protocol: true",
			header: []byte("PROXY UNKNOWN\r\n"), client: "127.0.0.1"},
		{name: "trusted proxy without proxy_protocol: client unknown, not local", settings: "trusted_proxies: [127.0.0.1]",
			client: "127.0.0.1"},
		// The attacker: not a trusted proxy, sends a header claiming to
		// be a loopback client. The header is not read: TLS fails.
		{name: "untrusted client forging a PROXY header", settings: "trusted_proxies: [192.0.2.0/24]\nproxy_protocol: true",
			header: []byte("PROXY TCP4 127.0.0.1 127.0.0.1 40004 8443\r\n"), fails: true},
		{name: "untrusted client without header is served directly", settings: "trusted_proxies: [192.0.2.0/24]\nproxy_protocol: true",
			detailed: true, client: "127.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := newCountingUpstream(t)
			m := metrics.New(metrics.Options{NoRuntime: true})
			g := startGatewayWith(t, p, fmt.Sprintf(proxyYAML, c.settings, up.URL), Options{Hooks: NewObserver(m, nil, nil).Hooks()})
			// Without a certificate: 403.7, detailed or not.
			res, err := g.try(request{sni: "a.example.test", path: "/", accept: "application/problem+json", proxyHeader: c.header})
			if c.fails {
				if err == nil {
					t.Fatalf("connection served (status %d), want it refused", res.status)
				}
				if !strings.Contains(c.settings, "192.0.2.0/24") {
					e := oneEvent(t, g.logs, events.EventProxyProtocolFailed, map[string]any{"level": "WARN"})
					if px, _ := e["proxy"].(string); !strings.HasPrefix(px, "127.0.0.1:") {
						t.Errorf("proxy_protocol_failed names proxy %q", px)
					}
					if n := counterValue(t, m, "certgate_handshake_failures_total", "proxy_protocol"); n != 1 {
						t.Errorf("handshake_failures_total{reason=proxy_protocol} = %v, want 1", n)
					}
				}
				if up.hits.Load() != 0 {
					t.Error("request reached the upstream")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403.7", res.status)
			}
			if pr := res.problem(t); (pr.Reason != "") != c.detailed {
				t.Errorf("detailed reason %q shown = %v, want %v", pr.Reason, pr.Reason != "", c.detailed)
			}
			if !strings.Contains(g.logs.String(), `"client":"`+c.client+":") {
				t.Errorf("event log does not name client %s:\n%s", c.client, g.logs.String())
			}
			// With a certificate: the upstream sees the client in X-Forwarded-For.
			ok := g.do(t, request{sni: "a.example.test", path: "/", cert: p.alice, proxyHeader: c.header})
			if ok.status != http.StatusOK {
				t.Fatalf("status %d with a certificate", ok.status)
			}
			up.mu.Lock()
			xff := up.headers[len(up.headers)-1].Values("X-Forwarded-For")
			up.mu.Unlock()
			if len(xff) != 1 || xff[0] != c.client {
				t.Errorf("X-Forwarded-For = %q, want [%s]", xff, c.client)
			}
		})
	}
}

// counterValue reads one labelled counter from m.
func counterValue(t testing.TB, m *metrics.Metrics, name, label string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetValue() == label {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}
