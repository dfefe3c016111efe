package verify_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// withExt returns a copy of c whose extension oid has the given
// criticality, or is removed (present false). The signature still
// verifies: the verifier reads the parsed fields, and the raw TBS is
// unchanged. It builds certificates crypto/x509 refuses to create.
func withExt(c *x509.Certificate, oid asn1.ObjectIdentifier, present, critical bool) *x509.Certificate {
	cp := *c
	cp.Extensions = nil
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			if !present {
				continue
			}
			e.Critical = critical
		}
		cp.Extensions = append(cp.Extensions, e)
	}
	return &cp
}

// TestProfileRules: every rule of the substatus catalogue has a
// certificate that breaks it, CheckProfile names that rule (and no other
// for it), and a clean certificate breaks none.
func TestProfileRules(t *testing.T) {
	f := newFixture(t)
	leaf := must(f.inter.IssueClient("clean", valid(), pki.WithDNS("clean.example.com")))
	ext := func(oid asn1.ObjectIdentifier, critical bool, value []byte) pki.Option {
		return pki.WithExtraExtensions(pkix.Extension{Id: oid, Critical: critical, Value: value})
	}
	var (
		oidAKI = asn1.ObjectIdentifier{2, 5, 29, 35}
		oidSKI = asn1.ObjectIdentifier{2, 5, 29, 14}
		oidBC  = asn1.ObjectIdentifier{2, 5, 29, 19}
		oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}
		oidIAP = asn1.ObjectIdentifier{2, 5, 29, 54}
		oidAIA = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	)
	long := new(big.Int).Lsh(big.NewInt(1), 20*8) // 21 octets
	emptyName := pkix.Name{}
	cases := map[string]*x509.Certificate{
		"serial-not-positive":             must(f.inter.IssueClient("zero", valid(), pki.WithSerial(big.NewInt(0)))).Cert,
		"serial-too-long":                 must(f.inter.IssueClient("long", valid(), pki.WithSerial(long))).Cert,
		"ca-empty-subject":                func() *x509.Certificate { c := *f.inter.Cert; c.RawSubject = []byte{0x30, 0}; return &c }(),
		"keycertsign-without-ca":          must(f.inter.IssueClient("ku", valid(), pki.WithKeyUsage(x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign))).Cert,
		"bc-not-critical":                 withExt(f.inter.Cert, oidBC, true, false),
		"empty-eku":                       must(f.inter.IssueClient("eku", valid(), ext(oidEKU, false, []byte{0x30, 0}))).Cert,
		"aki-missing":                     withExt(leaf.Cert, oidAKI, false, false),
		"aki-critical":                    withExt(leaf.Cert, oidAKI, true, true),
		"ski-missing":                     withExt(f.inter.Cert, oidSKI, false, false),
		"ski-critical":                    withExt(f.inter.Cert, oidSKI, true, true),
		"aia-critical":                    withExt(must(f.inter.IssueClient("aia", valid(), pki.WithOCSPServer("http://ocsp.example.test"))).Cert, oidAIA, true, true),
		"san-critical-with-subject":       withExt(leaf.Cert, oidSubjectAltName, true, true),
		"san-not-critical-empty-subject":  must(f.inter.IssueClient("", valid(), pki.WithSubject(emptyName), ext(oidSubjectAltName, false, seq(der(dnsName("e.example.com")))))).Cert,
		"dns-name-syntax":                 must(f.inter.IssueClient("us", valid(), pki.WithDNS("under_score.example.com"))).Cert,
		"policy-constraints-not-critical": must(f.root.NewIntermediate("IAP CA", valid(), ext(oidIAP, false, []byte{2, 1, 0}))).Cert,
		"nc-not-critical":                 must(f.root.NewIntermediate("NC CA", valid(), nameConstraints(false, []asn1.RawValue{dnsName("example.com")}, nil))).Cert,
		"nc-on-end-entity":                must(f.inter.IssueClient("nc", valid(), nameConstraints(true, []asn1.RawValue{dnsName("example.com")}, nil))).Cert,
		"nc-dns-leading-period":           must(f.root.NewIntermediate("Dot CA", valid(), nameConstraints(true, []asn1.RawValue{dnsName(".example.com")}, nil))).Cert,
	}
	for _, r := range substatus.ProfileRules() {
		t.Run(r.Name, func(t *testing.T) {
			c, ok := cases[r.Name]
			if !ok {
				t.Fatalf("no test certificate breaks rule %s", r.Name)
			}
			var got []string
			for _, v := range verify.CheckProfile(c) {
				got = append(got, v.Rule.Name)
			}
			if !slices.Contains(got, r.Name) {
				t.Errorf("CheckProfile = %v, want %s", got, r.Name)
			}
		})
	}
	for _, c := range []*x509.Certificate{leaf.Cert, f.inter.Cert, f.root.Cert} {
		if v := verify.CheckProfile(c); len(v) != 0 {
			t.Errorf("clean certificate %s: %v", c.Subject, v)
		}
	}
}

// TestProfileLevels: a profile nit (here an underscore in a dNSName, as
// some enterprise PKIs issue) is accepted with a warning naming the rule
// under the standard profile, and refused with 403.16 CERT_E_MALFORMED
// under strict. A rule that changes who gets in (a critical extension) is
// refused under both.
func TestProfileLevels(t *testing.T) {
	f := newFixture(t)
	sloppy := must(f.inter.IssueClient("sloppy", valid(), pki.WithDNS("host_1.corp.example"))).Chain()
	for _, p := range []verify.Profile{verify.ProfileStandard, verify.ProfileStrict} {
		t.Run(p.String(), func(t *testing.T) {
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Profile: p}))
			o := v.Verify(context.Background(), sloppy, now)
			if p == verify.ProfileStandard {
				if !o.OK() {
					t.Fatalf("rejected under standard: %v", o.Error())
				}
				if w := strings.Join(o.Warnings, "\n"); !strings.Contains(w, "dns-name-syntax") {
					t.Errorf("warnings %q do not name dns-name-syntax", w)
				}
				return
			}
			if o.Sub != substatus.CertUntrusted || o.Code != substatus.CertEMalformed || !errors.Is(o, verify.ErrProfile) || !strings.Contains(o.Reason, "dns-name-syntax") {
				t.Fatalf("got %v, want 403.16 CERT_E_MALFORMED naming dns-name-syntax", o.Error())
			}
		})
	}
	if _, err := verify.ParseProfile("lax"); err == nil {
		t.Error("ParseProfile accepted lax")
	}
}
