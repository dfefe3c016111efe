package mapping

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

var (
	oidDC    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

func fp(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// colonFP renders a fingerprint the way Windows and openssl show it.
func colonFP(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(parts, ":")
}

// pkiFixture is one corporate PKI and one partner PKI whose leaves carry the
// same names, so that only the issuer pin tells them apart.
type pkiFixture struct {
	root, inter, partner *pkitest.CA
}

func newFixture(t *testing.T) pkiFixture {
	t.Helper()
	root := pkitest.NewRoot(t, "Corp Root")
	return pkiFixture{
		root:    root,
		inter:   root.Intermediate(t, "Corp Issuing CA 1"),
		partner: pkitest.NewRoot(t, "Partner Root").Intermediate(t, "Partner Issuing CA"),
	}
}

// chain returns the verified chain of a leaf: leaf, intermediates, root.
func chain(l *pki.Leaf) []*x509.Certificate {
	return append([]*x509.Certificate{l.Cert}, l.Issuer.Chain()...)
}

func subject(cn string, o string, ous ...string) pki.Option {
	n := pkix.Name{CommonName: cn, OrganizationalUnit: ous}
	if o != "" {
		n.Organization = []string{o}
	}
	return pki.WithSubject(n)
}

func TestMapRuleKinds(t *testing.T) {
	f := newFixture(t)
	staffCert := f.inter.Client(t, "alice", subject("alice", "Corp", "Staff"), pki.WithUPN("alice@corp.example"))
	// The same person's previous certificate, mapped one-to-one: a renewal
	// (staffCert) must not inherit that mapping.
	adminCert := f.inter.Client(t, "alice", subject("alice", "Corp", "Staff"))
	leaves := map[string]*pki.Leaf{
		"admin":      adminCert,
		"staff":      staffCert,
		"contractor": f.inter.Client(t, "mallory", subject("mallory", "Contractors")),
		"service": f.inter.Client(t, "web01", subject("web01", "Corp", "Services"),
			pki.WithURI("spiffe://corp.example/ns/prod/sa/web")),
		"service wrong uri": f.inter.Client(t, "web02", subject("web02", "Corp", "Services"),
			pki.WithURI("spiffe://other.example/ns/prod/sa/web")),
		"service no cn": f.inter.Client(t, "", pki.WithSubject(pkix.Name{Organization: []string{"Corp"}, OrganizationalUnit: []string{"Services"}}),
			pki.WithURI("spiffe://corp.example/ns/prod/sa/anon")),
		"engineer two ous": f.inter.Client(t, "bob", subject("bob", "Corp", "Ops", "Eng")),
		"engineer partner": f.partner.Client(t, "bob", subject("bob", "Corp", "Ops", "Eng")),
		"dc": f.inter.Client(t, "dcuser", pki.WithSubject(pkix.Name{CommonName: "dcuser", ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidDC, Value: "example"}, {Type: oidDC, Value: "corp"}, {Type: oidEmail, Value: "dc@corp.example"}}})),
		"upn":         f.inter.Client(t, "dave", subject("dave", "Elsewhere"), pki.WithUPN("dave@corp.example"), pki.WithEmail("d@mail.example")),
		"email only":  f.inter.Client(t, "erin", subject("erin", "Elsewhere"), pki.WithEmail("erin@mail.example")),
		"nothing":     f.inter.Client(t, "carol", subject("carol", "Elsewhere")),
		"dns service": f.inter.Client(t, "api", subject("api", "Elsewhere"), pki.WithDNS("api.internal.corp.example")),
	}
	cfg := &Options{
		Required: true,
		OneToOne: []OneToOne{{Fingerprint: colonFP(adminCert.Cert), User: "alice-admin", Groups: []string{"admins"}}},
		ManyToOne: []ManyToOne{
			{Name: "contractors", Match: Match{Subject: map[string]string{"O": "contractors"}}, Deny: true},
			{Name: "services", Match: Match{Subject: map[string]string{"OU": "Services"}, SAN: SANMatch{URI: "spiffe://corp.example/*"}},
				User: "svc-{CN}", Groups: []string{"services"}},
			{Name: "eng", Match: Match{Subject: map[string]string{"ou": "eng"}}, IssuerFingerprint: fp(f.inter.Cert), User: "engineer", Groups: []string{"eng"}},
			{Name: "staff", Match: Match{Subject: map[string]string{"O": "Corp", "OU": "Staff"}, Issuer: map[string]string{"cn": "Corp Issuing CA ?"}},
				User: "staff", Groups: []string{"staff", "corp"}},
			{Name: "dc", Match: Match{Subject: map[string]string{"DC": "corp", "emailAddress": "*@corp.example"}}, User: "dc-user"},
			{Name: "dns", Match: Match{SAN: SANMatch{DNS: "*.INTERNAL.corp.example"}}, User: "api-client"},
		},
		UPN: UPN{Enabled: true, FallbackEmail: true, Groups: []string{"upn-users"}, Issuers: []string{fp(f.inter.Cert)}},
	}
	m, err := Compile(cfg, "")
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	tests := []struct {
		leaf   string
		user   string
		groups []string
		denied bool
		rule   string
		reason string
	}{
		{"admin", "alice-admin", []string{"admins"}, false, "one_to_one[0]", "mapped one-to-one"},
		{"staff", "staff", []string{"staff", "corp"}, false, "many_to_one[3] (staff)", `issuer.CN "Corp Issuing CA 1" matches "Corp Issuing CA ?"`},
		{"contractor", "", nil, true, "many_to_one[0] (contractors)", `deny rule matched: subject.O "Contractors" matches "contractors"`},
		{"service", "svc-web01", []string{"services"}, false, "many_to_one[1] (services)", `san.uri "spiffe://corp.example/ns/prod/sa/web"`},
		{"service wrong uri", "", nil, false, RuleNone, "none of 6 many_to_one rules matched"},
		{"service no cn", "", nil, false, RuleNone, "certificate has no UPN and no email"},
		{"engineer two ous", "engineer", []string{"eng"}, false, "many_to_one[2] (eng)", `subject.OU "Eng" matches "eng"`},
		{"engineer partner", "", nil, false, RuleNone, "no one_to_one entry has fingerprint"},
		{"dc", "dc-user", nil, false, "many_to_one[4] (dc)", `subject.E "dc@corp.example" matches "*@corp.example", subject.DC "corp" matches "corp"`},
		{"dns service", "api-client", nil, false, "many_to_one[5] (dns)", `san.dns "api.internal.corp.example"`},
		{"upn", "dave@corp.example", []string{"upn-users"}, false, RuleUPN, `UPN "dave@corp.example"`},
		{"email only", "erin@mail.example", []string{"upn-users"}, false, RuleUPN, "fallback_email"},
		{"nothing", "", nil, false, RuleNone, "certificate has no UPN and no email subjectAltName"},
	}
	for _, tt := range tests {
		t.Run(tt.leaf, func(t *testing.T) {
			got := m.Map(chain(leaves[tt.leaf]))
			wantMatched := tt.user != "" || tt.denied
			if got.Matched != wantMatched || got.User != tt.user || got.Denied != tt.denied || got.Rule != tt.rule || !slices.Equal(got.Groups, tt.groups) {
				t.Fatalf("Map = %+v\nwant user=%q groups=%v denied=%v rule=%q", got, tt.user, tt.groups, tt.denied, tt.rule)
			}
			if got.Reason == "" {
				t.Error("Map gave no reason")
			}
			// Explain must decide exactly as Map does, with the
			// certificate's values in the reason, and its last step is the
			// deciding rule when one matched.
			res, steps := m.Explain(chain(leaves[tt.leaf]))
			if res.Rule != got.Rule || res.User != got.User || res.Denied != got.Denied || !slices.Equal(res.Groups, got.Groups) {
				t.Errorf("Explain = %+v, Map = %+v", res, got)
			}
			if !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("Explain reason = %q, want it to contain %q", res.Reason, tt.reason)
			}
			// A refusal names the certificate's values even from Map: it
			// reaches the log and the detailed 403.12.
			if got.Denied && got.Reason != res.Reason {
				t.Errorf("deny reason from Map = %q, from Explain = %q", got.Reason, res.Reason)
			}
			if len(steps) == 0 {
				t.Fatal("Explain gave no steps")
			}
			if last := steps[len(steps)-1]; got.Matched && (last.Rule != got.Rule || !last.Matched) {
				t.Errorf("last step = %+v, want the deciding rule %q matched", last, got.Rule)
			}
		})
	}
}

