package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func golden(t *testing.T, name string, got []byte) {
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
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestErrorPageGolden pins the 403.16 page and problem document, plain
// and detailed.
func TestErrorPageGolden(t *testing.T) {
	base := problem{
		Sub: substatus.CertUntrusted, Code: substatus.CertEUntrustedRoot, RequestID: "0123456789abcdef",
		Element: `root "CN=Other Root"`,
		Reason:  `the chain ends at "CN=Other Root", which is not a trusted root of this site <script>`,
	}
	for _, detailed := range []bool{false, true} {
		p := base
		p.Detailed = detailed
		suffix := ""
		if detailed {
			suffix = "-detailed"
		}
		for _, accept := range []string{"text/html", "application/json"} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Accept", accept)
			w := httptest.NewRecorder()
			writeProblem(w, r, p)
			ext := ".html"
			if accept == "application/json" {
				ext = ".json"
			}
			golden(t, "403.16"+suffix+ext, w.Body.Bytes())
			if w.Code != 403 || w.Header().Get(HeaderSubstatus) != "403.16" || w.Header().Get(HeaderCode) != "0x800B0109" || w.Header().Get(HeaderRequestID) != p.RequestID {
				t.Errorf("%s: status %d headers %v", accept, w.Code, w.Header())
			}
		}
	}

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	writeProblem(w, r, base)
	body := w.Body.String()
	const title = "<title>HTTP Error 403.16 - Forbidden: Client certificate is untrusted or invalid</title>"
	if !strings.Contains(body, title) {
		t.Errorf("page lacks %s", title)
	}
	if strings.Contains(body, "Other Root") || strings.Contains(body, "CERT_E_UNTRUSTEDROOT") {
		t.Error("non-detailed page shows the reason or code")
	}
}

// TestHTMLTitles: every catalogued sub-status renders the IIS heading as
// its title.
func TestHTMLTitles(t *testing.T) {
	for _, sub := range substatus.Subs() {
		body := string(renderHTML(substatus.Must(sub), problem{Sub: sub}))
		want := "<title>" + substatus.Must(sub).Heading() + "</title>"
		if !strings.Contains(body, want) {
			t.Errorf("%s: page lacks %s", sub, want)
		}
	}
}

// TestDetailedErrors: the reason and failing element are shown to loopback
// clients and on sites with detailed_errors, not to other remote clients;
// the sub-status and code are always there. Requests are built with
// httptest to fake the client address.
func TestDetailedErrors(t *testing.T) {
	p := newTestPKI(t)
	stranger := pkitest.NewRoot(t, "Other Root").Client(t, "stranger")
	dir := t.TempDir()
	p.writeFiles(t, dir)
	yaml := `
sites:
  - name: plain
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth: {trust: {roots: roots.pem}, revocation: {mode: "off"}}
    locations: [{path: /, client_cert: require}]
  - name: detailed
    hosts: [b.example.test]
    detailed_errors: true
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth: {trust: {roots: roots.pem}, revocation: {mode: "off"}}
    locations: [{path: /, client_cert: require}]
`
	up := newCountingUpstream(t)
	snap, err := Build(loadConfig(t, dir, fmt.Sprintf(yaml, up.URL)), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(snap, nil, Options{})

	tests := []struct {
		name, site, remote, host string
		detailed                 bool
		sub                      substatus.Sub
	}{
		{"remote, plain site", "plain", "203.0.113.7:40000", "a.example.test", false, substatus.CertUntrusted},
		{"IPv4 loopback", "plain", "127.0.0.1:40000", "a.example.test", true, substatus.CertUntrusted},
		{"IPv6 loopback", "plain", "[::1]:40000", "a.example.test", true, substatus.CertUntrusted},
		{"IPv4-mapped loopback", "plain", "[::ffff:127.0.0.1]:40000", "a.example.test", true, substatus.CertUntrusted},
		{"remote, detailed_errors site", "detailed", "203.0.113.7:40000", "b.example.test", true, substatus.CertUntrusted},
		{"remote 421", "plain", "203.0.113.7:40000", "b.example.test", false, substatus.MisdirectedRequest},
		{"loopback 421", "plain", "127.0.0.1:40000", "b.example.test", true, substatus.MisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, accept := range []string{"application/json", "text/html"} {
				site := snap.Site(tt.site)
				r := httptest.NewRequest(http.MethodGet, "https://"+tt.host+"/app", nil)
				r.RemoteAddr = tt.remote
				r.Header.Set("Accept", accept)
				r.TLS = &tls.ConnectionState{ServerName: site.Config.Hosts[0], PeerCertificates: stranger.Chain()}
				cs := &connState{snap: snap, site: site}
				cs.setAddrs(netip.MustParseAddrPort(tt.remote), netip.AddrPort{})
				r = r.WithContext(context.WithValue(r.Context(), connKey{}, cs))
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != tt.sub.Status {
					t.Fatalf("status %d, want %d", w.Code, tt.sub.Status)
				}
				body := w.Body.String()
				if accept == "text/html" {
					if got := strings.Contains(body, "Detailed error information"); got != tt.detailed {
						t.Errorf("HTML detailed = %v, want %v", got, tt.detailed)
					}
					continue
				}
				var pj problemJSON
				if err := json.Unmarshal(w.Body.Bytes(), &pj); err != nil {
					t.Fatal(err)
				}
				if pj.Substatus != tt.sub.String() {
					t.Errorf("substatus %s, want %s", pj.Substatus, tt.sub)
				}
				if tt.sub == substatus.CertUntrusted && (pj.Code == 0 || pj.CodeName == "") {
					t.Errorf("code missing: %+v", pj)
				}
				if got := pj.Reason != ""; got != tt.detailed {
					t.Errorf("JSON reason shown = %v, want %v: %q", got, tt.detailed, pj.Reason)
				}
				if tt.sub == substatus.CertUntrusted && (pj.Element != "") != tt.detailed {
					t.Errorf("JSON element shown = %q, want detailed %v", pj.Element, tt.detailed)
				}
			}
		})
	}
	if up.hits.Load() != 0 {
		t.Errorf("upstream saw %d refused requests", up.hits.Load())
	}
}

