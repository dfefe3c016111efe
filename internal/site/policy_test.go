package site

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

// TestBuildPolicyInputs: client_auth's RFC 5280 6.1.1 policy inputs and
// max_depth reach the site's verifier. A site that requires explicit
// policy 1.3.6.1.4.1.99999.1 refuses a chain asserting no policy and
// accepts one asserting it; max_depth 1 refuses a chain with an
// intermediate.
func TestBuildPolicyInputs(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Policy Root")
	pkitest.WriteCerts(t, dir, "roots.pem", root.Cert)
	policy := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	certPolicies := func(oid asn1.ObjectIdentifier) pki.Option {
		v, err := asn1.Marshal([]struct{ ID asn1.ObjectIdentifier }{{oid}})
		if err != nil {
			t.Fatal(err)
		}
		return pki.WithExtraExtensions(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 32}, Value: v})
	}
	inter := root.Intermediate(t, "Policy CA", certPolicies(policy))
	with := inter.Client(t, "with", certPolicies(policy)).Chain()
	without := inter.Client(t, "without").Chain()
	direct := root.Client(t, "direct", certPolicies(policy)).Chain()

	cfg := loadConfig(t, dir, `sites:
  - name: policy
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: "off"}
      policies: [1.3.6.1.4.1.99999.1]
      require_explicit_policy: true
    locations: [{path: /, client_cert: require}]
  - name: shallow
    hosts: [b.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: "off"}
      max_depth: 1
    locations: [{path: /, client_cert: require}]
`)
	set, err := BuildAll(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	pol, shallow := set.Sites[0].Verifier, set.Sites[1].Verifier
	if o := pol.Verify(context.Background(), with, time.Now()); !o.OK() {
		t.Errorf("explicit policy, chain asserts it: %v", o.Error())
	}
	if o := pol.Verify(context.Background(), without, time.Now()); o.OK() || o.Code != substatus.CertEInvalidPolicy {
		t.Errorf("explicit policy, chain asserts none: %v, want CERT_E_INVALID_POLICY", o.Error())
	}
	if o := shallow.Verify(context.Background(), direct, time.Now()); !o.OK() {
		t.Errorf("max_depth 1, leaf under the root: %v", o.Error())
	}
	if o := shallow.Verify(context.Background(), with, time.Now()); o.OK() {
		t.Error("max_depth 1 accepted a chain with an intermediate")
	}
}