func TestMapRuleOrderFirstMatchWins(t *testing.T) {
	f := newFixture(t)
	leaf := f.inter.Client(t, "web01", subject("web01", "Corp", "Services"))
	broad := ManyToOne{Name: "corp", Match: Match{Subject: map[string]string{"O": "Corp"}}, User: "corp-user"}
	narrow := ManyToOne{Name: "web", Match: Match{Subject: map[string]string{"CN": "web*"}}, User: "web-user"}
	deny := ManyToOne{Name: "no-web", Match: Match{Subject: map[string]string{"CN": "web01"}}, Deny: true}
	tests := []struct {
		name  string
		rules []ManyToOne
		want  string // user, or "deny"
		rule  string
	}{
		{"broad first", []ManyToOne{broad, narrow}, "corp-user", "many_to_one[0] (corp)"},
		{"narrow first", []ManyToOne{narrow, broad}, "web-user", "many_to_one[0] (web)"},
		{"deny first stops evaluation", []ManyToOne{deny, broad}, "deny", "many_to_one[0] (no-web)"},
		{"deny after a match never runs", []ManyToOne{broad, deny}, "corp-user", "many_to_one[0] (corp)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(&Options{Required: true, ManyToOne: tt.rules}, "")
			if err != nil {
				t.Fatal(err)
			}
			got := m.Map(chain(leaf))
			user := got.User
			if got.Denied {
				user = "deny"
			}
			if user != tt.want || got.Rule != tt.rule {
				t.Errorf("Map = %+v, want %s by %s", got, tt.want, tt.rule)
			}
		})
	}
}

