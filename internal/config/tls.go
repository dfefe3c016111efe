package config

import (
	"crypto/tls"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// TLS is a site's handshake settings (nginx ssl_protocols, ssl_ciphers,
// ssl_ecdh_curve, ALPN; IIS "Disable legacy TLS" and the Schannel cipher
// suite order). Empty fields keep crypto/tls's defaults, which are the safe
// ones: TLS 1.2 and 1.3, AEAD suites with forward secrecy, X25519MLKEM768,
// X25519 and the NIST curves, ALPN h2 then http/1.1.
type TLS struct {
	// MinVersion is "1.2" (default) or "1.3". TLS 1.0 and 1.1 are not
	// offered (RFC 8996).
	MinVersion string `yaml:"min_version"`
	// CipherSuites are TLS 1.2 suites by IANA name, in no particular
	// order (crypto/tls orders them by the client's hardware); TLS 1.3
	// suites are not configurable.
	CipherSuites []string `yaml:"cipher_suites"`
	// Curves are the key exchange groups, in preference order.
	Curves []string `yaml:"curves"`
	// ALPN are the application protocols offered: h2 and/or http/1.1.
	ALPN []string `yaml:"alpn"`
	// OCSPStapling staples an OCSP response for the server certificate
	// when it names an OCSP responder (AIA); default true.
	OCSPStapling *bool `yaml:"ocsp_stapling"`
}

// tlsVersions are the accepted min_version values.
var tlsVersions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// tlsCurves are the accepted curves names.
var tlsCurves = map[string]tls.CurveID{
	"X25519MLKEM768": tls.X25519MLKEM768,
	"X25519":         tls.X25519,
	"P-256":          tls.CurveP256,
	"P-384":          tls.CurveP384,
	"P-521":          tls.CurveP521,
}

// tlsALPN are the protocols the gateway's HTTP server speaks.
var tlsALPN = []string{"h2", "http/1.1"}

// tls12Suites are the TLS 1.2 suites crypto/tls considers secure, by name.
func tls12Suites() map[string]uint16 {
	out := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			out[s.Name] = s.ID
		}
	}
	return out
}

func sortedNames[V any](m map[string]V) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

func (t *TLS) validate(v *validator, p string) {
	if t.MinVersion != "" {
		if _, ok := tlsVersions[t.MinVersion]; !ok {
			hint := ""
			if t.MinVersion == "1.0" || t.MinVersion == "1.1" {
				hint = "; TLS 1.0 and 1.1 are deprecated (RFC 8996) and not offered"
			}
			v.addf(p+".min_version", "must be one of 1.2, 1.3 (got %q)%s", t.MinVersion, hint)
		}
	}
	if len(t.CipherSuites) > 0 && t.MinVersion == "1.3" {
		v.addf(p+".cipher_suites", "only TLS 1.2 suites are configurable, and min_version 1.3 disables TLS 1.2; remove one of the two")
	}
	suites := tls12Suites()
	for i, name := range t.CipherSuites {
		if _, ok := suites[name]; ok {
			continue
		}
		why := ""
		for _, s := range tls.InsecureCipherSuites() {
			if s.Name == name {
				why = " (it is insecure)"
			}
		}
		for _, s := range tls.CipherSuites() {
			if s.Name == name {
				why = " (a TLS 1.3 suite: TLS 1.3 suites are always enabled and not configurable)"
			}
		}
		v.addf(fmt.Sprintf("%s.cipher_suites[%d]", p, i), "unknown or not allowed TLS 1.2 suite %q%s; allowed: %s", name, why, sortedNames(suites))
	}
	for i, name := range t.Curves {
		if _, ok := tlsCurves[name]; !ok {
			v.addf(fmt.Sprintf("%s.curves[%d]", p, i), "unknown curve %q; allowed: X25519MLKEM768, X25519, P-256, P-384, P-521", name)
		}
	}
	for i, name := range t.ALPN {
		if !slices.Contains(tlsALPN, name) {
			v.addf(fmt.Sprintf("%s.alpn[%d]", p, i), "unknown protocol %q; allowed: h2, http/1.1", name)
		}
	}
}

// Settings returns the crypto/tls values of the validated settings; zero
// values mean crypto/tls's defaults.
func (t *TLS) Settings() (minVersion uint16, suites []uint16, curves []tls.CurveID, alpn []string) {
	minVersion = tls.VersionTLS12
	if v, ok := tlsVersions[t.MinVersion]; ok {
		minVersion = v
	}
	all := tls12Suites()
	for _, n := range t.CipherSuites {
		suites = append(suites, all[n])
	}
	for _, n := range t.Curves {
		curves = append(curves, tlsCurves[n])
	}
	alpn = slices.Clone(t.ALPN)
	if len(alpn) == 0 {
		alpn = slices.Clone(tlsALPN)
	}
	return minVersion, suites, curves, alpn
}

// Stapling reports whether OCSP stapling is on (the default).
func (t *TLS) Stapling() bool { return t.OCSPStapling == nil || *t.OCSPStapling }
