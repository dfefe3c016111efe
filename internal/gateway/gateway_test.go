package gateway

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

const siteYAML = `
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"} # chain checks only; revocation has its own tests
    locations:
      - {path: /, client_cert: require}
      - {path: /public, client_cert: ignore}
      - {path: /maybe, client_cert: accept}
      - {path: /strict, client_cert: accept, reject_invalid: true}
`

// TestVerifyCasesEndToEnd runs every verification case of issue 2 through
// the gateway over real TLS: status, sub-status and code in the JSON body
// and headers, the same outcome the verifier gives for that chain (one
// engine), and nothing reaching the upstream for a refusal.
func TestVerifyCasesEndToEnd(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	past := pki.WithValidity(now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	future := pki.WithValidity(now.Add(24*time.Hour), now.Add(48*time.Hour))
	otherRoot := pkitest.NewRoot(t, "Other Root")
	stranger := otherRoot.Client(t, "stranger")
	expiredSub := p.root.Intermediate(t, "Expired Issuing CA", past)
	unconfiguredSub := p.root.Intermediate(t, "Unconfigured Issuing CA")

	up := newCountingUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))

	tests := []struct {
		name    string
		cert    *pki.Leaf
		chain   []*x509.Certificate // sent after the leaf; nil sends the leaf's own chain
		sub     substatus.Sub
		code    substatus.Code
		element string // prefix of the failing element
	}{
		{name: "valid", cert: p.alice, sub: substatus.OK},
		{name: "valid leaf only, intermediate from config", cert: p.alice, chain: []*x509.Certificate{}, sub: substatus.OK},
		{name: "none", sub: substatus.CertRequired, code: substatus.SecENoCredentials},
		{name: "expired", cert: p.sub.Client(t, "expired", past), sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, element: "leaf"},
		{name: "not yet valid", cert: p.sub.Client(t, "future", future), sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, element: "leaf"},
		{name: "intermediate expired", cert: expiredSub.Client(t, "under expired CA"), sub: substatus.CertTimeInvalid, code: substatus.CertEExpired, element: "intermediate"},
		{name: "untrusted root sent", cert: stranger, chain: []*x509.Certificate{otherRoot.Cert}, sub: substatus.CertUntrusted, code: substatus.CertEUntrustedRoot},
		{name: "unknown issuer", cert: stranger, sub: substatus.CertUntrusted, code: substatus.CertEChaining, element: "leaf"},
		{name: "self-signed", cert: pkitest.SelfSigned(t, "selfie"), sub: substatus.CertUntrusted, code: substatus.CertEUntrustedRoot},
		{name: "missing intermediate", cert: unconfiguredSub.Client(t, "orphan"), chain: []*x509.Certificate{}, sub: substatus.CertUntrusted, code: substatus.CertEChaining},
		{name: "EKU serverAuth only", cert: p.sub.Client(t, "server-eku", pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth)), sub: substatus.CertUntrusted, code: substatus.CertEWrongUsage, element: "leaf"},
		{name: "KU keyEncipherment only", cert: p.sub.Client(t, "ke-only", pki.WithKeyUsage(x509.KeyUsageKeyEncipherment)), sub: substatus.CertUntrusted, code: substatus.CertEWrongUsage, element: "leaf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.hits.Load()
			res := g.do(t, request{sni: "a.example.test", path: "/app", cert: tt.cert, chain: tt.chain, accept: "application/json"})

			if tt.sub == substatus.OK {
				if res.status != http.StatusOK || up.hits.Load() != before+1 {
					t.Fatalf("status %d, upstream hits %d->%d; want 200 and one hit\n%s", res.status, before, up.hits.Load(), res.body)
				}
				return
			}
			if res.status != tt.sub.Status {
				t.Fatalf("status = %d, want %d\n%s", res.status, tt.sub.Status, res.body)
			}
			if got := up.hits.Load(); got != before {
				t.Errorf("upstream saw %d requests for a refused one", got-before)
			}
			pj := res.problem(t)
			if pj.Substatus != tt.sub.String() || pj.Code != uint32(tt.code) || pj.CodeName != tt.code.Name() || pj.CodeHex != tt.code.Hex() {
				t.Errorf("problem = %s %d %s %s, want %s %d %s %s", pj.Substatus, pj.Code, pj.CodeName, pj.CodeHex, tt.sub, uint32(tt.code), tt.code.Name(), tt.code.Hex())
			}
			if got := res.header.Get(HeaderSubstatus); got != tt.sub.String() {
				t.Errorf("%s = %q, want %q", HeaderSubstatus, got, tt.sub)
			}
			if got := res.header.Get(HeaderCode); got != tt.code.Hex() {
				t.Errorf("%s = %q, want %q", HeaderCode, got, tt.code.Hex())
			}
			if pj.Status != tt.sub.Status || pj.Title != substatus.Must(tt.sub).Title || pj.Detail != substatus.Must(tt.sub).ClientAdvice {
				t.Errorf("problem status/title/detail = %d %q %q", pj.Status, pj.Title, pj.Detail)
			}
			// Loopback client: detailed.
			if pj.Reason == "" || !strings.HasPrefix(pj.Element, tt.element) {
				t.Errorf("detailed problem: element %q (want prefix %q), reason %q", pj.Element, tt.element, pj.Reason)
			}
			if pj.RequestID == "" || res.header.Get(HeaderRequestID) != pj.RequestID || !strings.Contains(g.logs.String(), pj.RequestID) {
				t.Errorf("request id %q: header %q, in logs %v", pj.RequestID, res.header.Get(HeaderRequestID), strings.Contains(g.logs.String(), pj.RequestID))
			}

			// One engine: the gateway answers what the verifier says.
			if tt.cert != nil {
				chain := tt.cert.Chain()
				if tt.chain != nil {
					chain = append([]*x509.Certificate{tt.cert.Cert}, tt.chain...)
				}
				o := g.snap.Sites[0].Verifier.Verify(context.Background(), chain, time.Now())
				if o.Sub.String() != pj.Substatus || uint32(o.Code) != pj.Code || o.Reason != pj.Reason {
					t.Errorf("gateway said %s %s %q; verifier says %s %s %q", pj.Substatus, pj.CodeName, pj.Reason, o.Sub, o.Code.Name(), o.Reason)
				}
			}
		})
	}
}

