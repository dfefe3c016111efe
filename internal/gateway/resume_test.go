package gateway

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

// TestResumedSessionRevalidated: on one instance, a client resumes its TLS
// session after its certificate was revoked (new CRLs, snapshot swapped,
// ticket keys kept) and is refused with 403.13. crypto/tls restores the
// peer certificates of a resumed session without verifying them again, so
// revocation and policy must run on them as on a full handshake: a
// resumed handshake is cheaper, never more trusted. Before the
// revocation, the resumed connection is served as the first one was.
func TestResumedSessionRevalidated(t *testing.T) {
	p := newTestPKI(t)
	key0, key1 := randomKey(t, 80), randomKey(t, 80)
	g := startGateway(t, p, ticketsYAML, func(dir string) {
		pkitest.WriteFile(t, dir, "current.key", key0)
		pkitest.WriteFile(t, dir, "previous.key", key1)
		writeCRLs(t, dir, p)
	})
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			writeCRLs(t, g.dir, p)
			swap(t, g)
			client := newClient(p, g.addr, "a.example.test", tls.NewLRUClientSessionCache(4))
			client.Transport.(*http.Transport).TLSClientConfig.MaxVersion = v
			fetch := func() (status int, resumed bool, body []byte) {
				t.Helper()
				defer client.CloseIdleConnections() // the next request makes a new connection
				req, _ := http.NewRequest(http.MethodGet, "https://a.example.test/", nil)
				req.Header.Set("Accept", "application/problem+json")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ = io.ReadAll(resp.Body)
				return resp.StatusCode, resp.TLS.DidResume, body
			}
			if status, resumed, body := fetch(); status != http.StatusOK || resumed {
				t.Fatalf("first connection: status %d resumed %v\n%s", status, resumed, body)
			}
			if status, resumed, body := fetch(); status != http.StatusOK || !resumed {
				t.Fatalf("resumed connection, not revoked: status %d resumed %v\n%s", status, resumed, body)
			}

			writeCRLs(t, g.dir, p, p.alice.Cert)
			swap(t, g)
			status, resumed, body := fetch()
			if !resumed {
				t.Fatalf("the session did not resume after the swap (status %d): the test needs it to", status)
			}
			var pr problemJSON
			if err := json.Unmarshal(body, &pr); err != nil || status != http.StatusForbidden || pr.Substatus != "403.13" || pr.CodeName != "CRYPT_E_REVOKED" {
				t.Errorf("revoked, resumed: status %d, %+v (%v)\n%s", status, pr, err, body)
			}
		})
	}
}

// swap builds a snapshot from g's directory, as a reload does, and swaps
// it in.
func swap(t *testing.T, g *gatewayUnderTest) {
	t.Helper()
	snap, err := Build(loadConfig(t, g.dir, ticketsYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snap.Close)
	g.srv.Swap(snap)
}