func TestMapOneToOneBeforeManyToOneAndUPN(t *testing.T) {
	f := newFixture(t)
	leaf := f.inter.Client(t, "alice", subject("alice", "Contractors"), pki.WithUPN("alice@corp.example"))
	m, err := Compile(&Options{
		OneToOne:  []OneToOne{{Fingerprint: fp(leaf.Cert), User: "alice"}},
		ManyToOne: []ManyToOne{{Match: Match{Subject: map[string]string{"O": "Contractors"}}, Deny: true}},
		UPN:       UPN{Enabled: true, Issuers: []string{fp(f.inter.Cert)}},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	// An exact certificate mapping is the most specific statement an admin
	// can make, so it wins over a deny rule on its subject (IIS semantics).
	if got := m.Map(chain(leaf)); got.User != "alice" || got.Rule != "one_to_one[0]" {
		t.Errorf("Map = %+v, want alice by one_to_one[0]", got)
	}
}

func TestMapTemplateMissingAttributeFallsThrough(t *testing.T) {
	f := newFixture(t)
	leaf := f.inter.Client(t, "web01", subject("web01", "Corp"))
	m, err := Compile(&Options{ManyToOne: []ManyToOne{
		{Name: "by-locality", Match: Match{Subject: map[string]string{"O": "Corp"}}, User: "svc-{L}"},
		{Name: "by-cn", Match: Match{Subject: map[string]string{"O": "Corp"}}, User: "svc-{CN}"},
	}}, "")
	if err != nil {
		t.Fatal(err)
	}
	res, steps := m.Explain(chain(leaf))
	if res.User != "svc-web01" || res.Rule != "many_to_one[1] (by-cn)" {
		t.Fatalf("Map = %+v, want svc-web01 by many_to_one[1]", res)
	}
	if len(steps) != 2 || steps[0].Matched || !strings.Contains(steps[0].Detail, "certificate has no L") {
		t.Errorf("steps = %+v, want many_to_one[0] not matched because the certificate has no L", steps)
	}
}

func TestMapUnusableUserNameFromCertificate(t *testing.T) {
	f := newFixture(t)
	// A CN with a newline must never become a header value.
	leaf := f.inter.Client(t, "evil", pki.WithSubject(pkix.Name{CommonName: "evil\r\nX-Remote-User: admin", Organization: []string{"Corp"}}))
	m, err := Compile(&Options{Required: true, ManyToOne: []ManyToOne{
		{Match: Match{Subject: map[string]string{"O": "Corp"}}, User: "{CN}"},
	}}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map(chain(leaf))
	if got.Matched || got.User != "" {
		t.Fatalf("Map = %+v, want no match for a CN with control characters", got)
	}
	if d := m.Decide(got); d == nil || d.Sub != substatus.MapperDenied {
		t.Errorf("Decide = %v, want 403.12", d)
	}
}

func TestUPNs(t *testing.T) {
	f := newFixture(t)
	malformed := otherNameSAN(t, asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("x@corp.example")})
	notExplicit := otherNameSANRaw(t, mustMarshal(t, asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("x@corp.example")}))
	guid := otherNameSANWithType(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 1}, asn1.RawValue{Tag: asn1.TagOctetString, Bytes: []byte("0123456789abcdef")})
	tests := []struct {
		name    string
		leaf    *pki.Leaf
		want    []string
		wantErr bool
	}{
		{"one upn", f.inter.Client(t, "a", pki.WithUPN("alice@corp.example")), []string{"alice@corp.example"}, false},
		{"upn with other sans", f.inter.Client(t, "a", pki.WithEmail("a@mail.example"), pki.WithUPN("alice@corp.example"), pki.WithDNS("a.example")), []string{"alice@corp.example"}, false},
		{"two upns in order", f.inter.Client(t, "a", pki.WithUPN("first@corp.example"), pki.WithUPN("second@corp.example")), []string{"first@corp.example", "second@corp.example"}, false},
		{"non-ascii upn", f.inter.Client(t, "a", pki.WithUPN("jörg@corp.example")), []string{"jörg@corp.example"}, false},
		{"no san", f.inter.Client(t, "a"), nil, false},
		{"san without upn", f.inter.Client(t, "a", pki.WithEmail("a@mail.example")), nil, false},
		{"other otherName type skipped", f.inter.Client(t, "a", pki.WithExtraExtensions(guid)), nil, false},
		{"upn not utf8string", f.inter.Client(t, "a", pki.WithExtraExtensions(malformed)), nil, true},
		{"upn value not explicitly tagged", f.inter.Client(t, "a", pki.WithExtraExtensions(notExplicit)), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UPNs(tt.leaf.Cert)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedUPN) {
					t.Fatalf("UPNs = %q, %v; want ErrMalformedUPN", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("UPNs = %q, %v; want %q", got, err, tt.want)
			}
			// Cross-check with the independent encoder/decoder in pki.
			ref, err := pki.UPNs(tt.leaf.Cert)
			if err != nil || !slices.Equal(ref, got) {
				t.Errorf("pki.UPNs = %q, %v; mapping.UPNs = %q", ref, err, got)
			}
		})
	}
}