// TestLocationPolicies covers ignore, accept (valid, none, invalid ->
// anonymous), accept with reject_invalid, and require, through the echo
// handler which reports the identity the upstream would see.
func TestLocationPolicies(t *testing.T) {
	p := newTestPKI(t)
	stranger := pkitest.NewRoot(t, "Other Root").Client(t, "stranger")
	g := startGateway(t, p, fmt.Sprintf(siteYAML, "echo"))

	tests := []struct {
		name       string
		path       string
		cert       *pki.Leaf
		status     int
		sub        substatus.Sub
		verified   bool
		presented  bool
		downgraded bool
		policy     string
	}{
		{name: "ignore none", path: "/public/x", status: 200, policy: "ignore"},
		{name: "ignore valid: not used", path: "/public", cert: p.alice, status: 200, policy: "ignore"},
		{name: "ignore invalid: not looked at", path: "/public", cert: stranger, status: 200, policy: "ignore"},
		{name: "accept valid", path: "/maybe", cert: p.alice, status: 200, verified: true, presented: true, policy: "accept"},
		{name: "accept none", path: "/maybe/", status: 200, policy: "accept"},
		{name: "accept invalid: anonymous", path: "/maybe/deeper", cert: stranger, status: 200, presented: true, downgraded: true, policy: "accept"},
		{name: "accept reject_invalid valid", path: "/strict", cert: p.alice, status: 200, verified: true, presented: true, policy: "accept"},
		{name: "accept reject_invalid none", path: "/strict", status: 200, policy: "accept"},
		{name: "accept reject_invalid invalid", path: "/strict", cert: stranger, status: 403, sub: substatus.CertUntrusted},
		{name: "require valid", path: "/", cert: p.alice, status: 200, verified: true, presented: true, policy: "require"},
		{name: "require none", path: "/", status: 403, sub: substatus.CertRequired},
		{name: "require invalid", path: "/publicity", cert: stranger, status: 403, sub: substatus.CertUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := g.do(t, request{sni: "a.example.test", path: tt.path, cert: tt.cert, accept: "application/json"})
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", res.status, tt.status, res.body)
			}
			if tt.status != 200 {
				if got := res.problem(t).Substatus; got != tt.sub.String() {
					t.Errorf("substatus = %s, want %s", got, tt.sub)
				}
				return
			}
			e := res.echo(t)
			c := e.Client
			if c.Verified != tt.verified || c.Presented != tt.presented || (c.Outcome != nil) != tt.downgraded || e.Location.Policy != tt.policy {
				t.Errorf("client = %+v, policy %s; want verified %v presented %v downgraded %v policy %s", c, e.Location.Policy, tt.verified, tt.presented, tt.downgraded, tt.policy)
			}
			if tt.verified && (c.Subject != p.alice.Cert.Subject.String() || len(c.Chain) != 3 || c.SHA256 == "") {
				t.Errorf("verified client = %+v, want alice with a 3-element chain", c)
			}
			if tt.downgraded && (c.Outcome.Substatus != "403.16" || c.Outcome.CodeName != "CERT_E_CHAINING" || c.Outcome.Reason == "") {
				t.Errorf("downgrade outcome = %+v", c.Outcome)
			}
		})
	}
	// The downgrade is recorded in the event log.
	found := false
	for _, r := range g.logs.records(t) {
		if r["msg"] == "client certificate not accepted, continuing anonymously" && r["substatus"] == "403.16" {
			found = true
		}
	}
	if !found {
		t.Errorf("no downgrade event in the log:\n%s", g.logs)
	}
}
