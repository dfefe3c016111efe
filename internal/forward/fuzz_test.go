package forward

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzStripSpoofable: whatever header names a client sends (any case, '_'
// for '-', repeated), none that an upstream could read as an identity,
// certificate, client address or routing header survives, StripSpoofable
// and IsSpoofable agree, and other headers are kept.
func FuzzStripSpoofable(f *testing.F) {
	for _, k := range []string{"X-Remote-User", "x_forwarded_uri", "X-ARR-ClientCert", "X-SSL-Client-S-DN", "X-Keep", "CLIENT_CERT", "X-Internal-Role", ""} {
		f.Add(k, "X-Internal-*")
	}
	// The oracle, spelled independently of the package: lower case, '-'.
	exact := []string{"client-cert", "client-cert-chain", "forwarded", "x-remote-user", "x-remote-groups", "x-arr-clientcert",
		"x-client-cert", "ssl-client-cert", "x-original-url", "x-rewrite-url", "x-original-uri", "x-real-ip"}
	prefixes := []string{"x-forwarded-", "x-ssl-client-"}
	f.Fuzz(func(t *testing.T, key, extra string) {
		names := []string{"X-Auth-User", extra}
		h := http.Header{key: {"v"}, "X-Keep-Me": {"yes"}}
		StripSpoofable(h, names)
		n := strings.ToLower(strings.ReplaceAll(key, "_", "-"))
		must := false
		for _, e := range exact {
			must = must || n == e
		}
		for _, p := range prefixes {
			must = must || len(n) > len(p) && strings.HasPrefix(n, p)
		}
		if _, kept := h[key]; kept && (must || IsSpoofable(key, names...)) {
			t.Fatalf("%q survived (must %v, IsSpoofable %v)", key, must, IsSpoofable(key, names...))
		}
		if _, kept := h[key]; !kept && !IsSpoofable(key, names...) {
			t.Fatalf("%q removed but IsSpoofable says no", key)
		}
		if key != "X-Keep-Me" && h.Get("X-Keep-Me") != "yes" && !IsSpoofable("X-Keep-Me", names...) {
			t.Fatal("an unrelated header was removed")
		}
	})
}
