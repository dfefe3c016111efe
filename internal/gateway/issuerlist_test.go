package gateway

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/verify"
)

func rawSubjects(certs ...*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.RawSubject
	}
	return out
}

func equalNames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func describeNames(names [][]byte) string {
	var out []string
	for _, n := range names {
		var rdn pkix.RDNSequence
		if _, err := asn1Unmarshal(n, &rdn); err != nil {
			out = append(out, fmt.Sprintf("<%x>", n))
			continue
		}
		var name pkix.Name
		name.FillFromRDNSequence(&rdn)
		out = append(out, name.String())
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// TestIssuerListOnTheWire checks the CA names the client receives in the
// CertificateRequest: exactly the configured list, in order, over TLS 1.2
// and 1.3; an explicit source replaces the roots (never appended); none
// with send: false; no CertificateRequest at all for a site that never
// uses certificates.
func TestIssuerListOnTheWire(t *testing.T) {
	p := newTestPKI(t)
	ctlA := pkitest.NewRoot(t, "CTL Root A")
	ctlB := pkitest.NewRoot(t, "CTL Root B")
	second := pkitest.NewRoot(t, "Second Trusted Root")

	yaml := `
sites:
  - name: default-roots
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: [roots.pem, second.pem]}
    locations: [{path: /, client_cert: require}]
  - name: explicit
    hosts: [b.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      issuer_list: {source: ctl.pem}
    locations: [{path: /, client_cert: accept}]
  - name: silent
    hosts: ["*.wild.example.test"]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      issuer_list: {send: false}
    locations: [{path: /, client_cert: require}]
  - name: open
    hosts: [open.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
`
	g := startGateway(t, p, yaml, func(dir string) {
		pkitest.WriteCerts(t, dir, "second.pem", second.Cert)
		// Order in the file is the order on the wire: B before A.
		pkitest.WriteCerts(t, dir, "ctl.pem", ctlB.Cert, ctlA.Cert)
	})

	tests := []struct {
		sni       string
		want      [][]byte
		noRequest bool
	}{
		{sni: "a.example.test", want: rawSubjects(p.root.Cert, second.Cert)},
		{sni: "b.example.test", want: rawSubjects(ctlB.Cert, ctlA.Cert)},
		{sni: "x.wild.example.test", want: nil},
		{sni: "open.example.test", noRequest: true},
	}
	for _, tt := range tests {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tt.sni+" "+tls.VersionName(version), func(t *testing.T) {
				res := g.do(t, request{sni: tt.sni, cert: p.alice, tlsMax: version})
				if tt.noRequest {
					if res.cri != nil {
						t.Fatalf("site without certificate locations sent a CertificateRequest (CAs %s)", describeNames(res.cri.AcceptableCAs))
					}
					return
				}
				if res.cri == nil {
					t.Fatal("no CertificateRequest")
				}
				if !equalNames(res.cri.AcceptableCAs, tt.want) {
					t.Errorf("AcceptableCAs = %s, want %s", describeNames(res.cri.AcceptableCAs), describeNames(tt.want))
				}
			})
		}
	}

	// The effective list is exposed for certgate check / probe.
	il := g.snap.Site("explicit").Issuers
	if !il.Send || len(il.Kept) != 2 || il.Bytes != len(ctlA.Cert.RawSubject)+len(ctlB.Cert.RawSubject)+4 || il.Truncated() {
		t.Errorf("explicit list = send %v kept %d bytes %d truncated %v", il.Send, len(il.Kept), il.Bytes, il.Truncated())
	}
	if il := g.snap.Site("silent").Issuers; il.Send || il.Pool() != nil || il.Names() != nil {
		t.Errorf("send: false list = send %v pool %v names %v", il.Send, il.Pool(), il.Names())
	}
}

// bigCAs returns n roots with long subjects (about 330 DER bytes each).
func bigCAs(t *testing.T, n int) []*x509.Certificate {
	var out []*x509.Certificate
	for i := range n {
		name := pkix.Name{
			CommonName:         fmt.Sprintf("Issuer %03d %s", i, strings.Repeat("c", 50)),
			Organization:       []string{strings.Repeat("Organization ", 6)},
			OrganizationalUnit: []string{strings.Repeat("Unit ", 12), strings.Repeat("Division ", 6)},
			Country:            []string{"DE"},
			Locality:           []string{strings.Repeat("Locality ", 4)},
		}
		out = append(out, pkitest.NewRoot(t, name.CommonName, pki.WithSubject(name)).Cert)
	}
	return out
}

