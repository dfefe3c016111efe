package verify_test

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
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

// BenchmarkNameConstraintDoS is the pathological name-constraint input
// (x509-limbo pathological::nc-dos): an intermediate with 1024 permitted
// and 1024 excluded dNSName subtrees and a leaf with 1024 dNSNames, half
// wildcards (each checked against every excluded subtree as the set of
// names it stands for). The comparison budget (maxConstraintComparisons)
// stops it: the target is under 50 ms per verification for both
// purposes, far under in practice (docs/benchmarks.md). "in budget" is the
// largest such input the budget lets through (100 names x 1000 subtrees).
func BenchmarkNameConstraintDoS(b *testing.B) {
	f := newFixture(&testing.T{})
	subtrees := func(n int, prefix string) []asn1.RawValue {
		out := make([]asn1.RawValue, n)
		for i := range out {
			out[i] = dnsName(fmt.Sprintf("%s%d.example.com", prefix, i))
		}
		return out
	}
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			if i%2 == 0 {
				out[i] = fmt.Sprintf("*.host%d.permitted0.example.com", i)
			} else {
				out[i] = fmt.Sprintf("host%d.permitted0.example.com", i)
			}
		}
		return out
	}
	for _, c := range []struct {
		name        string
		trees, sans int
		accept      bool
	}{{"over budget", 1024, 1024, false}, {"in budget", 500, 100, true}} {
		ca := must(f.root.NewIntermediate("NC DoS CA", valid(), nameConstraints(true, subtrees(c.trees, "permitted"), subtrees(c.trees, "excluded"))))
		leaf := must(ca.IssueClient("dos", valid(), pki.WithDNS(names(c.sans)...), pki.WithExtKeyUsage(x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth)))
		for _, p := range []struct {
			name    string
			purpose verify.Purpose
		}{{"client", verify.PurposeClientAuth}, {"server", verify.PurposeServerAuth}} {
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Purpose: p.purpose, ChainCacheSize: -1}))
				presented := leaf.Chain()
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if o := v.Verify(ctx, presented, now); o.OK() != c.accept {
						b.Fatalf("accepted = %v, want %v: %v", o.OK(), c.accept, o.Error())
					}
				}
			})
		}
	}
}
