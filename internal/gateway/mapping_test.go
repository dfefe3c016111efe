package gateway

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
)

// normalizeHeaderName is how a CGI-style upstream sees a header name:
// case-insensitive, "_" read as "-".
func normalizeHeaderName(k string) string {
	return strings.ToLower(strings.ReplaceAll(k, "_", "-"))
}

// certUpstream is a test upstream that, like an RFC 9440 consumer, decodes
// Client-Cert and Client-Cert-Chain back to DER and records what it got.
type certUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	path   string
	header http.Header
	cert   []byte   // decoded Client-Cert
	chain  [][]byte // decoded Client-Cert-Chain
	err    error    // decoding problem
}

func newCertUpstream(t *testing.T) *certUpstream {
	u := &certUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seenRequest{path: r.URL.Path, header: r.Header.Clone()}
		if v := r.Header.Values(forward.HeaderClientCert); len(v) > 0 {
			if len(v) != 1 {
				s.err = fmt.Errorf("%d Client-Cert fields", len(v))
			} else {
				s.cert, s.err = forward.ParseClientCert(v[0])
			}
		}
		if v := r.Header.Values(forward.HeaderClientCertChain); len(v) > 0 && s.err == nil {
			s.chain, s.err = forward.ParseClientCertChain(strings.Join(v, ","))
		}
		u.mu.Lock()
		u.seen = append(u.seen, s)
		u.mu.Unlock()
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(u.Close)
	return u
}

// take returns and forgets what the upstream saw.
func (u *certUpstream) take() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

const mappingYAML = `
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
      required: %v
      many_to_one:
        - {name: contractors, match: {subject: {O: Contractors}}, deny: true}
        - {name: admins, match: {subject: {OU: Admins}}, user: "adm-{CN}", groups: [admins, staff]}
        - {name: staff, match: {subject: {O: Corp}, issuer: {CN: "Client Issuing*"}}, user: "{CN}", groups: [staff]}
    locations:
      - {path: /, client_cert: require}
      - {path: /public, client_cert: ignore}
      - {path: /maybe, client_cert: accept}
      - {path: /admin, client_cert: require, allow_groups: [ADMINS]}
      - {path: /alice-only, client_cert: accept, allow_users: [alice]}
`

type mappingPKI struct {
	*testPKI
	alice, admin, mallory, carol *pki.Leaf
}

func newMappingPKI(t *testing.T) mappingPKI {
	p := newTestPKI(t)
	name := func(cn, o string, ou ...string) pki.Option {
		return pki.WithSubject(pkix.Name{CommonName: cn, Organization: []string{o}, OrganizationalUnit: ou})
	}
	return mappingPKI{
		testPKI: p,
		alice:   p.sub.Client(t, "alice", name("alice", "Corp")),
		admin:   p.sub.Client(t, "root", name("root", "Corp", "Admins")),
		mallory: p.sub.Client(t, "mallory", name("mallory", "Contractors")),
		carol:   p.sub.Client(t, "carol", name("carol", "Elsewhere")),
	}
}

// spoofed are identity headers a client tries to smuggle to the upstream,
// in the spellings upstreams confuse with the real ones.
var spoofed = http.Header{
	"X-Auth-User":             {"admin", "root"},
	"x-auth-groups":           {"admins"},
	"X_Auth_User":             {"admin"},
	"X-Remote-User":           {"admin"},
	"X_remote_groups":         {"admins"},
	"Client-Cert":             {":MIIBspoofed=:"},
	"CLIENT_CERT":             {":MIIBspoofed=:"},
	"Client-Cert-Chain":       {":MIIBspoofed=:"},
	"Forwarded":               {"for=10.9.9.9;proto=https"},
	"X-Forwarded-For":         {"10.9.9.9"},
	"X_Forwarded_Host":        {"evil.example"},
	"X-Forwarded-Client-Cert": {"Hash=abc;Subject=\"CN=admin\""},
	"X-Keep-Me":               {"yes"},
}