// TestUpstreamDown: a failing upstream gives the 502 page with a request ID.
func TestUpstreamDown(t *testing.T) {
	p := newTestPKI(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	g := startGateway(t, p, fmt.Sprintf(siteYAML, down.URL))
	res := g.do(t, request{sni: "a.example.test", path: "/public", accept: "application/json"})
	if res.status != http.StatusBadGateway {
		t.Fatalf("status %d\n%s", res.status, res.body)
	}
	pj := res.problem(t)
	if pj.Substatus != "502" || pj.RequestID == "" || !strings.Contains(g.logs.String(), pj.RequestID) {
		t.Errorf("502 problem %+v; logs:\n%s", pj, g.logs)
	}
	// The client is on loopback, so the page names what failed.
	if !strings.Contains(pj.Reason, "proxy to "+down.URL) {
		t.Errorf("502 reason %q, want the upstream named (detailed errors for a loopback client)", pj.Reason)
	}
}

// TestRequestEvents: the request hook sees status, sub-status and code.
func TestRequestEvents(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	snap, err := Build(loadConfig(t, dir, fmt.Sprintf(siteYAML, "echo")), nil)
	if err != nil {
		t.Fatal(err)
	}
	var last atomic.Pointer[RequestEvent]
	var handshakes atomic.Int64
	srv := NewServer(snap, nil, Options{Hooks: Hooks{
		Request:   func(ev *RequestEvent) { last.Store(ev) },
		Handshake: func(*HandshakeEvent) { handshakes.Add(1) },
	}})
	addr := serve(t, srv)
	anon := newClient(nil, addr, "a.example.test", nil)
	anon.Transport.(*http.Transport).TLSClientConfig.RootCAs = pkitest.Pool(p.serverRoot.Cert)
	get(t, anon, "/app")
	ev := last.Load()
	if ev == nil || ev.Status != 403 || ev.Sub != substatus.CertRequired || ev.Code != substatus.SecENoCredentials || ev.Outcome == nil || ev.Location.Path != "/" || ev.Site != "a" || ev.BytesWritten == 0 {
		t.Fatalf("event for 403.7: %+v", ev)
	}
	get(t, newClient(p, addr, "a.example.test", nil), "/app")
	ev = last.Load()
	if ev.Status != 200 || ev.Sub != substatus.OK || ev.Identity == nil || !ev.Identity.Verified || ev.Identity.Cert() == nil {
		t.Fatalf("event for 200: %+v", ev)
	}
	if handshakes.Load() != 2 {
		t.Errorf("%d handshake events, want 2", handshakes.Load())
	}
}

func TestPrefersJSON(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json"}, true},
		{[]string{"application/problem+json"}, true},
		{[]string{"application/*"}, true},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, false}, // browsers
		{[]string{"application/json, text/html;q=0.9"}, true},
		{[]string{"text/html;q=0.5, application/json;q=0.6"}, true},
		{[]string{"text/html;q=0.6, application/json;q=0.6"}, false},   // tie -> HTML
		{[]string{"application/json;q=0", "*/*"}, false},               // json refused explicitly
		{[]string{"text/html;q=0, */*"}, true},                         // html refused, json via */*
		{[]string{"text/*;q=0.1", "application/json;q=0.2"}, true},     // two header lines
		{[]string{"application/json;q=bogus, text/html;q=0.1"}, false}, // invalid q ignored
		{[]string{"application/json;q=2"}, false},                      // out of range ignored
		{[]string{"APPLICATION/JSON"}, true},
		{[]string{"garbage;;;, application/json"}, true},
	}
	for _, tt := range tests {
		if got := prefersJSON(tt.accept); got != tt.want {
			t.Errorf("prefersJSON(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}
