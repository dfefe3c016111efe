package gateway

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/metrics"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// hostileYAML requires a certificate everywhere; the client trust has the
// real issuing CA as a configured intermediate.
const hostileYAML = `
listen: 127.0.0.1:0
admin: {listen: "off"}
sites:
  - name: a
    hosts: [localhost, a.example.test]
    default: true
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem, intermediates: intermediates.pem}
      revocation: {mode: "off"}
    locations:
      - {path: /, client_cert: require}
`

// fakeRSAKey is an RSA public key of the given size whose modulus is a
// random odd number: nobody holds its private key, and checking a
// signature with it costs what a real key of that size costs.
func fakeRSAKey(tb testing.TB, bits int) *rsa.PublicKey {
	tb.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	if err != nil {
		tb.Fatal(err)
	}
	n.SetBit(n, bits-1, 1)
	n.SetBit(n, 0, 1)
	return &rsa.PublicKey{N: n, E: 65537}
}

// hostileChain plays the attacker of the chain-building amplification: a
// leaf (with a usable P-256 key, so the handshake completes) whose
// signature is RSA junk and names the real issuing CA, followed by n fake
// intermediates that copy the issuing CA's name and key identifier, are
// valid CAs naming the trusted root as their issuer, carry the RSA key
// key(i) and a junk signature. Every fake is a candidate issuer of the
// leaf that costs one RSA signature check.
func hostileChain(tb testing.TB, p *testPKI, n int, key func(i int) crypto.PublicKey) (*pki.Leaf, []*x509.Certificate) {
	tb.Helper()
	junkRSA := pkitest.Key(tb, pki.KeyRSA2048)
	junkEC := pkitest.Key(tb, pki.KeyECDSAP256)
	leafKey := pkitest.Key(tb, pki.KeyECDSAP256)
	// The leaf's signature is of the fakes' key type, so that checking it
	// against each fake costs real public-key arithmetic.
	var junk crypto.Signer = junkEC
	if _, ok := key(0).(*rsa.PublicKey); ok {
		junk = junkRSA
	}
	now := time.Now()
	issuing := &x509.Certificate{RawSubject: p.sub.Cert.RawSubject, SubjectKeyId: p.sub.Cert.SubjectKeyId}
	root := &x509.Certificate{RawSubject: p.root.Cert.RawSubject, SubjectKeyId: p.root.Cert.SubjectKeyId}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mallory"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, issuing, leafKey.Public(), junk)
	if err != nil {
		tb.Fatal(err)
	}
	leaf := &pki.Leaf{Key: leafKey}
	if leaf.Cert, err = x509.ParseCertificate(leafDER); err != nil {
		tb.Fatal(err)
	}
	fakes := make([]*x509.Certificate, n)
	for i := range fakes {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(int64(100 + i)), RawSubject: p.sub.Cert.RawSubject, SubjectKeyId: p.sub.Cert.SubjectKeyId,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}, root, key(i), junkEC)
		if err != nil {
			tb.Fatal(err)
		}
		if fakes[i], err = x509.ParseCertificate(der); err != nil {
			tb.Fatal(err)
		}
	}
	return leaf, fakes
}

