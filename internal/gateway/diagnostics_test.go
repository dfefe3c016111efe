package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

// diagYAML: one site with the diagnostics page, mapping, and an extra
// trusted root (roots-extra.pem) that max_bytes leaves out of the issuer
// list, so the page has a truncation to report.
const diagYAML = `
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    diagnostics: {page: true}
    client_auth:
      trust: {roots: [roots.pem, roots-extra.pem], intermediates: intermediates.pem}
      issuer_list: {max_bytes: %d}
      revocation: {mode: "off"}
    mapping:
      many_to_one:
        - {name: everyone, user: "user-{CN}"}
    locations:
      - {path: /, client_cert: require}
      - {path: /public, client_cert: ignore}
`

func decodeDiag(t *testing.T, res result) diagnosticsReport {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("diagnostics status %d\n%s", res.status, res.body)
	}
	var d diagnosticsReport
	if err := json.Unmarshal(res.body, &d); err != nil {
		t.Fatalf("decode: %v\n%s", err, res.body)
	}
	return d
}

// TestDiagnosticsPage asks the page over real TLS with no certificate, an
// expired one, one from an untrusted PKI and a valid one: the verdict is
// the one the site's pages give on that connection, the advice the
// catalogue's end-user text, and the upstream is never involved.
func TestDiagnosticsPage(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	expired := p.sub.Client(t, "old alice", pki.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour)))
	otherRoot := pkitest.NewRoot(t, "Other Root")
	stranger := otherRoot.Client(t, "stranger")
	extra := pkitest.NewRoot(t, "Extra Root With A Long Name To Be Dropped")
	up := newCountingUpstream(t)
	// Room for the Client Root's name only: the extra root is dropped.
	maxBytes := 2 + len(p.root.Cert.RawSubject)
	g := startGateway(t, p, fmt.Sprintf(diagYAML, up.URL, maxBytes), func(dir string) {
		pkitest.WriteCerts(t, dir, "roots-extra.pem", extra.Cert)
	})

	tests := []struct {
		name     string
		cert     *pki.Leaf
		chain    []*x509.Certificate
		sub      substatus.Sub
		code     substatus.Code
		failing  int // index of the failing element, -1 for none
		user     string
		sentCert bool
	}{
		{"no certificate", nil, nil, substatus.CertRequired, substatus.SecENoCredentials, -1, "", false},
		{"expired", expired, nil, substatus.CertTimeInvalid, substatus.CertEExpired, 0, "", true},
		{"untrusted PKI", stranger, []*x509.Certificate{otherRoot.Cert}, substatus.CertUntrusted, substatus.CertEUntrustedRoot, -2, "", true},
		{"valid", p.alice, nil, substatus.OK, substatus.NoError, -1, "user-alice", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := decodeDiag(t, g.do(t, request{sni: "a.example.test", path: "/.well-known/certgate", cert: tc.cert, chain: tc.chain, accept: "application/json"}))
			if d.Verdict.Substatus != tc.sub.String() || d.Verdict.Accepted != (tc.sub == substatus.OK) {
				t.Errorf("verdict %+v, want %s", d.Verdict, tc.sub)
			}
			if d.CertificateSent != tc.sentCert {
				t.Errorf("certificate_sent = %v", d.CertificateSent)
			}
			if tc.code != substatus.NoError && (d.Verdict.Code != tc.code.Name() || d.Verdict.Logged != tc.code.W3C().Decimal()) {
				t.Errorf("code %q logged %q, want %s logged %s", d.Verdict.Code, d.Verdict.Logged, tc.code.Name(), tc.code.W3C().Decimal())
			}
			if tc.sub != substatus.OK && d.Advice != substatus.UserAdvice(tc.sub, tc.code) {
				t.Errorf("advice %q is not the catalogue's end-user text", d.Advice)
			}
			if d.User != tc.user {
				t.Errorf("user %q, want %q", d.User, tc.user)
			}
			if len(d.CANames) != 1 || d.CANames[0] != p.root.Cert.Subject.String() || d.CANamesDropped != 1 {
				t.Errorf("ca names %v dropped %d, want the Client Root and 1 dropped", d.CANames, d.CANamesDropped)
			}
			// The test client is on loopback: detailed errors, as on the 403 page.
			if !d.Detailed || len(d.DroppedCANames) != 1 {
				t.Errorf("detailed %v, dropped names %v", d.Detailed, d.DroppedCANames)
			}
			if !tc.sentCert {
				if len(d.WhyNotOffered) != len(substatus.OfferRules()) || d.Certificate != nil {
					t.Errorf("why_not_offered %v, certificate %v", d.WhyNotOffered, d.Certificate)
				}
			} else {
				if d.Certificate == nil || d.Certificate.SHA256 != d.Support.SHA256 || d.Certificate.SHA256 == "" {
					t.Fatalf("certificate %+v, support %+v", d.Certificate, d.Support)
				}
				if d.Certificate.ExtKeyUsage == "" || d.Certificate.NotAfter == "" {
					t.Errorf("certificate lacks EKU or validity: %+v", d.Certificate)
				}
			}
			failing := -1
			for _, e := range d.Chain {
				if e.Failing {
					failing = e.Index
				}
			}
			if tc.failing != -2 && failing != tc.failing {
				t.Errorf("failing element %d, want %d (chain %+v)", failing, tc.failing, d.Chain)
			}
			if d.Support.RequestID == "" || d.Support.Site != "a" || d.Support.Substatus != tc.sub.String() {
				t.Errorf("support block %+v", d.Support)
			}
		})
	}

	// HTML: the same verdict, escaped, with the support block.
	res := g.do(t, request{sni: "a.example.test", path: "/.well-known/certgate", cert: expired})
	body := string(res.body)
	for _, want := range []string{"HTTP Error 403.17", "class=\"failing\"", "Copy for support", "Sub-status: 403.17", "CN=old alice", "The list is truncated: 1 more"} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML lacks %q:\n%s", want, body)
		}
	}
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}

	// The 403 page links to it; the problem JSON names it.
	refused := g.do(t, request{sni: "a.example.test", path: "/app", accept: "application/json"})
	if pj := refused.problem(t); pj.Diagnostics != "/.well-known/certgate" {
		t.Errorf("problem diagnostics = %q", pj.Diagnostics)
	}
	html := g.do(t, request{sni: "a.example.test", path: "/app"})
	if !strings.Contains(string(html.body), `<a id="why" href="/.well-known/certgate">Why was I refused?</a>`) {
		t.Errorf("403 page has no link to the diagnostics page:\n%s", html.body)
	}
	// ?path= asks about another location: /public never asks for one.
	d := decodeDiag(t, g.do(t, request{sni: "a.example.test", path: "/.well-known/certgate?path=/public", accept: "application/json"}))
	if d.Location != "/public" || d.Verdict.Substatus != "200" {
		t.Errorf("?path=/public: location %q verdict %+v", d.Location, d.Verdict)
	}
	if up.hits.Load() != 0 {
		t.Errorf("upstream saw %d requests", up.hits.Load())
	}
}

