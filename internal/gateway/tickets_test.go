package gateway

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// ticketsYAML is two sites sharing session-ticket key files: "a" requires
// a certificate (revocation from local CRLs), "open" never asks for one.
const ticketsYAML = `
listen: 127.0.0.1:0
session_tickets:
  keys: [current.key, previous.key]
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: cache-only, crls: crls}
    locations: [{path: /, client_cert: require}]
  - name: open
    default: true
    hosts: [open.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`

// TestSharedTicketKeysResumeAcrossInstances: two instances with the same
// key files resume each other's TLS 1.3 and 1.2 sessions; a session still
// never resumes on another site; and a certificate revoked after its
// session was issued is refused on resumption (403.13): a resumed chain
// goes through revocation and policy again.
func TestSharedTicketKeysResumeAcrossInstances(t *testing.T) {
	p := newTestPKI(t)
	current, previous := randomKey(t, 80), randomKey(t, 48)
	keys := func(cur, prev []byte) func(dir string) {
		return func(dir string) {
			pkitest.WriteFile(t, dir, "current.key", cur)
			pkitest.WriteFile(t, dir, "previous.key", prev)
		}
	}
	instA := startGateway(t, p, ticketsYAML, keys(current, previous), func(dir string) { writeCRLs(t, dir, p) })
	instB := startGateway(t, p, ticketsYAML, keys(current, previous), func(dir string) { writeCRLs(t, dir, p) })
	// Instance C has rotated: a new current key, A's current key second.
	instC := startGateway(t, p, ticketsYAML, keys(randomKey(t, 80), current), func(dir string) { writeCRLs(t, dir, p) })
	// Instance D shares the keys but its CRL revokes alice.
	instD := startGateway(t, p, ticketsYAML, keys(current, previous), func(dir string) { writeCRLs(t, dir, p, p.alice.Cert) })
	// Instance E has other keys.
	instE := startGateway(t, p, ticketsYAML, keys(randomKey(t, 80), randomKey(t, 80)), func(dir string) { writeCRLs(t, dir, p) })

	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			first := func(t *testing.T) tls.ClientSessionCache {
				cache := tls.NewLRUClientSessionCache(8)
				res := instA.do(t, request{sni: "a.example.test", cert: p.alice, sessions: cache, tlsMax: v})
				if res.status != http.StatusOK || res.echo(t).TLS.Resumed {
					t.Fatalf("instance A: status %d resumed %v", res.status, res.echo(t).TLS.Resumed)
				}
				return cache
			}
			for _, tc := range []struct {
				name    string
				g       *gatewayUnderTest
				resumed bool
			}{
				{"same keys", instB, true},
				{"rotated, old key second", instC, true},
				{"other keys", instE, false},
			} {
				res := tc.g.do(t, request{sni: "a.example.test", cert: p.alice, sessions: first(t), tlsMax: v})
				if res.status != http.StatusOK {
					t.Fatalf("%s: status %d\n%s", tc.name, res.status, res.body)
				}
				if e := res.echo(t); e.TLS.Resumed != tc.resumed || !e.Client.Verified {
					t.Errorf("%s: resumed %v (want %v), verified %v", tc.name, e.TLS.Resumed, tc.resumed, e.Client.Verified)
				}
			}

			// A ticket of the open site, offered to the site that requires
			// a certificate on another instance, is not resumed: the client
			// is asked for its certificate.
			cache := &anyNameCache{}
			instA.do(t, request{sni: "open.example.test", sessions: cache, tlsMax: v})
			res := instB.do(t, request{sni: "a.example.test", cert: p.alice, sessions: cache, tlsMax: v})
			if e := res.echo(t); res.status != http.StatusOK || e.TLS.Resumed || !e.Client.Verified {
				t.Errorf("cross-site ticket: status %d resumed %v verified %v", res.status, e.TLS.Resumed, e.Client.Verified)
			}

			// Revoked since the session was issued: refused on resumption.
			res = instD.do(t, request{sni: "a.example.test", cert: p.alice, sessions: first(t), tlsMax: v, accept: "application/json"})
			if res.status != http.StatusForbidden {
				t.Fatalf("revoked, resumed: status %d\n%s", res.status, res.body)
			}
			if pr := res.problem(t); pr.Substatus != "403.13" || pr.CodeName != "CRYPT_E_REVOKED" {
				t.Errorf("revoked, resumed: %+v", pr)
			}
		})
	}
}

// TestTicketKeyFileErrors: a key file of the wrong size or missing stops
// the build with an error naming the field and the file.
func TestTicketKeyFileErrors(t *testing.T) {
	p := newTestPKI(t)
	for _, tc := range []struct {
		name  string
		write func(dir string)
		want  []string
	}{
		{"too short", func(dir string) {
			pkitest.WriteFile(t, dir, "current.key", make([]byte, 32))
			pkitest.WriteFile(t, dir, "previous.key", make([]byte, 80))
		}, []string{"session_tickets.keys[0]", "current.key has 32 bytes", "48 or 80"}},
		{"too long", func(dir string) {
			pkitest.WriteFile(t, dir, "current.key", make([]byte, 80))
			pkitest.WriteFile(t, dir, "previous.key", make([]byte, 4096))
		}, []string{"session_tickets.keys[1]", "previous.key has more than 80 bytes"}},
		{"missing", func(dir string) {
			pkitest.WriteFile(t, dir, "current.key", make([]byte, 80))
		}, []string{"session_tickets.keys[1]", "previous.key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p.writeFiles(t, dir)
			writeCRLs(t, dir, p)
			tc.write(dir)
			cfg := loadConfig(t, dir, ticketsYAML)
			snap, err := Build(cfg, nil)
			if err == nil {
				snap.Close()
				t.Fatal("build succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.name != "missing" && !errors.Is(err, ErrBadTicketKey) {
				t.Errorf("error %v is not ErrBadTicketKey", err)
			}
		})
	}
}

// TestSiteTicketKeysDiffer: the derived keys depend on the file and the
// site, and are the same on every call (every instance).
func TestSiteTicketKeysDiffer(t *testing.T) {
	m := [][]byte{randomKey(t, 80)}
	a1, _ := siteTicketKeys(m, "a")
	a2, _ := siteTicketKeys(m, "a")
	b, _ := siteTicketKeys(m, "b")
	o, _ := siteTicketKeys([][]byte{randomKey(t, 80)}, "a")
	if a1[0] != a2[0] || a1[0] == b[0] || a1[0] == o[0] {
		t.Errorf("derived keys: same site %v, other site differs %v, other file differs %v", a1[0] == a2[0], a1[0] != b[0], a1[0] != o[0])
	}
}

func randomKey(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
