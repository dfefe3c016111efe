package verify_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/verify"
)

// switchChecker answers every check with the status it is set to, so that
// a test can revoke a certificate after its chain was cached.
type switchChecker struct{ status atomic.Int32 }

func (c *switchChecker) set(s revocation.Status) { c.status.Store(int32(s)) }

func (c *switchChecker) Check(_ context.Context, cert, _ *x509.Certificate, _ time.Time) revocation.Result {
	s := revocation.Status(c.status.Load())
	r := revocation.Result{Status: s, Source: "switch", Reason: "switch says " + s.String() + " for " + cert.Subject.CommonName}
	if s == revocation.Revoked {
		r.RevokedAt, r.ReasonCode = now.Add(-time.Hour), 1
	}
	return r
}

// outcomeText renders everything an Outcome says, so that two outcomes can
// be compared field by field (revocation attempts carry durations, so only
// their status, source and reason are kept).
func outcomeText(o *verify.Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sub=%s code=%s reason=%q\n", o.Sub, o.Code, o.Reason)
	if o.Element != nil {
		fmt.Fprintf(&b, "element=%d %s %s\n", o.Element.Index, o.Element.Role, fingerprint(o.Element.Cert))
	}
	for i, c := range o.Chain {
		fmt.Fprintf(&b, "chain[%d]=%s\n", i, fingerprint(c))
	}
	if o.Revocation != nil {
		fmt.Fprintf(&b, "revocation=%d\n", len(o.Revocation))
	}
	for i, r := range o.Revocation {
		fmt.Fprintf(&b, "revocation[%d]=%s %s %q\n", i, r.Status, r.Source, r.Reason)
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(&b, "warning=%q\n", w)
	}
	if o.Err != nil {
		fmt.Fprintf(&b, "err=%q\n", o.Err.Error())
	}
	return b.String()
}

func fingerprint(c *x509.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:8])
}

// TestChainCacheSameOutcome primes a caching Verifier with a chain that is
// valid at now, then changes the time or the revocation answer and checks
// that the caching Verifier answers exactly what an uncached one does:
// an expired-by-now or not-yet-valid chain, a revocation published after
// the chain was cached and a revocation source going offline all take
// effect on the next verification.
func TestChainCacheSameOutcome(t *testing.T) {
	f := newFixture(t)
	day := 24 * time.Hour
	shortInter := must(f.root.NewIntermediate("Short CA", pki.WithValidity(now.Add(-day), now.Add(2*day))))
	shortLeaf := must(f.inter.IssueClient("short", pki.WithValidity(now.Add(-day), now.Add(day))))
	underShort := must(shortInter.IssueClient("under short", valid()))
	good := must(f.inter.IssueClient("alice", valid()))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	cases := []struct {
		name      string
		presented []*x509.Certificate
		at        time.Time         // verification time after priming at now
		status    revocation.Status // revocation answer after priming (Good while priming)
		allow     bool
		inters    bool // the intermediate is configured, not sent
		ctx       context.Context
		wantOK    bool
		wantHit   bool // the second verification was served from the cache
	}{
		{name: "valid chain", presented: good.Chain(), at: now, status: revocation.Good, wantOK: true, wantHit: true},
		{name: "valid later", presented: good.Chain(), at: now.Add(30 * day), status: revocation.Good, wantOK: true, wantHit: true},
		{name: "valid leaf with configured intermediate", presented: []*x509.Certificate{good.Cert}, inters: true, at: now, status: revocation.Good, wantOK: true, wantHit: true},
		{name: "valid with the root presented too", presented: append(good.Chain(), f.root.Cert), at: now, status: revocation.Good, wantOK: true, wantHit: true},
		{name: "leaf expired by now", presented: shortLeaf.Chain(), at: now.Add(2 * day), status: revocation.Good},
		{name: "leaf not yet valid", presented: shortLeaf.Chain(), at: now.Add(-2 * day), status: revocation.Good},
		{name: "intermediate expired by now", presented: underShort.Chain(), at: now.Add(3 * day), status: revocation.Good},
		{name: "revoked after caching", presented: good.Chain(), at: now, status: revocation.Revoked},
		{name: "revocation offline after caching", presented: good.Chain(), at: now, status: revocation.Unknown},
		{name: "revocation offline but allowed", presented: good.Chain(), at: now, status: revocation.Unknown, allow: true, wantOK: true, wantHit: true},
		{name: "verification canceled", presented: good.Chain(), at: now, status: revocation.Good, ctx: canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			uncachedRev, cachedRev := &switchChecker{}, &switchChecker{}
			uncachedRev.set(revocation.Good)
			cachedRev.set(revocation.Good)
			opts := verify.Options{Roots: []*x509.Certificate{f.root.Cert}, AllowUnavailableRevocation: c.allow}
			if c.inters {
				opts.Intermediates = []*x509.Certificate{f.inter.Cert, shortInter.Cert}
			}
			opts.Revocation, opts.ChainCacheSize = uncachedRev, -1
			uncached := must(verify.New(opts))
			opts.Revocation, opts.ChainCacheSize = cachedRev, 0
			cached := must(verify.New(opts))

			if o := cached.Verify(ctx, c.presented, now); !o.OK() {
				t.Fatalf("priming at now: %v", o.Error())
			}
			if st := cached.ChainCacheStats(); st.Entries != 1 || st.Hits != 0 {
				t.Fatalf("after priming: %+v, want one entry and no hit", st)
			}

			uncachedRev.set(c.status)
			cachedRev.set(c.status)
			if c.ctx != nil {
				ctx = c.ctx
			}
			// Fresh parses of the same DER, as a new connection brings.
			presented := reparse(t, c.presented)
			want := uncached.Verify(ctx, presented, c.at)
			got := cached.Verify(ctx, presented, c.at)
			if w, g := outcomeText(want), outcomeText(got); w != g {
				t.Fatalf("cached outcome differs from uncached:\n--- uncached\n%s--- cached\n%s", w, g)
			}
			if got.OK() != c.wantOK {
				t.Fatalf("OK = %v, want %v: %v", got.OK(), c.wantOK, got.Error())
			}
			for i := range want.Chain {
				if got.Chain[i] != want.Chain[i] {
					t.Errorf("chain[%d] is another certificate object than without the cache: the path must be rebuilt from the presented chain and the Verifier's own certificates", i)
				}
			}
			if hits := cached.ChainCacheStats().Hits; (hits == 1) != c.wantHit {
				t.Fatalf("cache hits = %d, want hit %v", hits, c.wantHit)
			}
		})
	}
}

