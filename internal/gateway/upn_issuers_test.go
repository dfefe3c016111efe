package gateway

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
)

// nameConstraintsExt builds a critical nameConstraints extension with the
// given permitted subtrees (GeneralName DER each).
func nameConstraintsExt(t *testing.T, permitted ...asn1.RawValue) pki.Option {
	t.Helper()
	var subtrees []byte
	for _, base := range permitted {
		b, err := asn1.Marshal(base)
		if err != nil {
			t.Fatal(err)
		}
		st, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: b})
		if err != nil {
			t.Fatal(err)
		}
		subtrees = append(subtrees, st...)
	}
	p, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: subtrees})
	if err != nil {
		t.Fatal(err)
	}
	v, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: p})
	if err != nil {
		t.Fatal(err)
	}
	return pki.WithExtraExtensions(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 30}, Critical: true, Value: v})
}

// upnSubtree is an otherName UPN GeneralName, as a Windows CA writes
// "UPN = @partner.test" in CAPolicy.inf.
func upnSubtree(t *testing.T, s string) asn1.RawValue {
	t.Helper()
	str, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	val, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
	oid, _ := asn1.Marshal(pki.OIDUPN)
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oid, val...)}
}

// TestUPNMappingAcrossCAs plays a partner whose sub-CA chains to the
// site's trusted root. Its name constraints cover its own DNS names only,
// so nothing in path validation stops it from writing a corporate UPN:
// only upn.issuers (Active Directory's NTAuth rule) does. A partner CA
// that is listed in upn.issuers but constrained, the Windows way, to its
// own UPN suffix gets its constraint enforced (403.16 CERT_E_INVALID_NAME)
// instead of being rejected whole for a critical extension.
func TestUPNMappingAcrossCAs(t *testing.T) {
	p := newTestPKI(t)
	dnsPartner := p.root.Intermediate(t, "Partner DNS-constrained CA",
		nameConstraintsExt(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("partner.test")}))
	upnPartner := p.root.Intermediate(t, "Partner UPN-constrained CA", nameConstraintsExt(t, upnSubtree(t, "@partner.test")))
	up := newCertUpstream(t)
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
sites:
  - name: a
    hosts: [a.example.test]
    certificate: {cert: server.pem, key: server.key}
    upstream: %s
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    forward: {user_header: X-Auth-User}
    mapping:
      required: false
      upn: {enabled: true, fallback_email: true, issuers: [intermediates.pem, upn-partner.pem]}
    locations:
      - {path: /, client_cert: require}
      - {path: /alice-only, client_cert: require, allow_users: [alice@corp.test]}
`, up.URL)
	g := startGateway(t, p, yaml, func(dir string) { pkitest.WriteCerts(t, dir, "upn-partner.pem", upnPartner.Cert) })

	upn := func(ca *pkitest.CA, cn, upn string) *pki.Leaf {
		return ca.Client(t, cn, pki.WithUPN(upn), pki.WithEmail(upn))
	}
	tests := []struct {
		name   string
		path   string
		cert   *pki.Leaf
		status int
		sub    substatus.Sub
		code   substatus.Code
		reason string
		user   string
	}{
		{"corporate CA maps alice", "/alice-only", upn(p.sub, "alice", "alice@corp.test"), 200, substatus.Sub{}, 0, "", "alice@corp.test"},
		{"partner sub-CA writes alice's UPN: not admitted", "/alice-only", upn(dnsPartner, "alice", "alice@corp.test"), 403,
			substatus.UserNotAllowedHere, substatus.ErrorAccessDenied, "the request has no mapped user", ""},
		{"partner sub-CA writes alice's UPN: no identity forwarded", "/", upn(dnsPartner, "alice", "alice@corp.test"), 200, substatus.Sub{}, 0, "", ""},
		{"partner email fallback: no identity forwarded", "/", dnsPartner.Client(t, "alice", pki.WithEmail("alice@corp.test")), 200, substatus.Sub{}, 0, "", ""},
		{"UPN-constrained partner maps its own users", "/", upn(upnPartner, "bob", "bob@partner.test"), 200, substatus.Sub{}, 0, "", "bob@partner.test"},
		{"UPN-constrained partner writes alice's UPN: 403.16", "/alice-only", upn(upnPartner, "alice", "alice@corp.test"), 403,
			substatus.CertUntrusted, substatus.CertEInvalidName, `UPN "alice@corp.test" is not within the permitted UPN subtrees`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up.take()
			res := g.do(t, request{sni: "a.example.test", path: tt.path, cert: tt.cert, accept: "application/json", header: spoofed.Clone()})
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", res.status, tt.status, res.body)
			}
			seen := up.take()
			if tt.status != 200 {
				pr := res.problem(t)
				if pr.Substatus != tt.sub.String() || pr.Code != uint32(tt.code) || !strings.Contains(pr.Reason, tt.reason) {
					t.Errorf("problem = %+v\nwant %s %s with reason containing %q", pr, tt.sub, tt.code.Name(), tt.reason)
				}
				if len(seen) != 0 {
					t.Errorf("a refused request reached the upstream: %+v", seen)
				}
				return
			}
			if len(seen) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(seen))
			}
			checkNoSpoofedHeaders(t, seen[0].header)
			if got := seen[0].header.Get("X-Auth-User"); got != tt.user {
				t.Errorf("X-Auth-User = %q, want %q", got, tt.user)
			}
		})
	}
}
