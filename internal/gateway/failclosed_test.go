package gateway

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/substatus"
)

// failClosedYAML has site a's location list cut short right after its
// /public line, as a truncated file or a bad edit leaves it; site b is
// complete. %s is appended to site a.
const failClosedYAML = `
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %[1]s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
%[2]s    locations:
      - {path: /public, client_cert: ignore}
%[3]s`

const failClosedSiteB = `  - name: b
    hosts: [b.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
`

// TestFailClosedUncoveredPaths: on a site that verifies certificates, the
// paths no location covers take client_auth.client_cert, require unless
// set, so a location list cut short leaves the rest of the site closed,
// at start and after a reload; the reload that lowers a policy or removes
// a site says so (policy_lowered).
func TestFailClosedUncoveredPaths(t *testing.T) {
	p := newTestPKI(t)
	up := newHostileUpstream(t)
	full := fmt.Sprintf(failClosedYAML, up.URL, "", "      - {path: /admin, client_cert: require}\n      - {path: /, client_cert: accept, reject_invalid: true}\n"+fmt.Sprintf(failClosedSiteB, up.URL))
	o := startObserved(t, p, full)
	check := func(t *testing.T, path string, status int, sub substatus.Sub) {
		t.Helper()
		for _, proto := range []string{"h1", "h2"} {
			got, gotSub, body := rawPathRequest(t, o.gatewayUnderTest, proto, "a.example.test", path, nil)
			if got != status || status != 200 && gotSub != sub.String() {
				t.Errorf("%s %s: status %d %s, want %d %s\n%s", proto, path, got, gotSub, status, sub, body)
			}
			if status != 200 {
				noUpstreamHit(t, up)
			}
			up.take()
		}
	}
	check(t, "/admin", 403, substatus.CertRequired)
	check(t, "/public/x", 200, substatus.OK)

	// The config is cut short after the /public line, and site b is gone.
	truncated := "admin: {listen: \"localhost:0\"}\n" + fmt.Sprintf(failClosedYAML, up.URL, "", "")
	if err := os.WriteFile(o.cfgPath, []byte(truncated), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, body := o.post(t, "/reload"); status != http.StatusOK {
		t.Fatalf("reload: %d %s", status, body)
	}
	check(t, "/admin", 403, substatus.CertRequired)
	check(t, "/anything/else", 403, substatus.CertRequired)
	check(t, "/public/x", 200, substatus.OK)
	logs := o.logs.String()
	for _, want := range []string{`"site":"b","removed":true`, `"site":"a","path":"/","from":"accept (reject_invalid)","to":"require"`} {
		if strings.Contains(want, `"to":"require"`) {
			// Raising a policy is not a warning.
			if strings.Contains(logs, want) {
				t.Errorf("raising a policy was logged as lowering it")
			}
			continue
		}
		if !strings.Contains(logs, want) || !strings.Contains(logs, events.EventPolicyLowered) {
			t.Errorf("no policy_lowered event with %s in:\n%s", want, logs)
		}
	}

	// An operator who wants the rest of the site open says so; the
	// reload that does it is reported.
	open := "admin: {listen: \"localhost:0\"}\n" + fmt.Sprintf(failClosedYAML, up.URL, "", "")
	open = strings.Replace(open, "      revocation: {mode: \"off\"}\n", "      revocation: {mode: \"off\"}\n      client_cert: ignore\n", 1)
	if err := os.WriteFile(o.cfgPath, []byte(open), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, body := o.post(t, "/reload"); status != http.StatusOK {
		t.Fatalf("reload: %d %s", status, body)
	}
	check(t, "/anything/else", 200, substatus.OK)
	if !strings.Contains(o.logs.String(), `"site":"a","path":"/","from":"require","to":"ignore"`) {
		t.Errorf("lowering / from require to ignore was not logged:\n%s", o.logs.String())
	}
}
