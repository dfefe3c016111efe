package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

var (
	oidNameConstraints     = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidSubjectAltName      = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidCertPolicies        = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidPolicyConstraints   = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidCRLDistPoints       = asn1.ObjectIdentifier{2, 5, 29, 31}
	policy1, policy2       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2}
	policy1OID, policy2OID = must(x509.OIDFromASN1OID(policy1)), must(x509.OIDFromASN1OID(policy2))
)

// DER builders for the extensions crypto/x509 cannot create (directoryName
// subtrees, relative distribution point names) or that the tests want
// byte-exact.

func ctx(tag int, compound bool, content []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: compound, Bytes: content}
}

func seq(parts ...[]byte) []byte {
	return must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(parts, nil)}))
}

func der(v any) []byte { return must(asn1.Marshal(v)) }

func dirName(n pkix.Name) asn1.RawValue { return ctx(4, true, der(n.ToRDNSequence())) }
func dnsName(s string) asn1.RawValue    { return ctx(2, false, []byte(s)) }
func emailName(s string) asn1.RawValue  { return ctx(1, false, []byte(s)) }
func uriName(s string) asn1.RawValue    { return ctx(6, false, []byte(s)) }

// upnName is otherName [0] IMPLICIT { szOID_NT_PRINCIPAL_NAME, [0] EXPLICIT UTF8String },
// as a Windows CA writes "UPN = @corp.example" in a name constraint.
func upnName(s string) asn1.RawValue {
	oid := der(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3})
	return ctx(0, true, append(oid, der(ctx(0, true, must(asn1.MarshalWithParams(s, "utf8"))))...))
}

// subtrees is [tag] GeneralSubtrees.
func subtrees(tag int, bases ...asn1.RawValue) []byte {
	var b []byte
	for _, base := range bases {
		b = append(b, seq(der(base))...)
	}
	return der(ctx(tag, true, b))
}

func nameConstraints(critical bool, permitted, excluded []asn1.RawValue) pki.Option {
	var parts [][]byte
	if len(permitted) > 0 {
		parts = append(parts, subtrees(0, permitted...))
	}
	if len(excluded) > 0 {
		parts = append(parts, subtrees(1, excluded...))
	}
	return pki.WithExtraExtensions(pkix.Extension{Id: oidNameConstraints, Critical: critical, Value: seq(parts...)})
}

func sanDirName(n pkix.Name) pki.Option {
	return pki.WithExtraExtensions(pkix.Extension{Id: oidSubjectAltName, Value: seq(der(dirName(n)))})
}

func policies(oids ...asn1.ObjectIdentifier) pki.Option {
	var infos [][]byte
	for _, o := range oids {
		infos = append(infos, seq(der(o)))
	}
	return pki.WithExtraExtensions(pkix.Extension{Id: oidCertPolicies, Value: seq(infos...)})
}

// requireExplicitPolicy is policyConstraints { requireExplicitPolicy [0] n }.
func requireExplicitPolicy(n int) pki.Option {
	return pki.WithExtraExtensions(pkix.Extension{Id: oidPolicyConstraints, Critical: true,
		Value: seq(der(ctx(0, false, []byte{byte(n)})))})
}

func subject(ou, cn string) pki.Option {
	return pki.WithSubject(pkix.Name{Organization: []string{"Example"}, OrganizationalUnit: []string{ou}, CommonName: cn})
}

