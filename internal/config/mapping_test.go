package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// siteWithMapping is a valid one-site config whose mapping block is body,
// indented under "mapping:".
func siteWithMapping(body string) string {
	var b strings.Builder
	b.WriteString(`sites:
  - name: app
    hosts: [app.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
    locations:
      - {path: /, client_cert: require}
    mapping:
`)
	for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

const fp64 = "3f:2a:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"

func TestMappingValidConfig(t *testing.T) {
	c, err := Parse([]byte(siteWithMapping(`
required: true
one_to_one:
  - {fingerprint: "`+fp64+`", user: alice, groups: [admins]}
  - {cert: certs/bob.pem, user: bob}
many_to_one:
  - name: contractors
    match: {subject: {O: "Contractors*"}}
    deny: true
  - name: services
    match:
      subject: {ou: Services, CN: "web[0-9]*"}
      issuer: {CN: "Corp Issuing CA ?", DC: corp}
      san: {uri: "spiffe://corp.example/*", dns: "*.corp.example"}
    issuer_fingerprint: "sha256 Fingerprint=`+strings.ToUpper(fp64)+`"
    user: "svc-{CN}"
    groups: [services]
  - name: everyone-else
    match: {}
    user: guest
upn: {enabled: false}
`)), "dir/certgate.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	m := c.Sites[0].Mapping
	if got := m.OneToOne[1].Cert; got != "dir/certs/bob.pem" {
		t.Errorf("one_to_one[1].cert = %q, want it resolved against the config directory", got)
	}
	if m.ManyToOne[1].Match.Subject["ou"] != "Services" || m.ManyToOne[1].Match.SAN.URI != "spiffe://corp.example/*" {
		t.Errorf("many_to_one[1] decoded as %+v", m.ManyToOne[1])
	}
}

func TestMappingValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		path string // full field path the error must name
		msg  string
	}{
		{"bad glob", `
many_to_one:
  - {match: {subject: {CN: a}}, user: a}
  - {match: {subject: {CN: b}}, user: b}
  - {match: {subject: {CN: c}}, user: c}
  - {match: {subject: {OU: "["}}, user: d}
`, "sites[0].mapping.many_to_one[3].match.subject.OU", `bad glob pattern "[": unterminated character class`},
		{"bad issuer glob", `many_to_one: [{match: {issuer: {O: "a]"}}, user: x}]`, "sites[0].mapping.many_to_one[0].match.issuer.O", "unmatched ]"},
		{"bad san glob", `many_to_one: [{match: {san: {email: "[z-a]*"}}, user: x}]`, "sites[0].mapping.many_to_one[0].match.san.email", "out of order"},
		{"empty pattern", `many_to_one: [{match: {subject: {CN: ""}}, user: x}]`, "sites[0].mapping.many_to_one[0].match.subject.CN", "empty pattern"},
		{"unknown attribute", `many_to_one: [{match: {subject: {UID: jdoe}}, user: x}]`, "sites[0].mapping.many_to_one[0].match.subject.UID", `unknown attribute "UID" (want one of CN, O, OU, C, L, ST, E, DC, serialNumber)`},
		{"attribute twice", `many_to_one: [{match: {subject: {CN: a, cn: b}}, user: x}]`, "sites[0].mapping.many_to_one[0].match.subject.cn", "already given"},
		{"unknown san type", `many_to_one: [{match: {san: {ip: 10.0.0.1}}, user: x}]`, "sites[0].mapping.many_to_one[0].match.san", `unknown field "ip"`},
		{"neither user nor deny", `many_to_one: [{match: {subject: {CN: a}}}]`, "sites[0].mapping.many_to_one[0]", "needs user: (the user to map to) or deny: true"},
		{"user and deny", `many_to_one: [{match: {subject: {CN: a}}, user: a, deny: true}]`, "sites[0].mapping.many_to_one[0].deny", "not both"},
		{"deny with groups", `many_to_one: [{match: {subject: {CN: a}}, deny: true, groups: [g]}]`, "sites[0].mapping.many_to_one[0].groups", "has no effect"},
		{"bad template", `many_to_one: [{match: {subject: {CN: a}}, user: "svc-{UID}"}]`, "sites[0].mapping.many_to_one[0].user", "unknown placeholder {UID}"},
		{"bad pin", `many_to_one: [{match: {subject: {CN: a}}, issuer_fingerprint: abcd, user: a}]`, "sites[0].mapping.many_to_one[0].issuer_fingerprint", "want 32 bytes"},
		{"sha1 pin", `many_to_one: [{match: {subject: {CN: a}}, issuer_fingerprint: "` + strings.Repeat("ab", 20) + `", user: a}]`, "sites[0].mapping.many_to_one[0].issuer_fingerprint", "SHA-1"},
		{"duplicate names", `many_to_one: [{name: x, match: {subject: {CN: a}}, user: a}, {name: X, match: {subject: {CN: b}}, user: b}]`, "sites[0].mapping.many_to_one[1].name", "must be unique"},
		{"unreachable after catch-all", `many_to_one: [{match: {}, user: a}, {match: {subject: {CN: b}}, user: b}]`, "sites[0].mapping.many_to_one[1]", "unreachable"},
		{"upn unreachable after catch-all", `{many_to_one: [{user: a}], upn: {enabled: true}}`, "sites[0].mapping.upn.enabled", "unreachable"},
		{"group with comma", `many_to_one: [{match: {subject: {CN: a}}, user: a, groups: ["a,b"]}]`, "sites[0].mapping.many_to_one[0].groups[0]", "comma"},
		{"user with newline", `one_to_one: [{fingerprint: "` + fp64 + `", user: "a\nb"}]`, "sites[0].mapping.one_to_one[0].user", "control character"},
		{"one_to_one template", `one_to_one: [{fingerprint: "` + fp64 + `", user: "{CN}"}]`, "sites[0].mapping.one_to_one[0].user", "templates"},
		{"one_to_one both", `one_to_one: [{fingerprint: "` + fp64 + `", cert: a.pem, user: a}]`, "sites[0].mapping.one_to_one[0]", "not both"},
		{"one_to_one neither", `one_to_one: [{user: a}]`, "sites[0].mapping.one_to_one[0]", "needs fingerprint:"},
		{"one_to_one no user", `one_to_one: [{fingerprint: "` + fp64 + `"}]`, "sites[0].mapping.one_to_one[0]", "needs user:"},
		{"one_to_one bad hex", `one_to_one: [{fingerprint: "zz", user: a}]`, "sites[0].mapping.one_to_one[0].fingerprint", "not hex"},
		{"one_to_one duplicate", `one_to_one: [{fingerprint: "` + fp64 + `", user: a}, {fingerprint: "` + strings.ReplaceAll(fp64, ":", "") + `", user: b}]`, "sites[0].mapping.one_to_one[1].fingerprint", "already mapped by sites[0].mapping.one_to_one[0]"},
		{"required without rules", `required: true`, "sites[0].mapping.required", "no rules"},
		{"fallback without upn", `upn: {fallback_email: true}`, "sites[0].mapping.upn.fallback_email", "no effect without upn.enabled"},
		{"upn without issuers", `upn: {enabled: true}`, "sites[0].mapping.upn.issuers", "NTAuth"},
		{"issuers without upn", `upn: {issuers: [ca.pem]}`, "sites[0].mapping.upn.issuers", "no effect without upn.enabled"},
		{"upn issuer sha1", `upn: {enabled: true, issuers: ["` + strings.Repeat("ab", 20) + `"]}`, "sites[0].mapping.upn.issuers[0]", "SHA-1"},
		{"upn issuer empty", `upn: {enabled: true, issuers: [""]}`, "sites[0].mapping.upn.issuers[0]", "empty"},
		{"directory without url", `directory: {base_dn: "dc=x"}`, "sites[0].mapping.directory.url", "required"},
		{"directory http url", `directory: {url: "http://dc", base_dn: "dc=x"}`, "sites[0].mapping.directory.url", "ldaps://"},
		{"directory without base_dn", `directory: {url: "ldaps://dc"}`, "sites[0].mapping.directory.base_dn", "required"},
		{"directory bind_dn without password", `directory: {url: "ldaps://dc", base_dn: "dc=x", bind_dn: "cn=a"}`, "sites[0].mapping.directory.password_file", "go together"},
		{"directory weak without allow_weak", `directory: {url: "ldaps://dc", base_dn: "dc=x", methods: [issuer_serial, subject]}`, "sites[0].mapping.directory.methods[1]", "allow_weak"},
		{"directory unknown method", `directory: {url: "ldaps://dc", base_dn: "dc=x", methods: [kerberos]}`, "sites[0].mapping.directory.methods[0]", "unknown method"},
		{"directory upn without issuers", `directory: {url: "ldaps://dc", base_dn: "dc=x", allow_weak: true, methods: [upn]}`, "sites[0].mapping.directory.methods[0]", "needs upn.issuers"},
		{"directory sid without issuers", `directory: {url: "ldaps://dc", base_dn: "dc=x", methods: [sid]}`, "sites[0].mapping.directory.methods[0]", "needs upn.issuers"},
		{"directory method twice", `directory: {url: "ldaps://dc", base_dn: "dc=x", methods: [ski, ski]}`, "sites[0].mapping.directory.methods[1]", "twice"},
		{"directory negative timeout", `directory: {url: "ldaps://dc", base_dn: "dc=x", timeout: -1s}`, "sites[0].mapping.directory.timeout", "> 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(siteWithMapping(tt.body)), "certgate.yaml")
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var found *FieldError
			for _, e := range flatten(err) {
				var fe *FieldError
				if errors.As(e, &fe) && fe.Path == tt.path {
					found = fe
					break
				}
			}
			if found == nil {
				t.Fatalf("no error at %s; got:\n%v", tt.path, err)
			}
			if !strings.Contains(found.Error(), tt.msg) {
				t.Errorf("error at %s = %q, want it to contain %q", tt.path, found.Error(), tt.msg)
			}
			if found.Line == 0 {
				t.Errorf("error at %s has no line number: %v", tt.path, found)
			}
		})
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// TestUPNIssuersResolved: issuer files resolve against the config
// directory, fingerprints stay as written.
func TestUPNIssuersResolved(t *testing.T) {
	fp := strings.Repeat("AB:", 31) + "AB"
	c, err := Parse([]byte(siteWithMapping(`upn: {enabled: true, issuers: [ca/issuing.pem, "`+fp+`"]}`)), "dir/certgate.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := c.Sites[0].Mapping.UPN.Issuers
	if len(got) != 2 || got[0] != "dir/ca/issuing.pem" || got[1] != fp {
		t.Errorf("upn.issuers = %q, want [dir/ca/issuing.pem %s]", got, fp)
	}
}

// TestDirectoryDefaults: files resolve against the config directory, and
// the default methods are the strong ones (sid only with upn.issuers).
func TestDirectoryDefaults(t *testing.T) {
	for _, tt := range []struct {
		body, methods string
	}{
		{`directory: {url: "ldaps://dc", base_dn: "dc=x", ca: ca/dc.pem, bind_dn: "cn=a", password_file: ldap.pw}`, "issuer_serial ski sha1_pukey"},
		{`{upn: {issuers: [ca/issuing.pem]}, directory: {url: "ldaps://dc", base_dn: "dc=x", ca: ca/dc.pem, bind_dn: "cn=a", password_file: ldap.pw}}`, "sid issuer_serial ski sha1_pukey"},
	} {
		c, err := Parse([]byte(siteWithMapping(tt.body)), "dir/certgate.yaml")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		d := c.Sites[0].Mapping.Directory
		if d.CA != "dir/ca/dc.pem" || d.PasswordFile != "dir/ldap.pw" || d.Timeout != 3*time.Second || d.DialTimeout != 2*time.Second ||
			d.Pool != 4 || d.Cache.TTL != 5*time.Minute || d.Cache.NegativeTTL != time.Minute || d.Cache.StaleIfError != 0 || d.GroupDepth != 8 {
			t.Errorf("defaults = %+v", d)
		}
		if got := strings.Join(d.Methods, " "); got != tt.methods {
			t.Errorf("methods = %q, want %q", got, tt.methods)
		}
	}
}
