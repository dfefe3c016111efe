package gateway

import (
	"context"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// refreshLoadYAML: one site that requires a client certificate and checks
// revocation online. The leaf's CRL comes from its CDP (the 1M-entry CRL);
// the intermediate's from a small local root CRL. The fetch timeout is
// generous because the first, synchronous fetch of 35 MB competes with the
// rest of a shared 2-core machine.
const refreshLoadYAML = `
listen: 127.0.0.1:0
admin: {listen: "off"}
sites:
  - name: refresh
    hosts: [localhost]
    default: true
    certificate: {cert: server.pem, key: server.key}
    upstream: echo
    client_auth:
      trust: {roots: roots.pem}
      revocation: {mode: online, crls: [root.crl], timeout: 30s}
    locations:
      - {path: /, client_cert: require}
`

const (
	refreshLoadEntries = 1_000_000
	// refreshLoadWindow is the validity of the first CRL: the engine
	// refetches at 80% of it, late enough for the steady-state phase to
	// finish first and early enough to keep the test short.
	refreshLoadWindow = 30 * time.Second
	refreshLoadCount  = 1500 // handshakes per phase
	refreshLoadPhase  = 60 * time.Second
	refreshLoadWorker = 4
	// refreshLoadAfter is how long the refresh phase goes on after the CDP
	// served the new CRL: the background refresh is paced (a quarter of a
	// core), so parsing and swapping in the 1M-entry CRL takes a couple
	// of seconds.
	refreshLoadAfter = 6 * time.Second
)

// TestBackgroundRefreshUnderLoad measures issue 9's fourth target: p99
// handshake latency while the background refresher refetches a
// 1,000,000-entry CRL, against the steady state, and no failed handshake.
// Each handshake is a new TLS connection with a client certificate and one
// GET (client-side wall time). It asserts only correctness (every request
// 200, the refetch happened inside the refresh phase); the latencies are
// logged for docs/benchmarks.md because timed assertions are not allowed.
// Gated on CERTGATE_BIG=1: generating the two CRLs takes several seconds.
func TestBackgroundRefreshUnderLoad(t *testing.T) {
	if os.Getenv("CERTGATE_BIG") != "1" {
		t.Skip("set CERTGATE_BIG=1 to measure a background refresh of a 1M-entry CRL under handshake load")
	}
	p := newTestPKI(t)

	// The CDP serves the short-lived CRL first, then one valid for an hour,
	// so exactly one background refresh falls inside the test.
	entries := refreshLoadRevoked(refreshLoadEntries)
	gen := time.Now()
	second := p.sub.CRLEntries(t, pki.CRLOptions{Number: 2, ThisUpdate: time.Now().Add(-time.Minute).Truncate(time.Second),
		NextUpdate: time.Now().Add(time.Hour)}, entries...)
	thisUpdate := time.Now().Truncate(time.Second)
	first := p.sub.CRLEntries(t, pki.CRLOptions{Number: 1, ThisUpdate: thisUpdate,
		NextUpdate: thisUpdate.Add(refreshLoadWindow)}, entries...)
	t.Logf("generated two %d-entry CRLs (%.1f MB each) in %v", refreshLoadEntries, float64(len(first))/1e6, time.Since(gen).Round(time.Millisecond))
	entries = nil
	runtime.GC() // the generation garbage is not the gateway's to collect
	refreshDue := thisUpdate.Add(refreshLoadWindow * 8 / 10)

	var hits atomic.Int64
	var secondAsked, secondServed atomic.Int64 // unix nanos of the refetch's request and its end
	cdp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sub.crl" {
			http.NotFound(w, r)
			return
		}
		isFirst := hits.Add(1) == 1
		if !isFirst {
			secondAsked.CompareAndSwap(0, time.Now().UnixNano())
		}
		body := second
		if isFirst {
			body = first
		}
		// A CRL is a static file, and the servers that publish them (IIS,
		// Apache, nginx, object stores) send its Content-Length.
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
		if !isFirst {
			secondServed.CompareAndSwap(0, time.Now().UnixNano())
		}
	}))
	t.Cleanup(cdp.Close)
	client := p.sub.Client(t, "load", pki.WithCRLDistributionPoints(cdp.URL+"/sub.crl"))

	g := startGateway(t, p, refreshLoadYAML, func(dir string) {
		pkitest.WriteFile(t, dir, "root.crl", p.root.CRL(t, pki.CRLOptions{}))
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.snap.Start(ctx) // the background refresher, as certgate serve runs it
	t.Cleanup(g.snap.Close)

	rq := request{sni: "localhost", path: "/", cert: client}
	// Warm-up: the first handshake fetches the CRL synchronously (not part
	// of either phase); a few more warm the TLS and verification paths.
	for i := range 20 {
		res, err := g.try(rq)
		if err != nil || res.status != http.StatusOK {
			t.Fatalf("warm-up %d: status %d, err %v, body %s", i, res.status, err, res.body)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("CDP hits after warm-up = %d, want 1", n)
	}

	steady := runHandshakeLoad(g, rq, func(done int) bool { return done >= refreshLoadCount })
	if n := hits.Load(); n != 1 {
		t.Fatalf("a refetch (CDP hits %d) happened during the steady-state phase: the machine is too slow for the %v window", n, refreshLoadWindow)
	}
	if time.Now().After(refreshDue) {
		t.Fatalf("the steady-state phase ended after the refresh was due (%v)", refreshDue)
	}

	// Start the second phase shortly before the refresh is due and keep it
	// going until the refetched CRL has been parsed and swapped in (a
	// generous margin after the CDP wrote it, refreshLoadAfter) and the
	// count is reached.
	time.Sleep(time.Until(refreshDue.Add(-2 * time.Second)))
	hitsBefore := hits.Load()
	refresh := runHandshakeLoad(g, rq, func(done int) bool {
		s := secondServed.Load()
		return done >= refreshLoadCount && s != 0 && time.Since(time.Unix(0, s)) > refreshLoadAfter
	})
	hitsAfter := hits.Load()

	for _, ph := range []struct {
		name string
		r    loadResult
	}{{"steady state", steady}, {"during refresh", refresh}} {
		t.Logf("%-14s: %d handshakes in %v, %d failed: p50 %v, p99 %v, max %v",
			ph.name, len(ph.r.lat), ph.r.elapsed.Round(time.Millisecond), ph.r.failed,
			ph.r.pct(50), ph.r.pct(99), ph.r.pct(100))
		if ph.r.failed != 0 {
			t.Errorf("%s: %d failed handshakes/requests, first: %s", ph.name, ph.r.failed, ph.r.firstErr)
		}
		if len(ph.r.lat) < refreshLoadCount {
			t.Errorf("%s: only %d handshakes before the %v deadline", ph.name, len(ph.r.lat), refreshLoadPhase)
		}
	}
	if hitsBefore != 1 || hitsAfter < 2 {
		t.Errorf("CDP hits %d before and %d after the refresh phase, want 1 and at least 2", hitsBefore, hitsAfter)
	}
	if s := secondServed.Load(); s == 0 || time.Unix(0, s).After(refresh.end) {
		t.Errorf("the refreshed CRL was not served during the refresh phase")
	}
	// The refetch window runs from the CDP request to the engine's
	// "refreshed CRL" line (fetch, parse, signature, index, swap): the
	// handshakes overlapping it are the ones a blocking refresh would hurt.
	var swapped time.Time
	for _, r := range g.logs.records(t) {
		if r["msg"] == "refreshed CRL" {
			ts, _ := r["time"].(string)
			swapped, _ = time.Parse(time.RFC3339Nano, ts)
		}
	}
	if swapped.IsZero() {
		t.Errorf("no \"refreshed CRL\" log line: the refetch did not come from the background refresher")
	} else {
		from := time.Unix(0, secondAsked.Load())
		in := refresh.overlapping(from, swapped)
		t.Logf("refetch window: %v (request to swap), %d handshakes overlapping it: p50 %v, p99 %v, max %v",
			swapped.Sub(from).Round(time.Millisecond), len(in.lat), in.pct(50), in.pct(99), in.pct(100))
		if s := steady.pct(99); s > 0 {
			t.Logf("p99 in the refetch window / steady p99 = %.2f (issue 9 target: at most 1.5)", float64(in.pct(99))/float64(s))
		}
	}
	if s := steady.pct(99); s > 0 {
		t.Logf("p99 over the refresh phase / steady p99 = %.2f (issue 9 target: at most 1.5)", float64(refresh.pct(99))/float64(s))
	}
}

// loadResult is one phase: per-request latencies and failures.
type loadResult struct {
	lat      []time.Duration // sorted
	samples  []loadSample    // in completion order
	failed   int
	firstErr string
	elapsed  time.Duration
	end      time.Time
}

type loadSample struct {
	start time.Time
	d     time.Duration
}

// overlapping is the subset of the samples in flight at some point
// between from and to.
func (r loadResult) overlapping(from, to time.Time) loadResult {
	var out loadResult
	for _, s := range r.samples {
		if s.start.Before(to) && s.start.Add(s.d).After(from) {
			out.lat = append(out.lat, s.d)
		}
	}
	slices.Sort(out.lat)
	return out
}

// pct is the q-th percentile (nearest rank); 100 is the maximum.
func (r loadResult) pct(q int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat)*q + 99) / 100
	return r.lat[min(max(i-1, 0), len(r.lat)-1)]
}

