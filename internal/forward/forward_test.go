package forward

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

func TestStripSpoofable(t *testing.T) {
	tests := []struct {
		name   string
		in     http.Header
		names  []string
		keep   []string // keys that must survive
		remove []string // keys that must be gone
	}{
		{
			name: "canonical defaults",
			in: http.Header{
				"Client-Cert": {":AAAA:"}, "Client-Cert-Chain": {":AAAA:"}, "X-Remote-User": {"admin"},
				"X-Remote-Groups": {"admins"}, "X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Proto": {"https"},
				"X-Forwarded-Host": {"evil"}, "Forwarded": {"for=1.2.3.4"}, "X-Forwarded-Client-Cert": {"Hash=x"},
				"Accept": {"*/*"},
			},
			keep: []string{"Accept"},
			remove: []string{"Client-Cert", "Client-Cert-Chain", "X-Remote-User", "X-Remote-Groups", "X-Forwarded-For",
				"X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Forwarded-Client-Cert"},
		},
		{
			name:   "non-canonical keys in the map",
			in:     http.Header{"x-remote-user": {"admin"}, "CLIENT-CERT": {":AAAA:"}, "x-FORWARDED-for": {"1.2.3.4"}, "User-Agent": {"t"}},
			keep:   []string{"User-Agent"},
			remove: []string{"x-remote-user", "CLIENT-CERT", "x-FORWARDED-for"},
		},
		{
			name:   "underscore variants (CGI maps them to the same variable)",
			in:     http.Header{"X_remote_user": {"admin"}, "Client_cert": {":AAAA:"}, "X-Custom_ok": {"1"}},
			keep:   []string{"X-Custom_ok"},
			remove: []string{"X_remote_user", "Client_cert"},
		},
		{
			name:   "configured names, repeated values",
			in:     http.Header{"X-Auth-User": {"a", "b", "c"}, "x-auth-roles": {"r"}, "X-Auth-Userx": {"keep"}},
			names:  []string{"X-Auth-User", "X-Auth-Roles"},
			keep:   []string{"X-Auth-Userx"},
			remove: []string{"X-Auth-User", "x-auth-roles"},
		},
		{
			name: "default user header stays stripped when renamed",
			in:   http.Header{"X-Remote-User": {"admin"}, "Remote-User": {"admin"}},
			// Remote-User is not certgate's business unless configured.
			names:  []string{"X-Auth-User"},
			keep:   []string{"Remote-User"},
			remove: []string{"X-Remote-User"},
		},
		{name: "empty header", in: http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			removed := StripSpoofable(tt.in, tt.names)
			for _, k := range tt.keep {
				if _, ok := tt.in[k]; !ok {
					t.Errorf("%q was removed, want it kept", k)
				}
			}
			for _, k := range tt.remove {
				if _, ok := tt.in[k]; ok {
					t.Errorf("%q is still present", k)
				}
			}
			sort.Strings(removed)
			want := slices.Clone(tt.remove)
			sort.Strings(want)
			if !slices.Equal(removed, want) {
				t.Errorf("removed = %q, want %q", removed, want)
			}
		})
	}
}

func TestClientCertHeadersRoundTrip(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	i1 := root.Intermediate(t, "Issuing 1")
	i2 := i1.Intermediate(t, "Issuing 2")
	leaf := i2.Client(t, "alice")
	tests := []struct {
		name  string
		chain []*x509.Certificate
	}{
		{"leaf only", []*x509.Certificate{leaf.Cert}},
		{"leaf and two intermediates", []*x509.Certificate{leaf.Cert, i2.Cert, i1.Cert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, chain := ClientCertHeaders(tt.chain)
			if !strings.HasPrefix(cert, ":") || !strings.HasSuffix(cert, ":") {
				t.Fatalf("Client-Cert = %q, want a byte sequence", cert)
			}
			der, err := ParseClientCert(cert)
			if err != nil || !bytes.Equal(der, tt.chain[0].Raw) {
				t.Fatalf("ParseClientCert = %v; DER equal: %v", err, bytes.Equal(der, tt.chain[0].Raw))
			}
			ders, err := ParseClientCertChain(chain)
			if err != nil {
				t.Fatal(err)
			}
			if len(ders) != len(tt.chain)-1 {
				t.Fatalf("chain has %d members, want %d (the leaf is not repeated)", len(ders), len(tt.chain)-1)
			}
			for i, d := range ders {
				if !bytes.Equal(d, tt.chain[i+1].Raw) {
					t.Errorf("chain member %d differs from %s", i, tt.chain[i+1].Subject)
				}
			}
		})
	}
	if c, ch := ClientCertHeaders(nil); c != "" || ch != "" {
		t.Errorf("ClientCertHeaders(nil) = %q, %q", c, ch)
	}
}

