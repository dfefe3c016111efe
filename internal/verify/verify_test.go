package verify_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// now is the fixed verification time of these tests.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// must keeps fixtures one line each; a fixture error panics, failing the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func valid() pki.Option { return pki.WithValidity(now.Add(-24*time.Hour), now.Add(365*24*time.Hour)) }

type fixture struct {
	root, inter, otherRoot *pki.CA
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	root := must(pki.NewRoot("Test Root", pki.WithValidity(now.AddDate(-1, 0, 0), now.AddDate(10, 0, 0))))
	inter := must(root.NewIntermediate("Test Issuing CA", pki.WithValidity(now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0))))
	other := must(pki.NewRoot("Other Root", pki.WithValidity(now.AddDate(-1, 0, 0), now.AddDate(10, 0, 0))))
	return fixture{root: root, inter: inter, otherRoot: other}
}

func TestVerifyOutcomes(t *testing.T) {
	f := newFixture(t)
	good := must(f.inter.IssueClient("alice", valid()))
	expiredInter := must(f.root.NewIntermediate("Expired CA", pki.WithValidity(now.AddDate(-3, 0, 0), now.AddDate(0, 0, -1))))
	notCA := must(f.inter.IssueClient("not a ca", valid()))
	underNotCA := must((&pki.CA{Cert: notCA.Cert, Key: notCA.Key, Parent: f.inter}).IssueClient("under leaf", valid()))
	pathLen0 := must(f.root.NewIntermediate("PathLen0 CA", pki.WithMaxPathLen(0), valid()))
	tooDeep := must(pathLen0.NewIntermediate("Too Deep CA", valid()))
	imposter := must(pki.NewSelfSignedLeaf("imposter", valid()))

	type tc struct {
		name      string
		presented []*x509.Certificate
		opts      func(*verify.Options)
		sub       substatus.Sub
		code      substatus.Code
		element   string // Element.String() prefix, "" for none
		sentinel  error
		reason    string // substring of Reason
	}
	cases := []tc{
		{name: "valid chain sent by client", presented: good.Chain(), sub: substatus.OK},
		{name: "valid leaf with configured intermediate", presented: []*x509.Certificate{good.Cert},
			opts: func(o *verify.Options) { o.Intermediates = []*x509.Certificate{f.inter.Cert} }, sub: substatus.OK},
		{name: "no certificate", presented: nil, sub: substatus.CertRequired, code: substatus.SecENoCredentials, sentinel: verify.ErrNoCertificate},
		{name: "leaf expired", presented: must(f.inter.IssueClient("old", pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)))).Chain(),
			sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, element: `leaf "CN=old"`, sentinel: verify.ErrExpired, reason: "expired at"},
		{name: "leaf not yet valid", presented: must(f.inter.IssueClient("future", pki.WithValidity(now.AddDate(0, 0, 1), now.AddDate(1, 0, 0)))).Chain(),
			sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, element: `leaf "CN=future"`, sentinel: verify.ErrNotYetValid, reason: "not yet valid"},
		{name: "intermediate expired", presented: must(expiredInter.IssueClient("bob", valid())).Chain(),
			sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, element: `intermediate 1 "CN=Expired CA"`, sentinel: verify.ErrExpired},
		{name: "untrusted root", presented: append(must(f.otherRoot.IssueClient("mallory", valid())).Chain(), f.otherRoot.Cert),
			sub: substatus.CertUntrusted, code: substatus.CertEUntrustedRoot, element: `root "CN=Other Root"`, sentinel: verify.ErrUntrustedRoot},
		{name: "self-signed client certificate", presented: []*x509.Certificate{imposter.Cert},
			sub: substatus.CertUntrusted, code: substatus.CertEUntrustedRoot, element: `leaf "CN=imposter"`, sentinel: verify.ErrUntrustedRoot},
		{name: "missing intermediate", presented: []*x509.Certificate{good.Cert},
			sub: substatus.CertUntrusted, code: substatus.CertEChaining, element: `leaf "CN=alice"`, sentinel: verify.ErrChaining, reason: `issuer "CN=Test Issuing CA"`},
		{name: "bad signature", presented: []*x509.Certificate{must(f.inter.IssueClient("forged", valid(), pki.WithSignedBy(f.otherRoot.Key))).Cert, f.inter.Cert},
			sub: substatus.CertUntrusted, code: substatus.TrustECertSignature, element: `leaf "CN=forged"`, sentinel: verify.ErrSignature},
		{name: "KU keyEncipherment only", presented: must(f.inter.IssueClient("ke", valid(), pki.WithKeyUsage(x509.KeyUsageKeyEncipherment))).Chain(),
			sub: substatus.CertUntrusted, code: substatus.CertEWrongUsage, element: `leaf "CN=ke"`, sentinel: verify.ErrWrongUsage, reason: "without digitalSignature"},
		{name: "EKU serverAuth only", presented: must(f.inter.IssueClient("srv", valid(), pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth))).Chain(),
			sub: substatus.CertUntrusted, code: substatus.CertEWrongUsage, element: `leaf "CN=srv"`, sentinel: verify.ErrWrongUsage, reason: "without clientAuth"},
		{name: "EKU anyExtendedKeyUsage counts", presented: must(f.inter.IssueClient("any", valid(), pki.WithExtKeyUsage(x509.ExtKeyUsageAny))).Chain(), sub: substatus.OK},
		{name: "no KU and no EKU is unrestricted", presented: must(f.inter.IssueClient("bare", valid(), pki.WithKeyUsage(0), pki.WithExtKeyUsage())).Chain(), sub: substatus.OK},
		{name: "issuer is not a CA", presented: []*x509.Certificate{underNotCA.Cert, notCA.Cert, f.inter.Cert},
			sub: substatus.CertUntrusted, code: substatus.CertERole, element: `intermediate 1 "CN=not a ca"`, sentinel: verify.ErrNotCA},
		{name: "path length exceeded", presented: []*x509.Certificate{must(tooDeep.IssueClient("deep", valid())).Cert, tooDeep.Cert, pathLen0.Cert},
			sub: substatus.CertUntrusted, code: substatus.CertEPathLenConst, element: `intermediate 2 "CN=PathLen0 CA"`, sentinel: verify.ErrPathLen},
		{name: "intermediate installed as trusted root", presented: []*x509.Certificate{good.Cert},
			opts: func(o *verify.Options) { o.Roots = []*x509.Certificate{f.inter.Cert} }, sub: substatus.OK},
		// Precedence: trust before time, time before usage.
		{name: "expired and untrusted is untrusted", presented: []*x509.Certificate{must(f.otherRoot.IssueClient("old-foreign", pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)))).Cert},
			sub: substatus.CertUntrusted, code: substatus.CertEChaining, sentinel: verify.ErrChaining},
		{name: "expired and wrong EKU is expired", presented: must(f.inter.IssueClient("old-srv", pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth), pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)))).Chain(),
			sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, sentinel: verify.ErrExpired},
		{name: "bad signature and expired is bad signature", presented: []*x509.Certificate{must(f.inter.IssueClient("forged-old", pki.WithSignedBy(f.otherRoot.Key), pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)))).Cert, f.inter.Cert},
			sub: substatus.CertUntrusted, code: substatus.TrustECertSignature, sentinel: verify.ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := verify.Options{Roots: []*x509.Certificate{f.root.Cert}}
			if c.opts != nil {
				c.opts(&opts)
			}
			v := must(verify.New(opts))
			o := v.Verify(context.Background(), c.presented, now)
			if o.Sub != c.sub {
				t.Fatalf("sub = %s, want %s (%v)", o.Sub, c.sub, o.Error())
			}
			if c.sub == substatus.OK {
				if o.Element != nil || o.Err != nil {
					t.Fatalf("accepted outcome carries a failure: %+v", o)
				}
				return
			}
			if o.Code != c.code {
				t.Errorf("code = %s, want %s", o.Code, c.code)
			}
			if c.element != "" && (o.Element == nil || !strings.HasPrefix(o.Element.String(), c.element)) {
				t.Errorf("element = %v, want %s", o.Element, c.element)
			}
			if c.sentinel != nil && !errors.Is(o, c.sentinel) {
				t.Errorf("errors.Is(outcome, %v) = false; err = %v", c.sentinel, o.Err)
			}
			if !strings.Contains(o.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", o.Reason, c.reason)
			}
			if o.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