func TestNameConstraints(t *testing.T) {
	root := must(pki.NewRoot("NC Root", valid()))
	allowed := pkix.Name{Organization: []string{"Example"}, OrganizationalUnit: []string{"Allowed"}}
	banned := pkix.Name{Organization: []string{"Example"}, OrganizationalUnit: []string{"Banned"}}
	dnCA := must(root.NewIntermediate("DN CA", valid(), nameConstraints(true, []asn1.RawValue{dirName(allowed)}, nil)))
	dnExclCA := must(root.NewIntermediate("DN Excl CA", valid(), nameConstraints(true, nil, []asn1.RawValue{dirName(banned)})))
	otherNameCA := must(root.NewIntermediate("OtherName CA", valid(), nameConstraints(true, []asn1.RawValue{ctx(0, true, seq(der(policy1), der(ctx(0, true, der("x")))))}, nil)))
	// Non-critical, so the unsupported otherName subtree may be ignored,
	// but not the directoryName subtree beside it.
	mixedCA := must(root.NewIntermediate("Mixed CA", valid(), nameConstraints(false, []asn1.RawValue{dirName(allowed), ctx(0, true, seq(der(policy1), der(ctx(0, true, der("x")))))}, nil)))
	emailCA := must(root.NewIntermediate("Email CA", valid(), nameConstraints(true, []asn1.RawValue{emailName("example.com")}, nil)))
	uriCA := must(root.NewIntermediate("URI CA", valid(), nameConstraints(true, []asn1.RawValue{uriName(".example.com")}, nil)))
	dnsCA := must(root.NewIntermediate("DNS CA", valid(), nameConstraints(true, []asn1.RawValue{dnsName("example.com")}, nil)))
	// A partner CA constrained, the Windows way, to its own UPN suffix
	// (critical, so certgate must enforce it or reject the CA), with one
	// excluded account and a subdomain form.
	upnCA := must(root.NewIntermediate("Partner UPN CA", valid(), nameConstraints(true,
		[]asn1.RawValue{upnName("@partner.test"), upnName(".eu.partner.test")}, []asn1.RawValue{upnName("Administrator@partner.test")})))
	upnBareCA := must(root.NewIntermediate("Partner UPN bare CA", valid(), nameConstraints(true, []asn1.RawValue{upnName("partner.test")}, nil)))
	dnsExclCA := must(root.NewIntermediate("DNS Excl CA", valid(), nameConstraints(true, nil, []asn1.RawValue{dnsName("bar.example.com"), dnsName(".deep.example.com")})))
	// A self-issued rollover certificate of the DN CA: exempt itself, but
	// the DN CA's constraints still bind the leaf below it.
	rollover := must(dnCA.NewIntermediate("DN CA", valid(), pki.WithSubject(dnCA.Cert.Subject)))

	cases := []struct {
		name    string
		chain   []*x509.Certificate
		code    substatus.Code // NoError: accepted
		element string
		reason  string
	}{
		{"DN within permitted subtree", must(dnCA.IssueClient("alice", valid(), subject("Allowed", "alice"))).Chain(), substatus.NoError, "", ""},
		{"DN within permitted subtree, other case", must(dnCA.IssueClient("alice", valid(), subject("ALLOWED", "alice"))).Chain(), substatus.NoError, "", ""},
		{"DN outside permitted subtree", must(dnCA.IssueClient("bob", valid(), subject("Other", "bob"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=bob`, "not within the permitted directoryName subtrees"},
		{"directoryName SAN outside permitted subtree", must(dnCA.IssueClient("carol", valid(), subject("Allowed", "carol"), sanDirName(banned))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=carol`, "directoryName alternative name"},
		{"DN in excluded subtree", must(dnExclCA.IssueClient("dave", valid(), subject("Banned", "dave"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=dave`, "excluded directoryName subtree"},
		{"DN beside excluded subtree", must(dnExclCA.IssueClient("erin", valid(), subject("Allowed", "erin"))).Chain(), substatus.NoError, "", ""},
		{"self-issued CA exempt, leaf still bound", must(rollover.IssueClient("frank", valid(), subject("Other", "frank"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=frank`, `"CN=DN CA"`},
		{"self-issued CA exempt, leaf within", must(rollover.IssueClient("grace", valid(), subject("Allowed", "grace"))).Chain(), substatus.NoError, "", ""},
		{"critical constraint on a form certgate does not enforce", must(otherNameCA.IssueClient("heidi", valid())).Chain(),
			substatus.CertECritical, `intermediate 1 "CN=OtherName CA"`, "2.5.29.30"},
		{"non-critical constraint with an unsupported form keeps its directoryName subtree", must(mixedCA.IssueClient("hank", valid(), subject("Other", "hank"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=hank`, `"CN=Mixed CA"`},
		{"rfc822 host constraint matches the host", must(emailCA.IssueClient("ivan", valid(), pki.WithEmail("ivan@example.com"))).Chain(), substatus.NoError, "", ""},
		{"rfc822 host constraint does not match subdomains (RFC 5280 4.2.1.10)", must(emailCA.IssueClient("judy", valid(), pki.WithEmail("judy@mail.example.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=judy"`, `rfc822Name "judy@mail.example.com"`},
		{"URI domain constraint matches subdomains", must(uriCA.IssueClient("ken", valid(), pki.WithURI("https://www.example.com/ken"))).Chain(), substatus.NoError, "", ""},
		{"URI domain constraint does not match the domain itself", must(uriCA.IssueClient("leo", valid(), pki.WithURI("https://example.com/leo"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=leo"`, "URI"},
		{"dNSName constraint matches subdomains", must(dnsCA.IssueClient("mia", valid(), pki.WithDNS("www.example.com"))).Chain(), substatus.NoError, "", ""},
		{"dNSName outside", must(dnsCA.IssueClient("ned", valid(), pki.WithDNS("www.example.org"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=ned"`, `dNSName "www.example.org"`},
		{"UPN in the permitted domain", must(upnCA.IssueClient("bob", valid(), pki.WithUPN("bob@partner.test"))).Chain(), substatus.NoError, "", ""},
		{"UPN domain compares case-insensitively", must(upnCA.IssueClient("bob", valid(), pki.WithUPN("bob@PARTNER.test"))).Chain(), substatus.NoError, "", ""},
		{"UPN in a permitted subdomain", must(upnCA.IssueClient("eve", valid(), pki.WithUPN("eve@fr.eu.partner.test"))).Chain(), substatus.NoError, "", ""},
		{"UPN of another domain under a UPN-constrained CA", must(upnCA.IssueClient("alice", valid(), pki.WithUPN("alice@corp.test"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=alice"`, `UPN "alice@corp.test" is not within the permitted UPN subtrees`},
		{"UPN suffix trick", must(upnCA.IssueClient("alice", valid(), pki.WithUPN("alice@corp.test@partner.test.evil"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=alice"`, "not within the permitted UPN subtrees"},
		{"UPN of a subdomain without the leading-period form", must(upnCA.IssueClient("sub", valid(), pki.WithUPN("sub@x.partner.test"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=sub"`, "not within the permitted UPN subtrees"},
		{"excluded UPN", must(upnCA.IssueClient("admin", valid(), pki.WithUPN("administrator@partner.test"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=admin"`, `excluded by the constraint "Administrator@partner.test"`},
		{"UPN without a domain part", must(upnCA.IssueClient("nodomain", valid(), pki.WithUPN("alice"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=nodomain"`, "user@domain"},
		{"malformed UPN under a UPN-constrained CA", must(upnCA.IssueClient("bad", valid(), pki.WithExtraExtensions(pkix.Extension{Id: oidSubjectAltName,
			Value: seq(der(ctx(0, true, append(der(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}), der(ctx(0, true, der("ia5 not utf8")))...))))}))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=bad"`, "UPN alternative name cannot be read"},
		{"bare UPN domain constraint matches that domain", must(upnBareCA.IssueClient("bob", valid(), pki.WithUPN("bob@partner.test"))).Chain(), substatus.NoError, "", ""},
		{"bare UPN domain constraint refuses others", must(upnBareCA.IssueClient("alice", valid(), pki.WithUPN("alice@corp.test"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=alice"`, "not within the permitted UPN subtrees"},
		{"UPN constraint does not bind other name forms", must(upnCA.IssueClient("dns", valid(), pki.WithDNS("www.example.org"))).Chain(), substatus.NoError, "", ""},
		// RFC 5280 4.2.1.10 with RFC 6125 6.4.3: a wildcard names every
		// host one label below; one of them is excluded (CVE-2025-61727).
		{"wildcard dNSName covering an excluded host", must(dnsExclCA.IssueClient("oscar", valid(), pki.WithDNS("*.example.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=oscar"`, `dNSName "*.example.com" is excluded by the constraint "bar.example.com"`},
		{"wildcard dNSName beside an excluded host", must(dnsExclCA.IssueClient("pat", valid(), pki.WithDNS("*.example.org"))).Chain(), substatus.NoError, "", ""},
		{"wildcard dNSName above a leading-period exclusion", must(dnsExclCA.IssueClient("quinn", valid(), pki.WithDNS("*.example.com.invalid", "*.deep.example.com.x"))).Chain(), substatus.NoError, "", ""},
		{"wildcard dNSName inside a leading-period exclusion", must(dnsExclCA.IssueClient("rose", valid(), pki.WithDNS("*.deep.example.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=rose"`, `".deep.example.com"`},
		{"wildcard dNSName outside a permitted host", must(dnsCA.IssueClient("sam", valid(), pki.WithDNS("*.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=sam"`, `dNSName "*.com"`},
		// RFC 5280 4.2.1.6: an rfc822Name is an RFC 5321 Mailbox.
		{"rfc822Name with two @ is not a mailbox", must(emailCA.IssueClient("trent", valid(), pki.WithEmail("invalid@address@example.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=trent"`, `rfc822Name "invalid@address@example.com" is not a mailbox`},
		{"rfc822Name with a quoted local part", must(emailCA.IssueClient("uma", valid(), pki.WithEmail(`"uma@home"@example.com`))).Chain(), substatus.NoError, "", ""},
		{"rfc822Name with a leading period in the local part", must(emailCA.IssueClient("vic", valid(), pki.WithEmail(".vic@example.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=vic"`, "not a mailbox"},
		{"rfc822Name under a dNSName-only constraint is still a mailbox", must(dnsCA.IssueClient("walt", valid(), pki.WithDNS("walt.example.com"), pki.WithEmail("walt@@example.com"))).Chain(),
			substatus.CertEInvalidName, `leaf "CN=walt"`, "not a mailbox"},
	}
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{root.Cert}}))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := v.Verify(context.Background(), c.chain, now)
			if c.code == substatus.NoError {
				if !o.OK() {
					t.Fatalf("rejected: %v", o.Error())
				}
				return
			}
			if o.Sub != substatus.CertUntrusted || o.Code != c.code {
				t.Fatalf("got %v, want 403.16 %s", o.Error(), c.code)
			}
			if o.Element == nil || !strings.HasPrefix(o.Element.String(), c.element) {
				t.Errorf("element = %v, want %s", o.Element, c.element)
			}
			if !strings.Contains(o.Reason, c.reason) {
				t.Errorf("reason %q does not mention %q", o.Reason, c.reason)
			}
			want := verify.ErrNameConstraints
			if c.code == substatus.CertECritical {
				want = verify.ErrCriticalExtension
			}
			if !errors.Is(o, want) {
				t.Errorf("errors.Is(outcome, %v) = false: %v", want, o.Err)
			}
		})
	}
}

// TestNameChaining: RFC 5280 7.1 name matching links a certificate to an
// issuer whose name is encoded differently (PKITS 4.3.3-4.3.11).
func TestNameChaining(t *testing.T) {
	f := newFixture(t)
	cases := []struct{ name, issuerCN string }{
		{"case", "TEST ISSUING CA"},
		{"spaces", "  Test   Issuing CA "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alias := *f.inter.Cert
			alias.RawSubject = der(pkix.Name{CommonName: c.issuerCN}.ToRDNSequence())
			leaf := must((&pki.CA{Cert: &alias, Key: f.inter.Key}).IssueClient("alice", valid()))
			if bytes.Equal(leaf.Cert.RawIssuer, f.inter.Cert.RawSubject) {
				t.Fatal("fixture: issuer name is byte-identical")
			}
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Intermediates: []*x509.Certificate{f.inter.Cert}}))
			if o := v.Verify(context.Background(), []*x509.Certificate{leaf.Cert}, now); !o.OK() {
				t.Fatalf("rejected: %v", o.Error())
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	root := must(pki.NewRoot("Policy Root", valid()))
	p1CA := must(root.NewIntermediate("P1 CA", valid(), policies(policy1)))
	explicitCA := must(root.NewIntermediate("Explicit CA", valid(), policies(policy1), requireExplicitPolicy(0)))
	p1Leaf := must(p1CA.IssueClient("p1", valid(), policies(policy1))).Chain()
	bare := must(p1CA.IssueClient("bare", valid())).Chain()
	p2UnderExplicit := must(explicitCA.IssueClient("p2", valid(), policies(policy2))).Chain()
	p1UnderExplicit := must(explicitCA.IssueClient("p1e", valid(), policies(policy1))).Chain()

	cases := []struct {
		name    string
		chain   []*x509.Certificate
		in      verify.PolicyOptions
		ok      bool
		set     []x509.OID
		element string
	}{
		{name: "default inputs, common policy", chain: p1Leaf, ok: true, set: []x509.OID{policy1OID}},
		{name: "default inputs, no leaf policy", chain: bare, ok: true},
		{name: "initial set P1, explicit", chain: p1Leaf, in: verify.PolicyOptions{InitialPolicies: []x509.OID{policy1OID}, RequireExplicit: true}, ok: true, set: []x509.OID{policy1OID}},
		{name: "initial set P2, explicit", chain: p1Leaf, in: verify.PolicyOptions{InitialPolicies: []x509.OID{policy2OID}, RequireExplicit: true}, element: `leaf "CN=p1"`},
		{name: "initial set P2, not explicit", chain: p1Leaf, in: verify.PolicyOptions{InitialPolicies: []x509.OID{policy2OID}}, ok: true},
		{name: "explicit required, leaf without policies", chain: bare, in: verify.PolicyOptions{RequireExplicit: true}, element: `leaf "CN=bare"`},
		{name: "CA requires explicit policy, leaf asserts another", chain: p2UnderExplicit, element: `leaf "CN=p2"`},
		{name: "CA requires explicit policy, leaf asserts it", chain: p1UnderExplicit, ok: true, set: []x509.OID{policy1OID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{root.Cert}, Policy: c.in}))
			o := v.Verify(context.Background(), c.chain, now)
			if !c.ok {
				if o.Sub != substatus.CertUntrusted || o.Code != substatus.CertEInvalidPolicy || !errors.Is(o, verify.ErrPolicy) {
					t.Fatalf("got %v, want 403.16 CERT_E_INVALID_POLICY", o.Error())
				}
				if o.Element == nil || !strings.HasPrefix(o.Element.String(), c.element) {
					t.Errorf("element = %v, want %s", o.Element, c.element)
				}
				return
			}
			if !o.OK() {
				t.Fatalf("rejected: %v", o.Error())
			}
			set, err := v.PolicySet(o.Chain)
			if err != nil {
				t.Fatal(err)
			}
			if len(set) != len(c.set) || (len(set) == 1 && !set[0].Equal(c.set[0])) {
				t.Errorf("policy set = %v, want %v", set, c.set)
			}
		})
	}
}

// TestParseRelativeDistributionPoint: crypto/x509 refuses a CRL
// distribution point named relative to the CRL issuer (PKITS 4.14.4);
// verify.ParseCertificate keeps the certificate intact, extension included.
func TestParseRelativeDistributionPoint(t *testing.T) {
	f := newFixture(t)
	rdn := der(pkix.Name{CommonName: "CRL1"}.ToRDNSequence()[0]) // SET OF AttributeTypeAndValue
	dpName := der(ctx(0, true, der(ctx(1, true, rdn[2:]))))      // [0] { [1] IMPLICIT RDN }
	cdp := seq(seq(dpName))
	// Signed directly: internal/pki parses what it creates, and crypto/x509
	// refuses this one.
	key := must(pki.GenerateKey(pki.KeyECDSAP256))
	raw := must(x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(4), Subject: pkix.Name{CommonName: "relative"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidCRLDistPoints, Value: cdp}},
	}, f.inter.Cert, key.Public(), f.inter.Key))
	if _, err := x509.ParseCertificate(raw); err == nil {
		t.Log("crypto/x509 now parses relative distribution point names; ParseCertificate's fallback is unused")
	}
	c, err := verify.ParseCertificate(raw)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	if !bytes.Equal(c.Raw, raw) || c.Subject.CommonName != "relative" {
		t.Fatal("parsed certificate differs from the input")
	}
	if err := c.CheckSignatureFrom(f.inter.Cert); err != nil {
		t.Fatalf("signature of the parsed certificate: %v", err)
	}
	found := false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidCRLDistPoints) {
			found = bytes.Equal(e.Value, cdp)
		}
	}
	if !found {
		t.Fatal("CRL distribution points extension missing or altered")
	}
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}}))
	if o := v.VerifyDER(context.Background(), [][]byte{raw, f.inter.Cert.Raw}, now); !o.OK() {
		t.Fatalf("VerifyDER: %v", o.Error())
	}
	if _, err := verify.ParseCertificate([]byte("\x30\x03abc")); err == nil {
		t.Fatal("garbage parsed")
	}
}

// signerChecker is a ChainChecker whose CRLs are signed by signer: it
// reports Good exactly when the verifier validates that signer.
type signerChecker struct {
	signer *x509.Certificate
	paths  [][]*x509.Certificate
}

func (s *signerChecker) Check(context.Context, *x509.Certificate, *x509.Certificate, time.Time) revocation.Result {
	return revocation.Result{Status: revocation.Unknown, Reason: "Check called instead of CheckChain"}
}

func (s *signerChecker) CheckChain(ctx context.Context, path, _ []*x509.Certificate, i int, at time.Time,
	validSigner func(context.Context, *x509.Certificate) error) revocation.Result {
	s.paths = append(s.paths, path)
	if i < 0 || i >= len(path)-1 {
		return revocation.Result{Status: revocation.Unknown, Reason: "index out of the path"}
	}
	if err := validSigner(ctx, s.signer); err != nil {
		return revocation.Result{Status: revocation.Unknown, Reason: err.Error(), Err: err}
	}
	return revocation.Result{Status: revocation.Good, Source: "signed by " + s.signer.Subject.CommonName}
}

// TestCRLSignerValidation: a CRL may be signed by another certificate of
// the issuer (RFC 5280 6.3.3(f), PKITS 4.4.19 and 4.5.6); the verifier
// validates that certificate's path to the same anchor for the checker.
func TestCRLSignerValidation(t *testing.T) {
	f := newFixture(t)
	leaf := must(f.inter.IssueClient("alice", valid()))
	crlSigner := must(f.root.Issue(&x509.Certificate{Subject: f.inter.Cert.Subject}, valid(),
		pki.WithKeyUsage(x509.KeyUsageCRLSign), pki.WithExtKeyUsage())).Cert
	noCRLSign := must(f.root.Issue(&x509.Certificate{Subject: f.inter.Cert.Subject}, valid(),
		pki.WithKeyUsage(x509.KeyUsageDigitalSignature), pki.WithExtKeyUsage())).Cert
	foreign := must(f.otherRoot.Issue(&x509.Certificate{Subject: f.inter.Cert.Subject}, valid(),
		pki.WithKeyUsage(x509.KeyUsageCRLSign), pki.WithExtKeyUsage())).Cert
	expired := must(f.root.Issue(&x509.Certificate{Subject: f.inter.Cert.Subject},
		pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)), pki.WithKeyUsage(x509.KeyUsageCRLSign), pki.WithExtKeyUsage())).Cert

	cases := []struct {
		name   string
		signer *x509.Certificate
		ok     bool
		reason string
	}{
		{"signer on the path", f.inter.Cert, true, ""},
		{"separate CRL signing certificate", crlSigner, true, ""},
		{"signer without cRLSign", noCRLSign, false, "cRLSign"},
		{"signer under another root", foreign, false, "validate crl signer"},
		{"expired signer", expired, false, "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := &signerChecker{signer: c.signer}
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert, f.otherRoot.Cert}, Revocation: sc}))
			o := v.Verify(context.Background(), leaf.Chain(), now)
			if c.ok {
				if !o.OK() {
					t.Fatalf("rejected: %v", o.Error())
				}
				return
			}
			if o.Sub != substatus.CertRevoked || o.Code != substatus.CryptERevocationOffline || !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("got %v, want 403.13 CRYPT_E_REVOCATION_OFFLINE mentioning %q", o.Error(), c.reason)
			}
		})
	}
}
