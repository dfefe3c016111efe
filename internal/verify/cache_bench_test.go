package verify_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/mapping"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/verify"
)

// BenchmarkVerifyFull is the per-connection work of the gateway for a
// client presenting leaf + intermediate under one root (the
// ../shared/bench layout): verification with the real revocation engine
// in online mode answering from local CRLs loaded at start (so no fetch),
// then certificate mapping (a many_to_one rule) and its decision.
//
// "cached" is a returning client (the verified-chain cache skips chain
// building and signatures), "uncached" a first visit (cache disabled).
// crl=1000000 puts a million serials on the intermediate's CRL; it is
// generated at bench time (seconds), so it runs only with CERTGATE_BIG=1.
func BenchmarkVerifyFull(b *testing.B) {
	for _, n := range []int{1, 1_000_000} {
		b.Run(fmt.Sprintf("crl=%d", n), func(b *testing.B) {
			if n > 1000 && os.Getenv("CERTGATE_BIG") == "" {
				b.Skip("set CERTGATE_BIG=1 to generate a 1M-entry CRL")
			}
			benchmarkVerifyFull(b, n)
		})
	}
}

func benchmarkVerifyFull(b *testing.B, revoked int) {
	at := time.Now()
	validity := pki.WithValidity(at.Add(-time.Hour), at.Add(30*24*time.Hour))
	root := pkitest.NewRoot(b, "bench root", validity)
	inter := root.Intermediate(b, "bench intermediate", validity)
	leaf := inter.Client(b, "bench-client", validity, pki.WithSubject(pkix.Name{Organization: []string{"bench clients"}, CommonName: "bench-client"}))

	entries := make([]pki.Revoked, revoked)
	for i := range entries {
		// Serials that cannot collide with the leaf's random 128-bit one.
		entries[i] = pki.Revoked{Serial: big.NewInt(int64(i + 1)), At: at.Add(-time.Hour)}
	}
	dir := b.TempDir()
	crlOpts := pki.CRLOptions{ThisUpdate: at.Add(-time.Hour), NextUpdate: at.Add(24 * time.Hour)}
	interCRL := pkitest.WriteFile(b, dir, "int.crl", inter.CRLEntries(b, crlOpts, entries...))
	rootCRL := pkitest.WriteFile(b, dir, "root.crl", root.CRLEntries(b, crlOpts))
	engine, err := revocation.New(revocation.Options{Mode: revocation.Online, LocalCRLs: []string{interCRL, rootCRL},
		Issuers: []*x509.Certificate{root.Cert}})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	mapper, err := mapping.Compile(&mapping.Options{Required: true, ManyToOne: []mapping.ManyToOne{{
		Name: "bench", Match: mapping.Match{Subject: map[string]string{"O": "bench clients"}}, User: "{CN}", Groups: []string{"bench"},
	}}}, "")
	if err != nil {
		b.Fatal(err)
	}
	presented := []*x509.Certificate{leaf.Cert, inter.Cert}

	for _, c := range []struct {
		name string
		size int
	}{{"uncached", -1}, {"cached", 0}} {
		b.Run(c.name, func(b *testing.B) {
			v, err := verify.New(verify.Options{Roots: []*x509.Certificate{root.Cert}, Revocation: engine, ChainCacheSize: c.size})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				o := v.Verify(ctx, presented, at)
				if !o.OK() {
					b.Fatal(o.Error())
				}
				r := mapper.Map(o.Chain)
				if d := mapper.Decide(r); d != nil || r.User != "bench-client" {
					b.Fatalf("mapping: %v %v", r, d)
				}
			}
			b.StopTimer()
			if st := v.ChainCacheStats(); c.size >= 0 && st.Misses != 1 {
				b.Fatalf("cache stats %+v: want one miss, then hits", st)
			}
		})
	}
}
