package gateway

import "testing"

// TestSameHeaderName: the allocation-free comparison agrees with
// normalizeHeaderName on case, underscores, lengths and non-ASCII names.
func TestSameHeaderName(t *testing.T) {
	cases := []struct {
		k, n string
		want bool
	}{
		{"X-Remote-User", "X-Remote-User", true},
		{"x-remote-user", "X-Remote-User", true},
		{"X_REMOTE_USER", "X-Remote-User", true},
		{"X_Remote-user", "x-remote_USER", true},
		{"X-Remote-Users", "X-Remote-User", false},
		{"X-Remote-Use", "X-Remote-User", false},
		{"X-Remote+User", "X-Remote-User", false},
		{"Client-Cert", "Client-Cert-Chain", false},
		{"CLIENT_CERT_CHAIN", "Client-Cert-Chain", true},
		{"", "", false},
		{"X", "", false},
		// Non-ASCII: the slow path gives normalizeHeaderName's answer
		// (the Kelvin sign lower-cases to k).
		{"X-\u212Aey", "X-key", true},
		{"X-\u00e9", "X-\u00c9", true},
	}
	for _, c := range cases {
		t.Run(c.k+"|"+c.n, func(t *testing.T) {
			if got := sameHeaderName(c.k, c.n); got != c.want {
				t.Fatalf("sameHeaderName(%q, %q) = %v, want %v", c.k, c.n, got, c.want)
			}
			if c.n != "" {
				if ref := normalizeHeaderName(c.k) == normalizeHeaderName(c.n); ref != c.want {
					t.Fatalf("normalizeHeaderName disagrees with the table: %v", ref)
				}
			}
		})
	}
}