func TestNonSelfSignedAnchorWarns(t *testing.T) {
	f := newFixture(t)
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert, f.inter.Cert}}))
	w := v.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], `"CN=Test Issuing CA"`) || !strings.Contains(w[0], "not self-signed") {
		t.Fatalf("warnings = %q, want one naming the intermediate", w)
	}
}

func TestVerifyDERMalformed(t *testing.T) {
	f := newFixture(t)
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}}))
	o := v.VerifyDER(context.Background(), [][]byte{[]byte("\x30\x03garbage")}, now)
	if o.Sub != substatus.CertUntrusted || o.Code != substatus.CryptEASN1BadTag || !errors.Is(o, verify.ErrMalformed) {
		t.Fatalf("got %v", o.Error())
	}
}

// fakeChecker answers from a table keyed by subject CN and records calls.
type fakeChecker struct {
	mu      sync.Mutex
	results map[string]revocation.Result
	calls   []string
}

func (f *fakeChecker) Check(_ context.Context, cert, issuer *x509.Certificate, _ time.Time) revocation.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cert.Subject.CommonName+"<-"+issuer.Subject.CommonName)
	if r, ok := f.results[cert.Subject.CommonName]; ok {
		return r
	}
	return revocation.Result{Status: revocation.Good, Source: "fake"}
}