func TestUPNMappingMalformedDoesNotFallBackToEmail(t *testing.T) {
	f := newFixture(t)
	malformed := otherNameSAN(t, asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("x@corp.example")})
	leaf := f.inter.Client(t, "x", pki.WithExtraExtensions(malformed))
	m, err := Compile(&Options{UPN: UPN{Enabled: true, FallbackEmail: true, Issuers: []string{fp(f.inter.Cert)}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Map(chain(leaf)); got.Matched || !strings.Contains(got.Reason, "UPN unreadable") {
		t.Errorf("Map = %+v, want unmapped with an unreadable UPN reason", got)
	}
}

// otherNameSAN builds a SAN extension holding one UPN otherName whose
// explicitly tagged value is val.
func otherNameSAN(t *testing.T, val asn1.RawValue) pkix.Extension {
	return otherNameSANWithType(t, oidUPN, val)
}

func otherNameSANWithType(t *testing.T, typ asn1.ObjectIdentifier, val asn1.RawValue) pkix.Extension {
	t.Helper()
	explicit := mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(t, val)})
	return otherNameSANRawType(t, typ, explicit)
}

// otherNameSANRaw puts value bytes directly after the type-id, without the
// [0] EXPLICIT wrapper Windows CAs use.
func otherNameSANRaw(t *testing.T, value []byte) pkix.Extension {
	return otherNameSANRawType(t, oidUPN, value)
}