// TestDiagnosticsNoSecretsForRemoteClients plays a remote client on a site
// without detailed_errors: the page shows the verdict, code and advice but
// not the operator's reason nor the CAs left out of the issuer list; a
// method other than GET or HEAD is refused.
func TestDiagnosticsNoSecretsForRemoteClients(t *testing.T) {
	p := newTestPKI(t)
	stranger := pkitest.NewRoot(t, "Other Root").Client(t, "stranger")
	extra := pkitest.NewRoot(t, "Extra Root")
	dir := t.TempDir()
	p.writeFiles(t, dir)
	pkitest.WriteCerts(t, dir, "roots-extra.pem", extra.Cert)
	up := newCountingUpstream(t)
	snap, err := Build(loadConfig(t, dir, fmt.Sprintf(diagYAML, up.URL, 2+len(p.root.Cert.RawSubject))), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(snap, nil, Options{})
	site := snap.Site("a")
	ask := func(method, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "https://a.example.test/.well-known/certgate", nil)
		r.RemoteAddr = remote
		r.Header.Set("Accept", "application/json")
		r.TLS = &tls.ConnectionState{ServerName: "a.example.test", Version: tls.VersionTLS13, PeerCertificates: stranger.Chain()}
		cs := &connState{snap: snap, site: site}
		cs.setAddrs(netip.MustParseAddrPort(remote), netip.AddrPort{})
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), connKey{}, cs)))
		return w
	}
	for _, tc := range []struct {
		remote   string
		detailed bool
	}{{"203.0.113.7:40000", false}, {"127.0.0.1:40000", true}} {
		w := ask(http.MethodGet, tc.remote)
		var d diagnosticsReport
		if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if d.Verdict.Substatus != "403.16" || d.Verdict.Code == "" || d.Advice == "" {
			t.Errorf("%s: verdict %+v advice %q", tc.remote, d.Verdict, d.Advice)
		}
		if (d.Reason != "") != tc.detailed || (len(d.DroppedCANames) > 0) != tc.detailed || d.CANamesDropped != 1 {
			t.Errorf("%s: reason %q dropped names %v (count %d), want detail only when detailed=%v", tc.remote, d.Reason, d.DroppedCANames, d.CANamesDropped, tc.detailed)
		}
		for _, secret := range []string{up.URL, dir, "roots-extra.pem", "Extra Root"} {
			if !tc.detailed && strings.Contains(w.Body.String(), secret) {
				t.Errorf("%s: page shows %q to a remote client:\n%s", tc.remote, secret, w.Body.String())
			}
		}
	}
	if w := ask(http.MethodPost, "203.0.113.7:40000"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if up.hits.Load() != 0 {
		t.Errorf("upstream saw %d requests", up.hits.Load())
	}
}