func TestVerifyRevocation(t *testing.T) {
	f := newFixture(t)
	sub2 := must(f.inter.NewIntermediate("Sub2", valid()))
	leaf := must(sub2.IssueClient("carol", valid()))
	revokedAt := now.Add(-time.Hour)
	cases := []struct {
		name    string
		results map[string]revocation.Result
		allow   bool
		sub     substatus.Sub
		code    substatus.Code
		element string
		reason  string
	}{
		{name: "all good", sub: substatus.OK},
		{name: "revoked leaf", results: map[string]revocation.Result{"carol": {Status: revocation.Revoked, RevokedAt: revokedAt, ReasonCode: 1, Source: "http://ca.test/sub2.crl"}},
			sub: substatus.CertRevoked, code: substatus.CryptERevoked, element: `leaf "CN=carol"`, reason: "keyCompromise (1)"},
		{name: "revoked intermediate", results: map[string]revocation.Result{"Test Issuing CA": {Status: revocation.Revoked, RevokedAt: revokedAt, Source: "http://ca.test/root.crl"}},
			sub: substatus.CertRevoked, code: substatus.CryptERevoked, element: `intermediate 2 "CN=Test Issuing CA"`, reason: "http://ca.test/root.crl"},
		{name: "unreachable CDP of an upper intermediate", results: map[string]revocation.Result{"Test Issuing CA": {Status: revocation.Unknown, Reason: `fetch crl "http://ca.test/root.crl": connection refused`}},
			sub: substatus.CertRevoked, code: substatus.CryptERevocationOffline, element: `intermediate 2 "CN=Test Issuing CA"`, reason: "http://ca.test/root.crl"},
		{name: "no revocation source at all", results: map[string]revocation.Result{"carol": {Status: revocation.Unknown, Reason: "names no CRL distribution point or OCSP responder", Err: revocation.ErrNoSource}},
			sub: substatus.CertRevoked, code: substatus.CryptENoRevocationCheck, element: `leaf "CN=carol"`, reason: "no CRL distribution point"},
		{name: "unavailable but allowed", allow: true, results: map[string]revocation.Result{"carol": {Status: revocation.Unknown, Reason: "offline"}}, sub: substatus.OK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fc := &fakeChecker{results: c.results}
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Revocation: fc, AllowUnavailableRevocation: c.allow}))
			o := v.Verify(context.Background(), append(leaf.Chain(), f.root.Cert), now)
			if o.Sub != c.sub {
				t.Fatalf("sub = %s, want %s (%v)", o.Sub, c.sub, o.Error())
			}
			for _, call := range fc.calls {
				if strings.HasPrefix(call, "Test Root<-") {
					t.Errorf("the trust anchor was checked for revocation: %v", fc.calls)
				}
			}
			if c.sub == substatus.OK {
				if len(fc.calls) != 3 {
					t.Errorf("checked %v, want leaf and both intermediates", fc.calls)
				}
				if c.allow && (len(o.Warnings) == 0 || !strings.Contains(o.Warnings[0], "WITHOUT A REVOCATION CHECK")) {
					t.Errorf("allowed unknown status without a loud warning: %q", o.Warnings)
				}
				return
			}
			if o.Code != c.code || o.Element == nil || !strings.HasPrefix(o.Element.String(), c.element) || !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("got %v (element %v), want %s at %s mentioning %q", o.Error(), o.Element, c.code, c.element, c.reason)
			}
		})
	}
}

func TestRevocationNotCheckedForUnverifiedChains(t *testing.T) {
	f := newFixture(t)
	fc := &fakeChecker{}
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Revocation: fc}))
	foreign := must(f.otherRoot.IssueClient("mallory", valid(), pki.WithCRLDistributionPoints("http://attacker.test/x.crl")))
	o := v.Verify(context.Background(), []*x509.Certificate{foreign.Cert}, now)
	if o.OK() || len(fc.calls) != 0 {
		t.Fatalf("outcome %v, revocation calls %v: an untrusted chain must never trigger a fetch", o.Sub, fc.calls)
	}
}

func TestHostileChainIsBounded(t *testing.T) {
	f := newFixture(t)
	leaf := must(f.inter.IssueClient("alice", valid()))
	// 200 different certificates all claiming to be the issuing CA.
	presented := []*x509.Certificate{leaf.Cert}
	for i := 0; i < 200; i++ {
		fake := must(pki.NewRoot("Test Issuing CA", valid()))
		presented = append(presented, fake.Cert)
	}
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}}))
	o := v.Verify(context.Background(), presented, now)
	if o.OK() {
		t.Fatal("accepted a chain through forged intermediates")
	}
	if o.Sub != substatus.CertUntrusted {
		t.Fatalf("sub = %s, want 403.16", o.Sub)
	}
}