func otherNameSANRawType(t *testing.T, typ asn1.ObjectIdentifier, value []byte) pkix.Extension {
	t.Helper()
	on := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(mustMarshal(t, typ), value...)}
	return pkix.Extension{Id: oidSubjectAltName, Value: mustMarshal(t, []asn1.RawValue{on})}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	f := newFixture(t)
	mapped := f.inter.Client(t, "alice", subject("alice", "Corp"))
	denied := f.inter.Client(t, "mallory", subject("mallory", "Contractors"))
	unmapped := f.inter.Client(t, "carol", subject("carol", "Elsewhere"))
	rules := []ManyToOne{
		{Name: "contractors", Match: Match{Subject: map[string]string{"O": "Contractors"}}, Deny: true},
		{Name: "corp", Match: Match{Subject: map[string]string{"O": "Corp"}}, User: "{CN}"},
	}
	tests := []struct {
		name     string
		required bool
		leaf     *pki.Leaf
		want403  bool
		wantRule string
		reason   string
	}{
		{"required mapped", true, mapped, false, "", ""},
		{"required no match", true, unmapped, true, RuleNone, "mapping is required and no rule maps the certificate"},
		{"required deny", true, denied, true, "many_to_one[0] (contractors)", "deny rule matched"},
		{"optional mapped", false, mapped, false, "", ""},
		{"optional no match passes anonymously", false, unmapped, false, "", ""},
		{"optional deny still denies", false, denied, true, "many_to_one[0] (contractors)", "deny rule matched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(&Options{Required: tt.required, ManyToOne: rules}, "")
			if err != nil {
				t.Fatal(err)
			}
			d := m.Decide(m.Map(chain(tt.leaf)))
			if !tt.want403 {
				if d != nil {
					t.Fatalf("Decide = %v, want nil", d)
				}
				return
			}
			if d == nil {
				t.Fatal("Decide = nil, want 403.12")
			}
			if d.Sub != substatus.MapperDenied || d.Code != substatus.SecELogonDenied || d.Rule != tt.wantRule || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Decide = %+v, want 403.12 SEC_E_LOGON_DENIED by %q mentioning %q", d, tt.wantRule, tt.reason)
			}
			if !strings.HasPrefix(d.Error(), "403.12 SEC_E_LOGON_DENIED (0x8009030C): ") {
				t.Errorf("Error() = %q", d.Error())
			}
		})
	}
}

