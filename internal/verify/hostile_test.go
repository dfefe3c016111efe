package verify_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// fakeIssuers returns a leaf whose junk signature names f.inter as issuer,
// then n valid-looking CA certificates with f.inter's name and key
// identifier, naming the root as their issuer, with key(i) as public key.
func fakeIssuers(t *testing.T, f fixture, n int, key func(i int) crypto.PublicKey) []*x509.Certificate {
	t.Helper()
	junk := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	leafKey := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	issuing := &x509.Certificate{RawSubject: f.inter.Cert.RawSubject, SubjectKeyId: f.inter.Cert.SubjectKeyId}
	root := &x509.Certificate{RawSubject: f.root.Cert.RawSubject, SubjectKeyId: f.root.Cert.SubjectKeyId}
	leaf := must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mallory"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
	}, issuing, &leafKey.PublicKey, junk))))
	out := []*x509.Certificate{leaf}
	for i := range n {
		out = append(out, must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(int64(10 + i)), RawSubject: f.inter.Cert.RawSubject, SubjectKeyId: f.inter.Cert.SubjectKeyId,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}, root, key(i), junk)))))
	}
	return out
}

func p256Key(int) crypto.PublicKey {
	return &must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).PublicKey
}

// oddModulus is an RSA public key of the given size nobody holds the
// private key of.
func oddModulus(bits int) *rsa.PublicKey {
	n := must(rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits))))
	n.SetBit(n, bits-1, 1)
	n.SetBit(n, 0, 1)
	return &rsa.PublicKey{N: n, E: 65537}
}

func TestHostileChainBounds(t *testing.T) {
	f := newFixture(t)
	shared := p256Key(0)
	big := oddModulus(8192)
	cases := []struct {
		name      string
		presented []*x509.Certificate
		opts      func(*verify.Options)
		sentinel  error
		refusal   string
		reason    string
	}{
		{name: "more certificates than max presented", presented: fakeIssuers(t, f, 10, p256Key),
			sentinel: verify.ErrChainTooLong, refusal: verify.RefusalChainTooLong, reason: "presented 11 certificates"},
		{name: "RSA key above the cap", presented: fakeIssuers(t, f, 2, func(int) crypto.PublicKey { return big }),
			sentinel: verify.ErrKeyTooLarge, refusal: verify.RefusalKeyTooLarge, reason: "8192-bit RSA key"},
		{name: "fake issuers with distinct keys exhaust the budget", presented: fakeIssuers(t, f, 9, p256Key),
			sentinel: verify.ErrSignatureBudget, refusal: verify.RefusalSignatureBudget, reason: "budget of 8"},
		// 40 fakes with one key: one signature check, memoised, so a
		// plain signature failure and not a budget refusal.
		{name: "fake issuers sharing one key cost one check", presented: fakeIssuers(t, f, 40, func(int) crypto.PublicKey { return shared }),
			opts:     func(o *verify.Options) { o.MaxPresented = 64; o.MaxPaths = 64 },
			sentinel: verify.ErrSignature},
		{name: "budget configurable", presented: fakeIssuers(t, f, 3, p256Key),
			opts:     func(o *verify.Options) { o.SignatureBudget = 1 },
			sentinel: verify.ErrSignatureBudget, refusal: verify.RefusalSignatureBudget},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Intermediates: []*x509.Certificate{f.inter.Cert}}
			if c.opts != nil {
				c.opts(&opts)
			}
			v := must(verify.New(opts))
			o := v.Verify(context.Background(), c.presented, now)
			if o.OK() || o.Sub != substatus.CertUntrusted {
				t.Fatalf("outcome %s, want 403.16", o.Sub)
			}
			if !errors.Is(o, c.sentinel) {
				t.Fatalf("outcome %v, want %v", o, c.sentinel)
			}
			if got := verify.Refusal(o); got != c.refusal {
				t.Errorf("Refusal = %q, want %q", got, c.refusal)
			}
			if c.refusal != "" && o.Code != substatus.CertEChaining {
				t.Errorf("code %s, want CERT_E_CHAINING", o.Code)
			}
			if !strings.Contains(o.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", o.Reason, c.reason)
			}
		})
	}
}

// TestValidChainSpendsNoBudget: only failed checks are charged, so the
// smallest budget still accepts a valid chain, with fakes around it or not,
// as long as the real issuer is found first.
func TestValidChainSpendsNoBudget(t *testing.T) {
	f := newFixture(t)
	leaf := must(f.inter.IssueClient("alice", valid()))
	deep := must(must(f.inter.NewIntermediate("Deep CA", valid())).IssueClient("bob", valid()))
	for name, presented := range map[string][]*x509.Certificate{
		"leaf and intermediate": leaf.Chain(),
		"deep chain":            deep.Chain(),
		"leaf only":             {leaf.Cert},
	} {
		t.Run(name, func(t *testing.T) {
			v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Intermediates: []*x509.Certificate{f.inter.Cert},
				SignatureBudget: 1, ChainCacheSize: -1}))
			if o := v.Verify(context.Background(), presented, now); !o.OK() {
				t.Fatalf("valid chain refused: %v", o)
			}
		})
	}
}

// TestOwnLargeKeysExempt: the key-size cap is about client-chosen keys; a
// presented copy of a configured intermediate is the operator's own.
func TestOwnLargeKeysExempt(t *testing.T) {
	f := newFixture(t)
	leaf := must(f.inter.IssueClient("alice", valid()))
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Intermediates: []*x509.Certificate{f.inter.Cert},
		MaxRSABits: 2048}))
	if o := v.Verify(context.Background(), leaf.Chain(), now); !o.OK() {
		t.Fatalf("valid chain refused: %v", o)
	}
	// An RSA-3072 intermediate that is configured passes a 2048 cap; the
	// same key size from the client alone does not.
	rsaCA := must(f.root.NewIntermediate("RSA CA", valid(), pki.WithKeyType(pki.KeyRSA3072)))
	bob := must(rsaCA.IssueClient("bob", valid()))
	own := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Intermediates: []*x509.Certificate{rsaCA.Cert}, MaxRSABits: 2048}))
	if o := own.Verify(context.Background(), bob.Chain(), now); !o.OK() {
		t.Fatalf("configured RSA-3072 intermediate refused: %v", o)
	}
	foreign := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, MaxRSABits: 2048}))
	if o := foreign.Verify(context.Background(), bob.Chain(), now); !errors.Is(o, verify.ErrKeyTooLarge) {
		t.Fatalf("client-supplied RSA-3072 intermediate under a 2048 cap: %v, want ErrKeyTooLarge", o)
	}
}