// TestIssuerListSizeLimits: past warn_bytes a warning with the size is
// logged (issuer_list_large); past max_bytes the list is cut from the end,
// in configured order, one issuer_list_truncated event names every dropped
// CA (subject and SHA-256), and the client receives exactly the kept names.
func TestIssuerListSizeLimits(t *testing.T) {
	p := newTestPKI(t)
	cas := bigCAs(t, 12)
	size := 0
	for _, c := range cas {
		size += 2 + len(c.RawSubject)
	}
	// Keep the first 7: max_bytes is between the size of 7 and of 8.
	keep := 7
	max7 := 0
	for _, c := range cas[:keep] {
		max7 += 2 + len(c.RawSubject)
	}
	warnAt := 1000

	yaml := fmt.Sprintf(`
sites:
  - name: big
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      issuer_list: {source: ctl.pem, warn_bytes: %d, max_bytes: %d}
    locations: [{path: /, client_cert: accept}]
`, warnAt, max7+1)
	g := startGateway(t, p, yaml, func(dir string) { pkitest.WriteCerts(t, dir, "ctl.pem", cas...) })

	il := g.snap.Sites[0].Issuers
	if len(il.Kept) != keep || len(il.Dropped) != len(cas)-keep || il.Bytes != max7 || il.TotalBytes != size {
		t.Fatalf("list: kept %d dropped %d bytes %d total %d; want %d %d %d %d", len(il.Kept), len(il.Dropped), il.Bytes, il.TotalBytes, keep, len(cas)-keep, max7, size)
	}

	// One issuer_list_large and one issuer_list_truncated event, through
	// the site build, with the attributes docs/operations.md lists.
	var large, truncated []map[string]any
	for _, r := range g.logs.records(t) {
		switch r["event"] {
		case events.EventIssuerListLarge:
			large = append(large, r)
		case events.EventIssuerListTruncated:
			truncated = append(truncated, r)
		}
	}
	if len(large) != 1 {
		t.Fatalf("%d issuer_list_large events, want 1:\n%s", len(large), g.logs)
	}
	if r := large[0]; r["level"] != "WARN" || r["site"] != "big" || r["bytes"] != float64(max7) || r["warn_bytes"] != float64(warnAt) ||
		r["cas"] != float64(keep) || r["field"] != "sites[0].client_auth.issuer_list" {
		t.Errorf("issuer_list_large = %v", r)
	}
	if len(truncated) != 1 {
		t.Fatalf("%d issuer_list_truncated events, want 1:\n%s", len(truncated), g.logs)
	}
	r := truncated[0]
	if r["level"] != "WARN" || r["site"] != "big" || r["max_bytes"] != float64(max7+1) || r["bytes"] != float64(max7) ||
		r["total_bytes"] != float64(size) || r["kept"] != float64(keep) || r["dropped"] != float64(len(cas)-keep) {
		t.Errorf("issuer_list_truncated = %v", r)
	}
	subjects, _ := r["dropped_subjects"].([]any)
	sums, _ := r["dropped_sha256"].([]any)
	if len(subjects) != len(cas)-keep || len(sums) != len(cas)-keep {
		t.Fatalf("dropped_subjects %v, dropped_sha256 %v: want %d each", subjects, sums, len(cas)-keep)
	}
	for i, c := range cas[keep:] {
		if subjects[i] != c.Subject.String() || sums[i] != verify.Fingerprint(c) {
			t.Errorf("dropped CA %d = %v %v, want %q %s", i, subjects[i], sums[i], c.Subject, verify.Fingerprint(c))
		}
	}
	if len(g.snap.Warnings) != 1+len(cas)-keep {
		t.Errorf("snapshot warnings = %d, want %d: %q", len(g.snap.Warnings), 1+len(cas)-keep, g.snap.Warnings)
	}

	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		res := g.do(t, request{sni: "a.example.test", cert: p.alice, tlsMax: version})
		if res.cri == nil || !equalNames(res.cri.AcceptableCAs, rawSubjects(cas[:keep]...)) {
			t.Errorf("%s: AcceptableCAs is not the first %d configured CAs in order", tls.VersionName(version), keep)
		}
	}
}

// TestIssuerListNoWarningUnderLimit: a small list logs nothing.
func TestIssuerListNoWarningUnderLimit(t *testing.T) {
	p := newTestPKI(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))
	if len(g.snap.Warnings) != 0 || strings.Contains(g.logs.String(), "issuer list") {
		t.Errorf("unexpected warnings %q\n%s", g.snap.Warnings, g.logs)
	}
}