// runHandshakeLoad runs refreshLoadWorker workers, each doing one request
// on a new TLS connection at a time, until enough(done) or the phase
// deadline; bounded by both, as load loops in tests must be.
func runHandshakeLoad(g *gatewayUnderTest, rq request, enough func(done int) bool) loadResult {
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	deadline := time.Now().Add(refreshLoadPhase)
	start := time.Now()
	for range refreshLoadWorker {
		wg.Go(func() {
			for {
				mu.Lock()
				stop := enough(len(res.lat)+res.failed) || time.Now().After(deadline)
				mu.Unlock()
				if stop {
					return
				}
				t0 := time.Now()
				r, err := g.try(rq)
				d := time.Since(t0)
				mu.Lock()
				if err != nil || r.status != http.StatusOK {
					res.failed++
					if res.firstErr == "" {
						res.firstErr = fmt.Sprintf("status %d, err %v, body %.200s", r.status, err, r.body)
					}
				} else {
					res.lat = append(res.lat, d)
					res.samples = append(res.samples, loadSample{t0, d})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.end = time.Now()
	res.elapsed = res.end.Sub(start)
	slices.Sort(res.lat)
	return res
}

// refreshLoadRevoked returns n distinct random 127-bit serials, as in
// internal/revocation's bench CRL (no entry extensions). None can collide
// with the test client's serial in practice.
func refreshLoadRevoked(n int) []pki.Revoked {
	r := mrand.New(mrand.NewPCG(1, 0x9e3779b97f4a7c15))
	at := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	out := make([]pki.Revoked, n)
	for i := range out {
		var b [16]byte
		for j := 0; j < 16; j += 8 {
			v := r.Uint64()
			for k := range 8 {
				b[j+k] = byte(v >> (8 * k))
			}
		}
		b[0] = b[0]&0x7f | 0x01
		out[i] = pki.Revoked{Serial: new(big.Int).SetBytes(b[:]), At: at}
	}
	return out
}