// TestChainCacheFailuresNotCached: chains that fail are verified from
// scratch every time, with the same outcome as without a cache.
func TestChainCacheFailuresNotCached(t *testing.T) {
	f := newFixture(t)
	good := must(f.inter.IssueClient("alice", valid()))
	cases := []struct {
		name      string
		presented []*x509.Certificate
	}{
		{"untrusted root", append(must(f.otherRoot.IssueClient("mallory", valid())).Chain(), f.otherRoot.Cert)},
		{"missing intermediate", []*x509.Certificate{good.Cert}},
		{"bad signature", []*x509.Certificate{must(f.inter.IssueClient("forged", valid(), pki.WithSignedBy(f.otherRoot.Key))).Cert, f.inter.Cert}},
		{"wrong EKU", must(f.inter.IssueClient("srv", valid(), pki.WithExtKeyUsage(x509.ExtKeyUsageServerAuth))).Chain()},
		{"KU without digitalSignature", must(f.inter.IssueClient("ke", valid(), pki.WithKeyUsage(x509.KeyUsageKeyEncipherment))).Chain()},
		{"expired", must(f.inter.IssueClient("old", pki.WithValidity(now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)))).Chain()},
		{"revoked", good.Chain()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rev := &fakeChecker{results: map[string]revocation.Result{"alice": {Status: revocation.Revoked, RevokedAt: now.Add(-time.Hour), Source: "fake"}}}
			opts := verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Revocation: rev, ChainCacheSize: -1}
			uncached := must(verify.New(opts))
			opts.ChainCacheSize = 0
			cached := must(verify.New(opts))
			want := outcomeText(uncached.Verify(context.Background(), c.presented, now))
			for i := range 2 {
				o := cached.Verify(context.Background(), reparse(t, c.presented), now)
				if o.OK() {
					t.Fatal("accepted")
				}
				if got := outcomeText(o); got != want {
					t.Fatalf("verification %d differs from uncached:\n--- uncached\n%s--- cached\n%s", i+1, want, got)
				}
			}
			if st := cached.ChainCacheStats(); st.Entries != 0 || st.Hits != 0 {
				t.Fatalf("stats %+v: a failing chain was cached", st)
			}
		})
	}
}

