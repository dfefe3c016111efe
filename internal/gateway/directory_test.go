package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/directory"
	"github.com/certgate/certgate/internal/directory/slapdtest"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
)

// TestDirectoryMappingEndToEnd: certificates mapped through a real
// OpenLDAP directory over real TLS, KB5014754 rules: strong mappings admit
// (with nested groups feeding allow_groups and the groups header), a weak
// mapping and a disabled account are refused with 403.12, and a directory
// that dies mid-run refuses with SEC_E_NO_AUTHENTICATING_AUTHORITY, logged
// and answered differently from "no account".
func TestDirectoryMappingEndToEnd(t *testing.T) {
	p := newTestPKI(t)
	const sidAlice = "S-1-5-21-1004336348-1177238915-682003330-1104"
	alice := p.sub.Client(t, "alice", pki.WithSID(sidAlice))
	bob := p.sub.Client(t, "bob")
	heidi := p.sub.Client(t, "heidi")
	frank := p.sub.Client(t, "frank")
	late := p.sub.Client(t, "late")
	alt := func(m directory.Method, l *pki.Leaf) []string {
		v, ok := directory.AltSecID(m, l.Cert)
		if !ok {
			t.Fatalf("no %s for %s", m, l.Cert.Subject)
		}
		return []string{v}
	}
	sid, err := directory.ParseSID(sidAlice)
	if err != nil {
		t.Fatal(err)
	}
	var ldif strings.Builder
	ldif.WriteString(slapdtest.GroupLDIF("Staff", "Employees"))
	ldif.WriteString(slapdtest.GroupLDIF("Employees"))
	ldif.WriteString(slapdtest.GroupLDIF("Admins", "Staff"))
	for _, u := range []slapdtest.User{
		{CN: "alice", UPN: "alice@corp.test", SID: sid, MemberOf: []string{"Staff"}},
		{CN: "bob", UPN: "bob@corp.test", AltSec: alt(directory.MethodIssuerSerial, bob), MemberOf: []string{"Admins"}},
		{CN: "heidi", UPN: "heidi@corp.test", UAC: 0x202, AltSec: alt(directory.MethodIssuerSerial, heidi)},
		{CN: "frank", UPN: "frank@corp.test", AltSec: alt(directory.MethodSubject, frank)},
		{CN: "late", UPN: "late@corp.test", AltSec: alt(directory.MethodIssuerSerial, late)},
	} {
		ldif.WriteString(u.LDIF(t))
	}
	ds := slapdtest.Start(t, ldif.String())

	up := newCertUpstream(t)
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    forward: {user_header: X-Auth-User, groups_header: X-Auth-Groups}
    mapping:
      required: true
      upn: {issuers: [intermediates.pem]}
      directory:
        url: %s
        ca: %s
        bind_dn: %q
        password_file: ldap.pw
        base_dn: %q
        timeout: 2s
        dial_timeout: 1s
    locations:
      - {path: /, client_cert: require}
      - {path: /admins, client_cert: require, allow_groups: [admins]}
`, up.URL, ds.LDAP, ds.CAFile, slapdtest.BindDN, slapdtest.Base)
	g := startGateway(t, p, yaml, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "ldap.pw"), []byte(slapdtest.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	})

	tests := []struct {
		name         string
		path         string
		cert         *pki.Leaf
		status       int
		code         substatus.Code
		reason       string
		user, groups string
	}{
		{name: "SID extension (strong), nested groups", path: "/", cert: alice, status: 200, user: "alice@corp.test", groups: "Staff, Employees"},
		{name: "issuer and serial (strong) in a nested group", path: "/admins", cert: bob, status: 200, user: "bob@corp.test", groups: "Admins, Staff, Employees"},
		{name: "allow_groups refuses", path: "/admins", cert: alice, status: 403, code: substatus.ErrorAccessDenied, reason: "is not admitted"},
		{name: "disabled account", path: "/", cert: heidi, status: 403, code: substatus.SecELogonDenied, reason: "is disabled"},
		{name: "weak mapping refused", path: "/", cert: frank, status: 403, code: substatus.SecELogonDenied, reason: "no rule maps the certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up.take()
			res := g.do(t, request{sni: "a.example.test", path: tt.path, cert: tt.cert, accept: "application/json", header: spoofed.Clone()})
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", res.status, tt.status, res.body)
			}
			seen := up.take()
			if tt.status != 200 {
				pr := res.problem(t)
				if pr.Code != uint32(tt.code) || !strings.Contains(pr.Reason, tt.reason) {
					t.Errorf("problem = %+v\nwant %s with reason containing %q", pr, tt.code.Name(), tt.reason)
				}
				if len(seen) != 0 {
					t.Errorf("a refused request reached the upstream")
				}
				return
			}
			if len(seen) != 1 {
				t.Fatalf("upstream saw %d requests", len(seen))
			}
			checkNoSpoofedHeaders(t, seen[0].header)
			if u, gr := seen[0].header.Get("X-Auth-User"), seen[0].header.Get("X-Auth-Groups"); u != tt.user || gr != tt.groups {
				t.Errorf("identity = %q [%q], want %q [%q]", u, gr, tt.user, tt.groups)
			}
		})
	}

	// The directory dies: a certificate it has not answered for yet is
	// refused with its own code, and logged as an outage.
	ds.Stop()
	res := g.do(t, request{sni: "a.example.test", path: "/", cert: late, accept: "application/json"})
	if res.status != 403 {
		t.Fatalf("directory down: status %d\n%s", res.status, res.body)
	}
	pr := res.problem(t)
	if pr.Substatus != "403.12" || pr.Code != uint32(substatus.SecENoAuthenticatingAuthority) || !strings.Contains(pr.Reason, "could not be asked") {
		t.Errorf("directory down: problem = %+v", pr)
	}
	var logged bool
	for _, r := range g.logs.records(t) {
		if r["event"] == "directory_unavailable" && r["code"] == "SEC_E_NO_AUTHENTICATING_AUTHORITY" && r["level"] == "WARN" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no directory_unavailable event:\n%s", g.logs)
	}
	// A certificate answered before the outage stays mapped from the cache.
	if res := g.do(t, request{sni: "a.example.test", path: "/", cert: bob}); res.status != 200 {
		t.Errorf("cached mapping during the outage: status %d", res.status)
	}
}
