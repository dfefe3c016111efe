package config

import (
	"strings"
	"testing"
)

// TestTLSValidation: each bad tls: value is named by its field path, and
// the message lists the allowed values.
func TestTLSValidation(t *testing.T) {
	site := func(tls string) string {
		return "sites:\n  - name: a\n    hosts: [a.example.test]\n    certificate: {cert: s.pem, key: s.key}\n    upstream: echo\n    tls: " + tls + "\n"
	}
	tests := []struct {
		name, tls string
		want      []string
	}{
		{"unquoted version", `{min_version: 1.3}`, nil},
		{"good", `{min_version: "1.2", cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256], curves: [X25519, P-256], alpn: [h2, http/1.1], ocsp_stapling: false}`, nil},
		{"tls 1.1", `{min_version: "1.1"}`, []string{`sites[0].tls.min_version: must be one of 1.2, 1.3 (got "1.1"); TLS 1.0 and 1.1 are deprecated (RFC 8996)`}},
		{"insecure suite", `{cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}`, []string{`sites[0].tls.cipher_suites[0]: unknown or not allowed TLS 1.2 suite "TLS_RSA_WITH_RC4_128_SHA" (it is insecure); allowed: TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,`}},
		{"tls 1.3 suite", `{cipher_suites: [TLS_AES_128_GCM_SHA256]}`, []string{`(a TLS 1.3 suite: TLS 1.3 suites are always enabled and not configurable)`}},
		{"suites with 1.3", `{min_version: "1.3", cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}`, []string{`sites[0].tls.cipher_suites: only TLS 1.2 suites are configurable`}},
		{"curve", `{curves: [secp256k1]}`, []string{`sites[0].tls.curves[0]: unknown curve "secp256k1"; allowed: X25519MLKEM768, X25519, P-256, P-384, P-521`}},
		{"alpn", `{alpn: [spdy/3]}`, []string{`sites[0].tls.alpn[0]: unknown protocol "spdy/3"; allowed: h2, http/1.1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(site(tt.tls)), "certgate.yaml")
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