func TestMappingEndToEnd(t *testing.T) {
	p := newMappingPKI(t)
	up := newCertUpstream(t)
	g := startGateway(t, p.testPKI, fmt.Sprintf(mappingYAML, up.URL, true))

	tests := []struct {
		name   string
		path   string
		cert   *pki.Leaf
		status int
		sub    substatus.Sub
		code   substatus.Code
		reason string // in the detailed reason (the client is on loopback)
		user   string // X-Auth-User at the upstream; "" = absent
		groups string
	}{
		{name: "many_to_one maps", path: "/", cert: p.alice, status: 200, user: "alice", groups: "staff"},
		{name: "first match wins, template", path: "/", cert: p.admin, status: 200, user: "adm-root", groups: "admins, staff"},
		{name: "deny rule 403.12", path: "/", cert: p.mallory, status: 403, sub: substatus.MapperDenied, code: substatus.SecELogonDenied,
			reason: `many_to_one[0] (contractors): deny rule matched: subject.O "Contractors" matches "Contractors"`},
		{name: "no rule 403.12", path: "/", cert: p.carol, status: 403, sub: substatus.MapperDenied, code: substatus.SecELogonDenied,
			reason: "no rule matched: mapping is required and no rule maps the certificate"},
		{name: "deny on accept location too", path: "/maybe", cert: p.mallory, status: 403, sub: substatus.MapperDenied, code: substatus.SecELogonDenied},
		{name: "anonymous on accept location", path: "/maybe", status: 200},
		{name: "allow_groups admits group (case-insensitive)", path: "/admin", cert: p.admin, status: 200, user: "adm-root", groups: "admins, staff"},
		{name: "allow_groups refuses 403.100", path: "/admin/x", cert: p.alice, status: 403, sub: substatus.UserNotAllowedHere, code: substatus.ErrorAccessDenied,
			reason: `user "alice" (groups staff), mapped by many_to_one[2] (staff), is not admitted by location "/admin"`},
		{name: "allow_users admits user", path: "/alice-only", cert: p.alice, status: 200, user: "alice", groups: "staff"},
		{name: "allow_users refuses anonymous", path: "/alice-only", status: 403, sub: substatus.UserNotAllowedHere, code: substatus.ErrorAccessDenied,
			reason: "the request has no mapped user"},
		{name: "ignore location: no identity", path: "/public", cert: p.alice, status: 200},
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
				if pr.Substatus != tt.sub.String() || pr.Code != uint32(tt.code) || !strings.Contains(pr.Reason, tt.reason) {
					t.Errorf("problem = %+v\nwant %s %s with reason containing %q", pr, tt.sub, tt.code.Name(), tt.reason)
				}
				if res.header.Get(HeaderSubstatus) != tt.sub.String() {
					t.Errorf("%s = %q", HeaderSubstatus, res.header.Get(HeaderSubstatus))
				}
				if len(seen) != 0 {
					t.Errorf("a refused request reached the upstream: %+v", seen)
				}
				return
			}
			if len(seen) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(seen))
			}
			s := seen[0]
			checkNoSpoofedHeaders(t, s.header)
			if got := s.header.Get("X-Auth-User"); got != tt.user {
				t.Errorf("X-Auth-User = %q, want %q", got, tt.user)
			}
			if got := s.header.Get("X-Auth-Groups"); got != tt.groups {
				t.Errorf("X-Auth-Groups = %q, want %q", got, tt.groups)
			}
			if s.err != nil {
				t.Fatalf("upstream could not decode the RFC 9440 headers: %v", s.err)
			}
			if tt.cert == nil || tt.path == "/public" {
				if s.cert != nil || s.chain != nil {
					t.Errorf("anonymous request forwarded a certificate")
				}
				return
			}
			// The upstream decodes Client-Cert back to the very DER the
			// client presented, and Client-Cert-Chain to the intermediate
			// (the trust anchor is not sent).
			if !bytes.Equal(s.cert, tt.cert.Cert.Raw) {
				t.Errorf("Client-Cert decodes to %d bytes that are not the client's certificate", len(s.cert))
			}
			if len(s.chain) != 1 || !bytes.Equal(s.chain[0], p.sub.Cert.Raw) {
				t.Errorf("Client-Cert-Chain decodes to %d certificates, want the issuing CA only", len(s.chain))
			}
			if _, err := x509.ParseCertificate(s.cert); err != nil {
				t.Errorf("Client-Cert is not a certificate: %v", err)
			}
		})
	}

	// 403.12 and 403.100 are logged with the rule and the certificate.
	var denied, notAllowed bool
	for _, r := range g.logs.records(t) {
		switch r["event"] {
		case "mapping_denied":
			if r["substatus"] == "403.12" && r["rule"] != nil && r["cert"] != nil {
				denied = true
			}
		case "user_not_allowed":
			if r["substatus"] == "403.100" && r["code"] == "E_ACCESSDENIED" {
				notAllowed = true
			}
		}
	}
	if !denied || !notAllowed {
		t.Errorf("log lacks mapping_denied (%v) or user_not_allowed (%v) events:\n%s", denied, notAllowed, g.logs)
	}
}

