package site

import (
	"crypto/x509"
	"errors"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

func TestDecide(t *testing.T) {
	ok := &verify.Outcome{Sub: substatus.OK}
	none := verify.NoCertificate()
	untrusted := &verify.Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEUntrustedRoot}
	expired := &verify.Outcome{Sub: substatus.CertTimeInvalid, Code: substatus.CertEExpired}
	loc := func(policy string, rejectInvalid bool) *Location {
		return &Location{Path: "/", Policy: policy, RejectInvalid: rejectInvalid}
	}
	tests := []struct {
		name       string
		loc        *Location
		outcome    *verify.Outcome
		deny       *verify.Outcome // nil: allowed
		useCert    bool
		downgraded *verify.Outcome
	}{
		{"ignore, not verified", loc(config.ClientCertIgnore, false), nil, nil, false, nil},
		{"ignore, invalid cert is not used", loc(config.ClientCertIgnore, true), untrusted, nil, false, nil},
		{"accept valid", loc(config.ClientCertAccept, false), ok, nil, true, nil},
		{"accept none", loc(config.ClientCertAccept, false), none, nil, false, nil},
		{"accept none, reject_invalid", loc(config.ClientCertAccept, true), none, nil, false, nil},
		{"accept invalid -> anonymous", loc(config.ClientCertAccept, false), untrusted, nil, false, untrusted},
		{"accept expired -> anonymous", loc(config.ClientCertAccept, false), expired, nil, false, expired},
		{"accept invalid, reject_invalid", loc(config.ClientCertAccept, true), untrusted, untrusted, false, nil},
		{"require valid", loc(config.ClientCertRequire, false), ok, nil, true, nil},
		{"require none -> 403.7", loc(config.ClientCertRequire, false), none, none, false, nil},
		{"require invalid", loc(config.ClientCertRequire, false), expired, expired, false, nil},
		{"unknown policy fails closed", loc("maybe", false), untrusted, untrusted, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.loc, tt.outcome, nil)
			var deny *verify.Outcome
			if d.Deny != nil {
				deny = d.Deny.Outcome
				if d.Deny.Sub != deny.Sub || d.Deny.Code != deny.Code || !errors.Is(d.Deny, deny) {
					t.Errorf("denial %+v does not carry outcome %+v", d.Deny, deny)
				}
			}
			if deny != tt.deny || d.Verified != tt.useCert || d.Downgraded != tt.downgraded {
				t.Errorf("Decide = %+v, want deny %v verified %v downgraded %v", d, tt.deny, tt.useCert, tt.downgraded)
			}
		})
	}
	t.Run("require without outcome -> 403.7", func(t *testing.T) {
		if d := Decide(loc(config.ClientCertRequire, false), nil, nil); d.Deny == nil || d.Deny.Sub != substatus.CertRequired || !d.Deny.Verification() {
			t.Errorf("Decide = %+v", d)
		}
	})
}

func TestLocate(t *testing.T) {
	site := &Site{Locations: []*Location{
		{Path: "/api/v1/", Policy: "require"},
		{Path: "/public", Policy: "ignore"},
		{Path: "/api", Policy: "accept"},
		{Path: "/", Policy: "require"},
	}}
	noRoot := &Site{Locations: []*Location{{Path: "/admin", Policy: "require"}}}
	tests := []struct {
		site *Site
		path string
		want string
	}{
		{site, "/", "/"},
		{site, "/public", "/public"},
		{site, "/public/", "/public"},
		{site, "/public/a/b", "/public"},
		{site, "/publicity", "/"},
		{site, "/Public", "/"}, // case-sensitive: falls back to the stricter root rule
		{site, "/api", "/api"},
		{site, "/api/v1", "/api"}, // "/api/v1/" needs the slash
		{site, "/api/v1/x", "/api/v1/"},
		{site, "/apis", "/"},
		{noRoot, "/admin/x", "/admin"},
		{noRoot, "/other", "/"}, // implicit ignore
	}
	for _, tt := range tests {
		got := tt.site.Locate(tt.path)
		if got.Path != tt.want {
			t.Errorf("Locate(%q) = %q, want %q", tt.path, got.Path, tt.want)
		}
	}
	if l := noRoot.Locate("/other"); l.Policy != config.ClientCertIgnore || l.Index != -1 {
		t.Errorf("uncovered path: %+v, want the implicit ignore rule", l)
	}
}

// fakeMapper maps every chain to result and refuses it when deny is set.
type fakeMapper struct {
	result mapping.Result
	deny   *mapping.Denial
	calls  int
}