// TestChainCacheRealRevocation runs the cache with the real revocation
// engine and a local CRL: a client whose chain was cached is refused as
// soon as a Verifier using a CRL that lists it is in place, and one not on
// the CRL keeps being served from the cache.
func TestChainCacheRealRevocation(t *testing.T) {
	f := newFixture(t)
	alice := must(f.inter.IssueClient("alice", valid()))
	bob := must(f.inter.IssueClient("bob", valid()))
	dir := t.TempDir()
	crl := pkitest.WriteFile(t, dir, "inter.crl", must(f.inter.CRL([]pki.Revoked{pki.RevokedCert(bob.Cert, now.Add(-time.Hour), 1)},
		pki.CRLOptions{ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour)})))
	rootCRL := pkitest.WriteFile(t, dir, "root.crl", must(f.root.CRL(nil, pki.CRLOptions{ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour)})))
	engine := must(revocation.New(revocation.Options{Mode: revocation.CacheOnly, LocalCRLs: []string{crl, rootCRL},
		Issuers: []*x509.Certificate{f.root.Cert, f.inter.Cert}, Now: func() time.Time { return now }}))
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, Revocation: engine}))
	for i := range 3 {
		if o := v.Verify(context.Background(), reparse(t, alice.Chain()), now); !o.OK() {
			t.Fatalf("alice, verification %d: %v", i+1, o.Error())
		}
		o := v.Verify(context.Background(), reparse(t, bob.Chain()), now)
		if o.OK() || !strings.Contains(o.Reason, "was revoked") || !strings.Contains(o.Reason, filepath.Base(crl)) {
			t.Fatalf("bob, verification %d: %v", i+1, o.Error())
		}
	}
	if st := v.ChainCacheStats(); st.Hits != 2 || st.Entries != 1 {
		t.Fatalf("stats %+v, want alice cached and hit twice, bob never cached", st)
	}
}

// TestChainCacheBounded: the cache never holds more than its size, and
// evicted chains still verify (from scratch).
func TestChainCacheBounded(t *testing.T) {
	f := newFixture(t)
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, ChainCacheSize: 4}))
	var chains [][]*x509.Certificate
	for i := range 10 {
		chains = append(chains, must(f.inter.IssueClient(fmt.Sprintf("client %d", i), valid(), pki.WithSerial(big.NewInt(int64(1000+i))))).Chain())
	}
	for round := range 2 {
		for i, c := range chains {
			if o := v.Verify(context.Background(), c, now); !o.OK() {
				t.Fatalf("round %d chain %d: %v", round, i, o.Error())
			}
			if n := v.ChainCacheStats().Entries; n > 4 {
				t.Fatalf("cache holds %d entries, bound is 4", n)
			}
		}
	}
}

// TestChainCacheConcurrent verifies the same and different chains from
// many goroutines (run with -race).
func TestChainCacheConcurrent(t *testing.T) {
	f := newFixture(t)
	v := must(verify.New(verify.Options{Roots: []*x509.Certificate{f.root.Cert}, ChainCacheSize: 2}))
	chains := [][]*x509.Certificate{
		must(f.inter.IssueClient("a", valid())).Chain(),
		must(f.inter.IssueClient("b", valid())).Chain(),
		must(f.inter.IssueClient("c", valid())).Chain(),
	}
	bad := []*x509.Certificate{chains[0][0]} // no intermediate: fails
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				c := chains[(g+i)%len(chains)]
				if o := v.Verify(context.Background(), c, now); !o.OK() {
					errs <- o.Error()
				}
				if o := v.Verify(context.Background(), bad, now); o.OK() {
					errs <- "accepted a chain without its intermediate"
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// reparse returns new certificates with the same DER, as a new TLS
// connection presents them.
func reparse(t *testing.T, certs []*x509.Certificate) []*x509.Certificate {
	t.Helper()
	out := make([]*x509.Certificate, len(certs))
	for i, c := range certs {
		out[i] = must(x509.ParseCertificate(c.Raw))
	}
	return out
}