// checkNoSpoofedHeaders fails when any client-sent identity header, or its
// value, reached the upstream.
func checkNoSpoofedHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, vs := range h {
		n := normalizeHeaderName(k)
		switch n {
		case "x-remote-user", "x-remote-groups", "forwarded", "x-forwarded-client-cert":
			t.Errorf("upstream received %s: %q", k, vs)
		}
		for _, v := range vs {
			if strings.Contains(v, "spoofed") || strings.Contains(v, "10.9.9.9") || strings.Contains(v, "evil.example") || v == "admin" || v == "root" {
				t.Errorf("upstream received the client's value %s: %q", k, v)
			}
		}
		if (n == "x-auth-user" || n == "x-auth-groups" || n == "client-cert" || n == "client-cert-chain" || strings.HasPrefix(n, "x-forwarded-")) &&
			!slices.Contains([]string{"X-Auth-User", "X-Auth-Groups", "Client-Cert", "Client-Cert-Chain", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}, k) {
			t.Errorf("upstream received a non-canonical %s: %q", k, vs)
		}
		if len(vs) != 1 && n != "accept-encoding" {
			t.Errorf("upstream received %d values of %s", len(vs), k)
		}
	}
	if h.Get("X-Keep-Me") != "yes" {
		t.Error("an ordinary header was removed")
	}
	if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Proto") != "https" || h.Get("X-Forwarded-Host") != "a.example.test" {
		t.Errorf("X-Forwarded-For %q, -Proto %q, -Host %q; want them from the connection",
			h.Get("X-Forwarded-For"), h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host"))
	}
}

func TestMappingOptional(t *testing.T) {
	p := newMappingPKI(t)
	up := newCertUpstream(t)
	g := startGateway(t, p.testPKI, fmt.Sprintf(mappingYAML, up.URL, false))

	// Unmapped: through, without a user, but with the certificate.
	if res := g.do(t, request{sni: "a.example.test", path: "/", cert: p.carol}); res.status != 200 {
		t.Fatalf("unmapped with required: false: status %d\n%s", res.status, res.body)
	}
	seen := up.take()
	if len(seen) != 1 || seen[0].header.Get("X-Auth-User") != "" || !bytes.Equal(seen[0].cert, p.carol.Cert.Raw) {
		t.Errorf("unmapped request: upstream saw %+v", seen)
	}
	// A deny rule still denies.
	res := g.do(t, request{sni: "a.example.test", path: "/", cert: p.mallory, accept: "application/json"})
	if res.status != 403 || res.problem(t).Substatus != "403.12" {
		t.Errorf("deny rule with required: false: status %d\n%s", res.status, res.body)
	}
}

func TestEchoShowsMappedIdentity(t *testing.T) {
	p := newMappingPKI(t)
	g := startGateway(t, p.testPKI, fmt.Sprintf(mappingYAML, "echo", true))
	tests := []struct {
		path   string
		cert   *pki.Leaf
		user   string
		groups []string
	}{
		{"/", p.admin, "adm-root", []string{"admins", "staff"}},
		{"/", p.alice, "alice", []string{"staff"}},
		{"/maybe", nil, "", nil},
		{"/public", p.alice, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.user, func(t *testing.T) {
			res := g.do(t, request{sni: "a.example.test", path: tt.path, cert: tt.cert, header: spoofed.Clone()})
			if res.status != 200 {
				t.Fatalf("status %d\n%s", res.status, res.body)
			}
			e := res.echo(t)
			if e.Client.User != tt.user || !slices.Equal(e.Client.Groups, tt.groups) {
				t.Errorf("echo client user %q groups %v, want %q %v", e.Client.User, e.Client.Groups, tt.user, tt.groups)
			}
			for k, v := range e.Headers {
				n := normalizeHeaderName(k)
				if n == "x-auth-user" || n == "x-remote-user" || n == "client-cert" || n == "forwarded" || n == "x-forwarded-client-cert" {
					t.Errorf("echo shows client-sent %s: %q", k, v)
				}
			}
		})
	}
}

func TestBuildRejectsBadMapping(t *testing.T) {
	p := newMappingPKI(t)
	dir := t.TempDir()
	p.writeFiles(t, dir)
	yaml := strings.Replace(fmt.Sprintf(mappingYAML, "echo", true),
		"      many_to_one:", "      one_to_one: [{cert: missing.pem, user: x}]\n      many_to_one:", 1)
	cfg := loadConfig(t, dir, yaml)
	_, err := Build(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "sites[0].mapping.one_to_one[0].cert") || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("Build = %v, want an error naming sites[0].mapping.one_to_one[0].cert and the file", err)
	}
}