func TestMapNoCertificate(t *testing.T) {
	m, err := Compile(&Options{Required: true, UPN: UPN{Enabled: true, Issuers: []string{strings.Repeat("ab", 32)}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]*x509.Certificate{nil, {nil}} {
		got := m.Map(c)
		if got.Matched || got.Rule != RuleNone {
			t.Errorf("Map(%v) = %+v, want unmapped", c, got)
		}
		if d := m.Decide(got); d == nil {
			t.Errorf("Decide(no certificate) = nil with required mapping, want 403.12")
		}
	}
	nilMapper, err := Compile(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := nilMapper.Decide(nilMapper.Map(nil)); d != nil || nilMapper.Required() {
		t.Errorf("no mapping block: Decide = %v, Required = %v; want nil, false", d, nilMapper.Required())
	}
}

func TestAllowedAndAuthorize(t *testing.T) {
	tests := []struct {
		name        string
		user        string
		groups      []string
		allowUsers  []string
		allowGroups []string
		want        bool
	}{
		{"no lists admits anyone", "alice", nil, nil, nil, true},
		{"no lists admits unmapped", "", nil, nil, nil, true},
		{"listed user", "alice", nil, []string{"bob", "alice"}, nil, true},
		{"user case-insensitive", "Alice", nil, []string{"alice"}, nil, true},
		{"unlisted user", "carol", nil, []string{"alice"}, nil, false},
		{"listed group", "carol", []string{"staff", "eng"}, nil, []string{"eng"}, true},
		{"group case-insensitive", "carol", []string{"ENG"}, nil, []string{"eng"}, true},
		{"group list, no groups", "carol", nil, nil, []string{"eng"}, false},
		{"either list suffices", "carol", []string{"eng"}, []string{"alice"}, []string{"eng"}, true},
		{"neither list", "carol", []string{"ops"}, []string{"alice"}, []string{"eng"}, false},
		{"unmapped never listed", "", []string{"eng"}, nil, []string{"eng"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.user, tt.groups, tt.allowUsers, tt.allowGroups); got != tt.want {
				t.Fatalf("Allowed = %v, want %v", got, tt.want)
			}
			r := Result{Matched: tt.user != "", User: tt.user, Groups: tt.groups, Rule: "many_to_one[0]"}
			if tt.user == "" {
				r.Rule = RuleNone
			}
			d := Authorize(r, "/admin", tt.allowUsers, tt.allowGroups)
			if (d == nil) != tt.want {
				t.Fatalf("Authorize = %v, want allowed=%v", d, tt.want)
			}
			if d != nil {
				if d.Sub != substatus.UserNotAllowedHere || d.Code != substatus.ErrorAccessDenied || !strings.Contains(d.Reason, `location "/admin"`) {
					t.Errorf("Authorize = %+v, want 403.100 E_ACCESSDENIED naming the location", d)
				}
				if tt.user != "" && !strings.Contains(d.Reason, `user "`+tt.user+`"`) {
					t.Errorf("Reason = %q, want it to name the user", d.Reason)
				}
			}
		})
	}
}

func TestCompileOneToOneCertFile(t *testing.T) {
	f := newFixture(t)
	leaf := f.inter.Client(t, "alice")
	other := f.inter.Client(t, "bob")
	dir := t.TempDir()
	pkitest.WriteCerts(t, dir, "alice.pem", leaf.Cert)
	pkitest.WriteCerts(t, dir, "chain.pem", leaf.Cert, f.inter.Cert)
	if err := os.WriteFile(filepath.Join(dir, "alice.cer"), leaf.Cert.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file    string
		wantErr string
	}{
		{"alice.pem", ""},
		{"alice.cer", ""},
		{filepath.Join(dir, "alice.pem"), ""},
		{"chain.pem", "holds 2 certificates"},
		{"missing.pem", "no such file"},
		{"junk.pem", "neither PEM"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			m, err := Compile(&Options{OneToOne: []OneToOne{{Cert: tt.file, User: "alice"}}}, dir)
			if tt.wantErr != "" {
				var fe *FieldError
				if !errors.Is(err, ErrCertFile) || !errors.As(err, &fe) || fe.Path != "one_to_one[0].cert" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Compile = %v, want ErrCertFile at one_to_one[0].cert mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Map(chain(leaf)); got.User != "alice" {
				t.Errorf("Map(alice) = %+v, want alice", got)
			}
			if got := m.Map(chain(other)); got.Matched {
				t.Errorf("Map(bob) = %+v, want unmapped", got)
			}
		})
	}
}

// TestCompileRejects covers the options Compile refuses on its own, for
// Options built in Go (from flags, say) that no config validation saw.
func TestCompileRejects(t *testing.T) {
	const fp64 = "3f2a0011223344556677889900aabbccddeeff00112233445566778899aabbcc"
	tests := []struct {
		name string
		opts Options
		path string
		msg  string
	}{
		{"bad glob", Options{ManyToOne: []ManyToOne{{Match: Match{Subject: map[string]string{"OU": "["}}, User: "x"}}},
			"many_to_one[0].match.subject.OU", "bad glob pattern"},
		{"bad san glob", Options{ManyToOne: []ManyToOne{{Match: Match{SAN: SANMatch{Email: "[z-a]"}}, User: "x"}}},
			"many_to_one[0].match.san.email", "out of order"},
		{"unknown attribute", Options{ManyToOne: []ManyToOne{{Match: Match{Issuer: map[string]string{"UID": "x"}}, User: "x"}}},
			"many_to_one[0].match.issuer.UID", `unknown attribute "UID"`},
		{"attribute twice", Options{ManyToOne: []ManyToOne{{Match: Match{Subject: map[string]string{"CN": "a", "cn": "b"}}, User: "x"}}},
			"many_to_one[0].match.subject.cn", "given twice"},
		{"bad template", Options{ManyToOne: []ManyToOne{{User: "svc-{UID}"}}},
			"many_to_one[0].user", "unknown placeholder {UID}"},
		{"bad static user", Options{ManyToOne: []ManyToOne{{User: "a\nb"}}},
			"many_to_one[0].user", "control character"},
		{"neither user nor deny", Options{ManyToOne: []ManyToOne{{}}},
			"many_to_one[0]", "needs a user"},
		{"user and deny", Options{ManyToOne: []ManyToOne{{User: "a", Deny: true}}},
			"many_to_one[0]", "not both"},
		{"bad pin", Options{ManyToOne: []ManyToOne{{IssuerFingerprint: "abcd", User: "a"}}},
			"many_to_one[0].issuer_fingerprint", "want 32 bytes"},
		{"group with comma", Options{ManyToOne: []ManyToOne{{User: "a", Groups: []string{"a,b"}}}},
			"many_to_one[0].groups[0]", "comma"},
		{"one_to_one no user", Options{OneToOne: []OneToOne{{Fingerprint: fp64}}},
			"one_to_one[0].user", "empty name"},
		{"one_to_one both", Options{OneToOne: []OneToOne{{Fingerprint: fp64, Cert: "a.pem", User: "a"}}},
			"one_to_one[0]", "exactly one of fingerprint"},
		{"one_to_one neither", Options{OneToOne: []OneToOne{{User: "a"}}},
			"one_to_one[0]", "exactly one of fingerprint"},
		{"one_to_one bad hex", Options{OneToOne: []OneToOne{{Fingerprint: "zz", User: "a"}}},
			"one_to_one[0].fingerprint", "not hex"},
		{"upn group", Options{UPN: UPN{Enabled: true, Groups: []string{" g"}}},
			"upn.groups[0]", "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(&tt.opts, "")
			if err == nil {
				t.Fatalf("Compile = %v, want an error at %s", m, tt.path)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path != tt.path || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Compile = %v, want an error at %s mentioning %q", err, tt.path, tt.msg)
			}
		})
	}
}

func TestCompileDuplicateCertificate(t *testing.T) {
	f := newFixture(t)
	leaf := f.inter.Client(t, "alice")
	dir := t.TempDir()
	pkitest.WriteCerts(t, dir, "alice.pem", leaf.Cert)
	_, err := Compile(&Options{OneToOne: []OneToOne{
		{Fingerprint: fp(leaf.Cert), User: "alice"},
		{Cert: "alice.pem", User: "mallory"},
	}}, dir)
	if !errors.Is(err, ErrDuplicateCertificate) || !strings.Contains(err.Error(), "already mapped by one_to_one[0]") {
		t.Fatalf("Compile = %v, want a duplicate-certificate error", err)
	}
}

func TestRules(t *testing.T) {
	f := newFixture(t)
	m, err := Compile(&Options{
		Required: true,
		OneToOne: []OneToOne{{Fingerprint: fp(f.inter.Cert), User: "alice", Groups: []string{"admins"}}},
		ManyToOne: []ManyToOne{
			{Name: "contractors", Match: Match{Subject: map[string]string{"o": "Contractors*"}}, IssuerFingerprint: fp(f.root.Cert), Deny: true},
			{Match: Match{SAN: SANMatch{URI: "spiffe://x/*"}}, User: "svc-{CN}"},
		},
		UPN: UPN{Enabled: true, FallbackEmail: true, Issuers: []string{fp(f.inter.Cert)}},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := m.Rules()
	wantRules := []string{"one_to_one[0]", "many_to_one[0] (contractors)", "many_to_one[1]", RuleUPN}
	if len(got) != len(wantRules) {
		t.Fatalf("Rules() = %+v, want %v", got, wantRules)
	}
	for i, d := range got {
		if d.Rule != wantRules[i] {
			t.Errorf("Rules()[%d].Rule = %q, want %q", i, d.Rule, wantRules[i])
		}
	}
	if a := got[0].Action(); a != "user alice, groups admins" {
		t.Errorf("one_to_one action = %q", a)
	}
	if c := strings.Join(got[1].Criteria, "; "); !strings.Contains(c, `subject.O matches "Contractors*" (case-insensitive)`) || !strings.Contains(c, fp(f.root.Cert)) || !got[1].Deny {
		t.Errorf("many_to_one[0] = %+v", got[1])
	}
	if c := got[2].Criteria[0]; c != `san.uri matches "spiffe://x/*" (case-sensitive)` || got[2].User != "svc-{CN}" {
		t.Errorf("many_to_one[1] = %+v", got[2])
	}
	if !m.Required() {
		t.Error("Required() = false")
	}
}

func TestAttributeTableCoversNames(t *testing.T) {
	for _, a := range DNAttributes {
		if _, ok := attributeOIDs[a]; !ok {
			t.Errorf("DNAttributes has %q but attributeOIDs has no OID for it", a)
		}
	}
	if len(attributeOIDs) != len(DNAttributes) {
		t.Errorf("attributeOIDs has %d entries, DNAttributes %d", len(attributeOIDs), len(DNAttributes))
	}
}

func BenchmarkMap(b *testing.B) {
	root, err := pki.NewRoot("Root")
	if err != nil {
		b.Fatal(err)
	}
	leaf, err := root.IssueClient("carol", pki.WithUPN("carol@corp.example"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Options{UPN: UPN{Enabled: true, Issuers: []string{fp(root.Cert)}}}
	for i := range 50 {
		cfg.ManyToOne = append(cfg.ManyToOne, ManyToOne{
			Match: Match{Subject: map[string]string{"CN": "user" + strings.Repeat("x", i) + "*"}}, User: "u"})
	}
	m, err := Compile(cfg, "")
	if err != nil {
		b.Fatal(err)
	}
	c := []*x509.Certificate{leaf.Cert, root.Cert}
	for b.Loop() {
		m.Map(c)
	}
}
