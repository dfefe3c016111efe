package verify_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/verify"
)

type goodChecker struct{}

func (goodChecker) Check(context.Context, *x509.Certificate, *x509.Certificate, time.Time) revocation.Result {
	return revocation.Result{Status: revocation.Good}
}

// BenchmarkVerifyChain is a full verification of leaf + intermediate
// presented by the client against one root, with revocation answered from a
// cache (a constant-time checker here; internal/revocation benchmarks the
// real lookup).
func BenchmarkVerifyChain(b *testing.B) {
	f := newFixture(&testing.T{})
	leaf := must(f.inter.IssueClient("alice", valid()))
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Revocation: goodChecker{}, ChainCacheSize: -1})) // uncached: the engine itself
	presented := leaf.Chain()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if o := v.Verify(ctx, presented, now); !o.OK() {
			b.Fatal(o.Error())
		}
	}
}

// BenchmarkGoX509Verify is crypto/x509's own Verify of the same chain: the
// baseline the engine is compared with in docs/benchmarks.md.
func BenchmarkGoX509Verify(b *testing.B) {
	f := newFixture(&testing.T{})
	leaf := must(f.inter.IssueClient("alice", valid(), pki.WithKeyUsage(x509.KeyUsageDigitalSignature)))
	roots := x509.NewCertPool()
	roots.AddCert(f.root.Cert)
	inters := x509.NewCertPool()
	inters.AddCert(f.inter.Cert)
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := leaf.Cert.Verify(opts); err != nil {
			b.Fatal(err)
		}
	}
}
