package gateway

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// TestEchoConnectionMemo sends a sequence of requests over one connection
// whose location, identity and request (method, target, Host, headers)
// change and come back, and checks that every echo body is exactly
// json.MarshalIndent of the response computed without the per-connection
// memo.
func TestEchoConnectionMemo(t *testing.T) {
	p := newTestPKI(t)
	presented := p.alice.Chain()[:2]
	st := &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, ServerName: "localhost",
		NegotiatedProtocol: "http/1.1", HandshakeComplete: true, PeerCertificates: presented}
	gs := &Site{Site: &site.Site{Name: "s", Config: &config.Site{Forward: config.Forward{UserHeader: "X-Remote-User", GroupsHeader: "X-Remote-Groups"}}}}
	require := &Location{Path: "/", Policy: config.ClientCertRequire}
	accept := &Location{Index: 1, Path: "/a", Policy: config.ClientCertAccept}
	accepted := &verify.Outcome{Sub: substatus.OK, Code: substatus.NoError, Chain: append(append([]*x509.Certificate(nil), presented...), p.root.Cert)}
	refused := &verify.Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEUntrustedRoot, Reason: "the chain ends in an untrusted root",
		Element: &verify.Element{Index: 1, Role: verify.RoleIntermediate, Cert: presented[1]}, Chain: presented, Err: verify.ErrUntrustedRoot}

	alice := Identity{Site: gs, Location: require, Presented: presented, Outcome: accepted, Verified: true, User: "alice", Groups: []string{"staff"}}
	steps := []struct {
		name   string
		id     Identity
		header map[string][]string // set as is, bypassing canonicalisation
		method string              // default GET
		target string              // default https://localhost/x?y=<1>
	}{
		{name: "mapped user", id: alice},
		{name: "same again (memo)", id: alice},
		{name: "more groups", id: func() Identity { i := alice; i.Groups = []string{"staff", "admins"}; return i }()},
		{name: "no groups", id: func() Identity { i := alice; i.Groups = nil; return i }()},
		{name: "other user", id: func() Identity { i := alice; i.User = "bob"; return i }()},
		{name: "unmapped", id: func() Identity { i := alice; i.User, i.Groups = "", nil; return i }()},
		{name: "downgraded on accept", id: Identity{Site: gs, Location: accept, Presented: presented, Outcome: refused}},
		{name: "ignore location", id: Identity{Site: gs, Location: site.ImplicitLocation}},
		{name: "spoofed identity header", id: alice, header: map[string][]string{"X_remote_user": {"mallory"}, "Accept": {"*/*"}}},
		{name: "a header", id: alice, header: map[string][]string{"Accept": {"*/*"}}},
		{name: "same header (memo)", id: alice, header: map[string][]string{"Accept": {"*/*"}}},
		{name: "header value changes", id: alice, header: map[string][]string{"Accept": {"text/html"}}},
		{name: "second value", id: alice, header: map[string][]string{"Accept": {"text/html", "*/*"}}},
		{name: "values swapped", id: alice, header: map[string][]string{"Accept": {"*/*", "text/html"}}},
		{name: "empty value list", id: alice, header: map[string][]string{"Accept": {}}},
		{name: "nil value list", id: alice, header: map[string][]string{"Accept": nil}},
		{name: "other header, same count", id: alice, header: map[string][]string{"Accept-Language": {"*/*"}}},
		{name: "other method", id: alice, method: "POST"},
		{name: "other path", id: alice, target: "https://localhost/y?y=<1>"},
		{name: "other query", id: alice, target: "https://localhost/x?y=2"},
		{name: "other host", id: alice, target: "https://localhost:8443/x?y=<1>"},
		{name: "back to the first", id: alice},
	}
	cs := &connState{id: 1}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			id := s.id
			id.RequestID = "req" + string(rune('a'+i))
			method, target := cmp.Or(s.method, "GET"), cmp.Or(s.target, "https://localhost/x?y=<1>")
			r := httptest.NewRequest(method, target, nil)
			r.TLS = st
			maps.Copy(r.Header, s.header)
			r = r.WithContext(withIdentity(context.WithValue(context.Background(), connKey{}, cs), &id))
			w := httptest.NewRecorder()
			echoHandler{}.ServeHTTP(w, r)

			want := EchoResponse{RequestID: id.RequestID, Site: gs.Name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
				Headers: upstreamHeaders(r.Header.Clone(), gs), TLS: echoTLS(st), Client: echoClient(&id, nil), Location: echoLocation(id.Location)}
			wb, err := json.MarshalIndent(want, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Body.String(); got != string(wb)+"\n" {
				t.Fatalf("echo body differs from the uncached encoding:\n--- want\n%s\n--- got\n%s", wb, got)
			}
		})
	}
}

// TestHTTPDate: the cached Date value is what net/http would write, and
// moves on with the second.
func TestHTTPDate(t *testing.T) {
	for _, tc := range []time.Time{
		time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 23, 22, 0, 0, 999_999_999, time.UTC),
		time.Date(2026, 11, 23, 22, 0, 1, 0, time.UTC),
		time.Date(2026, 11, 23, 23, 0, 1, 0, time.FixedZone("CET", 3600)), // same instant as 22:00:01Z
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		got := httpDate(tc)
		if want := tc.UTC().Format(http.TimeFormat); len(got) != 1 || got[0] != want {
			t.Errorf("httpDate(%v) = %q, want [%q]", tc, got, want)
		}
	}
}