func TestParseClientCert(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x05}
	b64 := base64.StdEncoding.EncodeToString(der)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"plain", ":" + b64 + ":", ""},
		{"surrounding white space", " \t:" + b64 + ": ", ""},
		{"parameters ignored", ":" + b64 + ":;a=1", ""},
		{"padding omitted", ":" + strings.TrimRight(b64, "=") + ":", ""},
		{"empty", "", "empty value"},
		{"no colons", b64, "want ':' at the start"},
		{"unterminated", ":" + b64, "no closing ':'"},
		{"trailing junk", ":" + b64 + ":x", "unexpected"},
		{"empty sequence", "::", "empty byte sequence"},
		{"bad base64", ":!!!!:", "bad base64"},
		{"pem instead", "-----BEGIN CERTIFICATE-----", "want ':' at the start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientCert(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadByteSequence) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseClientCert(%q) = %v, want ErrBadByteSequence mentioning %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, der) {
				t.Fatalf("ParseClientCert(%q) = %x, %v; want %x", tt.in, got, err, der)
			}
		})
	}
}

func TestParseClientCertChain(t *testing.T) {
	a, b := ":"+base64.StdEncoding.EncodeToString([]byte("a"))+":", ":"+base64.StdEncoding.EncodeToString([]byte("bb"))+":"
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{a, []string{"a"}, false},
		{a + ", " + b, []string{"a", "bb"}, false},
		{a + "," + b, []string{"a", "bb"}, false},
		{a + ",," + b, nil, true},
		{a + ", junk", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClientCertChain(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadByteSequence) {
					t.Fatalf("ParseClientCertChain(%q) = %v, want ErrBadByteSequence", tt.in, err)
				}
				return
			}
			var gs []string
			for _, g := range got {
				gs = append(gs, string(g))
			}
			if err != nil || !slices.Equal(gs, tt.want) {
				t.Fatalf("ParseClientCertChain(%q) = %q, %v; want %q", tt.in, gs, err, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	inter := root.Intermediate(t, "Issuing")
	leaf := inter.Client(t, "alice")
	verified := []*x509.Certificate{leaf.Cert, inter.Cert, root.Cert}
	fwd := Options{UserHeader: "X-Remote-User", GroupsHeader: "X-Remote-Groups", ClientCert: true}
	tests := []struct {
		name      string
		f         Options
		id        Identity
		user      string
		groups    string
		certs     int // certificates in Client-Cert + Client-Cert-Chain
		hasCert   bool
		hasChain  bool
		staleKept bool
	}{
		{"mapped with chain", fwd, Identity{User: "alice", Groups: []string{"staff", "eng"}, Chain: verified}, "alice", "staff, eng", 2, true, true, false},
		{"leaf under root: no chain header", fwd, Identity{User: "alice", Chain: []*x509.Certificate{leaf.Cert, inter.Cert}}, "alice", "", 1, true, false, false},
		{"anonymous verified", fwd, Identity{Chain: verified}, "", "", 2, true, true, false},
		{"client_cert off", Options{UserHeader: "X-User", GroupsHeader: "X-Groups", ClientCert: false}, Identity{User: "alice", Chain: verified}, "alice", "", 0, false, false, false},
		{"nothing", fwd, Identity{}, "", "", 0, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			// Stale values must not survive Apply even without stripping.
			h.Set(tt.f.UserHeader, "stale")
			h.Set(HeaderClientCert, ":c3RhbGU=:")
			Apply(h, tt.f, Identity{User: tt.id.User, Groups: tt.id.Groups, Chain: tt.id.Chain})
			if got := h.Get(tt.f.UserHeader); got != tt.user {
				t.Errorf("user header = %q, want %q", got, tt.user)
			}
			if got := h.Get(tt.f.GroupsHeader); got != tt.groups {
				t.Errorf("groups header = %q, want %q", got, tt.groups)
			}
			_, hasCert := h[HeaderClientCert]
			_, hasChain := h[HeaderClientCertChain]
			if hasCert != tt.hasCert || hasChain != tt.hasChain {
				t.Fatalf("Client-Cert present %v, chain present %v; want %v, %v", hasCert, hasChain, tt.hasCert, tt.hasChain)
			}
			if !hasCert {
				return
			}
			der, err := ParseClientCert(h.Get(HeaderClientCert))
			if err != nil || !bytes.Equal(der, leaf.Cert.Raw) {
				t.Fatalf("Client-Cert does not decode to the leaf: %v", err)
			}
			ders, err := ParseClientCertChain(h.Get(HeaderClientCertChain))
			if err != nil || 1+len(ders) != tt.certs {
				t.Fatalf("Client-Cert-Chain = %d members, %v; want %d", len(ders), err, tt.certs-1)
			}
			for _, d := range ders {
				if bytes.Equal(d, root.Cert.Raw) {
					t.Error("Client-Cert-Chain includes the trust anchor")
				}
			}
		})
	}
}

func BenchmarkStripSpoofable(b *testing.B) {
	base := http.Header{"Accept": {"*/*"}, "User-Agent": {"x"}, "X-Remote-User": {"a"}, "Cookie": {"c"}, "Content-Type": {"t"}}
	names := []string{"X-Auth-User", "X-Auth-Groups"}
	for b.Loop() {
		h := base.Clone()
		StripSpoofable(h, names)
	}
}

func TestIsSpoofable(t *testing.T) {
	tests := []struct {
		key   string
		names []string
		want  bool
	}{
		{"X-Remote-User", nil, true},
		{"x-remote-user", nil, true},
		{"X_REMOTE_USER", nil, true},
		{"X-Remote-Users", nil, false},
		{"X-Remote-Use", nil, false},
		{"X-Remote+User", nil, false},
		{"Client-Cert", nil, true},
		{"CLIENT_CERT_CHAIN", nil, true},
		{"Client-Certs", nil, false},
		{"X-Forwarded-Port", nil, true}, // the whole X-Forwarded- family
		{"x_forwarded_uri", nil, true},
		{"X-Forwarded-Prefix", nil, true},
		{"X-Forwarded-", nil, false},
		{"X-ARR-ClientCert", nil, true},
		{"x-arr-clientcert", nil, true},
		{"X-Client-Cert", nil, true},
		{"Ssl-Client-Cert", nil, true},
		{"X-SSL-Client-Whatever", nil, true},
		{"X-Original-URL", nil, true},
		{"X-Rewrite-Url", nil, true},
		{"X-Original-Uri", nil, true},
		{"X-Real-IP", nil, true},
		{"X-Internal-Token", []string{"X-Internal-*"}, true},
		{"X_INTERNAL_x", []string{"X-Internal-*"}, true},
		{"X-Internals", []string{"X-Internal-*"}, false},
		{"X-Forwarded-" + strings.Repeat("x", 80), nil, true},
		{"X-Auth-User", nil, false},
		{"X_auth-USER", []string{"X-Auth-User"}, true},
		{"X-Auth-User", []string{""}, false},
		{"", []string{""}, false},
		{strings.Repeat("X", 80), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := IsSpoofable(tt.key, tt.names...); got != tt.want {
				t.Fatalf("IsSpoofable(%q, %q) = %v, want %v", tt.key, tt.names, got, tt.want)
			}
			h := http.Header{tt.key: {"v"}}
			StripSpoofable(h, tt.names)
			if _, kept := h[tt.key]; kept == tt.want {
				t.Errorf("StripSpoofable disagrees with IsSpoofable for %q", tt.key)
			}
		})
	}
}
