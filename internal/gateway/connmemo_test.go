package gateway

import (
	"testing"

	"github.com/certgate/certgate/internal/mapping"
)

// TestConnMappingMemo: the per-connection mapping memo answers what the
// Mapper answers, and recomputes when the chain or the Mapper differs
// from the one it remembered.
func TestConnMappingMemo(t *testing.T) {
	p := newTestPKI(t)
	bob := p.sub.Client(t, "bob")
	compile := func(user string) *mapping.Mapper {
		m, err := mapping.Compile(&mapping.Options{Required: true, ManyToOne: []mapping.ManyToOne{{
			Name: "all", Match: mapping.Match{Issuer: map[string]string{"CN": "Client Issuing CA"}}, User: user, Groups: []string{"g"},
		}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m1, m2 := compile("{CN}"), compile("svc-{CN}")
	alice := append(p.alice.Chain()[:2:2], p.root.Cert)
	bobChain := append(bob.Chain()[:2:2], p.root.Cert)

	cs := &connState{}
	for i, s := range []struct {
		name string
		m    *mapping.Mapper
		cs   *connState
		user string
		bob  bool
	}{
		{name: "first request", m: m1, cs: cs, user: "alice"},
		{name: "second request (memo)", m: m1, cs: cs, user: "alice"},
		{name: "other mapper", m: m2, cs: cs, user: "svc-alice"},
		{name: "other chain", m: m2, cs: cs, user: "svc-bob", bob: true},
		{name: "outside a connection", m: m1, cs: nil, user: "alice"},
	} {
		chain := alice
		if s.bob {
			chain = bobChain
		}
		got := s.cs.mapping(s.m, chain)
		if want := s.m.Map(chain); got.User != want.User || got.Rule != want.Rule || got.User != s.user {
			t.Fatalf("step %d (%s): memo %v, Mapper %v, want user %q", i, s.name, got, want, s.user)
		}
	}
}
