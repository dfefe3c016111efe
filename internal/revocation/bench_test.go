package revocation

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
)

// benchCRL returns a DER CRL with n random 128-bit serials (no entry
// extensions, like the CRLs of ../shared/bench) and its issuer. Generating a
// million-entry CRL takes seconds, so the result is cached in os.TempDir
// keyed by n; the CRL's validity window does not matter to the benchmarks.
func benchCRL(tb testing.TB, n int) (der []byte, issuer *pki.CA, probe []byte) {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), "certgate-revocation-bench")
	crlPath := filepath.Join(dir, fmt.Sprintf("crl-%d.der", n))
	caPath := filepath.Join(dir, fmt.Sprintf("crl-%d-issuer.pem", n))
	keyPath := filepath.Join(dir, fmt.Sprintf("crl-%d-issuer.key", n))
	if der, err := os.ReadFile(crlPath); err == nil {
		if ca, err := pki.LoadCA(caPath, keyPath); err == nil {
			return der, ca, benchSerial(n - 1)
		}
	}
	ca, err := pki.NewRoot(fmt.Sprintf("bench CRL issuer %d", n))
	if err != nil {
		tb.Fatal(err)
	}
	entries := make([]pki.Revoked, n)
	at := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for i := range entries {
		entries[i] = pki.Revoked{Serial: new(big.Int).SetBytes(benchSerial(i)), At: at}
	}
	der, err = ca.CRL(entries, pki.CRLOptions{NextUpdate: time.Now().Add(365 * 24 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := writeFileAtomic(crlPath, der); err != nil {
		tb.Fatal(err)
	}
	keyPEM, err := pki.EncodeKeyPEM(ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	if err := writeFileAtomic(keyPath, keyPEM); err != nil {
		tb.Fatal(err)
	}
	if err := writeFileAtomic(caPath, pki.EncodeCertsPEM(ca.Cert)); err != nil {
		tb.Fatal(err)
	}
	return der, ca, benchSerial(n - 1)
}

// benchSerial is the i-th serial of a bench CRL: 16 deterministic random
// bytes with the top bit clear (a positive 127-bit serial, as CAs issue).
func benchSerial(i int) []byte {
	r := mrand.New(mrand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
	b := make([]byte, 16)
	for j := 0; j < 16; j += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[j+k] = byte(v >> (8 * k))
		}
	}
	b[0] &= 0x7f
	if b[0] == 0 {
		b[0] = 1
	}
	return b
}

func benchmarkCRLLoad(b *testing.B, n int) {
	der, ca, _ := benchCRL(b, n)
	issuer := ca.Cert
	b.SetBytes(int64(len(der)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := ParseCRL(der, issuer)
		if err != nil {
			b.Fatal(err)
		}
		if c.Len() != n {
			b.Fatalf("indexed %d entries, want %d", c.Len(), n)
		}
	}
}

// BenchmarkCRLLoad10k: parse, verify the signature and index 10,000 entries.
func BenchmarkCRLLoad10k(b *testing.B) { benchmarkCRLLoad(b, 10_000) }

// BenchmarkCRLLoad1M: the issue 9 target, under 0.6 s.
func BenchmarkCRLLoad1M(b *testing.B) { benchmarkCRLLoad(b, 1_000_000) }

// BenchmarkCRLLoad1MStdlib is the reference: x509.ParseRevocationList,
// CheckSignatureFrom and a map of serials.
func BenchmarkCRLLoad1MStdlib(b *testing.B) {
	der, ca, _ := benchCRL(b, 1_000_000)
	issuer := ca.Cert
	b.SetBytes(int64(len(der)))
	b.ReportAllocs()
	for b.Loop() {
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			b.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(issuer); err != nil {
			b.Fatal(err)
		}
		m := make(map[string]struct{}, len(rl.RevokedCertificateEntries))
		for _, e := range rl.RevokedCertificateEntries {
			m[string(e.SerialNumber.Bytes())] = struct{}{}
		}
	}
}

// BenchmarkLookup: a lookup of a certificate in a cached 1M-entry CRL, the
// per-handshake cost. "hit" finds a revoked serial, "miss" (the common
// case) a good one.
func BenchmarkLookup(b *testing.B) {
	der, ca, probe := benchCRL(b, 1_000_000)
	c, err := ParseCRL(der, ca.Cert)
	if err != nil {
		b.Fatal(err)
	}
	hit := leafWithSerial(b, ca, probe)
	miss := leafWithSerial(b, ca, []byte{0x42, 1, 2, 3, 4, 5, 6, 7, 8})
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want bool
	}{{"hit", hit, true}, {"miss", miss, false}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.LookupCertificate(tc.cert); ok != tc.want {
					b.Fatalf("lookup = %v, want %v", ok, tc.want)
				}
			}
		})
	}
}

func leafWithSerial(tb testing.TB, ca *pki.CA, serial []byte) *x509.Certificate {
	tb.Helper()
	l, err := ca.IssueClient("bench leaf", pki.WithSerial(new(big.Int).SetBytes(serial)))
	if err != nil {
		tb.Fatal(err)
	}
	return l.Cert
}

// BenchmarkCheckCached: a whole Check of a leaf whose CRL (1,000 entries)
// is cached, the per-handshake cost the verifier pays per chain element.
func BenchmarkCheckCached(b *testing.B) {
	at := time.Now()
	ca, err := pki.NewRoot("bench check root")
	if err != nil {
		b.Fatal(err)
	}
	sub, err := ca.NewIntermediate("bench check sub")
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]pki.Revoked, 1000)
	for i := range entries {
		entries[i] = pki.Revoked{Serial: new(big.Int).SetBytes(benchSerial(i))}
	}
	der, err := sub.CRL(entries, pki.CRLOptions{})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "sub.crl")
	if err := os.WriteFile(path, der, 0o644); err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{Mode: CacheOnly, LocalCRLs: []string{path}, Issuers: []*x509.Certificate{sub.Cert}})
	if err != nil {
		b.Fatal(err)
	}
	leaf, err := sub.IssueClient("bench leaf")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := e.Check(ctx, leaf.Cert, sub.Cert, at); r.Status != Good {
			b.Fatalf("%v: %s", r.Status, r.Reason)
		}
	}
}

// BenchmarkCRLLoad1MStall measures what loading a 1M-entry CRL does to
// the rest of the process: a probe goroutine sleeps 200 µs in a loop and
// reports the worst lateness as stall-ms. A long non-preemptible step in
// the load (one assembly call over the whole 35 MB, such as hashing it in
// a single Write) holds up the stop-the-world phases of a garbage
// collection, and every handshake goroutine waits with it (issue 9's
// refresh-under-load target).
func BenchmarkCRLLoad1MStall(b *testing.B) {
	der, ca, _ := benchCRL(b, 1_000_000)
	stop := make(chan struct{})
	worst := make(chan time.Duration)
	go func() {
		var w time.Duration
		const nap = 200 * time.Microsecond
		for {
			select {
			case <-stop:
				worst <- w
				return
			default:
			}
			t := time.Now()
			time.Sleep(nap)
			w = max(w, time.Since(t)-nap)
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseCRL(der, ca.Cert); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64((<-worst).Microseconds())/1000, "stall-ms")
}
