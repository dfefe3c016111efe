package site

import (
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
)

func TestLayoutWarnings(t *testing.T) {
	loc := func(path, policy string) *Location { return &Location{Path: path, Policy: policy} }
	require := &Location{Index: -1, Path: "/", Policy: config.ClientCertRequire}
	tests := []struct {
		name string
		site *Site
		want []string // substrings, one per warning
	}{
		{"require on / with exceptions", &Site{Name: "s", Implicit: require, Config: &config.Site{},
			Locations: []*Location{loc("/public", "ignore"), loc("/", "require")}}, nil},
		{"protect a prefix, ignore /", &Site{Name: "s", Implicit: ImplicitLocation, Config: &config.Site{},
			Locations: []*Location{loc("/secret", "require"), loc("/", "ignore")}}, []string{`/secret accept(s) or require(s) a certificate while "/" is ignore`}},
		{"trust and mapping unused", &Site{Name: "s", Implicit: ImplicitLocation,
			Config:    &config.Site{ClientAuth: config.ClientAuth{Trust: config.Trust{Roots: config.Paths{"ca.pem"}}}, Mapping: &config.Mapping{}},
			Locations: []*Location{loc("/", "ignore")}}, []string{"client_auth.trust is configured but", "mapping is configured but"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.site.LayoutWarnings()
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q does not say %q", got[i], w)
				}
			}
		})
	}
}

func TestWeakened(t *testing.T) {
	mk := func(name string, implicit string, locs ...*Location) *Site {
		return &Site{Name: name, Implicit: &Location{Index: -1, Path: "/", Policy: implicit}, Locations: locs}
	}
	old := []*Site{
		mk("a", "require", &Location{Path: "/admin", Policy: "require"}, &Location{Path: "/maybe", Policy: "accept", RejectInvalid: true}),
		mk("b", "require"),
	}
	next := []*Site{mk("a", "ignore", &Location{Path: "/maybe", Policy: "accept"}, &Location{Path: "/admin", Policy: "require"})}
	got := Weakened(old, next)
	want := []Weakening{
		{Site: "a", Path: "/maybe", From: "accept (reject_invalid)", To: "accept"},
		{Site: "a", Path: "/", From: "require", To: "ignore"},
		{Site: "b", Removed: true},
	}
	if len(got) != len(want) {
		t.Fatalf("Weakened = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