// TestHostileChainRefusedOverTLS replays the chain-building amplification
// over real TLS: every hostile shape is refused with 403.16
// CERT_E_CHAINING naming the bound it hit, and the real client still
// passes.
func TestHostileChainRefusedOverTLS(t *testing.T) {
	p := newTestPKI(t)
	m := metrics.New(metrics.Options{NoRuntime: true})
	g := startGatewayWith(t, p, hostileYAML, Options{Hooks: NewObserver(m, nil, nil).Hooks()})
	shared8192 := fakeRSAKey(t, 8192)
	cases := []struct {
		name   string
		leaf   func() (*pki.Leaf, []*x509.Certificate)
		status int
		reason string
	}{
		{"valid client", func() (*pki.Leaf, []*x509.Certificate) { return p.alice, []*x509.Certificate{p.sub.Cert} }, http.StatusOK, ""},
		// The reported attack: 40 fakes sharing one RSA-8192 key.
		{"40 fakes with an RSA-8192 key", func() (*pki.Leaf, []*x509.Certificate) {
			return hostileChain(t, p, 40, func(int) crypto.PublicKey { return shared8192 })
		}, http.StatusForbidden, "presented 41 certificates"},
		{"few fakes with an RSA-8192 key", func() (*pki.Leaf, []*x509.Certificate) {
			return hostileChain(t, p, 3, func(int) crypto.PublicKey { return shared8192 })
		}, http.StatusForbidden, "8192-bit RSA key"},
		// Within the length and key-size caps, distinct keys so that no
		// check is memoised: the signature budget ends it.
		{"9 fakes with distinct RSA-4096 keys", func() (*pki.Leaf, []*x509.Certificate) {
			return hostileChain(t, p, 9, func(int) crypto.PublicKey { return fakeRSAKey(t, 4096) })
		}, http.StatusForbidden, "candidate issuers whose signatures do not verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			leaf, chain := c.leaf()
			res := g.do(t, request{sni: "localhost", path: "/", cert: leaf, chain: chain, accept: "application/problem+json"})
			if res.status != c.status {
				t.Fatalf("status %d, want %d; body %s", res.status, c.status, res.body)
			}
			if c.status == http.StatusOK {
				return
			}
			pr := res.problem(t)
			if pr.Substatus != substatus.CertUntrusted.String() || pr.CodeName != "CERT_E_CHAINING" {
				t.Errorf("substatus %s code %s, want 403.16 CERT_E_CHAINING", pr.Substatus, pr.CodeName)
			}
			if !strings.Contains(pr.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", pr.Reason, c.reason)
			}
		})
	}
	// Each refusal is counted by the bound it hit.
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() == "certgate_chain_refusals_total" {
			for _, mt := range f.GetMetric() {
				got[mt.GetLabel()[0].GetValue()] = mt.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{verify.RefusalChainTooLong: 1, verify.RefusalKeyTooLarge: 1, verify.RefusalSignatureBudget: 1}
	if !maps.Equal(got, want) {
		t.Errorf("certgate_chain_refusals_total = %v, want %v", got, want)
	}
	if !slices.Equal(metrics.ChainRefusalReasons, verify.Refusals) {
		t.Errorf("metrics.ChainRefusalReasons %v != verify.Refusals %v", metrics.ChainRefusalReasons, verify.Refusals)
	}
}

// BenchmarkHandshakeChain is the CPU of one client connection (TLS 1.3
// handshake, chain verification, one request) with a valid chain and with
// hostile ones, client and server in this process. docs/benchmarks.md
// ("Hostile chains") records the ratios; the target is hostile <= 3x valid.
func BenchmarkHandshakeChain(b *testing.B) {
	p := newTestPKI(b)
	g := startGateway(b, p, hostileYAML)
	shared8192 := fakeRSAKey(b, 8192)
	type shape struct {
		name  string
		leaf  *pki.Leaf
		chain []*x509.Certificate
		want  int
	}
	shapes := []shape{{"valid", p.alice, []*x509.Certificate{p.sub.Cert}, http.StatusOK}}
	add := func(name string, n int, key func(int) crypto.PublicKey) {
		leaf, chain := hostileChain(b, p, n, key)
		shapes = append(shapes, shape{name, leaf, chain, http.StatusForbidden})
	}
	add("hostile_40x_rsa8192_shared", 40, func(int) crypto.PublicKey { return shared8192 })
	add("hostile_9x_rsa8192_shared", 9, func(int) crypto.PublicKey { return shared8192 })
	add("hostile_9x_rsa4096_distinct", 9, func(int) crypto.PublicKey { return fakeRSAKey(b, 4096) })
	add("hostile_9x_rsa2048_distinct", 9, func(int) crypto.PublicKey { return fakeRSAKey(b, 2048) })
	add("hostile_9x_p256_distinct", 9, func(int) crypto.PublicKey { return pkitest.Key(b, pki.KeyECDSAP256).Public() })
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			rq := request{sni: "localhost", path: "/", cert: s.leaf, chain: s.chain, tlsMax: tls.VersionTLS13}
			// Wall time on a shared machine says little; the process's CPU
			// time per connection (client and server) is the figure.
			cpu0 := processCPU(b)
			for b.Loop() {
				if res := g.do(b, rq); res.status != s.want {
					b.Fatalf("status %d, want %d", res.status, s.want)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