func (m *fakeMapper) Map([]*x509.Certificate) mapping.Result { m.calls++; return m.result }
func (m *fakeMapper) Decide(mapping.Result) *mapping.Denial  { return m.deny }

// TestDecideMapping: a verified certificate is mapped (403.12 when mapping
// refuses it), then the location's allow lists apply (403.100), to
// anonymous requests too; the mapped user is the identity.
func TestDecideMapping(t *testing.T) {
	leaf := &x509.Certificate{}
	ok := &verify.Outcome{Sub: substatus.OK, Chain: []*x509.Certificate{leaf}}
	untrusted := &verify.Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEUntrustedRoot}
	alice := mapping.Result{Matched: true, User: "alice", Groups: []string{"staff"}, Rule: "upn"}
	denied := &mapping.Denial{Sub: substatus.MapperDenied, Code: substatus.SecELogonDenied, Rule: "many_to_one[0]", Reason: "deny rule matched"}
	loc := func(policy string, users, groups []string) *Location {
		return &Location{Path: "/app", Policy: policy, Config: &config.Location{Path: "/app", AllowUsers: users, AllowGroups: groups}}
	}
	tests := []struct {
		name     string
		loc      *Location
		outcome  *verify.Outcome
		m        *fakeMapper
		sub      substatus.Sub // OK: allowed
		user     string
		verified bool
		mapped   bool // Map was called
	}{
		{"mapped", loc(config.ClientCertRequire, nil, nil), ok, &fakeMapper{result: alice}, substatus.OK, "alice", true, true},
		{"mapping refuses: 403.12", loc(config.ClientCertRequire, nil, nil), ok, &fakeMapper{result: alice, deny: denied}, substatus.MapperDenied, "", true, true},
		{"allowed user", loc(config.ClientCertRequire, []string{"ALICE"}, nil), ok, &fakeMapper{result: alice}, substatus.OK, "alice", true, true},
		{"allowed group", loc(config.ClientCertAccept, nil, []string{"staff"}), ok, &fakeMapper{result: alice}, substatus.OK, "alice", true, true},
		{"user not listed: 403.100", loc(config.ClientCertRequire, []string{"bob"}, nil), ok, &fakeMapper{result: alice}, substatus.UserNotAllowedHere, "alice", true, true},
		{"anonymous on allow list: 403.100", loc(config.ClientCertAccept, []string{"alice"}, nil), verify.NoCertificate(), &fakeMapper{result: alice}, substatus.UserNotAllowedHere, "", false, false},
		{"downgraded is not mapped", loc(config.ClientCertAccept, nil, nil), untrusted, &fakeMapper{result: alice}, substatus.OK, "", false, false},
		{"verification before mapping", loc(config.ClientCertRequire, nil, nil), untrusted, &fakeMapper{result: alice, deny: denied}, substatus.CertUntrusted, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.loc, tt.outcome, tt.m)
			sub := substatus.OK
			if d.Deny != nil {
				sub = d.Deny.Sub
				if d.Deny.Verification() == (d.Deny.Mapping != nil) {
					t.Errorf("denial %+v: want exactly one of a verification outcome and a mapping denial", d.Deny)
				}
			}
			if sub != tt.sub || d.Allowed() != (sub == substatus.OK) {
				t.Errorf("Decide: %s (%v), want %s", sub, d.Deny, tt.sub)
			}
			if d.Allowed() && d.User != tt.user || d.Verified != tt.verified || (tt.m.calls > 0) != tt.mapped {
				t.Errorf("Decide = user %q verified %v, mapped %d times; want %q %v %v", d.User, d.Verified, tt.m.calls, tt.user, tt.verified, tt.mapped)
			}
			if !tt.mapped && d.Mapping.Rule != RuleNoVerifiedCert {
				t.Errorf("unmapped request: rule %q", d.Mapping.Rule)
			}
		})
	}
}

// TestDecideAllocs: the allow path of the keep-alive request allocates
// nothing.
func TestDecideAllocs(t *testing.T) {
	ok := &verify.Outcome{Sub: substatus.OK, Chain: []*x509.Certificate{{}}}
	m := &fakeMapper{result: mapping.Result{Matched: true, User: "alice", Rule: "upn"}}
	loc := &Location{Path: "/", Policy: config.ClientCertRequire, Config: &config.Location{AllowUsers: []string{"alice"}}}
	if n := testing.AllocsPerRun(100, func() {
		if d := Decide(loc, ok, m); !d.Allowed() {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Errorf("Decide allocates %v times per call", n)
	}
}
