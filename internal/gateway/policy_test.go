package gateway

import (
	"testing"

	"github.com/certgate/certgate/internal/config"
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
			d := decide(tt.loc, tt.outcome)
			if d.Deny != tt.deny || d.UseCert != tt.useCert || d.Downgraded != tt.downgraded {
				t.Errorf("decide = %+v, want deny %v useCert %v downgraded %v", d, tt.deny, tt.useCert, tt.downgraded)
			}
		})
	}
	t.Run("require without outcome -> 403.7", func(t *testing.T) {
		if d := decide(loc(config.ClientCertRequire, false), nil); d.Deny == nil || d.Deny.Sub != substatus.CertRequired {
			t.Errorf("decide = %+v", d)
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

func TestPrefersJSON(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json"}, true},
		{[]string{"application/problem+json"}, true},
		{[]string{"application/*"}, true},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, false}, // browsers
		{[]string{"application/json, text/html;q=0.9"}, true},
		{[]string{"text/html;q=0.5, application/json;q=0.6"}, true},
		{[]string{"text/html;q=0.6, application/json;q=0.6"}, false},   // tie -> HTML
		{[]string{"application/json;q=0", "*/*"}, false},               // json refused explicitly
		{[]string{"text/html;q=0, */*"}, true},                         // html refused, json via */*
		{[]string{"text/*;q=0.1", "application/json;q=0.2"}, true},     // two header lines
		{[]string{"application/json;q=bogus, text/html;q=0.1"}, false}, // invalid q ignored
		{[]string{"application/json;q=2"}, false},                      // out of range ignored
		{[]string{"APPLICATION/JSON"}, true},
		{[]string{"garbage;;;, application/json"}, true},
	}
	for _, tt := range tests {
		if got := prefersJSON(tt.accept); got != tt.want {
			t.Errorf("prefersJSON(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}
